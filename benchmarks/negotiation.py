"""Benchmark of the connector's control plane on loopback: negotiation, transfer, catalog.

A provider runs as ``dataspace connector serve`` (its own process); the
consumer runs in this process and drives it through its services, as its
management API would. For each store (SQLite always; PostgreSQL with
``--postgres URL`` or ``TEST_DATABASE_URL``):

* ``negotiation_ms``: contract request to FINALIZED on the consumer, one
  negotiation at a time (median, p95);
* ``transfer_ms``: transfer request to STARTED on the consumer, one at a time;
* ``negotiations_per_s``: negotiations finalized per second with
  ``--concurrency`` under way at once (sustained over ``--sustained`` of them);
* ``catalog_page_ms``: catalog requests over 10,000 datasets, 100 per page,
  following the ``Link: rel="next"`` pages twice through (median, p95).

Latencies are measured from the consumer's call until it commits the state
(the control plane announces its own commits in-process, so nothing polls).
Prints a table and writes ``benchmarks/results/negotiation.json``.

``--auth dcp`` runs the same with DCP instead of fixed tokens: a trust
anchor runs as ``dataspace trust-anchor serve --dev`` too, both connectors
have a did:web on loopback and are onboarded through their management APIs
(apply, operator approval, OpenID4VCI), and every DSP request carries a
self-issued token that is verified and replay-checked; the caller's
credentials are queried from its Credential Service when the verifier's
cache has no fresh answer (default refresh: 60 s). Results go to
``benchmarks/results/negotiation_dcp.json``.

    .venv/bin/python benchmarks/negotiation.py [--negotiations 100] [--sustained 300]
                                               [--auth fixed-token|dcp]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from bench import free_port, median, percentile, print_table, unshadow, write_results

unshadow()

import aiohttp  # noqa: E402
from aiohttp import web  # noqa: E402
from sqlalchemy import text  # noqa: E402

from connector.app import create_app  # noqa: E402
from connector.domain.catalog import Approval, Backend, Dataset, Offer  # noqa: E402
from connector.keys import CONTROL_PLANE, SERVICES, Services  # noqa: E402
from connector.settings import AuthSettings, ConnectorSettings, FixedCaller  # noqa: E402
from connector.store import processes  # noqa: E402
from connector.store.tables import datasets, offers, policies  # noqa: E402
from servicekit.app import SERVICE_INFO  # noqa: E402
from servicekit.db import create_engine  # noqa: E402
from servicekit.logging import configure_logging  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
PROVIDER_DID = "did:web:provider.example"
CONSUMER_DID = "did:web:consumer.example"



async def _service_json(data_dir: Path, what: str) -> dict[str, Any]:
    service = data_dir / "service.json"
    for _ in range(300):
        if service.exists():
            info: dict[str, Any] = json.loads(service.read_text())
            return info
        await asyncio.sleep(0.1)
    raise RuntimeError(f"the {what} did not start")


class TrustAnchor:
    """The trust anchor process (``--auth dcp``)."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.data_dir = workdir / "trust-anchor"
        self.process: subprocess.Popen[bytes] | None = None
        self.info: dict[str, Any] = {}

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        env = {**os.environ, "TA_KEY_PASSPHRASE": "bench"}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "dataspace", "trust-anchor", "serve", "--dev", "--port",
             str(self.port), "--data-dir", str(self.data_dir), "--log-level", "WARNING"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        self.info = await _service_json(self.data_dir, "trust anchor")

    async def onboard(self, http: aiohttp.ClientSession, management_url: str,
                      admin_key: str, name: str) -> None:
        """Apply with the connector's DID, approve, collect over OpenID4VCI."""
        connector = {"Authorization": f"Bearer {admin_key}"}
        operator = {"Authorization": f"Bearer {self.info['admin_api_key']}"}
        async with http.post(management_url + "/api/v1/membership/apply", headers=connector,
                             json={"legal_name": name, "organisation_number": "912 345 678",
                                   "contact": {"name": "Bench", "email": "bench@example.no"},
                                   "roles": ["provider", "consumer"]}) as resp:
            applied = await resp.json()
            assert resp.status == 201, applied
        async with http.post(f"{self.url}/admin/applications/{applied['application_id']}"
                             "/approve", headers=operator, json={"reason": "bench"}) as resp:
            approved = await resp.json()
            assert resp.status == 200, approved
        async with http.post(management_url + "/api/v1/membership/collect", headers=connector,
                             json={"tx_code": approved["tx_code"]}) as resp:
            assert resp.status == 201, await resp.text()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=20)


