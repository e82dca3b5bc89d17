"""The search answers the same on SQLite (FTS5) and PostgreSQL (tsvector)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from marketplace.domain.search import SearchDocument, SearchQuery, search_query
from marketplace.services.callers import Caller
from marketplace.services.search import Search, SearchResult
from marketplace.store import MIGRATIONS, VERSION_TABLE
from marketplace.store import search as index
from servicekit.db import create_engine, migrate
from servicekit.errors import InvalidRequest
from tests.conftest import Database

HALDEN = "did:web:halden.example"
BODO = "did:web:bodo.example"


@pytest.fixture
async def engine(database: Database) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database.url, schema=database.schema)
    await migrate(engine, MIGRATIONS, version_table=VERSION_TABLE, schema=database.schema)
    yield engine
    await engine.dispose()


ANONYMOUS = Caller("anonymous")


async def find(engine: AsyncEngine, query: SearchQuery, caller: Caller = ANONYMOUS
               ) -> SearchResult:
    return await Search(engine).find(query, caller)


def document(doc_id: str, title: str, text: str, *, owner: str = HALDEN, state: str = "launched",
             private: bool = False, **facets: tuple[str, ...]) -> SearchDocument:
    return SearchDocument(id=doc_id, owner=owner, private=private, state=state, title=title,
                          text=text, facets=facets)


async def seed(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await index.index(conn, document(
            "air", "Luftkvalitet i Halden", "Målinger av svevestøv og NO2 fra målestasjoner",
            theme=("ENVI",), publisher=("Halden kommune",), priceType=("free",),
            format=("CSV", "JSON")))
        await index.index(conn, document(
            "parking", "Parkering i Halden", "Ledige parkeringsplasser i sanntid",
            theme=("TRAN",), publisher=("Halden kommune",), priceType=("recurring", "usage"),
            format=("JSON",)))
        await index.index(conn, document(
            "energy", "Energibruk i kommunale bygg", "Timesverdier for strøm i Halden",
            theme=("ENER",), publisher=("Halden kommune",), priceType=("recurring",),
            accessLevel=("restricted",), private=True))
        await index.index(conn, document(
            "bodo-parking", "Parkering i Bodø", "Parkeringshus i sentrum", owner=BODO,
            theme=("TRAN",), publisher=("Bodø kommune",), priceType=("usage",)))
        await index.index(conn, document(
            "draft", "Parkering kladd", "ikke lansert", state="inDesign", theme=("TRAN",)))


async def test_words_prefixes_and_diacritics_match(engine: AsyncEngine) -> None:
    await seed(engine)
    found = await find(engine, SearchQuery(text="parker"))
    assert {h.id for h in found.hits} == {"parking", "bodo-parking"}
    assert found.total == 2
    assert [h.id for h in (await find(engine, SearchQuery(text="parkering halden"))).hits] == [
        "parking"]
    assert [h.id for h in (await find(engine, SearchQuery(text="svevestøv"))).hits] == ["air"]
    assert [h.id for h in (await find(engine, SearchQuery(text="SVEVESTØV"))).hits] == ["air"]
    nothing = await find(engine, SearchQuery(text="'; drop table x --"))
    assert (nothing.hits, nothing.total) == ([], 0)


async def test_facets_filter_and_count(engine: AsyncEngine) -> None:
    await seed(engine)
    found = await find(engine, SearchQuery(facets={"theme": ("TRAN", "ENVI")}))
    assert found.total == 3
    by_value = {(c.facet, c.value): c.count for c in found.facets}
    assert by_value[("theme", "TRAN")] == 2
    assert by_value[("publisher", "Halden kommune")] == 2
    assert by_value[("format", "JSON")] == 2
    assert ("theme", "ENER") not in by_value  # private: not among the anonymous caller's matches
    found = await find(engine, SearchQuery(facets={"theme": ("TRAN",),
                                                   "priceType": ("recurring",)}))
    assert [h.id for h in found.hits] == ["parking"]


async def test_private_and_unlaunched_are_seen_by_their_owner_only(engine: AsyncEngine) -> None:
    await seed(engine)
    anonymous = await find(engine, SearchQuery())
    owner = await find(engine, SearchQuery(), Caller("member", did=HALDEN))
    operator = await find(engine, SearchQuery(), Caller("operator"))
    assert (anonymous.total, owner.total, operator.total) == (3, 5, 5)
    assert [h.title for h in anonymous.hits] == [
        "Luftkvalitet i Halden", "Parkering i Bodø", "Parkering i Halden"]


async def test_reindexing_replaces_and_remove_forgets(engine: AsyncEngine) -> None:
    await seed(engine)
    search = Search(engine)
    assert (await search.find(SearchQuery(facets={"theme": ("ENVI",)}), ANONYMOUS)).total == 1
    async with engine.begin() as conn:
        await search.index(conn, document("air", "Luftmålinger", "Nye ord", theme=("HEAL",)))
        await search.remove(conn, "parking")
        await search.remove(conn, "never-indexed")
    # the same Search (its bitmaps cached) sees the change: the generation moved
    assert (await search.find(SearchQuery(text="svevestøv"), ANONYMOUS)).total == 0
    assert [h.id for h in (await search.find(SearchQuery(text="nye"), ANONYMOUS)).hits] == [
        "air"]
    assert (await search.find(SearchQuery(facets={"theme": ("ENVI",)}), ANONYMOUS)).total == 0
    assert [h.id for h in (await search.find(SearchQuery(text="parkering"), ANONYMOUS)).hits
            ] == ["bodo-parking"]


def test_bad_queries_are_refused() -> None:
    with pytest.raises(InvalidRequest):
        search_query({"q": "x" * 201}, limit=20, offset=0)
    with pytest.raises(InvalidRequest):
        search_query({"theme": ","}, limit=20, offset=0)
    assert search_query({"theme": "TRAN,ENVI"}, limit=20, offset=0).facets == {
        "theme": ("TRAN", "ENVI")}


async def test_bulk_loading_indexes_like_one_by_one(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await index.index_many(conn, [
            document(f"d{n}", f"Datasett {n}", "sykkel" if n % 2 else "buss",
                     theme=("TRAN",), format=("CSV",) if n % 3 else ("JSON",))
            for n in range(30)])
    found = await find(engine, SearchQuery(text="sykkel", limit=5))
    assert found.total == 15
    assert len(found.hits) == 5
    assert {(c.facet, c.value, c.count) for c in found.facets} >= {("format", "JSON", 5)}
    second = await find(engine, SearchQuery(text="sykkel", limit=5, offset=5))
    assert not {h.id for h in second.hits} & {h.id for h in found.hits}


async def test_title_matches_come_first(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await index.index(conn, document("a", "Avfallstømming", "Ruter for sykkelparkering"))
        await index.index(conn, document("b", "Sykkelparkering i sentrum", "Plasser"))
        await index.index(conn, document("c", "Bysykler", "Stativer og sykkelparkering"))
    found = await find(engine, SearchQuery(text="sykkelpark"))
    assert [h.id for h in found.hits] == ["b", "a", "c"]
    assert [h.score for h in found.hits] == [1.0, 0.5, 0.5]
    second_page = await find(engine, SearchQuery(text="sykkelpark", offset=1, limit=1))
    assert [h.id for h in second_page.hits] == ["a"]
