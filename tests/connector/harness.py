"""Running connectors in tests: real servers on 127.0.0.1, one event loop, free ports.

:func:`start_connector` builds ``ConnectorSettings`` for a test (development
mode, fixed-token auth, a private SQLite file or PostgreSQL schema), serves
the app on a free port and returns a :class:`RunningConnector` with its URLs,
admin key and a small management client.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.test_utils import unused_port

from connector.app import create_app
from connector.core import ControlPlane
from connector.keys import CONTROL_PLANE
from connector.settings import AuthSettings, ConnectorSettings, FixedCaller, JobSettings
from servicekit.app import SERVICE_INFO
from tests.conftest import Database

__all__ = ["RunningConnector", "connector_settings", "start_connector"]


def connector_settings(
    name: str,
    data_dir: Path,
    database: Database,
    *,
    tokens: Mapping[str, FixedCaller] | None = None,
    outbound_token: str | None = None,
    **overrides: Any,
) -> ConnectorSettings:
    """Settings for a test connector named ``name`` (DID ``did:web:<name>.example``)."""
    values: dict[str, Any] = {
        "name": name,
        "host": "127.0.0.1",
        "port": unused_port(),
        "management_port": 0,
        "data_dir": data_dir / name,
        "database_url": database.url,
        "database_schema": database.schema,
        "dev": True,
        "did": f"did:web:{name}.example",
        "log_level": "WARNING",
        "auth": AuthSettings(tokens=dict(tokens or {}), outbound_token=outbound_token),
        "jobs": JobSettings(poll_seconds=0.2),
    }
    values.update(overrides)
    return ConnectorSettings(**values)


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
