"""The database engine (SQLite by default, PostgreSQL by URL) and migrations.

One SQLAlchemy Core implementation serves both stores. SQLite runs in WAL mode
with a busy timeout so the background workers and request handlers of one
process share it. On PostgreSQL a service may live in its own schema (several
services, or several test runs, share one database); the schema is created on
start-up and put first on the ``search_path`` of every connection.

Migrations are Alembic scripts in each service's ``store/migrations`` folder.
:func:`migrate` upgrades to head on start-up; on PostgreSQL an advisory lock
makes replicas that start together migrate one after the other.

A table is written once. ``store/tables.py`` gives each table's columns as the
migration that created it made them, in a ``*_columns()`` function, and that
migration builds the table by calling the same function. So these functions
(and :func:`timestamps`) are frozen: never edit one. A later column goes into
a new migration and, in ``tables.py``, after the call. ``tests/test_migrations_frozen.py``
pins what every revision creates.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic.config import Config
from alembic.runtime.environment import EnvironmentContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, MetaData, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

__all__ = [
    "create_engine",
    "current_revision",
    "is_postgres",
    "migrate",
    "normalise_url",
    "savepoint",
    "timestamps",
]

_SCHEMA_RE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def normalise_url(url: str) -> str:
    """Accept plain ``postgresql://`` and ``sqlite:///`` URLs; use async drivers."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres", "postgresql+psycopg2"):
        parsed = parsed.set(drivername="postgresql+asyncpg")
    elif parsed.drivername == "sqlite":
        parsed = parsed.set(drivername="sqlite+aiosqlite")
    return parsed.render_as_string(hide_password=False)


def is_postgres(engine: AsyncEngine | AsyncConnection) -> bool:
    """True when ``engine`` (or a connection of it) talks to PostgreSQL."""
    return engine.dialect.name == "postgresql"


def create_engine(url: str, *, schema: str | None = None, echo: bool = False) -> AsyncEngine:
    """Create the async engine for ``url``.

    SQLite files get their parent folder created, WAL journaling and a busy
    timeout. PostgreSQL connections get ``search_path`` set to ``schema``
    when one is given (call :func:`migrate` or create the schema first).
    """
    url = normalise_url(url)
    parsed = make_url(url)
    kwargs: dict[str, Any] = {"echo": echo}
    if parsed.drivername.startswith("sqlite"):
        database = parsed.database or ""
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        kwargs["connect_args"] = {"timeout": 30}
        engine = create_async_engine(url, **kwargs)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    if schema is not None:
        if not _SCHEMA_RE.match(schema):
            raise ValueError(f"invalid schema name: {schema!r}")
        kwargs["connect_args"] = {"server_settings": {"search_path": f"{schema},public"}}
    kwargs.update(pool_size=10, max_overflow=10, pool_pre_ping=True)
    return create_async_engine(url, **kwargs)


@asynccontextmanager
async def savepoint(conn: AsyncConnection) -> AsyncIterator[None]:
    """A savepoint in ``conn``'s transaction: an error inside undoes only what it wrote.

    Use it instead of ``conn.begin_nested()``. Python's sqlite3 driver opens
    its transaction lazily, before the first write; a SAVEPOINT issued before
    any write therefore *starts* the transaction, and releasing it commits
    everything, so the rest of the caller's transaction would no longer be
    atomic. On SQLite this opens the driver's transaction first.
    """
    if conn.dialect.name == "sqlite":
        raw = await conn.get_raw_connection()
        if not raw.driver_connection.in_transaction:  # type: ignore[union-attr]
            await conn.exec_driver_sql("BEGIN")
    async with conn.begin_nested():
        yield


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _alembic_config(script_location: Path, version_table: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(script_location))
    config.set_main_option("version_table", version_table)
    return config


def _run_upgrade(
    connection: Connection,
    script_location: Path,
    metadata: MetaData | None,
    version_table: str,
    target: str,
) -> None:
    config = _alembic_config(script_location, version_table)
    script = ScriptDirectory.from_config(config)

    def upgrade(rev: Any, _context: Any) -> Any:
        return script._upgrade_revs(target, rev)

    with EnvironmentContext(
        config, script, fn=upgrade, as_sql=False, destination_rev=target
    ) as env:
        env.configure(
            connection=connection,
            target_metadata=metadata,
            version_table=version_table,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with env.begin_transaction():
            env.run_migrations()


async def migrate(
    engine: AsyncEngine,
    script_location: Path,
    *,
    metadata: MetaData | None = None,
    version_table: str = "alembic_version",
    schema: str | None = None,
    target: str = "heads",
) -> None:
    """Upgrade the database to ``target`` (all heads by default).

    Runs inside one transaction. On PostgreSQL it takes an advisory lock
    derived from the version table and schema first, so concurrent replicas
    do not race, and creates ``schema`` if it is missing.
    """
    async with engine.connect() as conn:
        if is_postgres(engine):
            lock_id = zlib.crc32(f"{schema or 'public'}.{version_table}".encode())
            await conn.execute(text("SELECT pg_advisory_lock(:id)"), {"id": lock_id})
            try:
                if schema is not None:
                    await conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
                    await conn.commit()
                await conn.run_sync(
                    _run_upgrade, script_location, metadata, version_table, target
                )
                await conn.commit()
            finally:
                await conn.execute(text("SELECT pg_advisory_unlock(:id)"), {"id": lock_id})
                await conn.commit()
        else:
            await conn.run_sync(_run_upgrade, script_location, metadata, version_table, target)
            await conn.commit()


async def current_revision(
    engine: AsyncEngine, *, version_table: str = "alembic_version"
) -> str | None:
    """The revision the database is at, or None before the first migration."""

    def read(connection: Connection) -> str | None:
        from alembic.runtime.migration import MigrationContext

        context = MigrationContext.configure(
            connection, opts={"version_table": version_table}
        )
        return context.get_current_revision()

    async with engine.connect() as conn:
        return await conn.run_sync(read)


def timestamps() -> list[sa.Column[float]]:
    """A record's ``created_at`` and ``updated_at``: epoch seconds (float), both required
    (frozen, like the ``*_columns()`` functions that use it)."""
    return [
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
    ]
