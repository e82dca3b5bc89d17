"""Test harness of the data plane: a backend to proxy and a data plane served on loopback."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer

from connector.dataplane.app import create_data_plane_app
from connector.dataplane.decision import PaymentState
from connector.dataplane.runtime import DataPlane
from connector.dataplane.web import DATA_PLANE
from connector.settings import ConnectorSettings
from connector.signaling import EndpointDataReference
from tests.conftest import free_port

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
