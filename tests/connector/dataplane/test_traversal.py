"""A consumer's sub-path never reaches past the dataset's base path on an HTTP backend.

The requests are written on a raw socket, so they reach the data plane as
sent (an HTTP client would remove the dot segments first); the backend on
loopback records the request target it receives and the API key that came
with it.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import aiohttp
import pytest
import pytest_asyncio
import sqlalchemy as sa
from aiohttp import web
from aiohttp.test_utils import TestServer

from connector.dataplane.paths import leaves_base
from connector.dataplane.store.tables import audit
from connector.dataplane.web import METRICS
from connector.domain.catalog import Backend
from policies.presets import research_use
from servicekit.service_info import load_or_create_admin_key
from tests.conftest import free_port
from tests.connector.dataplane.harness import RESEARCH, Running
from tests.factories import agreement, data_flow

API_KEY = "dataset-api-key-7f3a"
BASE = "/base/only-this"

#: Sub-paths (after the data URL) that climb out of the base, as written on the wire.
ESCAPES = [
    "/../../admin",                      # raw dot segments
    "/..%2f..%2fadmin",                  # encoded slashes
    "/%2e%2e/%2e%2e/admin",              # encoded dots
    "/%2E%2E/admin",                     # ... in upper case
    "/..%252f..%252fadmin",              # double-encoded slashes
    "/%252e%252e/%252e%252e/admin",      # double-encoded dots
    "/..\\..\\admin",                    # backslashes
    "/..%5c..%5cadmin",                  # encoded backslashes
    "/reports/../../admin",              # in, then out
    "/reports//../../admin",             # an empty segment does not count as a level
    "/..;/admin",                        # a path parameter on the dot segment
]
#: Sub-paths that stay inside: still served, under the base, with the key.
INSIDE = [
    ("/reports/2026.csv", f"{BASE}/reports/2026.csv"),
    ("/reports/../summary.csv", f"{BASE}/reports/../summary.csv"),
    ("/file..name%20with%20space.txt", f"{BASE}/file..name%20with%20space.txt"),
]


@dataclass
class Recorder:
    """What the backend received: request targets and the API key sent with each."""

    seen: list[tuple[str, str]] = field(default_factory=list)

    async def any_path(self, request: web.Request) -> web.Response:
        self.seen.append((request.raw_path, request.headers.get("X-Api-Key", "")))
        return web.json_response({"served": request.raw_path})


@pytest_asyncio.fixture
async def recorder() -> AsyncIterator[tuple[Recorder, TestServer]]:
    """A backend on loopback that answers any path and records it."""
    record = Recorder()
    app = web.Application()
    app.router.add_route("GET", "/{anything:.*}", record.any_path)
    server = TestServer(app, host="127.0.0.1", port=free_port())
    await server.start_server()
    yield record, server
    await server.close()


async def raw_get(base_url: str, target: str,
                  headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:  # fmt: skip
    """Send ``GET target`` exactly as written; the status, head fields and body."""
    parts = urlsplit(base_url)
    assert parts.hostname is not None
    assert parts.port is not None
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    try:
        lines = [f"GET {target} HTTP/1.1", f"Host: {parts.netloc}", "Connection: close",
                 *(f"{k}: {v}" for k, v in headers.items())]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        await writer.drain()
        data = await asyncio.wait_for(reader.read(), 10)
    finally:
        writer.close()
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *fields = head.decode("latin-1").split("\r\n")
    found = {k.strip().lower(): v.strip() for k, v in (f.split(":", 1) for f in fields)}
    return int(status_line.split()[1]), found, body


def outside(received: str) -> bool:
    """Whether a target the backend received, decoded and normalised, is outside the base."""
    path = received.split("?", 1)[0]
    if not path.startswith(BASE + "/") and path != BASE:
        return True
    return leaves_base(path[len(BASE):])


async def test_sub_paths_that_leave_the_base_are_refused_and_audited(
    dp: Running, recorder: tuple[Recorder, TestServer]
) -> None:
    record, server = recorder
    backend = Backend(type="http", address=str(server.make_url(BASE)),
                      properties={"proxyPath": "true", "header.X-Api-Key": API_KEY})
    edr = await dp.plane.signaling.start(data_flow(agreement(research_use()), backend))
    headers = {"Authorization": f"Bearer {edr.token}", "X-Purpose": RESEARCH}
    data_path = urlsplit(dp.url).path

    for escape in ESCAPES:
        status, fields, body = await raw_get(dp.base, data_path + escape, headers)
        assert status == 403, (escape, body)
        assert fields["content-type"].startswith("application/problem+json"), escape
        problem = json.loads(body)
        assert problem["code"] == "path-outside-dataset", escape
        assert API_KEY.encode() not in body
    assert record.seen == []  # nothing went to the backend, so neither did its key

    for inside, expected in INSIDE:
        status, _, body = await raw_get(dp.base, data_path + inside, headers)
        assert status == 200, (inside, body)
        assert json.loads(body) == {"served": expected}
    assert record.seen == [(expected, API_KEY) for _, expected in INSIDE]
    assert not any(outside(target) for target, _ in record.seen)

    # an nginx front asks the same question with the original URI, undecoded
    key = {"X-Dataplane-Key": load_or_create_admin_key(dp.settings.data_dir)}
    async with aiohttp.ClientSession() as http:
        for uri in (data_path + "/..%2f..%2fadmin", data_path + "/%252e%252e/admin"):
            async with http.post(dp.base + "/dataplane/decide", headers={
                    **key, **headers, "X-Original-URI": uri}) as response:
                assert response.status == 403, uri
                assert response.headers["X-Dataplane-Decision"] == "deny"
                assert (await response.json(content_type=None))["code"] == "path-outside-dataset"
        async with http.post(dp.base + "/dataplane/decide", headers=key, json={
                "token": edr.token, "purpose": RESEARCH, "path": "..\\admin"}) as response:
            assert response.status == 403

    # every refusal is a deny in the audit chain, with the path that was asked for
    await dp.plane.flush()
    async with dp.plane.db.connect() as conn:
        bodies = (await conn.execute(sa.select(audit.c.body).where(
            audit.c.transfer_id == edr.transfer_id).order_by(audit.c.seq))).scalars().all()
    records = [json.loads(b) for b in bodies]
    denied = [r for r in records if r["decision"] == "deny"]
    assert [r["code"] for r in denied] == ["path-outside-dataset"] * (len(ESCAPES) + 3)
    assert denied[0]["path"] == "../../admin"
    assert [r["decision"] for r in records].count("permit") == len(INSIDE)
    assert dp.server.app[METRICS].denied == len(ESCAPES) + 3  # counted once each


@pytest.mark.parametrize(("path", "leaves"), [
    ("", False), ("a/b.csv", False), ("a/../b", False), ("a/./../b/..", False),
    ("..", True), ("a/../..", True), ("%2e%2e", True), ("%252E%252E/x", True),
    ("a%2f..%2f..", True), ("..\\x", True), ("a\\..\\..", True), ("%25252e%25252e", True),
    ("a..b/c..", False), ("%41", False), (".%2e/x", True), ("/..", True),
])
def test_dot_segments_are_found_however_encoded(path: str, leaves: bool) -> None:
    assert leaves_base(path) is leaves
