"""``dataspace connector requests|approve|reject|catalog|agreements|transfers|receipt``.

What the people behind a connector look at and decide, through its
management API: the owner answers requests that wait for approval; the
consumer browses a provider's catalog, follows its negotiations, agreements
and transfers, and checks the provider's signed usage receipt. Each command
prints a table with headers (``--json`` prints the API's JSON for scripts)
and the next step where there is one.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

import click

from dataspace.cli.common import (
    fail,
    json_option,
    print_json,
    print_next,
    print_table,
    when,
)
from dataspace.cli.connector import connector
from dataspace.cli.connector.client import (
    FINAL_NEGOTIATION,
    Management,
    awaiting_owner,
    client_options,
    describe_problem,
    follow_args,
)

if TYPE_CHECKING:
    import aiohttp

__all__ = ["agreements", "approve", "catalog", "negotiations", "receipt", "reject", "requests",
           "transfers"]

_role_option = click.option("--role", type=click.Choice(["provider", "consumer"]), default=None,
                            help="Only where we are the provider (or the consumer).")


def _who(process: dict[str, Any]) -> str:
    """The counter-party by its verified legal name, else by its DID."""
    return str(process["counterparty"].get("legal_name") or process["counterparty"]["id"])


# --- the owner: requests that wait for approval ---------------------------------------------


@connector.command("requests")
@client_options
@json_option
def requests(data_dir: Path, url: str | None, api_key: str | None, as_json: bool) -> None:
    """Contract requests waiting for your approval: who asks (verified), what, for which use."""
    api = Management(data_dir, url, api_key)
    items = api.request("GET",
                        "/api/v1/negotiations?awaiting=owner&role=provider&limit=500")["items"]
    if as_json:
        print_json(items)
        return
    if not items:
        click.echo("No requests await your approval.")
        return
    print_table(("ID", "DATASET", "REQUESTER", "ORG NO", "PURPOSE", "SINCE"), [
        (n["id"], n.get("dataset_id"), _who(n), n["counterparty"].get("organisation_number"),
         ", ".join(n["counterparty"].get("purposes") or []) or "any",
         when(n.get("updated_at")))
        for n in items])
    follow = follow_args(data_dir, url)
    print_next(f"`dataspace connector approve ID {follow}`, or "
               f"`dataspace connector reject ID --reason TEXT {follow}`")


@connector.command("approve")
@client_options
@click.argument("negotiation_id")
@click.option("--reason", help="Logged with the decision [approved].")
@json_option
def approve(data_dir: Path, url: str | None, api_key: str | None, negotiation_id: str,
            reason: str | None, as_json: bool) -> None:
    """Approve a request: the agreement is sent to the requester."""
    done = _decide(Management(data_dir, url, api_key), negotiation_id, "approve",
                   {"reason": reason} if reason else None, as_json)
    if done is not None:
        click.echo(f"{negotiation_id} approved: agreement {done.get('agreement_id')} sent to "
                   f"{_who(done)}")


@connector.command("reject")
@client_options
@click.argument("negotiation_id")
@click.option("--reason", required=True, help="Why (required: the requester is told).")
@json_option
def reject(data_dir: Path, url: str | None, api_key: str | None, negotiation_id: str,
           reason: str, as_json: bool) -> None:
    """Reject a request: the negotiation ends, and the requester is told why."""
    done = _decide(Management(data_dir, url, api_key), negotiation_id, "reject",
                   {"reason": reason}, as_json)
    if done is not None:
        click.echo(f"{negotiation_id} rejected: {done.get('error_reason')}")


def _decide(api: Management, negotiation_id: str, action: str, body: Any,
            as_json: bool) -> dict[str, Any] | None:
    """The owner's answer to a request; printed as JSON (and None) with ``--json``."""
    done: dict[str, Any] = api.request(
        "POST", f"/api/v1/negotiations/{quote(negotiation_id, safe='')}/{action}", body)
    if as_json:
        print_json(done)
        return None
    return done


# --- the consumer: catalogs, negotiations, agreements, transfers, receipts -----------------


def _offers(dataset: dict[str, Any]) -> list[dict[str, Any]]:
    offers = dataset.get("hasPolicy") or []
    return [o for o in (offers if isinstance(offers, list) else [offers]) if isinstance(o, dict)]