class Provider:
    """The provider process."""

    def __init__(self, workdir: Path, database_url: str | None, schema: str | None,
                 trust_anchor: TrustAnchor | None = None) -> None:
        self.port = free_port()
        self.data_dir = workdir / "provider"
        self.database_url = database_url
        self.schema = schema
        self.trust_anchor = trust_anchor
        self.process: subprocess.Popen[bytes] | None = None
        self.info: dict[str, Any] = {}

    @property
    def dsp_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/dsp"

    @property
    def did(self) -> str:
        return str(self.info.get("did") or PROVIDER_DID)

    async def start(self) -> None:
        env = {
            **os.environ,
            "CONNECTOR_NAME": "provider",
            "CONNECTOR_CATALOG_PAGE_SIZE": "100",
            "CONNECTOR_KEY_PASSPHRASE": "bench",
        }
        flags: list[str] = []
        if self.trust_anchor is None:
            env |= {
                "CONNECTOR_DID": PROVIDER_DID,
                "CONNECTOR_AUTH__TOKENS": json.dumps({"consumer-token": {"id": CONSUMER_DID}}),
                "CONNECTOR_AUTH__OUTBOUND_TOKEN": "provider-token",
            }
        else:  # dcp: a did:web of its own URL, the trust anchor's registry
            flags = ["--trust-anchor", self.trust_anchor.url, "--did-method", "web"]
        if self.database_url:
            env["CONNECTOR_DATABASE_URL"] = self.database_url
        if self.schema:
            env["CONNECTOR_DATABASE_SCHEMA"] = self.schema
        self.process = subprocess.Popen(
            [sys.executable, "-m", "dataspace", "connector", "serve", "--dev", "--port",
             str(self.port), "--data-dir", str(self.data_dir), "--log-level", "WARNING",
             *flags],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        self.info = await _service_json(self.data_dir, "provider")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=20)

    @property
    def sqlalchemy_url(self) -> str:
        return self.database_url or f"sqlite+aiosqlite:///{self.data_dir / 'provider.sqlite3'}"


async def start_consumer(workdir: Path, database_url: str | None, schema: str | None,
                         trust_anchor: TrustAnchor | None = None,
                         ) -> tuple[web.AppRunner, web.Application]:
    port = free_port()
    auth: dict[str, Any] = {
        "did": CONSUMER_DID,
        "auth": AuthSettings(tokens={"provider-token": FixedCaller(id=PROVIDER_DID)},
                             outbound_token="consumer-token"),
    }
    if trust_anchor is not None:
        auth = {"trust_anchor_url": trust_anchor.url, "did_method": "web"}
    settings = ConnectorSettings(
        name="consumer", port=port, management_port=0, data_dir=workdir / "consumer",
        database_url=database_url, database_schema=schema, dev=True,
        key_passphrase="bench", log_level="WARNING", **auth,
    )
    app = create_app(settings)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner, app


async def until(app: web.Application, kind: str, process_id: str, states: set[str],
                timeout: float = 30.0) -> None:
    """Wait until the consumer commits the process into one of ``states``."""
    plane = app[CONTROL_PLANE]
    announced = plane.watch(process_id, frozenset(states))
    async with plane.read() as conn:
        found: Any = (await processes.NEGOTIATION_ROWS.get(conn, process_id) if kind == "n"
                      else await processes.TRANSFER_ROWS.get(conn, process_id))
    state = found.state.value if found is not None else None
    if state not in states:
        state = await asyncio.wait_for(announced, timeout)
    else:
        announced.cancel()
    if state not in ("FINALIZED", "STARTED"):
        raise RuntimeError(f"{process_id} ended {state}")


