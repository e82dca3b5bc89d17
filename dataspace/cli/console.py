"""``dataspace console``: people's accounts in a service's web console, from a shell.

Each command reads the service's ``service.json`` (its URL and admin API key; for a
connector its management URL) from ``--data-dir``: the service's own folder, or a
``dataspace up`` folder with ``--service NAME``.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from dataspace.cli import cli
from dataspace.cli.common import (
    fail,
    json_option,
    locate_service,
    print_json,
    print_next,
    print_table,
    service_name_option,
    when,
)

if TYPE_CHECKING:
    from dataspace.consoles import ConsoleSite

__all__ = ["console"]

F = TypeVar("F", bound=Callable[..., Any])


def _options(command: F) -> F:
    command = service_name_option("--service", "service")(command)
    return click.option("--data-dir", type=click.Path(path_type=Path, file_okay=False),
                        required=True,
                        help="The service's data dir (reads its service.json), or that of "
                             "`dataspace up` with --service NAME.")(command)


def _site(data_dir: Path) -> ConsoleSite:
    from dataspace.consoles import CONSOLE_ROLES, console_site

    _folder, info = locate_service(data_dir, CONSOLE_ROLES, "console service",
                                   "--service")
    site = console_site(info)
    if site is None or not site.api_key:
        fail(f"{data_dir}: the service.json of {info.get('name')} names no console or "
             "admin API key")
    return site


def _refusals(command: F) -> F:
    """Bad input (the service says 400, or the CLI's own checks) exits 2; a service that
    refuses or cannot be reached exits 1. One line on stderr either way."""

    @functools.wraps(command)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        from dataspace.client import ApiError
        from servicekit.errors import DataspaceError, InvalidRequest

        try:
            return command(*args, **kwargs)
        except DataspaceError as error:
            bad = isinstance(error, InvalidRequest) or (
                isinstance(error, ApiError) and error.http_status in (400, 413, 422))
            fail(f"{error.code}: {error.detail}", code=2 if bad else 1)

    return wrapped  # type: ignore[return-value]


def _follow(data_dir: Path) -> str:
    context = click.get_current_context()
    name = context.meta.get("dataspace.service-name")
    return f"--data-dir {data_dir}" + (f" --service {name}" if name else "")


@cli.group()
def console() -> None:
    """People's accounts in a service's web console: sign-in links, API tokens."""


@console.command("link")
@_options
@click.option("--email", required=True, help="Whose account.")
@click.option("--name", default=None, help="The person's name (for a new account).")
@click.option("--role", "roles", multiple=True,
              help="A role of a new account (repeat for several); an existing account "
                   "keeps its roles.")
@json_option
@_refusals
def link(data_dir: Path, email: str, name: str | None, roles: tuple[str, ...],
         as_json: bool) -> None:
    """A one-time sign-in link; makes the account first if it is missing."""
    from dataspace.consoles import ConsoleAdmin

    if "@" not in email.strip():
        fail(f"--email {email!r} is not an email address")
    site = _site(data_dir)

    async def run() -> Any:
        async with ConsoleAdmin(site) as admin:
            return await admin.link(email, name, roles)

    made = asyncio.run(run())
    account = made.account
    if as_json:
        print_json({"service": site.name, "console_url": site.console_url,
                    "account": account, "created": made.created,
                    "signin_link": made.signin_link})
        return
    print_table(("SERVICE", "CONSOLE", "SIGNS IN", "ROLES", "ONE-TIME LINK"),
                [(site.name, site.console_url, account.get("email"),
                  ", ".join(account.get("roles", [])), made.signin_link)])
    what = "made the account; " if made.created else ""
    print_next(f"{what}open the link in a browser (it works once, for a day) and choose a "
               f"password; then sign in at {site.console_url}")


@console.command("accounts")
@_options
@json_option
@_refusals
def accounts(data_dir: Path, as_json: bool) -> None:
    """List the people with accounts in the service's console."""
    from dataspace.consoles import ConsoleAdmin

    site = _site(data_dir)

    async def run() -> Any:
        async with ConsoleAdmin(site) as admin:
            return await admin.accounts()

    found = asyncio.run(run())
    if as_json:
        print_json(found)
        return
    if not found:
        click.echo(f"No accounts in the console of {site.name} yet.")
        print_next(f"`dataspace console link {_follow(data_dir)} --email EMAIL "
                   "--name NAME --role admin`")
        return
    print_table(("EMAIL", "NAME", "ROLES", "STATUS", "SECOND FACTOR", "CREATED"),
                [(a.get("email"), a.get("name"), ", ".join(a.get("roles", [])),
                  a.get("status"), "on" if a.get("totp") else "off", when(a.get("created_at")))
                 for a in found])
    click.echo(f"\nConsole: {site.console_url}")


@console.command("token")
@_options
@click.option("--email", required=True, help="Whose token (the account must exist).")
@click.option("--name", required=True, help="What the token is for (e.g. the script's name).")
@click.option("--scope", "scopes", multiple=True, required=True,
              type=click.Choice(["read", "manage", "approve"]),
              help="What it may do (repeat for several), within the account's roles.")
@click.option("--days", type=click.FloatRange(min=0, min_open=True, max=3660), default=90,
              show_default=True, help="How long it works.")
@json_option
@_refusals
def token(data_dir: Path, email: str, name: str, scopes: tuple[str, ...], days: float,
          as_json: bool) -> None:
    """Make an API token for an account; it is shown once."""
    from dataspace.consoles import ConsoleAdmin

    site = _site(data_dir)

    async def run() -> Any:
        async with ConsoleAdmin(site) as admin:
            return await admin.token(email, name, scopes, days)

    made = asyncio.run(run())
    if as_json:
        print_json({key: value for key, value in made.items() if key != "account"})
        return
    print_table(("SERVICE", "ACCOUNT", "NAME", "SCOPES", "EXPIRES", "TOKEN"),
                [(site.name, made["account"].get("email"), made.get("name"),
                  ", ".join(made.get("scopes", [])), when(made.get("expires_at")),
                  made["token"])])
    print_next(f"keep the token now (it is not shown again); scripts send it as "
               f"`Authorization: Bearer <token>` to {site.api_base}{site.api_prefix}")
