"""Test harness of the data plane: a backend to proxy and a data plane served on loopback."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer

from connector.dataplane.app import create_data_plane_app
from connector.dataplane.decision import PaymentState
from connector.dataplane.runtime import DataPlane
from connector.dataplane.web import DATA_PLANE
from connector.settings import ConnectorSettings, FixedCaller
from connector.signaling import EndpointDataReference
from tests.conftest import free_port
from tests.connector.conftest import StoreFactory
from tests.connector.harness import RunningConnector, start_connector
from tests.factories import connector_settings

SEEN = web.AppKey("seen", list[dict[str, str]])
RESEARCH = "https://w3id.org/dpv#AcademicResearch"
COMMERCE = "https://w3id.org/dpv#CommercialPurpose"
SMALL_BODY = b'{"items": [' + b",".join(b'{"n": %d}' % i for i in range(90)) + b"]}"


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


# --- through the control plane -------------------------------------------------------------


@contextlib.asynccontextmanager
async def enforcing_pair(stores: StoreFactory, tmp_path: Path, member: FixedCaller) -> (
    AsyncIterator[tuple[RunningConnector, RunningConnector]]
):
    """A provider whose data plane enforces, and a consumer whose token stands for ``member``."""
    provider = await start_connector(connector_settings(
        "provider", tmp_path, stores(), signaling="data-plane",
        data_plane={"flush_seconds": 0.05}, tokens={"consumer-token": member},
        outbound_token="provider-token"))
    consumer = await start_connector(connector_settings(
        "consumer", tmp_path, stores(), role="consumer", outbound_token="consumer-token",
        tokens={"provider-token": FixedCaller(id="did:web:provider.example")}))
    try:
        yield provider, consumer
    finally:
        await consumer.stop()
        await provider.stop()


async def pull_transfer(provider: RunningConnector, consumer: RunningConnector,
                        http: aiohttp.ClientSession, dataset: dict[str, Any], *,
                        approval: Literal["none", "if-asked", "required"] = "none",
                        ) -> dict[str, Any]:  # fmt: skip
    """Offer ``dataset``, agree on it from ``consumer`` and start a pull transfer: its EDR.

    ``approval``: whether the provider's owner approves the request when it waits
    for them (``if-asked``), or it must wait for them and they approve (``required``).
    """
    await provider.api(http, "POST", "/api/v1/datasets", expect=201, json=dataset)
    started = await consumer.api(http, "POST", "/api/v1/negotiations", expect=201, json={
        "counterparty_address": provider.dsp_url, "dataset_id": dataset["id"]})
    if approval != "none":
        await _owner_approves(provider, consumer, http, started["id"],
                              required=approval == "required")
    done = await consumer.wait_for(http, "negotiations", started["id"], {"FINALIZED"})
    transfer = await consumer.api(http, "POST", "/api/v1/transfers", expect=201,
                                  json={"agreement_id": done["agreement_id"]})
    await consumer.wait_for(http, "transfers", transfer["id"], {"STARTED"})
    edr = await consumer.api(http, "GET", f"/api/v1/transfers/{transfer['id']}/edr",
                             expect=200)
    return dict(edr)


async def _owner_approves(provider: RunningConnector, consumer: RunningConnector,
                          http: aiohttp.ClientSession, consumer_pid: str, *,
                          required: bool) -> None:  # fmt: skip
    for _ in range(1000):
        if not required:
            mine = await consumer.api(http, "GET", f"/api/v1/negotiations/{consumer_pid}",
                                      expect=200)
            if mine["state"] in ("AGREED", "VERIFIED", "FINALIZED"):
                return
        page = await provider.api(http, "GET", "/api/v1/negotiations?awaiting=owner",
                                  expect=200)
        waiting = [n for n in page["items"] if n["consumer_pid"] == consumer_pid]
        if waiting:
            await provider.api(http, "POST", f"/api/v1/negotiations/{waiting[0]['id']}/approve",
                               expect=200)
            return
        await asyncio.sleep(0.01)
    assert not required, "the request did not wait for the owner"