@connector.command("catalog")
@client_options
@click.argument("provider_url")
@click.option("--provider-id", default=None, help="The provider's DID (default: its catalog's).")
@json_option
def catalog(data_dir: Path, url: str | None, api_key: str | None, provider_url: str,
            provider_id: str | None, as_json: bool) -> None:
    """A provider's catalog (its DSP URL): every dataset you may request, with its offers."""
    api = Management(data_dir, url, api_key)

    async def go(http: aiohttp.ClientSession) -> list[dict[str, Any]]:
        pages = []
        body: dict[str, Any] = {"counterparty_address": provider_url,
                                "counterparty_id": provider_id}
        while True:
            page = await api.call(http, "POST", "/api/v1/catalog/request", body)
            pages.append(page["catalog"])
            if not page.get("next") or len(pages) >= 100:
                return pages
            body = {**body, "continuation": page["next"]}

    pages = api.run(go)
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
    print_table(("DATASET", "TITLE", "OFFERS"), [
        (d.get("@id"), d.get("title") or d.get("dct:title"),
         ", ".join(str(o.get("@id")) for o in _offers(d)))
        for d in datasets])
    print_next(f"`dataspace connector negotiate --provider {provider_url} --dataset DATASET "
               f"{follow_args(data_dir, url)}`")


@connector.command("negotiations")
@client_options
@click.argument("negotiation_id", required=False)
@_role_option
@click.option("--wait", is_flag=True, help="With an id: wait until it is agreed or ended.")
@click.option("--timeout", type=float, default=300.0, show_default=True,
              help="How long --wait waits.")
@json_option
def negotiations(data_dir: Path, url: str | None, api_key: str | None,
                 negotiation_id: str | None, role: str | None, wait: bool, timeout: float,
                 as_json: bool) -> None:
    """Contract negotiations, newest first; or one (exit 1 when it ended without agreement)."""
    api = Management(data_dir, url, api_key)
    follow = follow_args(data_dir, url)
    if negotiation_id is None:
        _list_negotiations(api, role, as_json)
        return
    path = f"/api/v1/negotiations/{quote(negotiation_id, safe='')}"

    async def go(http: aiohttp.ClientSession) -> dict[str, Any]:
        if wait:
            return await api.wait(http, path, FINAL_NEGOTIATION, timeout)
        found: dict[str, Any] = await api.call(http, "GET", path)
        return found

    found = api.run(go)
    if as_json:
        print_json(found)
    else:
        print_table(("ID", "ROLE", "STATE", "DATASET", "COUNTERPARTY", "AGREEMENT"), [
            (found["id"], found["role"], found["state"], found.get("dataset_id"), _who(found),
             found.get("agreement_id"))])
    if found["state"] == "TERMINATED":
        fail(f"the negotiation ended: {found.get('error_reason')}", code=1)
    if found["state"] == "FINALIZED":
        if not as_json and found["role"] == "consumer":
            print_next(f"`dataspace connector pull --agreement {found['agreement_id']} {follow}`")
    elif wait:
        fail(awaiting_owner(found, follow, timeout), code=1)


def _list_negotiations(api: Management, role: str | None, as_json: bool) -> None:
    items = api.request("GET", "/api/v1/negotiations?limit=500" + (
        f"&role={role}" if role else ""))["items"]
    if as_json:
        print_json(items)
        return
    print_table(("ID", "ROLE", "STATE", "DATASET", "COUNTERPARTY", "AGREEMENT", "UPDATED"), [
        (n["id"], n["role"], n["state"] + (" (awaiting you)" if n.get("awaiting") else ""),
         n.get("dataset_id"), _who(n), n.get("agreement_id"), when(n.get("updated_at")))
        for n in items])


@connector.command("agreements")
@client_options
@_role_option
@json_option
def agreements(data_dir: Path, url: str | None, api_key: str | None, role: str | None,
               as_json: bool) -> None:
    """Agreements we hold (consumer) and granted (provider), newest first."""
    api = Management(data_dir, url, api_key)
    items = api.request("GET", "/api/v1/agreements?limit=500" + (
        f"&role={role}" if role else ""))
    if as_json:
        print_json(items["items"])
        return
    if not items["items"]:
        click.echo("No agreements yet.")
        print_next(f"`dataspace connector catalog PROVIDER_DSP_URL {follow_args(data_dir, url)}`")
        return
    print_table(("ID", "ROLE", "DATASET", "COUNTERPARTY", "SINCE"), [
        (a["id"], a["role"], a["dataset_id"], a.get("counterparty_id"),
         when(a.get("created_at")))
        for a in items["items"]])
    if any(a["role"] == "consumer" for a in items["items"]):
        print_next(f"`dataspace connector pull --agreement ID {follow_args(data_dir, url)}`")


