"""A small service with the shared console, for the console's own tests."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from servicekit.app import create_service_app, database_context
from servicekit.auth import ApiKeyVerifier, hash_api_key, require_api_key
from servicekit.console.config import ConsoleConfig, ConsoleSettings, NavItem, Role
from servicekit.console.install import console_context, install_console
from servicekit.console.keys import API_CALLER
from servicekit.console.web import page, render
from servicekit.openapi import operation
from servicekit.settings import ServiceSettings
from servicekit.web import json_response

ADMIN_KEY = "dsk_test-admin-key-0123456789"
KEYS = web.AppKey("test_keys", ApiKeyVerifier)

CONFIG = ConsoleConfig(
    title="Test console", prefix="/console", home="/",
    roles=(Role("admin", "Administrator", "Everything", frozenset({"read", "manage", "approve"})),
           Role("approver", "Approver", "Approves", frozenset({"read", "approve"})),
           Role("viewer", "Viewer", "Reads", frozenset({"read"}))),
    nav=(NavItem("Home", "/"), NavItem("People", "/people", frozenset({"admin"}))),
    api_prefix="/admin", templates=Path(__file__).parent / "console_templates",
    organisation_roles=lambda org, request: ("viewer",),
)


@page("GET", "/", "Home")
async def home(request: web.Request) -> web.StreamResponse:
    """The start page."""
    return await render(request, "home.html")


@page("GET", "/approvals", "Approvals", roles=("approver",))
async def approvals(request: web.Request) -> web.StreamResponse:
    """Only approvers."""
    return await render(request, "home.html")


def _keys(request: web.Request) -> ApiKeyVerifier:
    return request.config_dict[KEYS]


@require_api_key(_keys, scope="approve")
@operation("Approve something", responses={200: {"type": "object"}})
async def approve(request: web.Request) -> web.Response:
    """Needs the approve scope."""
    caller = request[API_CALLER]
    return json_response({"by": caller.actor, "kind": caller.kind})


@require_api_key(_keys)
@operation("Read something", responses={200: {"type": "object"}})
async def read(request: web.Request) -> web.Response:
    """Needs the read scope."""
    return json_response({"by": request[API_CALLER].actor})


def make_console_app(tmp_path: Path, *, database_url: str | None = None,
                     schema: str | None = None, **console: object) -> web.Application:
    """The test service: console at /console, a read and an approve API route."""
    settings = ServiceSettings(
        name="console-test", data_dir=tmp_path, database_url=database_url,
        database_schema=schema, dev=True,
        console=ConsoleSettings(password_memory_kib=64, password_time_cost=1,
                                **console))
    app = create_service_app(settings, title="Console test", version="1.0")
    app[KEYS] = ApiKeyVerifier([hash_api_key(ADMIN_KEY)])
    install_console(app, CONFIG, _keys)
    app.router.add_get("/console", home)
    app.router.add_get("/console/approvals", approvals)
    app.router.add_post("/admin/approve", approve)
    app.router.add_get("/admin/read", read)
    app.cleanup_ctx.extend([database_context(None), console_context])
    return app
