"""The byte path: flat memory on large files, and backend failures that are not billed."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
import pytest_asyncio
import sqlalchemy as sa
from aiohttp.test_utils import TestServer

from connector.dataplane.app import connector_signer, migrate_data_plane, open_data_plane
from connector.dataplane.runtime import DataPlane
from connector.dataplane.store.tables import audit, usage
from connector.domain.catalog import Backend
from policies.presets import calls_per_period, research_use
from servicekit.db import create_engine
from tests.conftest import Database
from tests.connector.dataplane.harness import RESEARCH, Running, bearer, serve_data_plane
from tests.connector.dataplane.processes import DataPlaneProcess
from tests.factories import agreement, data_flow, data_plane_settings

GB = 1 << 30


def peak_rss_mb(pid: int) -> float:
    """The process's peak resident set (VmHWM), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


@pytest.mark.slow
async def test_a_2_gb_file_streams_with_flat_memory(tmp_path: Path) -> None:
    data = tmp_path / "big.parquet"
    with data.open("wb") as handle:
        handle.truncate(2 * GB)  # sparse: reads as zeros, takes no disk
    settings = data_plane_settings(Database("sqlite", f"sqlite+aiosqlite:///{tmp_path / 'dp.db'}"),
                            tmp_path)
    engine = create_engine(settings.sqlalchemy_url)
    await migrate_data_plane(engine, None)
    plane = open_data_plane(settings, engine, connector_signer(settings))
    await plane.start()
    server = DataPlaneProcess(settings, log=tmp_path / "dp.log")
    try:
        await server.ready()
        at_start = peak_rss_mb(server.process.pid)  # imports, migrations, the key's scrypt
        edr = await plane.signaling.start(data_flow(
            agreement(research_use()), Backend(type="file", address=str(data))))
        started = time.monotonic()
        total = 0
        async with aiohttp.ClientSession() as http, http.get(
            server.base + "/data", headers={**bearer(edr), "X-Purpose": RESEARCH}
        ) as response:
            assert response.status == 200
            assert response.headers["Content-Type"] == "application/vnd.apache.parquet"
            async for chunk in response.content.iter_chunked(1 << 20):
                total += len(chunk)
        elapsed = time.monotonic() - started
        assert total == 2 * GB
        peak = peak_rss_mb(server.process.pid)
        assert peak < 150, f"peak RSS {peak:.0f} MiB"
        assert peak - at_start < 20, f"streaming raised the peak from {at_start:.0f} MiB"
        print(f"2 GiB in {elapsed:.1f} s ({2048 / elapsed:.0f} MiB/s), peak RSS {peak:.0f} MiB")
        # The server counts the use once its last write returns, which may be just
        # after the client read the last byte: the receipt says so within a moment.
        expected = {"requests": 1, "bytes": 2 * GB, "failures": 0, "refusals": 0}
        for _ in range(50):
            async with aiohttp.ClientSession() as http, http.get(
                server.base + "/dataplane/receipt", headers=bearer(edr)
            ) as response:
                receipt = await response.json()
            if receipt["content"]["usage"] == expected:
                break
            await asyncio.sleep(0.1)
        assert receipt["content"]["usage"] == expected
    finally:
        server.stop()
        await plane.stop()
        await engine.dispose()


@pytest_asyncio.fixture
async def quick(database: Database, tmp_path: Path) -> AsyncIterator[Running]:
    """A data plane that gives up on a silent backend after half a second."""
    running = await serve_data_plane(data_plane_settings(
        database, tmp_path, backend_read_timeout_seconds=0.5, backend_timeout_seconds=0.5))
    yield running
    await running.server.close()


async def usage_and_audit(plane: DataPlane, transfer_id: str) -> tuple[list[int], list[str]]:
    """Stored (requests, bytes, failures) of a transfer, and the kinds of its audit records."""
    await plane.flush()
    async with plane.db.connect() as conn:
        row = (await conn.execute(sa.select(
            sa.func.coalesce(sa.func.sum(usage.c.requests), 0),
            sa.func.coalesce(sa.func.sum(usage.c.bytes), 0),
            sa.func.coalesce(sa.func.sum(usage.c.failures), 0),
        ).where(usage.c.transfer_id == transfer_id))).one()
        kinds = (await conn.execute(sa.select(audit.c.kind).where(
            audit.c.transfer_id == transfer_id).order_by(audit.c.seq))).scalars().all()
    return [int(v) for v in row], list(kinds)


async def test_a_backend_that_dies_mid_stream_cuts_the_response_and_is_not_billed(
    quick: Running, backend: TestServer
) -> None:
    policy = agreement(calls_per_period(2, "P3650D") + research_use())
    edr = await quick.plane.signaling.start(data_flow(
        policy, Backend(type="http", address=str(backend.make_url("/broken")))))
    headers = {**bearer(edr), "X-Purpose": RESEARCH}
    async with aiohttp.ClientSession() as http:
        for _ in range(3):  # more tries than the limit allows: failures are not uses
            async with http.get(quick.url, headers=headers) as response:
                assert response.status == 200
                with pytest.raises(aiohttp.ClientPayloadError):
                    await response.read()
    stored, kinds = await usage_and_audit(quick.plane, edr.transfer_id)
    assert stored == [0, 0, 3]
    assert kinds == ["permit", "unbilled"] * 3


@pytest.mark.parametrize(("path", "status", "code"), [
    ("/fail", 502, "backend-failed"),
    ("/slow", 504, "backend-timeout"),
])
async def test_backend_failures_are_problems_and_not_counted(
    quick: Running, backend: TestServer, path: str, status: int, code: str
) -> None:
    edr = await quick.plane.signaling.start(data_flow(
        agreement(calls_per_period(1, "P3650D")),
        Backend(type="http", address=str(backend.make_url(path)),
                properties={"header.X-Api-Key": "backend-secret-key"})))
    async with aiohttp.ClientSession() as http:
        for _ in range(2):
            async with http.get(quick.url, headers=bearer(edr)) as response:
                body = await response.text()
                assert response.status == status
                assert response.content_type == "application/problem+json"
                assert code in body
                assert "hunter2" not in body
                assert "secret" not in body
                assert str(backend.port) not in body
    stored, _ = await usage_and_audit(quick.plane, edr.transfer_id)
    assert stored == [0, 0, 2]


async def test_an_unreachable_backend_is_a_502(quick: Running) -> None:
    edr = await quick.plane.signaling.start(data_flow(
        agreement(research_use()), Backend(type="http", address="http://127.0.0.1:9/x")))
    async with aiohttp.ClientSession() as http:
        async with http.get(quick.url, headers={**bearer(edr), "X-Purpose": RESEARCH}) as r:
            assert r.status == 502
            assert (await r.json(content_type=None))["code"] == "backend-unreachable"
    await asyncio.sleep(0)
