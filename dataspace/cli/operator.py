"""``dataspace operator``: review applications and manage members at the trust anchor."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from dataspace.cli import cli
from dataspace.cli.common import (
    fail,
    handle_errors,
    json_option,
    locate_service,
    print_json,
    print_next,
    print_table,
)

if TYPE_CHECKING:
    from dataspace.client import ApiClient

__all__ = ["operator"]


def _client(url: str | None, api_key: str | None, data_dir: Path | None) -> ApiClient:
    if url is None or api_key is None:
        if data_dir is None:
            fail("give --url and --api-key, or --data-dir of the trust anchor "
                 "(or of `dataspace up`)")
        _folder, info = locate_service(data_dir, ("trust-anchor",), "trust anchor", "--url")
        url = url or info["base_url"]
        api_key = api_key or info["admin_api_key"]
    from dataspace.client import ApiClient

    return ApiClient(str(url), api_key=api_key)


def _options(command: Any) -> Any:
    command = click.option("--url", default=None, help="Trust anchor URL.")(command)
    command = click.option("--api-key", envvar="DATASPACE_ADMIN_API_KEY", default=None,
                           help="Admin API key (or $DATASPACE_ADMIN_API_KEY).")(command)
    return click.option("--data-dir", type=click.Path(path_type=Path, file_okay=False),
                        default=None,
                        help="The trust anchor's data dir (reads its service.json), or "
                             "that of `dataspace up`.")(command)


async def _call(client: ApiClient, method: str, path: str, body: Any = None) -> Any:
    async with client:
        return await client.request(method, path, json_body=body)


@cli.group()
def operator() -> None:
    """Review applications, approve, reject, suspend, reinstate and revoke members."""


@operator.command("list")
@_options
@click.option("--state", "states", multiple=True,
              type=click.Choice(["submitted", "active", "suspended", "revoked", "rejected",
                                 "approved"]))
@json_option
@handle_errors
def list_command(url: str | None, api_key: str | None, data_dir: Path | None,
                 states: tuple[str, ...], as_json: bool) -> None:
    """List applications and members."""
    query = "&".join(f"state={s}" for s in states)
    page = asyncio.run(_call(_client(url, api_key, data_dir), "GET",
                             "/admin/applications" + (f"?{query}" if query else "")))
    if as_json:
        print_json(page)
        return
    items = page["items"]
    if not items:
        click.echo("No applications" + (f" that are {' or '.join(states)}." if states else " yet."))
        return
    print_table(("ID", "STATUS", "LEGAL NAME", "DID"),
                [(i["id"], i["status"], i["legal_name"], i["did"]) for i in items])
    if any(i["status"] == "submitted" for i in items):
        follow = f"--data-dir {data_dir}" if data_dir is not None else f"--url {url}"
        print_next(f"`dataspace operator approve ID {follow}`, or "
                   f"`dataspace operator reject ID --reason TEXT {follow}`")


@operator.command("approve")
@_options
@click.argument("application_id")
@click.option("--reason", default=None,
              help="Kept in the audit trail [approved].")
@handle_errors
def approve(url: str | None, api_key: str | None, data_dir: Path | None,
            application_id: str, reason: str | None) -> None:
    """Approve an application; prints the credential offer and its transaction code."""
    result = asyncio.run(_call(_client(url, api_key, data_dir), "POST",
                               f"/admin/applications/{application_id}/approve",
                               {"reason": reason}))
    print_json({"id": application_id, "status": result["application"]["status"],
                "credential_offer_uri": result["credential_offer_uri"],
                "tx_code": result["tx_code"]})


def _transition(name: str, summary: str, *, reason_required: bool) -> None:
    reason_help = ("Why (required: kept in the audit trail and told to the participant)."
                   if reason_required else "Kept in the audit trail [reinstated].")

    @operator.command(name, help=summary)
    @_options
    @click.argument("application_id")
    @click.option("--reason", required=reason_required, help=reason_help)
    @handle_errors
    def command(url: str | None, api_key: str | None, data_dir: Path | None,
                application_id: str, reason: str | None) -> None:
        result = asyncio.run(_call(_client(url, api_key, data_dir), "POST",
                                   f"/admin/applications/{application_id}/{name}",
                                   {"reason": reason}))
        click.echo(f"{application_id} is now {result['status']}")


_transition("reject", "Reject an application (final).", reason_required=True)
_transition("suspend", "Suspend a member: its credentials stop verifying.",
            reason_required=True)
_transition("reinstate", "Lift a suspension.", reason_required=False)
_transition("revoke", "Revoke a member (final).", reason_required=True)
