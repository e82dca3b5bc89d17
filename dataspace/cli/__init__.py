"""The ``dataspace`` command: one click group, each sub-command in its own module.

Exit codes follow the command-line contract: 0 success, 1 a negative answer
(e.g. a policy denies), 2 bad input or usage. Errors go to stderr as one
readable line.

The sub-command modules import the services, aiohttp, SQLAlchemy and
pydantic, which takes about a second; so :class:`LazyGroup` imports a module
only when its command runs. ``dataspace --help`` lists the commands from
:data:`COMMANDS` without importing any of them (a test checks that each short
help here matches the command's own).
"""

from __future__ import annotations

import importlib

import click

from dataspace import __version__

__all__ = ["COMMANDS", "LazyGroup", "cli", "main"]

#: Each top-level command: (the module that defines it, its one-line help). Keep one
#: line per command so parallel work on different commands does not collide.
COMMANDS: dict[str, tuple[str, str]] = {
    "bill": ("dataspace.cli.bill", "Bills for what you bought and used (operator: all)."),
    "connector": ("dataspace.cli.connector",
                  "A Dataspace Protocol connector: publish datasets, negotiate contracts, "
                  "pull data."),
    "console": ("dataspace.cli.console",
                "People's accounts in a service's web console: sign-in links, API tokens."),
    "credential": ("dataspace.cli.credential", "Issue and verify VC 2.0 credentials (VC-API)."),
    "db": ("dataspace.cli.db", "Database maintenance."),
    "demo": ("dataspace.cli.demo",
             "Play the story: onboard, publish, negotiate, pull, hit the limit, approve, "
             "receipt."),
    "did": ("dataspace.cli.did", "Show DIDs and DID documents."),
    "keys": ("dataspace.cli.keys", "Generate and inspect keys in the encrypted key store."),
    "marketplace": ("dataspace.cli.marketplace",
                    "The marketplace: data products, pricing plans, orders, usage billing."),
    "operator": ("dataspace.cli.operator",
                 "Review applications, approve, reject, suspend, reinstate and revoke "
                 "members."),
    "order": ("dataspace.cli.order", "Buy data products: order, follow, cancel, mark paid."),
    "participant": ("dataspace.cli.participant",
                    "Join a data space: create a DID, apply, collect the membership "
                    "credential."),
    "policy": ("dataspace.cli.policy", "Validate ODRL policies and explain decisions."),
    "product": ("dataspace.cli.product", "Data products: register, list, launch, retire."),
    "trust-anchor": ("dataspace.cli.trust_anchor",
                     "The trust anchor: onboarding, credentials, trusted-issuers registry."),
    "up": ("dataspace.cli.up",
           "Start the trust anchor, the marketplace and two connectors on loopback, seeded."),
}


class LazyGroup(click.Group):
    """A group whose commands live in modules imported only when the command is used."""

    def __init__(self, *args: object, lazy: dict[str, tuple[str, str]] | None = None,
                 **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.lazy = dict(lazy or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        """Every command name, the loaded and the lazy ones."""
        return sorted(set(self.commands) | set(self.lazy))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """The command, importing its module on first use (the module registers it)."""
        if cmd_name not in self.commands and cmd_name in self.lazy:
            importlib.import_module(self.lazy[cmd_name][0])
        return self.commands.get(cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """List the commands with their short help, importing none of them."""
        names = self.list_commands(ctx)
        # The same width click's own Group gives the short help.
        limit = formatter.width - 6 - max((len(name) for name in names), default=0)
        rows = []
        for name in names:
            command = self.commands.get(name)
            if command is None:
                short = _short_help(self.lazy[name][1], limit)
            elif command.hidden:
                continue
            else:
                short = command.get_short_help_str(limit)
            rows.append((name, short))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


def _short_help(text: str, limit: int) -> str:
    """``text`` shortened as click shortens a command's help."""
    return click.Command(None, help=text).get_short_help_str(limit)


@click.group(cls=LazyGroup, lazy=COMMANDS,
             context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="dataspace")
def cli() -> None:
    """Share data with trust: trust anchor, connectors, marketplace and the local data space."""


@cli.command()
def version() -> None:
    """Print the toolkit version."""
    click.echo(__version__)


def main() -> None:
    """Entry point of the ``dataspace`` console script."""
    cli(prog_name="dataspace")
