"""``dataspace trust-anchor``: run the data space's trust anchor.

Its commands are imported only when they run (see :data:`COMMANDS`), so
``dataspace trust-anchor --help`` does not load the service.
"""

from __future__ import annotations

from dataspace.cli import LazyGroup, cli

__all__ = ["COMMANDS", "trust_anchor"]

#: Each sub-command: (the module that defines it, its one-line help).
COMMANDS: dict[str, tuple[str, str]] = {
    "serve": ("dataspace.cli.trust_anchor.serve",
              "Run the trust anchor until Ctrl-C; writes <data-dir>/service.json when ready."),
}


@cli.group("trust-anchor", cls=LazyGroup, lazy=COMMANDS)
def trust_anchor() -> None:
    """The trust anchor: onboarding, credentials, trusted-issuers registry."""
