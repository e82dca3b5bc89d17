"""Running connectors in tests: real servers on 127.0.0.1, one event loop, free ports.

:func:`start_connector` serves a connector made from
:func:`tests.factories.connector_settings` on a free port and returns a
:class:`RunningConnector` with its URLs, admin key and a small management client.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from connector.app import create_app
from connector.core import ControlPlane
from connector.keys import CONTROL_PLANE
from connector.settings import ConnectorSettings
from servicekit.app import SERVICE_INFO

__all__ = ["RunningConnector", "start_connector"]


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
