"""``dataspace connector requests|approve|reject|catalog|agreements|transfers|receipt``.

What the people behind a connector look at and decide, through its
management API: the owner answers requests that wait for approval; the
consumer browses a provider's catalog, follows its negotiations, agreements
and transfers, and checks the provider's signed usage receipt. Each command
prints a table with headers (``--json`` prints the API's JSON for scripts)
and the next step where there is one.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import aiohttp
import click

from dataspace.cli.common import fail, print_json
from dataspace.cli.connector import (
    _FINAL_NEGOTIATION,
    Management,
    awaiting_owner,
    client_options,
    connector,
    describe_problem,
    follow_args,
)

__all__ = ["approve", "reject", "requests"]

_json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON (for scripts).")
_role_option = click.option("--role", type=click.Choice(["provider", "consumer"]), default=None,
                            help="Only where we are the provider (or the consumer).")


def _table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """A plain table with a header row (wide enough never to cut an id)."""
    from rich.console import Console
    from rich.table import Table

    table = Table(*headers, box=None, header_style="bold", pad_edge=False, show_edge=False)
    for column in table.columns:
        column.no_wrap = True
        column.overflow = "ignore"
    for row in rows:
        table.add_row(*("" if cell is None else str(cell) for cell in row))
    width = None if sys.stdout.isatty() else 1000
    Console(width=width, soft_wrap=True, highlight=False).print(table)


def _next(step: str) -> None:
    click.echo(f"\nNext: {step}")


def _when(epoch: Any) -> str:
    if not isinstance(epoch, int | float):
        return ""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M")


def _get(api: Management, path: str, method: str = "GET", body: Any = None) -> Any:
    async def go() -> Any:
        async with aiohttp.ClientSession() as http:
            return await api.call(http, method, path, body)

    return asyncio.run(go())


# --- the owner: requests that wait for approval ---------------------------------------------


@connector.command("requests")
@client_options
@_json_option
def requests(data_dir: Path, url: str | None, api_key: str | None, as_json: bool) -> None:
    """Contract requests waiting for your approval: who asks (verified), what, for which use."""
    api = Management(data_dir, url, api_key)
    items = _get(api, "/api/v1/negotiations?awaiting=owner&role=provider&limit=500")["items"]
    if as_json:
        print_json(items)
        return
    if not items:
        click.echo("No requests await your approval.")
        return
    _table(("ID", "DATASET", "REQUESTER", "ORG NO", "PURPOSE", "SINCE"), [
        (n["id"], n.get("dataset_id"),
         n["counterparty"].get("legal_name") or n["counterparty"]["id"],
         n["counterparty"].get("organisation_number"),
         ", ".join(n["counterparty"].get("purposes") or []) or "any",
         _when(n.get("updated_at")))
        for n in items])
    follow = follow_args(data_dir, url)
    _next(f"`dataspace connector approve ID {follow}`, or "
          f"`dataspace connector reject ID --reason TEXT {follow}`")


@connector.command("approve")
@client_options
@click.argument("negotiation_id")
@click.option("--reason", help="Logged with the decision [approved].")
@_json_option
def approve(data_dir: Path, url: str | None, api_key: str | None, negotiation_id: str,
            reason: str | None, as_json: bool) -> None:
    """Approve a request: the agreement is sent to the requester."""
    api = Management(data_dir, url, api_key)
    done = _get(api, f"/api/v1/negotiations/{quote(negotiation_id, safe='')}/approve", "POST",
                {"reason": reason} if reason else None)
    if as_json:
        print_json(done)
        return
    who = done["counterparty"].get("legal_name") or done["counterparty"]["id"]
    click.echo(f"{negotiation_id} approved: agreement {done.get('agreement_id')} sent to {who}")


@connector.command("reject")
@client_options
@click.argument("negotiation_id")
@click.option("--reason", required=True, help="Why (required: the requester is told).")
@_json_option
def reject(data_dir: Path, url: str | None, api_key: str | None, negotiation_id: str,
           reason: str, as_json: bool) -> None:
    """Reject a request: the negotiation ends, and the requester is told why."""
    api = Management(data_dir, url, api_key)
    done = _get(api, f"/api/v1/negotiations/{quote(negotiation_id, safe='')}/reject", "POST",
                {"reason": reason})
    if as_json:
        print_json(done)
        return
    click.echo(f"{negotiation_id} rejected: {done.get('error_reason')}")


# --- the consumer: catalogs, negotiations, agreements, transfers, receipts -----------------


def _offers(dataset: dict[str, Any]) -> list[dict[str, Any]]:
    offers = dataset.get("hasPolicy") or []
    return [o for o in (offers if isinstance(offers, list) else [offers]) if isinstance(o, dict)]


@connector.command("catalog")
@client_options
@click.argument("provider_url")
@click.option("--provider-id", default=None, help="The provider's DID (default: its catalog's).")
@_json_option
def catalog(data_dir: Path, url: str | None, api_key: str | None, provider_url: str,
            provider_id: str | None, as_json: bool) -> None:
    """A provider's catalog (its DSP URL): every dataset you may request, with its offers."""
    api = Management(data_dir, url, api_key)

    async def go() -> list[dict[str, Any]]:
        pages = []
        async with aiohttp.ClientSession() as http:
            body: dict[str, Any] = {"counterparty_address": provider_url,
                                    "counterparty_id": provider_id}
            while True:
                page = await api.call(http, "POST", "/api/v1/catalog/request", body)
                pages.append(page["catalog"])
                if not page.get("next") or len(pages) >= 100:
                    return pages
                body = {**body, "continuation": page["next"]}

    pages = asyncio.run(go())
    datasets = [d for page in pages for d in (page.get("dataset") or [])
                if isinstance(d, dict)]
    if as_json:
        print_json(pages[0] if len(pages) == 1 else pages)
        return
    participant = pages[0].get("participantId") if pages else None
    click.echo(f"Catalog of {participant} at {provider_url}\n")
    if not datasets:
        click.echo("It offers you no datasets.")
        return
    _table(("DATASET", "TITLE", "OFFERS"), [
        (d.get("@id"), d.get("title") or d.get("dct:title"),
         ", ".join(str(o.get("@id")) for o in _offers(d)))
        for d in datasets])
    _next(f"`dataspace connector negotiate --provider {provider_url} --dataset DATASET "
          f"{follow_args(data_dir, url)}`")


