"""The one TMF resource store: versions, optimistic updates, TMF630 filters, on both databases."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from marketplace.domain.tmf import parse_query
from marketplace.store import MIGRATIONS, VERSION_TABLE
from marketplace.store import resources as store
from marketplace.store.resources import Resource, Scope
from servicekit.db import create_engine, migrate
from servicekit.errors import Conflict, InvalidRequest
from tests.conftest import Database

T0 = datetime(2026, 12, 1, tzinfo=UTC)


@pytest.fixture
async def engine(database: Database, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database.url, schema=database.schema)
    await migrate(engine, MIGRATIONS, version_table=VERSION_TABLE, schema=database.schema)
    yield engine
    await engine.dispose()


def offering(n: int, *, owner: str = "did:web:halden", state: str = "launched",
             private: bool = False, version: str = "1.0") -> Resource:
    body = {"id": f"o{n}", "name": f"Offering {n}", "lifecycleStatus": state,
            "version": version, "validFor": {"startDateTime": f"2026-0{1 + n % 9}-01"},
            "isBundle": False}
    return Resource(kind="productOffering", id=f"o{n}", version=version, state=state,
                    owner=owner, name=body["name"], created_at=T0 + timedelta(seconds=n),
                    last_update=T0 + timedelta(seconds=n), body=body, private=private)


async def test_filters_paging_and_counts(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        for n in range(6):
            await store.insert(conn, offering(n, state="launched" if n % 2 else "inDesign"))
    async with engine.connect() as conn:
        q = parse_query({"lifecycleStatus": "launched"}, limit=2, offset=0)
        page, total = await store.find(conn, "productOffering", q)
        assert total == 3
        assert [r.id for r in page] == ["o5", "o3"]
        q = parse_query({"validFor.startDateTime.gte": "2026-04-01"}, limit=50, offset=0)
        page, total = await store.find(conn, "productOffering", q)
        assert sorted(r.id for r in page) == ["o3", "o4", "o5"]
        assert total == 3
        q = parse_query({"name": "Offering 1,Offering 2", "sort": "name"}, limit=50, offset=0)
        page, _ = await store.find(conn, "productOffering", q)
        assert [r.id for r in page] == ["o1", "o2"]
        q = parse_query({"isBundle": "false"}, limit=50, offset=0)
        _, total = await store.find(conn, "productOffering", q)
        assert total == 6


async def test_private_rows_are_seen_by_their_owner_only(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await store.insert(conn, offering(1, owner="did:web:a", private=True))
        await store.insert(conn, offering(2, owner="did:web:b"))
        await store.insert(conn, offering(3, owner="did:web:b", state="inDesign"))
    q = parse_query({}, limit=50, offset=0)
    async with engine.connect() as conn:
        anonymous = Scope(public_states=frozenset({"launched"}))
        assert [r.id for r in (await store.find(conn, "productOffering", q, anonymous))[0]] == [
            "o2"]
        member_a = Scope(viewer="did:web:a", public_states=frozenset({"launched"}))
        seen = {r.id for r in (await store.find(conn, "productOffering", q, member_a))[0]}
        assert seen == {"o1", "o2"}
        assert (await store.find(conn, "productOffering", q))[1] == 3  # the operator


async def test_versions_and_optimistic_update(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        first = await store.insert(conn, offering(1))
    with pytest.raises(Conflict):
        async with engine.begin() as conn:
            await store.insert(conn, offering(1))
    async with engine.begin() as conn:
        await store.insert(conn, offering(1, version="2.0"))
        current = await store.get(conn, "productOffering", "o1")
        assert current is not None
        assert current.version == "2.0"
        old = await store.get(conn, "productOffering", "o1", "1.0")
        assert old is not None
        assert not old.current
        assert [r.version for r in await store.versions(conn, "productOffering", "o1")] == [
            "1.0", "2.0"]
        later = first.last_update + timedelta(seconds=5)
        moved = await store.replace_body(conn, old, expected=first.last_update,
                                         state="retired", last_update=later)
        assert moved is not None
        # a second writer that read the same row loses
        assert await store.replace_body(conn, old, expected=first.last_update,
                                        state="obsolete", last_update=later) is None


def test_a_filter_that_is_not_an_attribute_is_refused() -> None:
    with pytest.raises(InvalidRequest) as refused:
        parse_query({"name;drop": "x"}, limit=50, offset=0)
    assert refused.value.code == "filter-invalid"
    with pytest.raises(InvalidRequest):
        parse_query({"fields": ","}, limit=50, offset=0)
