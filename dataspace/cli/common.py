"""Pieces every ``dataspace`` sub-command shares: serve options, errors, output."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click

from servicekit.errors import DataspaceError
from servicekit.logging import configure_logging
from servicekit.runner import AppFactory, run_service
from servicekit.settings import ServiceSettings

__all__ = ["fail", "handle_errors", "print_json", "serve", "service_options"]

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
    """Build settings (flags > environment > TOML > defaults), configure logging, run."""
    try:
        settings = settings_cls.load(config_file=config_file, **flags)
    except Exception as exc:  # pydantic's ValidationError, TOML errors
        fail(f"invalid settings: {exc}".replace("\n", "; "))
    configure_logging(settings.log_level, json=settings.log_json, service=settings.name)
    run_service(factory, settings, workers=workers)


def fail(message: str, code: int = 2) -> NoReturn:
    """Print one readable line to stderr and exit with ``code``."""
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def print_json(data: Any) -> None:
    """Print ``data`` as indented JSON."""
    click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def handle_errors(command: F) -> F:
    """Turn toolkit errors into one stderr line and exit code 2."""

    @functools.wraps(command)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except DataspaceError as error:
            fail(f"{error.code}: {error.detail}")

    return wrapped  # type: ignore[return-value]