async def seed_catalog(provider: Provider, count: int) -> None:
    """Insert ``count`` datasets with one offer each straight into the provider's store."""
    engine = create_engine(provider.sqlalchemy_url, schema=provider.schema)
    now = time.time()
    body = {"permission": [{"action": "use"}]}
    try:
        async with engine.begin() as conn:
            await conn.execute(policies.insert().values(
                id="bench-use", title="use", body=json.dumps(body), created_at=now,
                updated_at=now))
            batch_d: list[dict[str, Any]] = []
            batch_o: list[dict[str, Any]] = []
            for index in range(count):
                dataset = Dataset(id=f"urn:bench:{index:05d}", title=f"Dataset {index}",
                                  description="Municipal data " * 5, keywords=["bench", "city"],
                                  backend=Backend(address="https://example.org/d"),
                                  created_at=now, updated_at=now)
                batch_d.append({
                    "id": dataset.id, "title": dataset.title, "description": dataset.description,
                    "keywords": json.dumps(dataset.keywords), "themes": "[]",
                    "access_level": "PUBLIC", "extra": "{}",
                    "backend": dataset.backend.model_dump_json(), "created_at": now,
                    "updated_at": now})
                offer = Offer(id=f"urn:bench-offer:{index:05d}", dataset_id=dataset.id,
                              policy_id="bench-use", access_policy_id=None,
                              approval=Approval.AUTO, created_at=now)
                batch_o.append({"id": offer.id, "dataset_id": offer.dataset_id,
                                "policy_id": offer.policy_id, "access_policy_id": None,
                                "approval": "auto", "created_at": now})
            await conn.execute(datasets.insert(), batch_d)
            await conn.execute(offers.insert(), batch_o)
    finally:
        await engine.dispose()


