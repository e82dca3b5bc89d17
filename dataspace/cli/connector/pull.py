"""``dataspace connector negotiate|transfer|pull``: from a dataset to its data.

``negotiate`` reaches an agreement, ``transfer`` starts an HTTP-pull
transfer under it, and ``pull`` fetches the data through the provider's data
plane, doing the steps before it that were not given.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from dataspace.cli.common import fail, print_json
from dataspace.cli.connector import connector
from dataspace.cli.connector.client import (
    FINAL_NEGOTIATION,
    SETTLED_TRANSFER,
    Management,
    awaiting_owner,
    client_options,
    describe_problem,
    follow_args,
)

if TYPE_CHECKING:
    import aiohttp

__all__ = ["negotiate", "pull", "transfer"]


@connector.command("negotiate")
@client_options
@click.option("--provider", "provider_url", required=True, help="The provider's DSP URL.")
@click.option("--dataset", "dataset_id", required=True)
@click.option("--offer", "offer_id", default=None, help="Offer id (default: the first one).")
@click.option("--provider-id", default=None, help="Provider DID (default: from its catalog).")
@click.option("--wait/--no-wait", default=True, show_default=True)
@click.option("--timeout", type=float, default=30.0, show_default=True)
def negotiate(data_dir: Path, url: str | None, api_key: str | None, provider_url: str,
              dataset_id: str, offer_id: str | None, provider_id: str | None, wait: bool,
              timeout: float) -> None:
    """Negotiate a contract for a dataset; exit 1 if the provider terminates or the wait ends.

    A restricted (yellow) dataset waits for its owner's approval: when
    --timeout passes first, the command says so and how to follow it (exit 1).
    """
    api = Management(data_dir, url, api_key)

    async def go(http: aiohttp.ClientSession) -> dict[str, Any]:
        started: dict[str, Any] = await api.call(http, "POST", "/api/v1/negotiations", {
            "counterparty_address": provider_url, "dataset_id": dataset_id,
            "offer_id": offer_id, "counterparty_id": provider_id})
        if not wait:
            return started
        return await api.wait(http, f"/api/v1/negotiations/{started['id']}",
                              FINAL_NEGOTIATION, timeout)

    result = api.run(go)
    print_json(result)
    if result["state"] == "TERMINATED":
        fail(f"the provider terminated the negotiation: {result.get('error_reason')}", code=1)
    if wait and result["state"] not in FINAL_NEGOTIATION:
        fail(awaiting_owner(result, follow_args(data_dir, url), timeout), code=1)


async def _transfer(api: Management, http: aiohttp.ClientSession, agreement_id: str,
                    provider_url: str | None, seconds: float) -> dict[str, Any]:
    started: dict[str, Any] = await api.call(http, "POST", "/api/v1/transfers", {
        "agreement_id": agreement_id, "counterparty_address": provider_url})
    return await api.wait(http, f"/api/v1/transfers/{started['id']}", SETTLED_TRANSFER,
                          seconds)


@connector.command("transfer")
@client_options
@click.option("--agreement", "agreement_id", required=True)
@click.option("--provider", "provider_url", default=None,
              help="The provider's DSP URL (default: where the agreement was made).")
@click.option("--timeout", type=float, default=30.0, show_default=True)
def transfer(data_dir: Path, url: str | None, api_key: str | None, agreement_id: str,
             provider_url: str | None, timeout: float) -> None:
    """Start an HTTP-pull transfer; prints it and its endpoint data reference."""
    api = Management(data_dir, url, api_key)

    async def go(http: aiohttp.ClientSession) -> dict[str, Any]:
        process = await _transfer(api, http, agreement_id, provider_url, timeout)
        if process["state"] == "STARTED":
            process["edr"] = await api.call(
                http, "GET", f"/api/v1/transfers/{process['id']}/edr")
        return process

    result = api.run(go)
    print_json(result)
    if result["state"] != "STARTED":
        sys.exit(1)


async def _agree(api: Management, http: aiohttp.ClientSession, provider_url: str | None,
                 dataset_id: str | None, seconds: float, follow: str) -> str:
    """The id of a new agreement for the dataset; ends the command when there is none."""
    started = await api.call(http, "POST", "/api/v1/negotiations", {
        "counterparty_address": provider_url, "dataset_id": dataset_id})
    done = await api.wait(http, f"/api/v1/negotiations/{started['id']}",
                          FINAL_NEGOTIATION, seconds)
    if done["state"] not in FINAL_NEGOTIATION:
        fail(awaiting_owner(done, follow, seconds), code=1)
    if done["state"] != "FINALIZED":
        fail(f"the negotiation ended {done['state']}: {done.get('error_reason')}", code=1)
    return str(done["agreement_id"])


async def _fetch(api: Management, http: aiohttp.ClientSession, transfer_id: str,
                 sub_path: str) -> bytes:
    """The data at ``sub_path`` below the transfer's endpoint, with its access token."""
    import aiohttp

    edr = await api.call(http, "GET", f"/api/v1/transfers/{transfer_id}/edr")
    endpoint = edr["endpoint"].rstrip("/") + ("/" + sub_path.lstrip("/") if sub_path else "")
    try:
        async with http.get(endpoint, headers={
                "Authorization": f"Bearer {edr['token']}"}) as resp:
            data = await resp.read()
            if resp.status >= 400:
                try:
                    problem = json.loads(data)
                except ValueError:
                    problem = None
                fail(f"the data plane refused (HTTP {resp.status}): "
                     f"{describe_problem(resp.status, problem)}", code=1)
            return data
    except aiohttp.ClientError as exc:
        fail(f"cannot reach the data plane at {endpoint}: {exc}", code=1)


@connector.command("pull")
@client_options
@click.option("--transfer", "transfer_id", default=None, help="A started transfer.")
@click.option("--agreement", "agreement_id", default=None,
              help="Start a transfer under this agreement first.")
@click.option("--provider", "provider_url", default=None, help="The provider's DSP URL.")
@click.option("--dataset", "dataset_id", default=None,
              help="With --provider: negotiate for this dataset first.")
@click.option("--path", "sub_path", default="", help="Path below the data-plane endpoint.")
@click.option("--output", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Write the data here (default: stdout).")
@click.option("--timeout", type=float, default=30.0, show_default=True)
def pull(data_dir: Path, url: str | None, api_key: str | None, transfer_id: str | None,
         agreement_id: str | None, provider_url: str | None, dataset_id: str | None,
         sub_path: str, output: Path | None, timeout: float) -> None:
    """Fetch data through the provider's data plane with the transfer's access token.

    Give a started --transfer, or an --agreement to transfer under, or
    --provider and --dataset to negotiate and transfer first.
    """
    if transfer_id is None and agreement_id is None and not (provider_url and dataset_id):
        fail("give --transfer, --agreement, or --provider with --dataset")
    api = Management(data_dir, url, api_key)

    async def go(http: aiohttp.ClientSession) -> bytes:
        nonlocal agreement_id, transfer_id
        if transfer_id is None and agreement_id is None:
            agreement_id = await _agree(api, http, provider_url, dataset_id, timeout,
                                        follow_args(data_dir, url))
        if transfer_id is None:
            assert agreement_id is not None
            process = await _transfer(api, http, agreement_id, provider_url, timeout)
            if process["state"] != "STARTED":
                fail(f"the transfer is {process['state']}", code=1)
            transfer_id = process["id"]
        return await _fetch(api, http, transfer_id, sub_path)

    data = api.run(go)
    if output is None:
        sys.stdout.buffer.write(data)
    else:
        output.write_bytes(data)
