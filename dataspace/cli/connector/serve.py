"""``dataspace connector serve``: run a connector."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from connector.settings import ConnectorSettings
from dataspace.cli.common import serve, service_options
from dataspace.cli.connector import connector

__all__ = ["serve_command"]


@connector.command("serve")
@service_options(ConnectorSettings.default_port)
@click.option("--name", default=None, help="The connector's name [connector].")
@click.option("--role", type=click.Choice(["provider", "consumer"]), default=None,
              help="What it mainly does (service.json); it speaks both DSP roles.")
@click.option("--trust-anchor", "trust_anchor_url", default=None, help="Trust anchor URL.")
@click.option("--marketplace", "marketplace_url", default=None, help="Marketplace URL.")
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Worker processes sharing the ports.")
@click.option("--management-port", type=int, default=None,
              help="Port of the management API [port + 1].")
@click.option("--did-method", type=click.Choice(["web", "key"]), default=None,
              help="did:web of the public URL (default) or did:key (default with --dev).")
@click.option("--tck", is_flag=True, default=False,
              help="TCK mode: seeded ids, scripted scenarios, trigger endpoints.")
def serve_command(config_file: Path | None, workers: int, tck: bool, **flags: Any) -> None:
    """Run the connector until Ctrl-C; writes <data-dir>/service.json when ready.

    DSP 2025-1 is served under /dsp on --port, the management API on
    --management-port.
    """
    from connector.app import create_app  # the whole service: only when it runs

    if tck:
        flags["tck"] = {"enabled": True}
    serve(ConnectorSettings, create_app, config_file=config_file, workers=workers, **flags)
