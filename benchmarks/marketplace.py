"""Benchmark of the marketplace: search over many products, orders and usage reports.

In one run, on SQLite and (with ``--postgres URL``) on PostgreSQL:

* ``search``: p50/p95 latency of product searches over ``--products``
  products (default 100,000; free text, prefixes, facets, text + facets,
  browsing), each with its facet counts, as the portal asks them; against
  the **baseline**, a plain indexed ``SELECT`` of 20 of the same products by
  id in the same database: the ratio says what full text and facets cost.

* ``orders``: free-plan orders completed per second over HTTP (16
  concurrent clients, the operator ordering for distinct buyers: order
  validated, rated, completed, the inventory product created and the
  purchase credential issued with its status entries, one transaction each);
* ``usage``: signed TMF635 usage reports accepted per second over HTTP (each
  a distinct bucket, built and signed exactly as a provider connector does,
  the signature verified against its DID, rated into a charge);

both against the **baseline**, a plain indexed ``SELECT`` of one of the same
products by id per call in the same database, as a rate.

Prints a table and writes ``benchmarks/results/marketplace.json``.

    .venv/bin/python benchmarks/marketplace.py [--products 100000] [--queries 300]
        [--postgres postgresql://postgres@127.0.0.1:5432/test] [--seconds 5]
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
from types import SimpleNamespace
from typing import Any

from bench import free_port, percentile, print_table, unshadow, write_results

unshadow()

import aiohttp  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from aiohttp import web  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncEngine  # noqa: E402

from marketplace.domain.search import SearchDocument, SearchQuery  # noqa: E402
from marketplace.services.callers import Caller  # noqa: E402
from marketplace.services.search import Search  # noqa: E402
from marketplace.store import MIGRATIONS, VERSION_TABLE  # noqa: E402
from marketplace.store import search as index  # noqa: E402
from marketplace.store.tables import resources, search_documents  # noqa: E402
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


FREE = {"name": "Open", "priceType": "oneTime", "price": {"unit": "NOK", "value": 0}}
PER_CALL = {"name": "Per call", "priceType": "usage", "price": {"unit": "NOK", "value": 0.5},
            "unitOfMeasure": {"amount": 1, "units": "call"}, "includedQuota": 100}
TMF620 = "/tmf-api/productCatalogManagement/v4"


async def _call(http: aiohttp.ClientSession, method: str, url: str, body: Any = None,
                headers: dict[str, str] | None = None, expect: int = 201) -> Any:
    async with http.request(method, url, json=body, headers=headers) as response:
        answer = await response.json(content_type=None)
        assert response.status == expect, (url, response.status, answer)
        return answer


async def _product(http: aiohttp.ClientSession, url: str, admin: dict[str, str],
                   provider: str) -> tuple[str, str, dict[str, str]]:
    """A launched offering with a free and a per-call plan, made through TMF620."""
    spec = await _call(http, "POST", url + TMF620 + "/productSpecification", {
        "name": "Parkering i Halden", "providerDid": provider,
        "dspAddress": "https://halden.example/dsp", "datasetIds": ["urn:dataset:parking"],
        "productSpecCharacteristic": [
            {"name": "accessLevel", "productSpecCharacteristicValue": [{"value": "PUBLIC"}]}]},
        admin)
    plans = {name: (await _call(http, "POST", url + TMF620 + "/productOfferingPrice", body,
                                admin))["id"] for name, body in (("free", FREE),
                                                                 ("usage", PER_CALL))}
    offering = await _call(http, "POST", url + TMF620 + "/productOffering", {
        "name": "Parkering i Halden", "productSpecification": {"id": spec["id"]},
        "productOfferingPrice": [{"id": plan_id} for plan_id in plans.values()]}, admin)
    for state in ("inDesign", "inTest", "launched"):
        await _call(http, "PATCH", f"{url}{TMF620}/productOffering/{offering['id']}",
                    {"lifecycleStatus": state}, admin, expect=200)
    return offering["id"], spec["id"], plans


def _order(offering: str, plan: str, buyer: str) -> dict[str, Any]:
    return {"productOrderItem": [{"id": "1", "action": "add", "productOffering": {"id": offering},
                                  "itemPrice": [{"productOfferingPrice": {"id": plan}}]}],
            "relatedParty": [{"id": buyer, "role": "Buyer"}]}


async def _rate(call: Callable[[int], Awaitable[None]], seconds: float,
                concurrency: int = 16) -> float:
    """Calls per second with ``concurrency`` clients for ``seconds``; ``call`` gets a serial."""
    counter = iter(range(10**9))
    deadline = time.perf_counter() + seconds
    done = 0

    async def client() -> None:
        nonlocal done
        while time.perf_counter() < deadline:
            await call(next(counter))
            done += 1

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    return done / (time.perf_counter() - started)


async def service_bench(name: str, url: str, schema: str | None, seconds: float,
                        tmp: Path) -> dict[str, Any]:
    """Orders completed and usage reports accepted per second by a marketplace on loopback."""
    from connector.dataplane.metering import tmf635_usage
    from identity.keys import KeyPair
    from identity.signer import Signer
    from marketplace.app import create_app
    from marketplace.settings import MarketplaceSettings
    from servicekit.app import DB_ENGINE, SERVICE_INFO
    from servicekit.logging import configure_logging

    configure_logging("WARNING", json=True, service="marketplace")
    port = free_port()
    settings = MarketplaceSettings(port=port, data_dir=tmp / name, database_url=url,
                                   database_schema=schema, dev=True, key_passphrase="bench",
                                   key_scrypt_n=2**10, log_level="WARNING", log_json=True)
    runner = web.AppRunner(create_app(settings), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    base = f"http://127.0.0.1:{port}"
    admin = {"Authorization": f"Bearer {runner.app[SERVICE_INFO]['admin_api_key']}"}
    provider = Signer.for_did_key(KeyPair.generate())
    result: dict[str, Any] = {}
    try:
        async with aiohttp.ClientSession() as http:
            offering, spec, plans = await _product(http, base, admin, provider.did)

            async def order(n: int) -> None:
                placed = await _call(http, "POST", base + "/tmf-api/productOrderingManagement"
                                     "/v4/productOrder",
                                     _order(offering, plans["free"], f"did:web:b{n}.example"),
                                     admin)
                assert placed["state"] == "completed", placed

            result["orders completed /s"] = await _rate(order, seconds)
            buyers = [f"did:web:usage{n}.example" for n in range(16)]
            for buyer in buyers:
                await _call(http, "POST", base + "/tmf-api/productOrderingManagement/v4/"
                            "productOrder", _order(offering, plans["usage"], buyer), admin)
            start = time.time() + 60  # buckets within the products' validity

            async def usage(n: int) -> None:
                row = SimpleNamespace(agreement_id=f"urn:agreement:{n % 16}",
                                      transfer_id="urn:transfer:1",
                                      bucket_start=start + n * 60, consumer_id=buyers[n % 16],
                                      requests=10, bytes=1000)
                document = tmf635_usage(row, provider=provider.did, bucket_seconds=60.0,
                                        dataset_id="urn:dataset:parking",
                                        product_id=spec)
                signature = provider.sign_jwt(document, typ="usage+jwt")
                await _call(http, "POST", base + "/tmf-api/usageManagement/v4/usage", document,
                            {"X-Usage-Signature": signature})

            result["usage reports accepted /s"] = await _rate(usage, seconds)
        engine = runner.app[DB_ENGINE]
        async with engine.connect() as conn:

            async def select(n: int) -> None:
                await conn.execute(sa.select(resources.c.body).where(
                    resources.c.kind == "productOffering", resources.c.id == offering,
                    resources.c.current.is_(True)))

            result["baseline SELECT /s"] = await _rate(select, seconds, concurrency=1)
    finally:
        await runner.cleanup()
    return result


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--postgres", default=None, help="a PostgreSQL URL to run on too")
    parser.add_argument("--seconds", type=float, default=5.0,
                        help="how long each rate is measured")
    args = parser.parse_args()
    results: dict[str, Any] = {}
    services: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'marketplace.sqlite3'}"
        results["sqlite"] = await search_bench("sqlite", url, None, args.products, args.queries)
        services["sqlite"] = await service_bench(
            "sqlite", f"sqlite+aiosqlite:///{Path(tmp) / 'service.sqlite3'}", None,
            args.seconds, Path(tmp))
        if args.postgres:
            for run in ("search", "service"):
                schema = f"bench_{uuid.uuid4().hex[:8]}"
                try:
                    if run == "search":
                        results["postgresql"] = await search_bench(
                            "postgresql", args.postgres, schema, args.products, args.queries)
                    else:
                        services["postgresql"] = await service_bench(
                            "postgresql", args.postgres, schema, args.seconds, Path(tmp))
                finally:
                    await _drop(args.postgres, schema)
    rows = []
    for database, result in results.items():
        base = result["baseline"]["p95_ms"]
        for kind, figures in result.items():
            if isinstance(figures, dict) and "p95_ms" in figures:
                rows.append([database, kind, figures["p50_ms"], figures["p95_ms"],
                             figures["p95_ms"] / base if base else float("nan")])
    print_table(f"search over {args.products:,} products (ms; ratio = p95 / baseline p95)",
                ["database", "query", "p50", "p95", "x baseline"], rows)
    rows = []
    for database, figures in services.items():
        base = figures["baseline SELECT /s"]
        rows.extend([database, what, rate, rate / base] for what, rate in figures.items())
    print_table("orders and usage over HTTP (per second; ratio = rate / baseline SELECT rate)",
                ["database", "what", "per second", "x baseline"], rows)
    write_results("marketplace", {"search": results, "service": services})


async def _drop(url: str, schema: str) -> None:
    engine = create_engine(url)
    async with engine.begin() as conn:
        await conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    await engine.dispose()


if __name__ == "__main__":
    asyncio.run(main())
