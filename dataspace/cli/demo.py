"""``dataspace demo``: play the data-space story against a running (or new) local data space."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import click
from rich.console import Console

from dataspace.cli import cli
from dataspace.local.demo import Demo
from dataspace.local.space import LocalSpace

__all__ = ["demo"]


@cli.command()
@click.option("--data-dir", type=click.Path(path_type=Path, file_okay=False),
              default=Path(".dataspace"), show_default=True,
              help="The data directory of a running `dataspace up` (one is started if none runs).")
def demo(data_dir: Path) -> None:
    """Play the story: onboard, publish, negotiate, pull, hit the limit, approve, receipt.

    Exits 0 only if every step behaved as expected.
    """
    console = Console(emoji=False, highlight=False)
    space = LocalSpace(data_dir, log=lambda line: console.print(f"[dim]{line}[/dim]"))

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
            results = await Demo(space, report).run()
        finally:
            if started_here:
                await space.stop()
        passed = all(ok for _, ok, _ in results) and len(results) == 7
        console.print()
        if passed:
            console.print("[bold green]Every step behaved as expected.[/bold green]")
            console.print(f"Look around: {space.data_dir / 'dataspace.json'} (URLs, admin keys), "
                          f"the operator page at {space.spec('trust-anchor').base_url}/operator, "
                          "`dataspace connector audit verify --data-dir "
                          f"{space.data_dir / 'halden'}`.")
        return passed

    sys.exit(0 if asyncio.run(run()) else 1)


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
