"""``dataspace up``: the whole data space on this machine, in one command."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path
from typing import TYPE_CHECKING

import click

from dataspace.cli import cli
from dataspace.cli.common import fail, print_table

if TYPE_CHECKING:
    from dataspace.local.consoles import SignIn
    from dataspace.local.space import LocalSpace

__all__ = ["OFFERINGS", "next_steps", "show_consoles", "up"]

#: The marketplace's launched data products (TMF620), below its base URL.
OFFERINGS = "/tmf-api/productCatalogManagement/v4/productOffering"


@cli.command()
@click.option("--data-dir", type=click.Path(path_type=Path, file_okay=False),
              default=Path(".dataspace"), show_default=True,
              help="Where every service keeps its state (reused on the next run).")
@click.option("--postgres", "postgres_url", default=None,
              help="A PostgreSQL URL to use instead of SQLite (one schema per service).")
@click.option("--base-port", type=click.IntRange(1024, 65000), default=None,
              help="First port (trust anchor); the others follow it [8600, or as before].")
def up(data_dir: Path, postgres_url: str | None, base_port: int | None) -> None:
    """Start the trust anchor, the marketplace and two connectors on loopback, seeded.

    Runs until Ctrl-C; a child that dies is restarted. Writes
    <data-dir>/dataspace.json with every service's URL, DID and role.
    """
    from dataspace.local.consoles import seed_consoles
    from dataspace.local.space import LocalSpace
    from servicekit.errors import DataspaceError

    try:
        space = LocalSpace(data_dir, postgres_url, log=click.echo, base_port=base_port)
    except DataspaceError as error:
        fail(f"{error.code}: {error.detail}")

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        click.echo(f"Starting the data space in {space.data_dir} ...")
        await space.start()  # stops what it started if it fails
        try:
            signins = await seed_consoles(space.specs, log=click.echo)
            description = space.write_description()
            click.echo("\nThe data space is up:")
            for spec in space.specs:
                info = spec.service_json()
                extra = f"  (management {info['management_url']})" if info and info.get(
                    "management_url") else ""
                click.echo(f"  {spec.name:<20} {spec.role:<13} {spec.base_url}{extra}")
            click.echo(f"\nURLs, DIDs and admin API keys: {description}")
            show_consoles(signins, space.data_dir)
            for line in next_steps(space):
                click.echo(line)
            await stop.wait()
        finally:
            click.echo("\nStopping ...")
            await space.stop()

    try:
        asyncio.run(run())
    except DataspaceError as error:
        # Someone else holds the data directory or a port: a negative answer, not bad input.
        busy = error.code in ("port-in-use", "data-dir-in-use")
        fail(error.detail if busy else f"{error.code}: {error.detail}", code=1 if busy else 2)


def next_steps(space: LocalSpace) -> list[str]:
    """Where to look once the data space is up: the marketplace first."""
    market = space.spec("marketplace").base_url
    return [
        f"\nThe marketplace: {market}",
        f"  Halden's data products: {market}{OFFERINGS}",
        "  (Luftkvalitet i Halden: free and open; Parkering i Halden: monthly or pay per use;",
        "   Energibruk i kommunale bygg: restricted, Halden approves each order)",
        "\nNext: `dataspace demo` in another terminal plays the whole story, buying parking",
        "data on the marketplace included. Ctrl-C stops everything.",
    ]


def show_consoles(signins: list[SignIn], data_dir: Path) -> None:
    """The web consoles: who signs in where, with a one-time link each (never stored)."""
    if not signins:
        return
    click.echo("\nThe web consoles (each link works once, for a day; it is not saved anywhere):")
    print_table(("SERVICE", "CONSOLE", "SIGNS IN", "ROLES", "ONE-TIME LINK"),
                [(s.service, s.console_url, s.email, ", ".join(s.roles),
                  s.link or "(none yet: this version has no console accounts API)")
                 for s in signins])
    click.echo("\nTo sign in: open your link in a browser and choose a password; later, sign "
               "in at the console's address.\n  A new link: `dataspace console link "
               f"--data-dir {data_dir} --service NAME --email EMAIL`.")
