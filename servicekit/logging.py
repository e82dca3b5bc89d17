"""structlog configuration: JSON lines when not on a terminal, console otherwise.

Configure once in ``__main__``. Request-scoped values (``request_id``,
``service``, ``participant``) are bound with :mod:`structlog.contextvars` by
the request middleware, so every line logged while serving a request carries
them. Keys, tokens and credentials are never logged: :func:`redact` removes
fields whose names say they hold secrets, as a last line of defence.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any

import orjson
import structlog

__all__ = ["configure_logging", "get_logger", "redact"]

# Field names that hold secrets: matched as suffixes ("access_token",
# "admin_api_key") or, for the short ones, exactly ("d" of a JWK).
_SECRET_SUFFIXES = (
    "password",
    "passphrase",
    "secret",
    "token",
    "authorization",
    "private_key",
    "api_key",
    "apikey",
)
_SECRET_NAMES = frozenset({"d", "jwt", "credential", "vc", "vp", "key"})


def _is_secret(key: str) -> bool:
    lowered = key.lower()
    return lowered in _SECRET_NAMES or lowered.endswith(_SECRET_SUFFIXES)


def redact(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor that blanks fields named like secrets."""
    for key in list(event_dict):
        if key != "event" and _is_secret(key):
            event_dict[key] = "[redacted]"
    return event_dict


def _orjson_dumps(obj: Any, default: Any = None) -> str:
    return orjson.dumps(obj, default=default or str).decode()


def configure_logging(
    level: str = "INFO", *, json: bool | None = None, service: str | None = None
) -> None:
    """Configure structlog and the standard library's root logger.

    ``json`` defaults to True when stderr is not a terminal. ``service`` is
    added to every line.
    """
    if json is None:
        json = not sys.stderr.isatty()
    numeric = logging.getLevelName(level.upper())
    if not isinstance(numeric, int):
        numeric = logging.INFO
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        redact,
    ]
    if service:
        shared.insert(0, _add_service(service))
    renderer: Any = (
        structlog.processors.JSONRenderer(serializer=_orjson_dumps)
        if json
        else structlog.dev.ConsoleRenderer()
    )
    structlog.configure(
        processors=[
            *shared,
            structlog.processors.StackInfoRenderer(),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=_StderrLogger,
        cache_logger_on_first_use=False,
    )
    # Libraries that use the standard library (aiohttp, alembic) go through
    # the same renderer so the stream stays one format.
    handler = _StderrHandler()
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processor=renderer, foreign_pre_chain=[*shared, structlog.stdlib.add_logger_name]
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(numeric)
    # aiohttp's own access log duplicates our one summary line per request.
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)


class _StderrLogger:
    """Writes each rendered line to whatever ``sys.stderr`` is at that moment."""

    def __init__(self, *_args: Any) -> None:
        pass

    def msg(self, message: str) -> None:
        stream = sys.stderr
        stream.write(message + "\n")
        stream.flush()

    log = debug = info = warn = warning = error = critical = exception = fatal = msg


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """A stream handler bound to the current ``sys.stderr``, not the one at start-up."""

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


def _add_service(service: str) -> Any:
    def processor(
        _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
    ) -> MutableMapping[str, Any]:
        event_dict.setdefault("service", service)
        return event_dict

    return processor


def get_logger(name: str | None = None) -> Any:
    """A structlog logger; ``name`` is bound as ``logger``."""
    log = structlog.get_logger()
    return log.bind(logger=name) if name else log
