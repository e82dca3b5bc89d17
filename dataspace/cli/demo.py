"""``dataspace demo``: play the data-space story against a running (or new) local data space."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from dataspace.cli import cli
from dataspace.cli.common import fail

if TYPE_CHECKING:
    from dataspace.local.space import LocalSpace

__all__ = ["demo", "next_steps"]


@cli.command()
@click.option("--data-dir", type=click.Path(path_type=Path, file_okay=False),
              default=Path(".dataspace"), show_default=True,
              help="The data directory of a running `dataspace up` (one is started if none runs).")
@click.option("--base-port", type=click.IntRange(1024, 65000), default=None,
              help="First port of a data space started for the demo [8600, or as before].")
def demo(data_dir: Path, base_port: int | None) -> None:
    """Play the story: onboard, publish, negotiate, pull, hit the limit, approve, receipt.

    Then buy Halden's parking data on the marketplace: order, pay the invoice,
    pull with the purchase credential, cancel, and be billed for pay-per-use.

    Exits 0 only if every step behaved as expected.
    """
    from rich.console import Console

    from dataspace.local.demo import Demo
    from dataspace.local.space import LocalSpace
    from servicekit.errors import DataspaceError

    console = Console(emoji=False, highlight=False)
    try:
        space = LocalSpace(data_dir, log=lambda line: console.print(f"[dim]{line}[/dim]"),
                           base_port=base_port)
    except DataspaceError as error:
        fail(f"{error.code}: {error.detail}")

    def report(title: str, outcome: str) -> None:
        if outcome == "running":
            console.print(f"[bold]▶ {title}[/bold]")
        elif outcome.startswith("FAILED"):
            console.print(f"  [red]✗ {outcome}[/red]")
        else:
            console.print(f"  [green]✓[/green] {outcome}")

    async def run() -> bool:
        started_here = not (space.data_dir / "dataspace.json").exists() or not await _alive(space)
        if started_here:
            console.print(f"[dim]No data space runs in {space.data_dir}; starting one ...[/dim]")
            await space.start()
        try:
            story = Demo(space, report)
            results = await story.run()
        finally:
            if started_here:
                await space.stop()
        passed = all(ok for _, ok, _ in results) and len(results) == len(story.steps())
        console.print()
        if passed:
            console.print("[bold green]Every step behaved as expected.[/bold green]")
            for line in next_steps(space, started_here=started_here):
                console.print(line)
        return passed

    try:
        sys.exit(0 if asyncio.run(run()) else 1)
    except DataspaceError as error:  # e.g. another `up` holds the data directory or a port
        busy = error.code in ("port-in-use", "data-dir-in-use")
        fail(error.detail if busy else f"{error.code}: {error.detail}", code=1 if busy else 2)


def next_steps(space: LocalSpace, *, started_here: bool) -> list[str]:
    """What to look at after the story: running pages only while the data space runs."""
    audit = f"`dataspace connector audit verify --data-dir {space.data_dir / 'halden'}`"
    if started_here:
        return [f"The data space started for the demo is stopped again; its state stays in "
                f"{space.data_dir}. Look at the audit log: {audit}.",
                f"To look around while it runs: `dataspace up --data-dir {space.data_dir}`, "
                f"then the operator page at {space.spec('trust-anchor').base_url}/operator."]
    return [f"Look around: {space.data_dir / 'dataspace.json'} (URLs, admin keys), the "
            f"operator page at {space.spec('trust-anchor').base_url}/operator, {audit}."]


async def _alive(space: LocalSpace) -> bool:
    import aiohttp

    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as http:
            for spec in space.specs:
                async with http.get(spec.base_url + spec.ready_path) as response:
                    if response.status != 200:
                        return False
    except aiohttp.ClientError:
        return False
    return True