async def run_store(name: str, workdir: Path, database_url: str | None, negotiations: int,
                    sustained: int, concurrency: int, catalog_size: int,
                    trust_anchor: TrustAnchor | None = None) -> dict[str, Any]:
    schema_p = schema_c = None
    if database_url:
        schema_p = "bench_p_" + uuid.uuid4().hex[:8]
        schema_c = "bench_c_" + uuid.uuid4().hex[:8]
    provider = Provider(workdir / name, database_url, schema_p, trust_anchor)
    await provider.start()
    runner, consumer = await start_consumer(workdir / name, database_url, schema_c,
                                            trust_anchor)
    services: Services = consumer[SERVICES]
    provider_did = provider.did
    try:
        await seed_catalog(provider, catalog_size)
        async with aiohttp.ClientSession() as http:
            if trust_anchor is not None:
                info = consumer[SERVICE_INFO]
                await trust_anchor.onboard(http, provider.info["management_url"],
                                           provider.info["admin_api_key"], f"Provider {name}")
                await trust_anchor.onboard(http, info["management_url"],
                                           info["admin_api_key"], f"Consumer {name}")
            async with http.post(provider.info["management_url"] + "/api/v1/datasets", json={
                "id": "urn:bench:negotiated", "title": "Negotiated",
                "backend": {"address": "https://example.org/x"}},
                    headers={"Authorization": f"Bearer {provider.info['admin_api_key']}"}) as r:
                assert r.status == 201, await r.text()
        dataset = await services.client.dataset(provider.dsp_url, "urn:bench:negotiated",
                                                audience=provider_did)
        offer = dataset["hasPolicy"][0] | {"target": "urn:bench:negotiated"}

        async def negotiate() -> tuple[float, str]:
            began = time.perf_counter()
            started = await services.negotiations.start(
                counterparty_address=provider.dsp_url, counterparty_id=provider_did,
                offer=offer)
            await until(consumer, "n", started.id, {"FINALIZED", "TERMINATED"})
            return time.perf_counter() - began, started.id

        for _ in range(5):  # warm up connections, caches and the provider's workers
            await negotiate()
        negotiation_times: list[float] = []
        agreements: list[str] = []
        for _ in range(negotiations):
            elapsed, pid = await negotiate()
            negotiation_times.append(elapsed)
            async with consumer[CONTROL_PLANE].read() as conn:
                found = await processes.NEGOTIATION_ROWS.get(conn, pid)
            assert found is not None
            assert found.agreement_id
            agreements.append(found.agreement_id)

        transfer_times: list[float] = []
        for agreement in agreements:
            began = time.perf_counter()
            transfer = await services.transfers.start(agreement_id=agreement)
            await until(consumer, "t", transfer.id, {"STARTED", "TERMINATED"})
            transfer_times.append(time.perf_counter() - began)

        gate = asyncio.Semaphore(concurrency)

        async def bounded() -> None:
            async with gate:
                await negotiate()

        began = time.perf_counter()
        await asyncio.gather(*(bounded() for _ in range(sustained)))
        rate = sustained / (time.perf_counter() - began)

        page_times: list[float] = []
        pages = 0
        for _ in range(2):
            continuation = None
            while True:
                began = time.perf_counter()
                _catalog, continuation = await services.client.catalog(
                    provider.dsp_url, audience=provider_did, continuation=continuation)
                page_times.append(time.perf_counter() - began)
                pages += 1
                if continuation is None:
                    break
        ms = 1000.0
        return {
            "negotiation_ms": {"median": median(negotiation_times) * ms,
                               "p95": percentile(negotiation_times, 0.95) * ms,
                               "n": len(negotiation_times)},
            "transfer_ms": {"median": median(transfer_times) * ms,
                            "p95": percentile(transfer_times, 0.95) * ms,
                            "n": len(transfer_times)},
            "negotiations_per_s": {"rate": rate, "n": sustained, "concurrency": concurrency},
            "catalog_page_ms": {"median": median(page_times) * ms,
                                "p95": percentile(page_times, 0.95) * ms,
                                "pages": pages, "datasets": catalog_size + 1,
                                "page_size": 100},
        }
    finally:
        await runner.cleanup()
        provider.stop()
        if database_url:
            engine = create_engine(database_url)
            async with engine.begin() as conn:
                for schema in (schema_p, schema_c):
                    await conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            await engine.dispose()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--negotiations", type=int, default=100)
    parser.add_argument("--sustained", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--catalog", type=int, default=10_000)
    parser.add_argument("--postgres", default=os.environ.get("TEST_DATABASE_URL"))
    parser.add_argument("--auth", choices=["fixed-token", "dcp"], default="fixed-token",
                        help="How the connectors authenticate each other.")
    args = parser.parse_args()
    configure_logging("WARNING", json=True)
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        trust_anchor = TrustAnchor(Path(tmp)) if args.auth == "dcp" else None
        if trust_anchor is not None:
            await trust_anchor.start()
        stores: list[tuple[str, str | None]] = [("sqlite", None)]
        if args.postgres:
            stores.append(("postgresql", args.postgres))
        try:
            for name, url in stores:
                results[name] = await run_store(name, Path(tmp), url, args.negotiations,
                                                args.sustained, args.concurrency, args.catalog,
                                                trust_anchor)
        finally:
            if trust_anchor is not None:
                trust_anchor.stop()
    rows = []
    for name, r in results.items():
        rows.append([name, r["negotiation_ms"]["median"], r["negotiation_ms"]["p95"],
                     r["transfer_ms"]["median"], r["transfer_ms"]["p95"],
                     r["negotiations_per_s"]["rate"], r["catalog_page_ms"]["median"],
                     r["catalog_page_ms"]["p95"]])
    print_table(f"Connector control plane on loopback, auth {args.auth} (ms; rate per s)",
                ["store", "neg p50", "neg p95", "transfer p50", "transfer p95", "neg/s",
                 "catalog p50", "catalog p95"], rows)
    write_results("negotiation" if args.auth == "fixed-token" else "negotiation_dcp", {
        "targets": {"negotiation_median_ms": 50, "catalog_page_p95_ms": 100},
        "stores": results,
        "settings": vars(args) | {"postgres": bool(args.postgres)},
    })


if __name__ == "__main__":
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency on Linux
        pass
    else:  # as run_service does for the provider
        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    asyncio.run(main())