@connector.command("transfers")
@client_options
@_role_option
@click.option("--state", default=None, help="Only transfers in this state (e.g. STARTED).")
@json_option
def transfers(data_dir: Path, url: str | None, api_key: str | None, role: str | None,
              state: str | None, as_json: bool) -> None:
    """Transfers, newest first (ours and the counter-party's process ids)."""
    api = Management(data_dir, url, api_key)
    query = "".join(f"&{k}={v}" for k, v in (("role", role), ("state", state)) if v)
    items = api.request("GET", "/api/v1/transfers?limit=500" + query)["items"]
    if as_json:
        # The endpoint data reference carries an access token: only through /edr.
        print_json([{k: v for k, v in t.items() if k != "data_address"} for t in items])
        return
    if not items:
        click.echo("No transfers yet.")
        return
    print_table(("ID", "ROLE", "STATE", "AGREEMENT", "THEIR ID", "COUNTERPARTY", "UPDATED"), [
        (t["id"], t["role"], t["state"], t["agreement_id"],
         t["provider_pid"] if t["role"] == "consumer" else t["consumer_pid"],
         t["counterparty_id"], when(t.get("updated_at")))
        for t in items])
    if any(t["role"] == "consumer" and t["state"] == "STARTED" for t in items):
        follow = follow_args(data_dir, url)
        print_next(f"`dataspace connector pull --transfer ID {follow}`, then "
              f"`dataspace connector receipt ID {follow}`")


@connector.command("receipt")
@client_options
@click.argument("transfer_id")
@json_option
def receipt(data_dir: Path, url: str | None, api_key: str | None, transfer_id: str,
            as_json: bool) -> None:
    """The provider's signed usage receipt for one of our transfers, its signature checked.

    Exit 1 when the signature does not verify or is not the provider's.
    """
    api = Management(data_dir, url, api_key)

    async def go(http: aiohttp.ClientSession) -> tuple[dict[str, Any], _Receipt]:
        path = f"/api/v1/transfers/{quote(transfer_id, safe='')}"
        ours: dict[str, Any] = await api.call(http, "GET", path)
        if ours["role"] != "consumer":
            fail(f"{transfer_id} is a transfer we serve; the consumer asks for receipts")
        edr = await api.call(http, "GET", path + "/edr")
        return ours, await _fetch_receipt(http, edr, ours["counterparty_id"])

    ours, (signed, verified) = api.run(go)
    if as_json:
        print_json({**signed, "verified": verified if isinstance(verified, dict) else None,
                    "problem": verified if isinstance(verified, str) else None,
                    "ours": {"transfer_id": ours["id"], "provider_pid": ours["provider_pid"]}})
    else:
        _print_receipt(signed["content"], verified, ours)
    if not isinstance(verified, dict):
        fail(f"the receipt does not verify: {verified}", code=1)
    if verified.get("consumerPid") not in (None, ours["id"]):
        fail(f"the receipt is about the consumer's transfer {verified['consumerPid']}, "
             f"not ours ({ours['id']})", code=1)


#: The provider's signed receipt, and its claims when the provider signed it (else why not).
_Receipt = tuple[dict[str, Any], dict[str, Any] | str]


async def _fetch_receipt(http: aiohttp.ClientSession, edr: dict[str, Any],
                         provider: str) -> _Receipt:
    """The receipt from the provider's data plane, its signature checked."""
    import aiohttp

    origin = "{0.scheme}://{0.netloc}".format(urlsplit(edr["endpoint"]))
    try:
        async with http.get(f"{origin}/dataplane/receipt", headers={
                "Authorization": f"Bearer {edr['token']}"}) as resp:
            answer: dict[str, Any] = await resp.json(content_type=None)
            if resp.status >= 400:
                fail(f"the provider refused the receipt (HTTP {resp.status}): "
                     f"{describe_problem(resp.status, answer)}", code=1)
    except (aiohttp.ClientError, ValueError) as exc:
        fail(f"cannot fetch the receipt from {origin}: {exc}", code=1)
    return answer, await _verify(answer["receipt"], provider, origin)


def _print_receipt(content: dict[str, Any], verified: dict[str, Any] | str,
                   ours: dict[str, Any]) -> None:
    usage = content.get("usage") or {}
    audit = content.get("audit") or {}
    print_table(("FIELD", "VALUE"), [
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
        ("issued", when(content.get("iat"))),
    ])


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