@connector.command("negotiations")
@client_options
@click.argument("negotiation_id", required=False)
@_role_option
@click.option("--wait", is_flag=True, help="With an id: wait until it is agreed or ended.")
@click.option("--timeout", type=float, default=300.0, show_default=True,
              help="How long --wait waits.")
@_json_option
def negotiations(data_dir: Path, url: str | None, api_key: str | None,
                 negotiation_id: str | None, role: str | None, wait: bool, timeout: float,
                 as_json: bool) -> None:
    """Contract negotiations, newest first; or one (exit 1 when it ended without agreement)."""
    api = Management(data_dir, url, api_key)
    follow = follow_args(data_dir, url)
    if negotiation_id is None:
        items = _get(api, "/api/v1/negotiations?limit=500" + (f"&role={role}" if role else ""))
        if as_json:
            print_json(items["items"])
            return
        _table(("ID", "ROLE", "STATE", "DATASET", "COUNTERPARTY", "AGREEMENT", "UPDATED"), [
            (n["id"], n["role"], n["state"] + (" (awaiting you)" if n.get("awaiting") else ""),
             n.get("dataset_id"),
             n["counterparty"].get("legal_name") or n["counterparty"]["id"],
             n.get("agreement_id"), _when(n.get("updated_at")))
            for n in items["items"]])
        return
    path = f"/api/v1/negotiations/{quote(negotiation_id, safe='')}"

    async def go() -> dict[str, Any]:
        async with aiohttp.ClientSession() as http:
            if wait:
                return await api.wait(http, path, _FINAL_NEGOTIATION, timeout)
            found: dict[str, Any] = await api.call(http, "GET", path)
            return found

    found = asyncio.run(go())
    if as_json:
        print_json(found)
    else:
        _table(("ID", "ROLE", "STATE", "DATASET", "COUNTERPARTY", "AGREEMENT"), [
            (found["id"], found["role"], found["state"], found.get("dataset_id"),
             found["counterparty"].get("legal_name") or found["counterparty"]["id"],
             found.get("agreement_id"))])
    if found["state"] == "TERMINATED":
        fail(f"the negotiation ended: {found.get('error_reason')}", code=1)
    if found["state"] == "FINALIZED":
        if not as_json and found["role"] == "consumer":
            _next(f"`dataspace connector pull --agreement {found['agreement_id']} {follow}`")
    elif wait:
        fail(awaiting_owner(found, follow, timeout), code=1)


@connector.command("agreements")
@client_options
@_role_option
@_json_option
def agreements(data_dir: Path, url: str | None, api_key: str | None, role: str | None,
               as_json: bool) -> None:
    """Agreements we hold (consumer) and granted (provider), newest first."""
    api = Management(data_dir, url, api_key)
    items = _get(api, "/api/v1/agreements?limit=500" + (f"&role={role}" if role else ""))
    if as_json:
        print_json(items["items"])
        return
    if not items["items"]:
        click.echo("No agreements yet.")
        _next(f"`dataspace connector catalog PROVIDER_DSP_URL {follow_args(data_dir, url)}`")
        return
    _table(("ID", "ROLE", "DATASET", "COUNTERPARTY", "SINCE"), [
        (a["id"], a["role"], a["dataset_id"], a.get("counterparty_id"),
         _when(a.get("created_at")))
        for a in items["items"]])
    if any(a["role"] == "consumer" for a in items["items"]):
        _next(f"`dataspace connector pull --agreement ID {follow_args(data_dir, url)}`")


