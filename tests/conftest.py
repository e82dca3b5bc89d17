"""Fixtures shared by every test package.

``TEST_DATABASE_URL`` (set by ``.ci/run``) adds PostgreSQL to the store and
end-to-end tests; without it they run on SQLite only, and one skip line
(``postgresql-cases``) says how many PostgreSQL cases did not run.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("DATASPACE_SHARED_DIR", REPO_ROOT.parent / "shared"))

#: The ``browser`` fixture of the browser tests (``tests/browser.py``).
pytest_plugins = ["tests.browser"]


@pytest.fixture(scope="session")
def node() -> str:
    """``node`` with the packages of ``tests/interop/node`` installed (interop tests)."""
    from tests.nodejs import NODE_SCRIPTS, node_with

    return node_with(NODE_SCRIPTS, "@digitalbazaar/eddsa-rdfc-2022-cryptosuite")


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
#: The fixtures parametrized by DATABASES: each test using one has a PostgreSQL twin.
DATABASE_FIXTURES = ("database", "stores", "module_stores")


class _PostgresNotRun(pytest.Item):
    """Stands for the PostgreSQL twins a run without ``TEST_DATABASE_URL`` never collects."""

    def __init__(self, *, missing: int, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.missing = missing

    def runtest(self) -> None:
        pytest.skip(f"TEST_DATABASE_URL is not set: the {self.missing} PostgreSQL cases "
                    "did not run (their SQLite twins did)")

    def reportinfo(self) -> tuple[Path, int, str]:
        return Path(__file__), 0, self.name


def _on_sqlite(item: pytest.Item) -> bool:
    callspec = getattr(item, "callspec", None)
    return callspec is not None and any(
        callspec.params.get(name) == "sqlite" for name in DATABASE_FIXTURES)


def pytest_collection_modifyitems(session: pytest.Session, items: list[pytest.Item]) -> None:
    """Without PostgreSQL, say so in one skip line, with how many cases did not run."""
    if TEST_DATABASE_URL:
        return
    missing = len([item for item in items if _on_sqlite(item)])
    if missing:
        items.append(_PostgresNotRun.from_parent(session, name="postgresql-cases",
                                                 missing=missing))


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


def free_port_pair(avoid: set[int] | frozenset[int] = frozenset()) -> int:
    """A port P on 127.0.0.1 with P and P + 1 free a moment ago and neither in ``avoid``.

    A connector served as a process takes two: its protocol port and, by
    default, the next one for its management API.
    """
    while True:
        port = free_port()
        if port >= 65535 or {port, port + 1} & avoid:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
        return port
