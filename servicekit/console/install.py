"""Putting the console on a service: templates, middleware, shared pages and API, and
the cleanup context that opens the console on the service's database.

A service calls, in ``create_app``::

    install_console(app, config, verifier=lambda request: request.config_dict[API_KEYS])
    app.cleanup_ctx.append(console_context)          # after database_context

and, when it offers signing in with the organisation's credential, sets
``app[ORGANISATION_SIGNIN]`` to an ``identity.oid4vp.Oid4vpVerifier`` built on
:func:`pending_signins` in one of its own cleanup contexts. A connector serves its
console on the management app: it installs there and sets ``management[CONSOLE]``
from :func:`open_console` itself.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import aiohttp_jinja2
import jinja2
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from servicekit.auth import ApiKeyVerifier
from servicekit.clock import Clock, system_clock
from servicekit.console.accounts import Console
from servicekit.console.api import api_routes, wallet_routes
from servicekit.console.config import ConsoleConfig, ConsoleSettings
from servicekit.console.keys import CONSOLE, CONSOLE_CONFIG
from servicekit.console.mail import Mailer
from servicekit.console.pages import page_routes
from servicekit.console.store import ConsoleStore, PendingSignins
from servicekit.console.web import PAGE_HEADERS, console_middleware
from servicekit.openapi import operation

__all__ = ["STATIC", "console_context", "install_console", "open_console", "pending_signins"]

STATIC = Path(__file__).parent / "static"
TEMPLATES = Path(__file__).parent / "templates"


def install_console(app: web.Application, config: ConsoleConfig,
                    verifier: Callable[[web.Request], ApiKeyVerifier]) -> None:
    """Templates, the middleware, the shared pages, the accounts API and the stylesheet."""
    loaders: list[jinja2.BaseLoader] = []
    if config.templates is not None:
        loaders.append(jinja2.FileSystemLoader(config.templates))
    loaders.append(jinja2.FileSystemLoader(TEMPLATES))
    env = aiohttp_jinja2.setup(app, loader=jinja2.ChoiceLoader(loaders), autoescape=True,
                               undefined=jinja2.StrictUndefined)
    env.globals["number"] = lambda value: f"{value:,}".replace(",", "\u202f") \
        if isinstance(value, int) else value
    env.filters["when"] = _when
    app[CONSOLE_CONFIG] = config
    app.middlewares.append(console_middleware)
    app.add_routes(page_routes(config))
    app.add_routes(wallet_routes(config))
    app.add_routes(api_routes(config, verifier))
    for name, content_type in (("console.css", "text/css"), ("console.js", "text/javascript")):
        app.router.add_get(f"{config.prefix}/static/{name}", _static(name, content_type))


def _static(name: str, content_type: str
            ) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    body = (STATIC / name).read_bytes()

    @operation(f"The console's {name}", tags=["console"], response_content_type=content_type,
               responses={200: "The file"})
    async def handler(_request: web.Request) -> web.Response:
        return web.Response(body=body, content_type=content_type,
                            headers={**PAGE_HEADERS, "Cache-Control": "public, max-age=3600"})

    handler.__name__ = name.replace(".", "_")
    handler.__doc__ = f"The console's shared {name}."
    return handler


def _when(value: float | None) -> str:
    """An epoch as a short UTC date and time ("2026-12-06 18:05 UTC")."""
    if value is None:
        return "never"
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(value))


def open_console(engine: AsyncEngine, config: ConsoleConfig, settings: ConsoleSettings, *,
                 dev: bool, clock: Clock = system_clock) -> Console:
    """The console's use cases on ``engine`` (its tables come with servicekit's migrations)."""
    return Console(ConsoleStore(engine), config, settings,
                   mailer=Mailer(settings.smtp_url, settings.mail_from, dev=dev), clock=clock)


def pending_signins(console: Console) -> PendingSignins:
    """The OpenID4VP verifier's pending store on the console's table."""
    return PendingSignins(console.store, console.now)


async def console_context(app: web.Application) -> AsyncIterator[None]:
    """Open the console on the service's database (``app[CONSOLE]``)."""
    from servicekit.app import DB_ENGINE, SETTINGS

    settings = app[SETTINGS]
    app[CONSOLE] = open_console(app[DB_ENGINE], app[CONSOLE_CONFIG], settings.console,
                                dev=settings.dev)
    yield
