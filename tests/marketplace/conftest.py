"""A real marketplace on loopback, on SQLite and (with TEST_DATABASE_URL) PostgreSQL."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from marketplace.app import create_app
from marketplace.settings import MarketplaceSettings
from servicekit.clock import Clock
from tests.conftest import Database, free_port
from tests.factories import marketplace_settings
from tests.fakes import FakeClock

TMF620 = "/tmf-api/productCatalogManagement/v4"
TMF622 = "/tmf-api/productOrderingManagement/v4"
TMF635 = "/tmf-api/usageManagement/v4"
TMF637 = "/tmf-api/productInventory/v4"
TMF678 = "/tmf-api/customerBillManagement/v4"


@dataclass
class Marketplace:
    """A running marketplace and what tests need to talk to it."""

    url: str
    did: str
    admin_key: str
    server: TestServer
    http: aiohttp.ClientSession

    @property
    def admin(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.admin_key}"}

    async def call(self, method: str, path: str, body: Any = None, *,
                   headers: dict[str, str] | None = None
                   ) -> tuple[int, Any, dict[str, str]]:
        """``method path`` with a JSON body: (status, JSON or text, headers)."""
        async with self.http.request(method, self.url + path, json=body,
                                     headers=headers or {}) as response:
            if response.content_type.endswith("json"):
                data: Any = await response.json()
            else:
                data = await response.text()
            return response.status, data, dict(response.headers)


@asynccontextmanager
async def serving(settings: MarketplaceSettings, *,
                  clock: Clock | None = None) -> AsyncIterator[Marketplace]:
    """The marketplace of ``settings`` serving on its port, and a client to talk to it.

    ``clock`` replaces the wall clock the use cases read (a ``tests.fakes.FakeClock``).
    """
    from servicekit.app import SERVICE_INFO

    app = create_app(settings) if clock is None else create_app(settings, clock=clock)
    server = TestServer(app, host="127.0.0.1", port=settings.port)
    await server.start_server()
    try:
        info = server.app[SERVICE_INFO]
        async with aiohttp.ClientSession() as http:
            yield Marketplace(settings.base_url, info["did"], info["admin_api_key"], server,
                              http)
    finally:
        await server.close()


@pytest.fixture
async def marketplace(tmp_path: Path, database: Database) -> AsyncIterator[Marketplace]:
    """A marketplace without a trust anchor (anonymous and operator callers only)."""
    async with serving(marketplace_settings(tmp_path, database, free_port())) as running:
        yield running


#: The shared secret of signed invoice callbacks in the ``mp`` marketplace.
CALLBACK_SECRET = "bank-callback-secret-0123456789"


@pytest.fixture
def clock() -> FakeClock:
    """A fake wall clock, starting now."""
    return FakeClock(time.time())


@pytest.fixture
async def mp(tmp_path: Path, database: Database, clock: FakeClock) -> AsyncIterator[Marketplace]:
    """A marketplace on ``clock`` that takes signed invoice callbacks (``CALLBACK_SECRET``)."""
    settings = marketplace_settings(tmp_path, database, free_port(),
                                    payments={"invoice_callback_secret": CALLBACK_SECRET})
    async with serving(settings, clock=clock) as running:
        yield running
