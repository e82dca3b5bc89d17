"""Test harness of the data plane: a fake clock, a backend to proxy, agreements from presets."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer

from connector.dataplane.app import create_data_plane_app
from connector.dataplane.decision import PaymentState
from connector.dataplane.runtime import DataPlane
from connector.dataplane.web import DATA_PLANE
from connector.domain.catalog import Backend
from connector.settings import ConnectorSettings
from connector.signaling import DataFlow, EndpointDataReference
from policies.presets import PlanTerms, agreement_from_offer, plan_offer
from policies.serialize import to_dsp
from tests.conftest import Database, free_port

PROVIDER = "did:web:provider.example"
CONSUMER = "did:web:consumer.example"
SEEN = web.AppKey("seen", list[dict[str, str]])
RESEARCH = "https://w3id.org/dpv#AcademicResearch"
COMMERCE = "https://w3id.org/dpv#CommercialPurpose"
SMALL_BODY = b'{"items": [' + b",".join(b'{"n": %d}' % i for i in range(90)) + b"]}"


def settings_for(database: Database, data_dir: Path, *, port: int | None = None,
                 data_plane_url: str | None = None, edr_token_seconds: float = 300.0,
                 **data_plane: Any) -> ConnectorSettings:
    """Connector settings for a data plane on loopback over ``database``."""
    port = port or free_port()
    return ConnectorSettings(
        dev=True, host="127.0.0.1", port=port, data_dir=data_dir, name="provider",
        database_url=database.url, database_schema=database.schema, did_method="key",
        key_passphrase="test-passphrase", log_level="WARNING", data_plane_url=data_plane_url,
        edr_token_seconds=edr_token_seconds, data_plane={"flush_seconds": 0.05, **data_plane},
    )


def agreement(terms: PlanTerms, *, agreement_id: str | None = None,
              dataset_id: str = "urn:dataset:traffic", consumer: str = CONSUMER,
              timestamp: datetime | None = None) -> dict[str, Any]:  # fmt: skip
    """An ODRL Agreement (DSP JSON) made from a plan template, as the control plane keeps it."""
    offer = plan_offer(terms, offer_id=f"urn:offer:{uuid.uuid4()}", assigner=PROVIDER,
                       target=dataset_id, membership_credential=None)
    made = agreement_from_offer(offer, agreement_id=agreement_id or f"urn:uuid:{uuid.uuid4()}",
                                assignee=consumer, target=dataset_id,
                                timestamp=timestamp or datetime(2026, 1, 1, tzinfo=UTC))
    return to_dsp(made)


def data_flow(policy: dict[str, Any], backend: Backend, *, transfer_id: str | None = None,
              consumer: str = CONSUMER) -> DataFlow:  # fmt: skip
    """What the control plane hands the data plane for one pull transfer."""
    return DataFlow(
        transfer_id=transfer_id or f"urn:uuid:{uuid.uuid4()}",
        agreement_id=str(policy["@id"]),
        dataset_id=str(policy.get("target", "urn:dataset:traffic")),
        consumer_id=consumer,
        format="HttpData-PULL",
        agreement=policy,
        backend=backend,
    )


@dataclass
class Running:
    """A data plane served on loopback."""

    server: TestServer
    plane: DataPlane
    settings: ConnectorSettings

    @property
    def url(self) -> str:
        """The data endpoint."""
        return self.plane.endpoint

    @property
    def base(self) -> str:
        """The server's base URL."""
        return self.settings.base_url


async def serve_data_plane(settings: ConnectorSettings, clock: Any = None,
                           payments: PaymentState | None = None) -> Running:  # fmt: skip
    """Start the standalone data-plane app for ``settings`` (``payments``: what was paid)."""
    kwargs: dict[str, Any] = {"clock": clock} if clock is not None else {}
    app = create_data_plane_app(settings, payments=payments, **kwargs)
    server = TestServer(app, host="127.0.0.1", port=settings.port)
    await server.start_server()
    return Running(server=server, plane=app[DATA_PLANE], settings=settings)


def bearer(edr: EndpointDataReference | str) -> dict[str, str]:
    """The Authorization header of an EDR (or a token)."""
    token = edr if isinstance(edr, str) else edr.token
    return {"Authorization": f"Bearer {token}"}


# --- a backend to proxy ------------------------------------------------------------------


def backend_app() -> web.Application:
    """A third-party HTTP API: small JSON, large streams, a failing and a breaking route."""
    app = web.Application()
    seen: list[dict[str, str]] = []

    async def items(request: web.Request) -> web.Response:
        seen.append({"path": request.path, "query": request.query_string,
                     "auth": request.headers.get("Authorization", "")})
        return web.Response(body=SMALL_BODY, content_type="application/json")

    async def big(request: web.Request) -> web.StreamResponse:
        size = int(request.query.get("size", str(1 << 20)))
        response = web.StreamResponse(headers={"Content-Type": "application/octet-stream"})
        response.content_length = size
        await response.prepare(request)
        block = b"x" * (256 * 1024)
        left = size
        while left > 0:
            chunk = block if left >= len(block) else block[:left]
            await response.write(chunk)
            left -= len(chunk)
        await response.write_eof()
        return response

    async def broken(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/octet-stream"})
        response.content_length = 10 << 20
        await response.prepare(request)
        await response.write(b"y" * (1 << 20))
        await asyncio.sleep(0.05)
        assert request.transport is not None
        request.transport.abort()  # the backend dies mid-stream
        return response

    async def fail(_request: web.Request) -> web.Response:
        return web.Response(status=500, text="database on fire: password=hunter2")

    async def slow(_request: web.Request) -> web.Response:
        await asyncio.sleep(5)
        return web.Response(text="late")

    app.router.add_get("/api/items", items)
    app.router.add_get("/api/items/{tail:.*}", items)
    app.router.add_get("/big", big)
    app.router.add_get("/broken", broken)
    app.router.add_get("/fail", fail)
    app.router.add_get("/slow", slow)
    app[SEEN] = seen
    return app


async def start_backend() -> TestServer:
    """Serve :func:`backend_app` on loopback."""
    server = TestServer(backend_app(), host="127.0.0.1", port=free_port())
    await server.start_server()
    return server


async def fetch(session: aiohttp.ClientSession, url: str, headers: dict[str, str],
                **kwargs: Any) -> tuple[int, bytes]:  # fmt: skip
    """GET ``url``; the status and body."""
    async with session.get(url, headers=headers, **kwargs) as response:
        return response.status, await response.read()


async def gather_statuses(session: aiohttp.ClientSession, url: str, headers: dict[str, str],
                          n: int) -> list[int]:  # fmt: skip
    """Fire ``n`` GETs concurrently; their statuses."""
    results = await asyncio.gather(*(fetch(session, url, headers) for _ in range(n)))
    return [status for status, _ in results]


async def iter_all(stream: AsyncIterator[bytes]) -> int:
    """Drain a byte stream; how many bytes it had."""
    total = 0
    async for chunk in stream:
        total += len(chunk)
    return total
