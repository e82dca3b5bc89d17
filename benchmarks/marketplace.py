"""Benchmark of the marketplace: search over many products, orders and usage reports.

In one run, on SQLite and (with ``--postgres URL``) on PostgreSQL:

* ``search``: p50/p95 latency of product searches over ``--products``
  products (default 100,000; free text, prefixes, facets, text + facets,
  browsing), each with its facet counts, as the portal asks them; against
  the **baseline**, a plain indexed ``SELECT`` of 20 of the same products by
  id in the same database: the ratio says what full text and facets cost.

Prints a table and writes ``benchmarks/results/marketplace.json``.

    .venv/bin/python benchmarks/marketplace.py [--products 100000] [--queries 300]
        [--postgres postgresql://postgres@127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from bench import percentile, print_table, unshadow, write_results

unshadow()

import sqlalchemy as sa  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncEngine  # noqa: E402

from marketplace.domain.search import SearchDocument, SearchQuery  # noqa: E402
from marketplace.services.callers import Caller  # noqa: E402
from marketplace.services.search import Search  # noqa: E402
from marketplace.store import MIGRATIONS, VERSION_TABLE  # noqa: E402
from marketplace.store import search as index  # noqa: E402
from marketplace.store.tables import search_documents  # noqa: E402
from servicekit.db import create_engine, migrate  # noqa: E402

TOWNS = ["Halden", "Trondheim", "Bodø", "Tromsø", "Bergen", "Stavanger", "Drammen", "Moss",
         "Fredrikstad", "Sarpsborg", "Hamar", "Gjøvik", "Molde", "Ålesund", "Narvik"]
SUBJECTS = ["Luftkvalitet", "Parkering", "Energibruk", "Trafikktelling", "Sykkeltelling",
            "Vannforbruk", "Avfall", "Støy", "Kollektivtrafikk", "Ladestasjoner", "Byggesaker",
            "Skoleskyss", "Snøbrøyting", "Gatelys", "Badetemperatur", "Turstier"]
WORDS = ["målinger", "sanntid", "historikk", "timesverdier", "døgn", "sensor", "stasjon",
         "kommune", "bygg", "vei", "sentrum", "havn", "elv", "skole", "sykehjem", "data",
         "åpne", "begrenset", "statistikk", "prognose", "kart", "punkt", "område"]
THEMES = ["ENVI", "TRAN", "ENER", "GOVE", "HEAL", "EDUC", "REGI", "SOCI", "TECH", "ECON"]
FORMATS = ["CSV", "JSON", "GeoJSON", "XML", "Parquet", "NGSI-LD"]
LICENCES = ["NLOD-2.0", "CC-BY-4.0", "CC0"]
PRICES = ["free", "oneTime", "recurring", "usage"]


def product(rng: random.Random, n: int) -> SearchDocument:
    """One made-up data product with Norwegian words and a spread of facets."""
    town, subject = rng.choice(TOWNS), rng.choice(SUBJECTS)
    return SearchDocument(
        id=f"p{n}-{uuid.UUID(int=rng.getrandbits(128))}", owner=f"did:web:{town.lower()}.example",
        private=rng.random() < 0.05, state="launched" if rng.random() < 0.9 else "inDesign",
        title=f"{subject} i {town}",
        text=" ".join(rng.choices(WORDS, k=12)),
        facets={"theme": tuple(rng.sample(THEMES, rng.randint(1, 2))),
                "publisher": (f"{town} kommune",),
                "accessLevel": (rng.choice(["public", "public", "restricted"]),),
                "licence": (rng.choice(LICENCES),),
                "format": tuple(rng.sample(FORMATS, rng.randint(1, 3))),
                "priceType": (rng.choice(PRICES),)},
    )


def queries(rng: random.Random) -> dict[str, Callable[[], SearchQuery]]:
    """The kinds of question the portal asks, each a maker of a fresh query."""
    return {
        "one word": lambda: SearchQuery(text=rng.choice(SUBJECTS)),
        "two words": lambda: SearchQuery(text=f"{rng.choice(SUBJECTS)} {rng.choice(TOWNS)}"),
        "prefix": lambda: SearchQuery(text=rng.choice(SUBJECTS)[:4]),
        "facets": lambda: SearchQuery(facets={"theme": (rng.choice(THEMES),),
                                              "format": (rng.choice(FORMATS),)}),
        "text + facet": lambda: SearchQuery(text=rng.choice(WORDS),
                                            facets={"priceType": (rng.choice(PRICES),)}),
        "browse": lambda: SearchQuery(offset=rng.randrange(0, 200)),
    }


async def load(engine: AsyncEngine, count: int, rng: random.Random) -> list[str]:
    """Index ``count`` products in batches; their ids."""
    ids: list[str] = []
    for start in range(0, count, 2000):
        batch = [product(rng, n) for n in range(start, min(count, start + 2000))]
        ids.extend(d.id for d in batch)
        async with engine.begin() as conn:
            await index.index_many(conn, batch)
    return ids


async def timed(call: Callable[[], Awaitable[Any]], times: int) -> list[float]:
    """Latencies (ms) of ``times`` sequential calls."""
    latencies = []
    for _ in range(times):
        started = time.perf_counter()
        await call()
        latencies.append((time.perf_counter() - started) * 1000)
    return latencies


async def search_bench(name: str, url: str, schema: str | None, products: int,
                       times: int) -> dict[str, Any]:
    """Load the products into a fresh database, then time each kind of search and the baseline."""
    engine = create_engine(url, schema=schema)
    await migrate(engine, MIGRATIONS, version_table=VERSION_TABLE, schema=schema)
    rng = random.Random(20261206)
    started = time.perf_counter()
    ids = await load(engine, products, rng)
    load_seconds = time.perf_counter() - started
    # The steady state a live database reaches by itself (autovacuum; SQLite's optimize):
    # GIN's pending list merged, the planner's statistics current.
    async with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(sa.text("VACUUM ANALYZE search_documents"))
            await conn.execute(sa.text("VACUUM ANALYZE search_facets"))
        else:
            await conn.execute(sa.text("PRAGMA optimize"))
            await conn.execute(sa.text("INSERT INTO search_fts(search_fts) VALUES ('optimize')"))
            await conn.commit()
    result: dict[str, Any] = {"products": products, "load_seconds": round(load_seconds, 1)}
    async with engine.connect() as conn:

        async def baseline() -> None:
            chosen = rng.sample(ids, 20)
            await conn.execute(sa.select(search_documents.c.id, search_documents.c.title)
                               .where(search_documents.c.id.in_(chosen)))

        base = await timed(baseline, times)
        result["baseline"] = {"p50_ms": percentile(base, 0.5), "p95_ms": percentile(base, 0.95)}
        every: list[float] = []
        search = Search(engine)
        member = Caller("member", did="did:web:halden.example")
        started = time.perf_counter()
        await search.find(SearchQuery(), member)  # the first search builds the facet bitmaps
        result["first search (builds bitmaps) ms"] = (time.perf_counter() - started) * 1000
        for kind, make in queries(rng).items():

            async def one(make: Callable[[], SearchQuery] = make) -> None:
                await search.find(make(), member)

            latencies = await timed(one, max(20, times // 6))
            every.extend(latencies)
            result[kind] = {"p50_ms": percentile(latencies, 0.5),
                            "p95_ms": percentile(latencies, 0.95)}
        result["all searches"] = {"p50_ms": percentile(every, 0.5),
                                  "p95_ms": percentile(every, 0.95)}
    await engine.dispose()
    print(f"{name}: loaded {products:,} products in {load_seconds:.1f} s")
    return result


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--postgres", default=None, help="a PostgreSQL URL to run on too")
    args = parser.parse_args()
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'marketplace.sqlite3'}"
        results["sqlite"] = await search_bench("sqlite", url, None, args.products, args.queries)
    if args.postgres:
        schema = f"bench_{uuid.uuid4().hex[:8]}"
        try:
            results["postgresql"] = await search_bench("postgresql", args.postgres, schema,
                                                       args.products, args.queries)
        finally:
            engine = create_engine(args.postgres)
            async with engine.begin() as conn:
                await conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            await engine.dispose()
    rows = []
    for database, result in results.items():
        base = result["baseline"]["p95_ms"]
        for kind, figures in result.items():
            if isinstance(figures, dict) and "p95_ms" in figures:
                rows.append([database, kind, figures["p50_ms"], figures["p95_ms"],
                             figures["p95_ms"] / base if base else float("nan")])
    print_table(f"search over {args.products:,} products (ms; ratio = p95 / baseline p95)",
                ["database", "query", "p50", "p95", "x baseline"], rows)
    write_results("marketplace", results)


if __name__ == "__main__":
    asyncio.run(main())