@connector.command("transfers")
@client_options
@_role_option
@click.option("--state", default=None, help="Only transfers in this state (e.g. STARTED).")
@_json_option
def transfers(data_dir: Path, url: str | None, api_key: str | None, role: str | None,
              state: str | None, as_json: bool) -> None:
    """Transfers, newest first (ours and the counter-party's process ids)."""
    api = Management(data_dir, url, api_key)
    query = "".join(f"&{k}={v}" for k, v in (("role", role), ("state", state)) if v)
    items = _get(api, "/api/v1/transfers?limit=500" + query)["items"]
    if as_json:
        # The endpoint data reference carries an access token: only through /edr.
        print_json([{k: v for k, v in t.items() if k != "data_address"} for t in items])
        return
    if not items:
        click.echo("No transfers yet.")
        return
    _table(("ID", "ROLE", "STATE", "AGREEMENT", "THEIR ID", "COUNTERPARTY", "UPDATED"), [
        (t["id"], t["role"], t["state"], t["agreement_id"],
         t["provider_pid"] if t["role"] == "consumer" else t["consumer_pid"],
         t["counterparty_id"], _when(t.get("updated_at")))
        for t in items])
    if any(t["role"] == "consumer" and t["state"] == "STARTED" for t in items):
        follow = follow_args(data_dir, url)
        _next(f"`dataspace connector pull --transfer ID {follow}`, then "
              f"`dataspace connector receipt ID {follow}`")


@connector.command("receipt")
@client_options
@click.argument("transfer_id")
@_json_option
def receipt(data_dir: Path, url: str | None, api_key: str | None, transfer_id: str,
            as_json: bool) -> None:
    """The provider's signed usage receipt for one of our transfers, its signature checked.

    Exit 1 when the signature does not verify or is not the provider's.
    """
    api = Management(data_dir, url, api_key)

    async def go() -> tuple[dict[str, Any], dict[str, Any], dict[str, Any] | str]:
        async with aiohttp.ClientSession() as http:
            path = f"/api/v1/transfers/{quote(transfer_id, safe='')}"
            ours: dict[str, Any] = await api.call(http, "GET", path)
            if ours["role"] != "consumer":
                fail(f"{transfer_id} is a transfer we serve; the consumer asks for receipts")
            edr = await api.call(http, "GET", path + "/edr")
            origin = "{0.scheme}://{0.netloc}".format(urlsplit(edr["endpoint"]))
            try:
                async with http.get(f"{origin}/dataplane/receipt", headers={
                        "Authorization": f"Bearer {edr['token']}"}) as resp:
                    answer = await resp.json(content_type=None)
                    if resp.status >= 400:
                        fail(f"the provider refused the receipt (HTTP {resp.status}): "
                             f"{describe_problem(resp.status, answer)}", code=1)
            except (aiohttp.ClientError, ValueError) as exc:
                fail(f"cannot fetch the receipt from {origin}: {exc}", code=1)
            return ours, answer, await _verify(answer["receipt"], ours["counterparty_id"],
                                               origin)

    ours, signed, verified = asyncio.run(go())
    content = signed["content"]
    if as_json:
        print_json({**signed, "verified": verified if isinstance(verified, dict) else None,
                    "problem": verified if isinstance(verified, str) else None,
                    "ours": {"transfer_id": ours["id"], "provider_pid": ours["provider_pid"]}})
    else:
        usage = content.get("usage") or {}
        audit = content.get("audit") or {}
        _table(("FIELD", "VALUE"), [
            ("signed by", content.get("iss")),
            ("signature", "verified" if isinstance(verified, dict) else f"NOT VALID: {verified}"),
            ("our transfer", content.get("consumerPid") or ours["id"]),
            ("provider's transfer", content.get("providerPid") or content.get("transferId")),
            ("agreement", content.get("agreementId")),
            ("dataset", content.get("datasetId")),
            ("requests served", usage.get("requests")),
            ("bytes", usage.get("bytes")),
            ("failures", usage.get("failures")),
            ("refused", usage.get("refusals")),
            ("audit head", f"#{audit.get('seq')} {audit.get('hash')}"),
            ("issued", _when(content.get("iat"))),
        ])
    if not isinstance(verified, dict):
        fail(f"the receipt does not verify: {verified}", code=1)
    if verified.get("consumerPid") not in (None, ours["id"]):
        fail(f"the receipt is about the consumer's transfer {verified['consumerPid']}, "
             f"not ours ({ours['id']})", code=1)


async def _verify(token: str, provider: str, origin: str) -> dict[str, Any] | str:
    """The receipt's claims when the provider signed it, else why not."""
    from identity.errors import VerificationError
    from identity.resolver import DidResolver
    from identity.signed import verify_signed_jwt
    from servicekit.http import create_client_session

    # did:web on loopback is a local data space (`dataspace up`); nowhere else.
    loopback = urlsplit(origin).hostname in ("127.0.0.1", "localhost", "::1")
    async with create_client_session(guarded=True, allow_loopback=loopback) as session:
        resolver = DidResolver(session=session, allow_loopback=loopback)
        try:
            return await verify_signed_jwt(token, resolver, typ={"usage-receipt+jwt"},
                                           issuer=provider)
        except VerificationError as exc:
            return f"{exc.code}: {exc.detail}"
