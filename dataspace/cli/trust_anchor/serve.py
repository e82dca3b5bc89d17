"""``dataspace trust-anchor serve``: run the trust anchor."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from dataspace.cli.common import serve, service_options
from dataspace.cli.trust_anchor import trust_anchor
from trust_anchor.settings import TrustAnchorSettings

__all__ = ["serve_command"]


@trust_anchor.command("serve")
@service_options(TrustAnchorSettings.default_port)
@click.option("--operator-name", default=None, help="Shown to wallets as the issuer's name.")
@click.option("--did-method", type=click.Choice(["web", "key"]), default=None,
              help="did:web of the public URL (default) or did:key (development).")
def serve_command(config_file: Path | None, **flags: Any) -> None:
    """Run the trust anchor until Ctrl-C; writes <data-dir>/service.json when ready."""
    from trust_anchor.app import create_app  # the whole service: only when it runs

    serve(TrustAnchorSettings, create_app, config_file=config_file, **flags)
