"""``dataspace marketplace serve``: run the marketplace."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from dataspace.cli.common import serve, service_options
from dataspace.cli.marketplace import marketplace
from marketplace.settings import MarketplaceSettings

__all__ = ["serve_command"]


@marketplace.command("serve")
@service_options(MarketplaceSettings.default_port)
@click.option("--trust-anchor", "trust_anchor_url", default=None,
              help="The trust anchor's URL (members sign in with its credentials).")
@click.option("--did-method", type=click.Choice(["web", "key"]), default=None,
              help="did:web of the public URL (default) or did:key (development).")
def serve_command(config_file: Path | None, **flags: Any) -> None:
    """Run the marketplace until Ctrl-C; writes <data-dir>/service.json when ready."""
    from marketplace.app import create_app  # the whole service: only when it runs

    serve(MarketplaceSettings, create_app, config_file=config_file, **flags)
