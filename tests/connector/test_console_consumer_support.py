"""A small data space for the consumer console's tests: a trust anchor, an onboarded
provider (enforcing data plane) and consumer, both in the ``dcp`` auth mode with a
did:web on loopback, and a backend behind the provider's datasets."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp.test_utils import TestServer

from connector.settings import AuthSettings, DcpSettings
from servicekit.app import SERVICE_INFO
from servicekit.console.config import ConsoleSettings
from tests.conftest import free_port
from tests.connector.conftest import StoreFactory
from tests.connector.dataplane.harness import backend_app
from tests.connector.harness import RunningConnector, start_connector
from tests.console_session import ConsoleSession, first_admin
from tests.factories import connector_settings, trust_anchor_settings
from trust_anchor.app import create_app as create_trust_anchor

__all__ = ["Space", "data_space"]

RESEARCH = "https://w3id.org/dpv#AcademicResearch"


@dataclass
class Space:
    """The trust anchor, the provider (Halden kommune), the consumer (Analyse AS)."""

    ta_url: str
    ta_admin: dict[str, str]
    http: aiohttp.ClientSession
    tmp: Path
    stores: StoreFactory
    backend: TestServer
    connectors: list[RunningConnector] = field(default_factory=list)

    @property
    def provider(self) -> RunningConnector:
        return self.connectors[0]

    @property
    def consumer(self) -> RunningConnector:
        return self.connectors[1]

    async def ta(self, method: str, path: str, body: Any = None) -> Any:
        async with self.http.request(method, self.ta_url + path, json=body,
                                     headers=self.ta_admin) as resp:
            assert resp.status < 300, await resp.text()
            return await resp.json()

    async def start(self, name: str, **overrides: Any) -> RunningConnector:
        values: dict[str, Any] = {
            "did": None, "did_method": "web", "trust_anchor_url": self.ta_url,
            "auth": AuthSettings(dcp=DcpSettings(status_list_ttl=1.0, registry_ttl=1.0)),
            "jobs": {"poll_seconds": 0.1, "max_attempts": 2, "base_backoff_seconds": 0.05},
            "console": ConsoleSettings(password_memory_kib=64, password_time_cost=1),
        } | overrides
        connector = await start_connector(connector_settings(name, self.tmp, self.stores(),
                                                             **values))
        self.connectors.append(connector)
        return connector

    async def onboard(self, connector: RunningConnector, legal_name: str,
                      roles: list[str]) -> dict[str, Any]:
        """Apply, the operator approves, collect the MembershipCredential."""
        applied = await connector.api(self.http, "POST", "/api/v1/membership/apply", expect=201,
                                      json={"legal_name": legal_name,
                                            "organisation_number": "912 345 678",
                                            "country": "NO", "roles": roles,
                                            "contact": {"name": "Data", "email": "d@x.no"}})
        approved = await self.ta("POST", f"/admin/applications/{applied['application_id']}"
                                 "/approve", {"reason": "ok"})
        collected = await connector.api(self.http, "POST", "/api/v1/membership/collect",
                                        expect=201, json={"tx_code": approved["tx_code"]})
        return dict(collected)

    async def person(self, connector: RunningConnector, email: str,
                     roles: tuple[str, ...]) -> ConsoleSession:
        """A browser signed in to ``connector``'s console as a new person with ``roles``."""
        made = await first_admin(self.http, connector.management_url + "/api/v1",
                                 connector.info["admin_api_key"], email=email,
                                 name=email.split("@")[0].title(), roles=roles)
        browser = ConsoleSession(connector.management_url)
        await browser.use_link(made["signin_link"])
        return browser

    async def dataset(self, dataset_id: str, title: str, **fields: Any) -> None:
        """A dataset of the provider, served from the backend."""
        await self.provider.api(self.http, "POST", "/api/v1/datasets", expect=201, json={
            "id": dataset_id, "title": title,
            "backend": {"address": str(self.backend.make_url("/api/items"))}} | fields)


@asynccontextmanager
async def data_space(stores: StoreFactory, tmp: Path) -> AsyncIterator[Space]:
    """Start everything; stop it afterwards."""
    port = free_port()
    ta_settings = trust_anchor_settings(tmp, stores(), port)
    ta_server = TestServer(create_trust_anchor(ta_settings), host="127.0.0.1", port=port)
    await ta_server.start_server()
    backend = TestServer(backend_app(), host="127.0.0.1", port=free_port())
    await backend.start_server()
    info = ta_server.app[SERVICE_INFO]
    async with aiohttp.ClientSession() as http:
        space = Space(ta_settings.base_url, {"Authorization": f"Bearer {info['admin_api_key']}"},
                      http, tmp, stores, backend)
        try:
            await space.start("halden", signaling="data-plane",
                              data_plane={"flush_seconds": 0.05})
            await space.start("analyse", role="consumer")
            await space.onboard(space.provider, "Halden kommune", ["provider"])
            await space.onboard(space.consumer, "Analyse AS", ["consumer"])
            yield space
        finally:
            for connector in reversed(space.connectors):
                await connector.stop()
            await backend.close()
            await ta_server.close()
