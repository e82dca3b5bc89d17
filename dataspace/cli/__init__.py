"""The ``dataspace`` command: one click group, each sub-command in its own module.

Exit codes follow the command-line contract: 0 success, 1 a negative answer
(e.g. a policy denies), 2 bad input or usage. Errors go to stderr as one
readable line.
"""

from __future__ import annotations

import click

from dataspace import __version__

__all__ = ["cli", "main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="dataspace")
def cli() -> None:
    """Share data with trust: trust anchor, connectors, marketplace and the local data space."""


@cli.command()
def version() -> None:
    """Print the toolkit version."""
    click.echo(__version__)


def _register() -> None:
    # Each module adds its commands to ``cli``; keep one line per module so
    # parallel work on different commands does not collide.
    import dataspace.cli.connector
    import dataspace.cli.db
    import dataspace.cli.demo
    import dataspace.cli.did
    import dataspace.cli.keys
    import dataspace.cli.operator
    import dataspace.cli.participant
    import dataspace.cli.policy
    import dataspace.cli.trust_anchor
    import dataspace.cli.up  # noqa: F401


_register()


def main() -> None:
    """Entry point of the ``dataspace`` console script."""
    cli(prog_name="dataspace")
