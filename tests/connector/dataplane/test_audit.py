"""The audit log through ``dataspace connector audit verify``: edits, deletions and swaps show."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import sqlalchemy as sa
from aiohttp.test_utils import TestServer
from click.testing import CliRunner

from connector.dataplane.audit import GENESIS, chain_hash
from connector.dataplane.store.tables import audit, audit_checkpoints, audit_head
from connector.domain.catalog import Backend
from dataspace.cli import cli
from policies.presets import research_use
from servicekit.db import create_engine
from tests.conftest import Database
from tests.connector.dataplane.harness import (
    COMMERCE,
    RESEARCH,
    bearer,
    serve_data_plane,
    start_backend,
)
from tests.factories import agreement, data_flow, data_plane_settings


async def _make_log(database: Database, data_dir: Path) -> str:
    """Serve some permits and denials, write them; the transfer id."""
    backend: TestServer = await start_backend()
    running = await serve_data_plane(data_plane_settings(database, data_dir, checkpoint_records=4))
    try:
        edr = await running.plane.signaling.start(data_flow(
            agreement(research_use()),
            Backend(type="http", address=str(backend.make_url("/api/items")))))
        async with aiohttp.ClientSession() as http:
            for purpose in (RESEARCH, COMMERCE) * 5:
                async with http.get(running.url, headers={**bearer(edr), "X-Purpose": purpose}):
                    pass
        await running.plane.flush(checkpoint=True)
        return edr.transfer_id
    finally:
        await running.server.close()
        await backend.close()


async def _sql(database: Database, work: Any) -> Any:
    engine = create_engine(database.url, schema=database.schema)
    try:
        async with engine.begin() as conn:
            return await work(conn)
    finally:
        await engine.dispose()


def verify(database: Database, data_dir: Path, *extra: str) -> tuple[int, str]:
    """Run the CLI; its exit code and output."""
    args = ["connector", "audit", "verify", "--data-dir", str(data_dir),
            "--database-url", database.url, *extra]
    if database.schema:
        args += ["--database-schema", database.schema]
    result = CliRunner().invoke(cli, args, env={"CONNECTOR_KEY_PASSPHRASE": "test-passphrase",
                                                "CONNECTOR_DEV": "true",
                                                "CONNECTOR_DID_METHOD": "key"})
    return result.exit_code, result.output


@pytest.fixture
def log(database: Database, tmp_path: Path) -> Database:
    """A database with an audit log of 10 decisions and signed checkpoints."""
    asyncio.run(_make_log(database, tmp_path))
    return database


def test_an_untouched_log_verifies(log: Database, tmp_path: Path) -> None:
    code, output = verify(log, tmp_path)
    assert code == 0, output
    assert "10 records" in output
    code, output = verify(log, tmp_path, "--json")
    report = json.loads(output)
    assert report["ok"] is True
    assert report["checkpoints"] >= 1


async def _tamper(conn: Any) -> None:
    body = (await conn.execute(sa.select(audit.c.body).where(audit.c.seq == 3))).scalar_one()
    await conn.execute(audit.update().where(audit.c.seq == 3).values(
        body=body.replace('"deny"', '"permit"').replace('"permit"', '"deny"', 1)))


async def _delete(conn: Any) -> None:
    await conn.execute(audit.delete().where(audit.c.seq == 5))


async def _swap(conn: Any) -> None:
    await conn.execute(audit.update().where(audit.c.seq == 6).values(seq=-6))
    await conn.execute(audit.update().where(audit.c.seq == 7).values(seq=6))
    await conn.execute(audit.update().where(audit.c.seq == -6).values(seq=7))


async def _rewrite_chain(conn: Any) -> None:
    # edit a record and recompute every hash after it: only the signatures can tell
    rows = (await conn.execute(sa.select(audit).order_by(audit.c.seq))).all()
    prev = GENESIS
    for row in rows:
        body = row.body.replace(RESEARCH, COMMERCE) if row.seq == 1 else row.body
        digest = chain_hash(prev, body.encode())
        await conn.execute(audit.update().where(audit.c.seq == row.seq).values(
            body=body, prev_hash=prev, hash=digest))
        prev = digest
    assert rows[0].body != (await conn.execute(sa.select(audit.c.body).where(
        audit.c.seq == 1))).scalar_one()
    await conn.execute(audit_checkpoints.update().values(hash=prev))
    await conn.execute(audit_head.update().values(hash=prev))


@pytest.mark.parametrize(("damage", "expected"), [
    (_tamper, "record 3: content was changed"),
    (_delete, "record 5 is missing"),
    (_swap, "does not link"),
    (_rewrite_chain, "signed content differs"),
])
def test_tampering_is_detected(log: Database, tmp_path: Path, damage: Any,
                               expected: str) -> None:
    asyncio.run(_sql(log, damage))
    code, output = verify(log, tmp_path)
    assert code == 1, output
    assert expected in output
    assert "NOT intact" in output


def test_bad_input_exits_2(tmp_path: Path) -> None:
    missing = Database("sqlite", f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}")
    code, output = verify(missing, tmp_path / "nokeys")
    assert code == 2
    assert "key store" in output
    code, output = verify(missing, tmp_path, "--public-key", str(tmp_path / "none.jwk"))
    assert code == 2
