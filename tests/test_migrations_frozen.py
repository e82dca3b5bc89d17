"""What each migration creates is frozen, revision by revision.

The first migrations build their tables from the ``*_columns()`` functions
in ``store/tables.py`` (and ``servicekit.jobs.jobs_columns``), which the
tables use too. Editing such a function would silently change what an old
revision creates, so a database migrated before the edit would lack the
change. These pins catch that: the schema after each revision, as SQLite
reports it, must keep its digest. A new revision adds its own pin.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import sqlalchemy as sa

import connector.dataplane.store as dataplane_store
import connector.store as connector_store
import marketplace.store as marketplace_store
import trust_anchor.store as trust_anchor_store
from servicekit import jobs
from servicekit.db import create_engine, migrate

HISTORIES = {
    "sk": (jobs.MIGRATIONS, jobs.VERSION_TABLE),
    "cn": (connector_store.MIGRATIONS, connector_store.VERSION_TABLE),
    "dp": (dataplane_store.MIGRATIONS, dataplane_store.VERSION_TABLE),
    "ta": (trust_anchor_store.MIGRATIONS, trust_anchor_store.VERSION_TABLE),
    "mp": (marketplace_store.MIGRATIONS, marketplace_store.VERSION_TABLE),
}

PINS = {
    "sk0001": "354da5ab138fad52",
    "sk0002": "46aeddd42bf277cc",
    "cn0001": "9c8840f7c10c6cc6",
    "cn0002": "c221c6073b3a23d8",
    "cn0003": "936aff968dcad640",
    "cn0004": "10d9fdd22b46dd64",
    "dp0001": "a86374799b8df94a",
    "dp0002": "82d4a27d68f1bbba",
    "dp0003": "53044be1d01205f9",
    "ta0001": "b8f9c1d924a339d6",
    "ta0002": "a671b0e3a671e4fb",
    "ta0003": "fa8766a0bb524929",
    "ta0004": "69960f590130f230",
    "mp0001": "22d5c5a5fc00408b",
    "mp0002": "56b2413a074f540a",
    "mp0003": "077031a4982baef7",
    "mp0004": "2087850cb4f484d2",
    "mp0005": "0f4d715e23c82a84",
    "mp0006": "0014cd41353bf181",
}


def _describe(connection: sa.Connection) -> str:
    inspector = sa.inspect(connection)
    schema = {
        table: {
            "columns": [[c["name"], str(c["type"]), c["nullable"], str(c.get("default"))]
                        for c in inspector.get_columns(table)],
            "primary_key": inspector.get_pk_constraint(table)["constrained_columns"],
            "foreign_keys": sorted(json.dumps(fk, sort_keys=True, default=str)
                                   for fk in inspector.get_foreign_keys(table)),
            "indexes": sorted(json.dumps(ix, sort_keys=True, default=str)
                              for ix in inspector.get_indexes(table)),
            "unique": sorted(json.dumps(uq, sort_keys=True, default=str)
                             for uq in inspector.get_unique_constraints(table)),
        }
        for table in sorted(inspector.get_table_names())
    }
    return json.dumps(schema, sort_keys=True)


@pytest.mark.parametrize("revision", sorted(PINS))
async def test_a_revision_creates_what_it_always_created(revision: str, tmp_path: Path) -> None:
    script_location, version_table = HISTORIES[revision[:2]]
    engine = create_engine(f"sqlite:///{tmp_path / 'frozen.db'}")
    try:
        await migrate(engine, script_location, version_table=version_table, target=revision)
        async with engine.connect() as connection:
            described = await connection.run_sync(_describe)
    finally:
        await engine.dispose()
    digest = hashlib.sha256(described.encode()).hexdigest()[:16]
    assert digest == PINS[revision], (
        f"{revision} now creates another schema ({digest}): a *_columns() function "
        "an old migration builds from was edited; change the table in a new migration"
    )
