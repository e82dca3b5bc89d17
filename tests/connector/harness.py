"""Running connectors in tests: real servers on 127.0.0.1, one event loop, free ports.

:func:`start_connector` serves a connector made from
:func:`tests.factories.connector_settings` on a free port and returns a
:class:`RunningConnector` with its URLs, admin key and a small management client.
:func:`start_trust_anchor` serves a trust anchor for a connector to onboard at.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer

from connector.app import create_app
from connector.core import ControlPlane
from connector.keys import CONTROL_PLANE
from connector.settings import AuthSettings, ConnectorSettings
from servicekit.app import SERVICE_INFO
from tests.conftest import Database, free_port
from tests.factories import connector_settings, trust_anchor_settings
from trust_anchor.app import create_app as create_trust_anchor
from trust_anchor.settings import TrustAnchorSettings

__all__ = ["HALDEN_APPLICATION", "RunningConnector", "RunningTrustAnchor",
           "halden_at_a_trust_anchor", "start_connector", "start_trust_anchor"]

#: A membership application a connector sends for Halden kommune.
HALDEN_APPLICATION = {"legal_name": "Halden kommune", "organisation_number": "959 159 092",
                      "contact": {"name": "Data", "email": "data@halden.kommune.no"},
                      "roles": ["provider"]}


@dataclass
class RunningConnector:
    """A connector serving on loopback, and how to talk to its management API."""

    settings: ConnectorSettings
    app: web.Application
    runner: web.AppRunner
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def plane(self) -> ControlPlane:
        """The running control plane (for white-box assertions)."""
        return self.app[CONTROL_PLANE]

    @property
    def base_url(self) -> str:
        """The main port's base URL."""
        return self.settings.base_url

    @property
    def dsp_url(self) -> str:
        """The DSP endpoint."""
        return self.settings.dsp_url

    @property
    def management_url(self) -> str:
        """The management API's base URL."""
        return str(self.info["management_url"])

    @property
    def admin_headers(self) -> dict[str, str]:
        """``Authorization: Bearer <admin key>``."""
        return {"Authorization": f"Bearer {self.info['admin_api_key']}"}

    async def api(self, http: aiohttp.ClientSession, method: str, path: str, *,
                  json: Any = None, expect: int | None = None) -> Any:
        """Call the management API; check the status when ``expect`` is given."""
        async with http.request(method, self.management_url + path, json=json,
                                headers=self.admin_headers) as resp:
            body = await resp.json() if resp.content_length != 0 and resp.status != 204 else None
            if expect is not None:
                assert resp.status == expect, (resp.status, body)
            return body

    async def wait_for(self, http: aiohttp.ClientSession, kind: str, process_id: str,
                       states: set[str], timeout: float = 10.0) -> dict[str, Any]:
        """Poll ``/api/v1/<kind>/<id>`` until its state is one of ``states``."""
        deadline = time.monotonic() + timeout
        while True:
            body = await self.api(http, "GET", f"/api/v1/{kind}/{process_id}", expect=200)
            if body["state"] in states or time.monotonic() > deadline:
                assert body["state"] in states, body
                return dict(body)
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        """Stop serving (jobs stop, leases are left to expire)."""
        await self.runner.cleanup()


async def start_connector(settings: ConnectorSettings) -> RunningConnector:
    """Serve a connector built from ``settings`` on its port."""
    app = create_app(settings)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, settings.host, settings.port)
    await site.start()
    info: dict[str, Any] = app[SERVICE_INFO]
    return RunningConnector(settings=settings, app=app, runner=runner, info=dict(info))


@dataclass
class RunningTrustAnchor:
    """A trust anchor serving on loopback, and its operator's approval."""

    settings: TrustAnchorSettings
    server: TestServer

    @property
    def base_url(self) -> str:
        """The trust anchor's base URL (a connector's ``trust_anchor_url``)."""
        return self.settings.base_url

    def member(self, tmp_path: Path, database: Database, auth: AuthSettings,
               **extra: Any) -> ConnectorSettings:
        """Settings of Halden's connector, with a did:web of its own, to onboard here."""
        return connector_settings("halden", tmp_path, database, did=None, did_method="web",
                                  trust_anchor_url=self.base_url, auth=auth, **extra)

    async def approve(self, http: aiohttp.ClientSession,
                      connector: RunningConnector) -> dict[str, Any]:
        """Apply for Halden over ``connector``'s management API; the operator approves."""
        applied = await connector.api(http, "POST", "/api/v1/membership/apply", expect=201,
                                      json=HALDEN_APPLICATION)
        admin = {"Authorization": f"Bearer {self.server.app[SERVICE_INFO]['admin_api_key']}"}
        async with http.post(f"{self.base_url}/admin/applications/"
                             f"{applied['application_id']}/approve",
                             json={"reason": "registry extract checked"},
                             headers=admin) as resp:
            assert resp.status == 200, await resp.text()
            return dict(await resp.json())

    async def close(self) -> None:
        """Stop serving."""
        await self.server.close()


async def start_trust_anchor(tmp_path: Path, database: Database) -> RunningTrustAnchor:
    """Serve a test trust anchor on a free port."""
    port = free_port()
    settings = trust_anchor_settings(tmp_path, database, port)
    server = TestServer(create_trust_anchor(settings), host="127.0.0.1", port=port)
    await server.start_server()
    return RunningTrustAnchor(settings, server)


@asynccontextmanager
async def halden_at_a_trust_anchor(
    tmp_path: Path, stores: Callable[[], Database], auth: AuthSettings, **extra: Any
) -> AsyncIterator[tuple[RunningTrustAnchor, RunningConnector]]:
    """A trust anchor, and Halden's connector set up to onboard at it; both stop afterwards."""
    ta = await start_trust_anchor(tmp_path, stores())
    try:
        connector = await start_connector(ta.member(tmp_path, stores(), auth, **extra))
        try:
            yield ta, connector
        finally:
            await connector.stop()
    finally:
        await ta.close()
