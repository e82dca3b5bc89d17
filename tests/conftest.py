"""Fixtures shared by every test package.

``TEST_DATABASE_URL`` (set by ``.ci/run``) adds PostgreSQL to the store and
end-to-end tests; without it they run on SQLite only.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("DATASPACE_SHARED_DIR", REPO_ROOT.parent / "shared"))


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The ``../shared`` folder with specifications and conformance suites."""
    assert SHARED.is_dir(), f"../shared is missing beside the clone: {SHARED}"
    return SHARED


# --- databases -------------------------------------------------------------

import uuid  # noqa: E402
from collections.abc import AsyncIterator  # noqa: E402
from dataclasses import dataclass  # noqa: E402

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")
DATABASES = ["sqlite", "postgres"] if TEST_DATABASE_URL else ["sqlite"]


@dataclass(frozen=True)
class Database:
    """Where a test's store lives: a URL and, on PostgreSQL, a private schema."""

    kind: str
    url: str
    schema: str | None = None


@pytest.fixture(params=DATABASES)
async def database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    """A fresh, empty database on every store the run covers.

    SQLite: a file under the test's tmp_path. PostgreSQL: a schema of its own in
    ``TEST_DATABASE_URL``, dropped afterwards, so tests never see each other's rows.
    """
    if request.param == "sqlite":
        yield Database("sqlite", f"sqlite+aiosqlite:///{tmp_path / 'test.sqlite3'}")
        return
    assert TEST_DATABASE_URL is not None
    schema = "t_" + uuid.uuid4().hex[:12]
    yield Database("postgres", TEST_DATABASE_URL, schema)
    await drop_schema(TEST_DATABASE_URL, schema)


async def drop_schema(url: str, schema: str) -> None:
    """Remove a test schema and everything in it."""
    from sqlalchemy import text

    from servicekit.db import create_engine

    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    finally:
        await engine.dispose()


# --- servers ---------------------------------------------------------------

import socket  # noqa: E402


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
