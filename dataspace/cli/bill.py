"""``dataspace bill list``: bills (TMF678 customer bills), and one bill as CSV.

A member sees the bills it is the customer of; the operator sees every bill.
``--csv ID`` writes that bill's CSV (its lines, VAT per rate and totals).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from dataspace.cli import cli
from dataspace.cli.common import fail, json_option, print_json, print_next, print_table
from dataspace.cli.marketplace_client import (
    TMF678,
    MarketplaceApi,
    MarketplaceOptions,
    marketplace_options,
    money,
)

__all__ = ["bill"]

_BILLS = f"{TMF678}/customerBill"


@cli.group()
def bill() -> None:
    """Bills for what you bought and used (operator: all)."""


@bill.command("list")
@marketplace_options
@click.option("--state", default=None, help="Only bills in this state (new, sent, settled...).")
@click.option("--limit", type=click.IntRange(1, 500), default=50, show_default=True)
@click.option("--csv", "csv_id", default=None, metavar="ID",
              help="Write bill ID as CSV instead (to --output).")
@click.option("--output", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Where --csv writes [<bill number>.csv; - for stdout].")
@json_option
def list_command(state: str | None, limit: int, csv_id: str | None, output: Path | None,
                 as_json: bool, marketplace: MarketplaceOptions) -> None:
    """List your bills, newest first; `--csv ID` writes one as CSV."""
    api = marketplace.open(signed_for="reading bills")
    if output is not None and csv_id is None:
        fail("--output goes with --csv ID")
    if csv_id is not None:
        _write_csv(api, csv_id, output)
        return
    params = {"limit": str(limit), "sort": "-billDate"}
    if state:
        params["state"] = state

    async def find(mp: MarketplaceApi) -> list[dict[str, Any]]:
        bills: list[dict[str, Any]] = await mp.call("GET", _BILLS, params=params)
        return bills

    bills = api.run(find)
    if as_json:
        print_json(bills)
        return
    if not bills:
        click.echo("No bills" + (f" that are {state}." if state else " yet."))
        return
    print_table(("ID", "BILL NO", "STATE", "BILL DATE", "CUSTOMER", "AMOUNT DUE", "DUE"), [
        (b["id"], b.get("billNo"), b.get("state"), str(b.get("billDate") or "")[:10],
         (b.get("billingAccount") or {}).get("id"), money(b.get("amountDue")),
         str(b.get("paymentDueDate") or "")[:10])
        for b in bills])
    print_next(f"`dataspace bill list --csv ID {api.follow}` writes a bill as CSV")


def _write_csv(api: MarketplaceApi, bill_id: str, output: Path | None) -> None:
    async def fetch(mp: MarketplaceApi) -> tuple[dict[str, Any], str]:
        found: dict[str, Any] = await mp.call("GET", f"{_BILLS}/{bill_id}")
        text: str = await mp.call("GET", f"{_BILLS}/{bill_id}/bill.csv", raw=True)
        return found, text

    found, text = api.run(fetch)
    if output is not None and str(output) == "-":
        click.echo(text, nl=False)
        return
    target = output or Path(f"{found.get('billNo') or bill_id}.csv")
    try:
        target.write_text(text)
    except OSError as exc:
        fail(f"cannot write {target}: {exc}")
    click.echo(f"Wrote bill {found.get('billNo') or bill_id} to {target}.")
