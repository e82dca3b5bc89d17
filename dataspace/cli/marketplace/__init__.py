"""``dataspace marketplace``: run the data space's marketplace.

Its commands are imported only when they run (see :data:`COMMANDS`), so
``dataspace marketplace --help`` does not load the service.
"""

from __future__ import annotations

from dataspace.cli import LazyGroup, cli

__all__ = ["COMMANDS", "marketplace"]

#: Each sub-command: (the module that defines it, its one-line help).
COMMANDS: dict[str, tuple[str, str]] = {
    "serve": ("dataspace.cli.marketplace.serve",
              "Run the marketplace until Ctrl-C; writes <data-dir>/service.json when ready."),
}


@cli.group("marketplace", cls=LazyGroup, lazy=COMMANDS)
def marketplace() -> None:
    """The marketplace: data products, pricing plans, orders, usage billing."""
