"""Every path and operation a service documents in ``/openapi.json`` is routed.

For each service (the list :data:`SERVICES` is where a new service joins),
the app is served on loopback, its ``/openapi.json`` is read, and every
documented operation is requested with dummy path parameters and the admin
key. A route that does not exist answers aiohttp's own 404 (problem code
``route-not-found``) or 405; a handler that looks up a dummy id answers its
own 404 (``not-found``, ``negotiation-not-found``, ...), which is fine.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from connector.dataplane.app import create_data_plane_app
from marketplace.app import create_app as create_marketplace_app
from servicekit.app import SERVICE_INFO
from servicekit.service_info import load_or_create_admin_key
from servicekit.settings import ServiceSettings
from tests.conftest import Database, free_port
from tests.connector.harness import start_connector
from tests.factories import (
    connector_settings,
    data_plane_settings,
    marketplace_settings,
    trust_anchor_settings,
)
from trust_anchor.app import create_app as create_trust_anchor_app

ROUTING_CODES = {"route-not-found", "method-not-allowed"}
DUMMY = "dummy-0"


@dataclass(frozen=True)
class Api:
    """One documented API of a running service."""

    name: str
    base_url: str
    headers: dict[str, str]


ServiceFactory = Callable[[Path], AbstractAsyncContextManager[list[Api]]]


def _sqlite(tmp_path: Path, name: str) -> Database:
    return Database("sqlite", f"sqlite+aiosqlite:///{tmp_path / f'{name}.sqlite3'}")


def _service_key(app: web.Application) -> str:
    key: str = app[SERVICE_INFO]["admin_api_key"]
    return key


@asynccontextmanager
async def _served(name: str, app: web.Application, settings: ServiceSettings,
                  admin_key: Callable[[web.Application], str] = _service_key,
                  ) -> AsyncIterator[list[Api]]:
    """``app`` on its port; its one API, called with its admin key."""
    server = TestServer(app, host="127.0.0.1", port=settings.port)
    await server.start_server()
    try:
        headers = {"Authorization": f"Bearer {admin_key(server.app)}"}
        yield [Api(name, settings.base_url, headers)]
    finally:
        await server.close()


@asynccontextmanager
async def trust_anchor(tmp_path: Path) -> AsyncIterator[list[Api]]:
    """The trust anchor (one port)."""
    settings = trust_anchor_settings(tmp_path, _sqlite(tmp_path, "ta"), free_port())
    async with _served("trust anchor", create_trust_anchor_app(settings), settings) as apis:
        yield apis


@asynccontextmanager
async def connector(tmp_path: Path) -> AsyncIterator[list[Api]]:
    """The connector: the DSP port and the management port."""
    database = _sqlite(tmp_path, "connector")
    running = await start_connector(connector_settings("routes", tmp_path, database))
    try:
        yield [
            Api("connector", running.base_url, running.admin_headers),
            Api("connector management", running.management_url, running.admin_headers),
        ]
    finally:
        await running.stop()


@asynccontextmanager
async def data_plane(tmp_path: Path) -> AsyncIterator[list[Api]]:
    """The lean data-plane app (``python -m connector.dataplane``)."""
    settings = data_plane_settings(_sqlite(tmp_path, "dp"), tmp_path / "dp")
    async with _served("data plane", create_data_plane_app(settings), settings,
                       lambda _app: load_or_create_admin_key(settings.data_dir)) as apis:
        yield apis


@asynccontextmanager
async def marketplace(tmp_path: Path) -> AsyncIterator[list[Api]]:
    """The marketplace (one port; the TM Forum APIs under /tmf-api)."""
    settings = marketplace_settings(tmp_path, _sqlite(tmp_path, "mp"), free_port())
    async with _served("marketplace", create_marketplace_app(settings), settings) as apis:
        yield apis


#: Every service the project serves; a new one adds its factory here.
SERVICES: dict[str, ServiceFactory] = {
    "trust-anchor": trust_anchor,
    "marketplace": marketplace,
    "connector": connector,
    "data-plane": data_plane,
}

_VARIABLE = re.compile(r"\{([^{}]+)\}")


def _dummy_path(path: str) -> str:
    return _VARIABLE.sub(DUMMY, path)


async def _document(http: aiohttp.ClientSession, api: Api) -> dict[str, Any]:
    async with http.get(api.base_url + "/openapi.json") as response:
        assert response.status == 200, (api.name, response.status)
        document: dict[str, Any] = await response.json()
    assert document["paths"], f"{api.name} documents no paths"
    return document


def _unrouted(status: int, body: Any) -> bool:
    """True if the answer says no route matched (not: the dummy resource is missing)."""
    if status == 405:
        return True
    if status != 404:
        return False
    # aiohttp's own 404 says route-not-found; a bare (non-JSON) 404 did not
    # come from any handler either.
    return not isinstance(body, dict) or body.get("code") in ROUTING_CODES


@pytest.mark.parametrize("service", list(SERVICES))
async def test_every_documented_operation_is_routed(service: str, tmp_path: Path) -> None:
    missing: list[str] = []
    checked = 0
    async with SERVICES[service](tmp_path) as apis, aiohttp.ClientSession() as http:
        for api in apis:
            document = await _document(http, api)
            for path, operations in document["paths"].items():
                # Documented paths are templates with {name}, never aiohttp's {name:regex}.
                assert ":" not in "".join(_VARIABLE.findall(path)), path
                declared = {
                    p["name"] for op in operations.values() if isinstance(op, dict)
                    for p in op.get("parameters", []) if p.get("in") == "path"
                }
                assert declared == set(_VARIABLE.findall(path)), (api.name, path, declared)
                for method in operations:
                    url = api.base_url + _dummy_path(path)
                    async with http.request(method.upper(), url, headers=api.headers,
                                            allow_redirects=False) as response:
                        body = await response.json(content_type=None) \
                            if response.content_type.endswith("json") else None
                        checked += 1
                        if _unrouted(response.status, body):
                            missing.append(f"{api.name}: {method.upper()} {path} -> "
                                           f"{response.status} {body}")
    assert checked > 0
    assert not missing, "documented but not routed:\n" + "\n".join(missing)


async def test_a_route_that_does_not_exist_is_caught(tmp_path: Path) -> None:
    """The check above can fail: an undocumented-but-requested path is reported."""
    async with trust_anchor(tmp_path) as apis, aiohttp.ClientSession() as http:
        api = apis[0]
        async with http.get(api.base_url + "/oid4vci/oid4vci/nonce") as response:
            body = await response.json(content_type=None)
            assert _unrouted(response.status, body), (response.status, body)
        async with http.delete(api.base_url + "/healthz") as response:
            body = await response.json(content_type=None)
            assert _unrouted(response.status, body), (response.status, body)
