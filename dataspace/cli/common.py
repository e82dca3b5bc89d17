"""Pieces every ``dataspace`` sub-command shares: serve options, errors, output.

Output follows the command-line contract: a readable table with headers by
default (:func:`print_table`), ``--json`` for scripts (:data:`json_option`,
:func:`print_json`), and the next step where there is one
(:func:`print_next`). This module imports only click: the service libraries
load inside the functions that need them, so a sub-command's ``--help`` stays
quick.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable, Collection, Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import click

if TYPE_CHECKING:  # the service libraries load only for the commands that run them
    from servicekit.runner import AppFactory
    from servicekit.settings import ServiceSettings

__all__ = [
    "fail",
    "handle_errors",
    "json_option",
    "locate_service",
    "print_json",
    "print_next",
    "print_table",
    "serve",
    "service_name_option",
    "service_options",
    "when",
]

F = TypeVar("F", bound=Callable[..., Any])


def service_options(default_port: int) -> Callable[[F], F]:
    """The options of the command-line contract every ``serve`` command takes."""

    def decorate(command: F) -> F:
        options = [
            click.option("--host", default=None, help="Address to listen on [127.0.0.1]."),
            click.option("--port", type=int, default=None,
                         help=f"Port to listen on [{default_port}]."),
            click.option("--data-dir", type=click.Path(path_type=Path), default=None,
                         help="Where state, keys and service.json live [./.dataspace]."),
            click.option("--database-url", default=None,
                         help="SQLAlchemy URL (PostgreSQL); SQLite under --data-dir if absent."),
            click.option("--public-url", default=None,
                         help="The URL others reach this service at (behind a proxy)."),
            click.option("--dev", is_flag=True, default=None,
                         help="Allow plain HTTP and did:web on loopback (development only)."),
            click.option("--config", "config_file", type=click.Path(path_type=Path,
                         exists=True, dir_okay=False), default=None,
                         help="A TOML settings file (flags and environment win)."),
            click.option("--log-level", default=None, help="DEBUG, INFO, WARNING... [INFO]."),
        ]
        for option in reversed(options):
            command = option(command)
        return command

    return decorate


def serve(
    settings_cls: type[ServiceSettings],
    factory: AppFactory,
    *,
    config_file: Path | None = None,
    workers: int = 1,
    **flags: Any,
) -> None:
    """Build settings (flags > environment > TOML > defaults), configure logging, run.

    ``--data-dir`` may name a ``dataspace up`` folder: the service then runs in
    the folder of the service of its name there. A port that is taken ends the
    command with exit 1 before anything starts.
    """
    from dataspace.client import DATASPACE_FILE
    from servicekit.errors import DataspaceError
    from servicekit.logging import configure_logging
    from servicekit.runner import ensure_ports_free, run_service

    def load(**overrides: Any) -> ServiceSettings:
        try:
            return settings_cls.load(config_file=config_file, **{**flags, **overrides})
        except Exception as exc:  # pydantic's ValidationError, TOML errors
            fail(f"invalid settings: {exc}".replace("\n", "; "))

    settings = load()
    if (settings.data_dir / DATASPACE_FILE).exists():
        folder = _up_folder(settings.data_dir, settings.name)
        settings = load(data_dir=folder)
    ports = {name: value for name, value in settings.model_dump().items()
             if (name == "port" or name.endswith("_port")) and isinstance(value, int) and value}
    try:
        for name, port in ports.items():
            ensure_ports_free(settings.host, [port],
                              advice=f"; use another --{name.replace('_', '-')}")
    except DataspaceError as error:
        fail(error.detail, code=1)
    configure_logging(settings.log_level, json=settings.log_json, service=settings.name)
    run_service(factory, settings, workers=workers)


def _up_folder(data_dir: Path, name: str) -> Path:
    """The folder of service ``name`` in the ``dataspace up`` folder ``data_dir``."""
    from dataspace.client import DATASPACE_FILE

    services = json.loads((data_dir / DATASPACE_FILE).read_text()).get("services", [])
    names = [str(s.get("name")) for s in services]
    if name not in names:
        fail(f"{data_dir} is a `dataspace up` folder without a service called {name} "
             f"(it has {', '.join(names) or 'none'}); give --name or the service's own folder")
    folder = data_dir / name
    click.echo(f"using {name} in {folder}", err=True)
    return folder


# --- finding a running service ------------------------------------------------------------

_SERVICE_NAME = "dataspace.service-name"


def _remember_name(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    if value is not None:
        ctx.meta[_SERVICE_NAME] = value


def service_name_option(flag: str, what: str) -> Callable[[F], F]:
    """``flag NAME``: which service of a ``dataspace up`` folder a command talks to.

    The value is kept in the click context (not passed to the command), so
    :func:`locate_service` finds it without every command growing a parameter.
    """
    return click.option(flag, metavar="NAME", expose_value=False, callback=_remember_name,
                        help=f"Which {what} of a `dataspace up` --data-dir (by name).")


def locate_service(data_dir: Path, roles: Collection[str], what: str,
                   flag: str) -> tuple[Path, dict[str, Any]]:
    """The service's folder and ``service.json`` for a command (see ``find_service``).

    Says on stderr which service of a ``dataspace up`` folder it chose; a
    missing or ambiguous service ends the command with one line (exit 2).
    """
    from dataspace.client import find_service
    from servicekit.errors import DataspaceError

    context = click.get_current_context(silent=True)
    name = context.meta.get(_SERVICE_NAME) if context is not None else None
    try:
        return find_service(data_dir, roles=roles, name=name, what=what,
                            announce=lambda line: click.echo(line, err=True))
    except DataspaceError as error:
        hint = {"service-ambiguous": f" with {flag} NAME",
                "service-not-found": "; or give --url and --api-key"}.get(error.code, "")
        fail(f"{error.code}: {error.detail}{hint}")


def fail(message: str, code: int = 2) -> NoReturn:
    """Print one readable line to stderr and exit with ``code``."""
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


#: ``--json``: the API's JSON instead of the table, for scripts.
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON (for scripts).")


def print_json(data: Any) -> None:
    """Print ``data`` as indented JSON."""
    click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def print_table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """A plain table with a header row (wide enough never to cut an id).

    Cells are shown as they are: ``did:key:...`` is not an emoji code, nor
    ``[b]`` markup.
    """
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table(*headers, box=None, header_style="bold", pad_edge=False, show_edge=False)
    for column in table.columns:
        column.no_wrap = True
        column.overflow = "ignore"
    for row in rows:
        table.add_row(*(Text("" if cell is None else str(cell)) for cell in row))
    width = None if sys.stdout.isatty() else 1000
    Console(width=width, soft_wrap=True, highlight=False, emoji=False,
            markup=False).print(table)


def print_next(step: str) -> None:
    """The next step, after a blank line."""
    click.echo(f"\nNext: {step}")


def when(epoch: Any) -> str:
    """A UTC time (seconds since the epoch) to the minute; "" when there is none."""
    if not isinstance(epoch, int | float):
        return ""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M")


def handle_errors(command: F) -> F:
    """Turn toolkit errors into one stderr line and exit code 2."""

    @functools.wraps(command)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        from servicekit.errors import DataspaceError

        try:
            return command(*args, **kwargs)
        except DataspaceError as error:
            fail(f"{error.code}: {error.detail}")

    return wrapped  # type: ignore[return-value]
