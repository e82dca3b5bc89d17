"""Benchmark of the consoles' sign-in and sessions (servicekit.console).

On a small service with the shared console, in one process, on SQLite and (with
``--postgres URL``) on PostgreSQL:

* ``page``: signed-in page views per second (16 clients): the session cookie looked
  up in the database, the template rendered with the CSRF token and the menu;
  against the **baseline**, the same server's ``/healthz`` (no session, no template);
* ``token``: API calls per second with a scoped API token (looked up by its hash in
  the database, its account's roles checked); against the **baseline**, the same
  route with the admin API key (an in-memory hash comparison);
* ``sign-in``: password sign-ins per second with the default argon2id cost (3 passes,
  64 MiB: what a person waits for, and what a password-guessing attacker pays).

Prints a table and writes ``benchmarks/results/console.json``.

    .venv/bin/python benchmarks/console.py [--seconds 3] [--rounds 2]
        [--postgres postgresql://postgres@127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import asyncio
import re
import tempfile
import uuid
from pathlib import Path
from typing import Any

from bench import percentile, print_table, rate_async, unshadow, write_results

unshadow()

import aiohttp  # noqa: E402
from aiohttp import web  # noqa: E402
from aiohttp.test_utils import TestServer  # noqa: E402
from sqlalchemy import text  # noqa: E402

from servicekit.app import create_service_app, database_context  # noqa: E402
from servicekit.auth import ApiKeyVerifier, hash_api_key, require_api_key  # noqa: E402
from servicekit.console.config import ConsoleConfig, NavItem, Role  # noqa: E402
from servicekit.console.install import console_context, install_console  # noqa: E402
from servicekit.console.web import page, render  # noqa: E402
from servicekit.db import create_engine  # noqa: E402
from servicekit.openapi import operation  # noqa: E402
from servicekit.settings import ServiceSettings  # noqa: E402
from servicekit.web import json_response  # noqa: E402

ADMIN_KEY = "dsk_benchmark-admin-key-0123456789"
KEYS = web.AppKey("bench_keys", ApiKeyVerifier)
PASSWORD = "a long and memorable passphrase"
CONFIG = ConsoleConfig(
    title="Benchmark", prefix="/console",
    roles=(Role("admin", "Administrator", "Everything",
                frozenset({"read", "manage", "approve"})),),
    nav=(NavItem("Home", "/"), NavItem("People", "/people", frozenset({"admin"}))))


def _keys(request: web.Request) -> ApiKeyVerifier:
    return request.config_dict[KEYS]


@page("GET", "/", "Home")
async def home(request: web.Request) -> web.StreamResponse:
    """A signed-in page: the account page's template."""
    return await render(request, "console/password.html")


@require_api_key(_keys)
@operation("Read", responses={200: {"type": "object"}})
async def read(_request: web.Request) -> web.Response:
    """An API route behind the key or a token."""
    return json_response({"ok": True})


def _app(data_dir: Path, url: str | None, schema: str | None) -> web.Application:
    settings = ServiceSettings(name="bench", data_dir=data_dir, database_url=url,
                               database_schema=schema, dev=True)
    app = create_service_app(settings, title="Console benchmark", version="1",
                             access_log=False)
    app[KEYS] = ApiKeyVerifier([hash_api_key(ADMIN_KEY)])
    install_console(app, CONFIG, _keys)
    app.router.add_get("/console", home)
    app.router.add_get("/admin/read", read)
    app.cleanup_ctx.extend([database_context(None), console_context])
    return app


async def _signed_in(http: aiohttp.ClientSession, base: str) -> str:
    """Make an admin through the API key and a one-time link; return an API token."""
    headers = {"Authorization": f"Bearer {ADMIN_KEY}"}
    async with http.post(f"{base}/admin/accounts", headers=headers, json={
            "email": "ada@halden.kommune.no", "name": "Ada", "roles": ["admin"]}) as resp:
        link = (await resp.json())["signin_link"]
    async with http.get(link, headers={"Accept": "text/html"}) as resp:
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', await resp.text())
    assert csrf
    async with http.post(link, data={"csrf_token": csrf.group(1)}) as resp:
        page_text = await resp.text()
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page_text)
    assert csrf
    async with http.post(f"{base}/console/account/password", data={
            "csrf_token": csrf.group(1), "password": PASSWORD, "confirm": PASSWORD}) as resp:
        assert resp.status == 200
    async with http.post(f"{base}/admin/tokens", headers=headers, json={
            "name": "bench", "scopes": ["read"], "account_id": await _account_id(http, base)
            }) as resp:
        token: str = (await resp.json())["token"]
    return token


async def _account_id(http: aiohttp.ClientSession, base: str) -> str:
    async with http.get(f"{base}/admin/accounts",
                        headers={"Authorization": f"Bearer {ADMIN_KEY}"}) as resp:
        return str((await resp.json())[0]["id"])


async def run_store(kind: str, url: str | None, args: argparse.Namespace) -> dict[str, Any]:
    """Every measure on one store."""
    schema = None if url is None else "bench_" + uuid.uuid4().hex[:8]
    with tempfile.TemporaryDirectory() as folder:
        server = TestServer(_app(Path(folder), url, schema), host="127.0.0.1")
        await server.start_server()
        base = str(server.make_url("")).rstrip("/")
        connector = aiohttp.TCPConnector(limit=64)
        jar = aiohttp.CookieJar(unsafe=True)
        try:
            async with aiohttp.ClientSession(connector=connector, cookie_jar=jar) as http:
                token = await _signed_in(http, base)
                results: dict[str, Any] = {"store": kind}

                async def get(path: str, headers: dict[str, str] | None = None) -> None:
                    async with http.get(base + path, headers=headers) as resp:
                        await resp.read()
                        assert resp.status == 200, (path, resp.status)

                for name, call in (
                        ("page", lambda: get("/console", {"Accept": "text/html"})),
                        ("page_baseline", lambda: get("/healthz")),
                        ("token", lambda: get("/admin/read",
                                              {"Authorization": f"Bearer {token}"})),
                        ("token_baseline", lambda: get("/admin/read",
                                                       {"Authorization": f"Bearer {ADMIN_KEY}"}))):
                    rate, latencies = await rate_async(call, args.seconds, args.rounds,
                                                       concurrency=16)
                    results[name] = {"per_second": rate,
                                     "p50_ms": percentile(latencies, 0.5) * 1000,
                                     "p95_ms": percentile(latencies, 0.95) * 1000}

                async def sign_in() -> None:
                    async with aiohttp.ClientSession() as fresh:
                        async with fresh.post(base + "/console/signin", data={
                                "email": "ada@halden.kommune.no", "password": PASSWORD,
                                "csrf_token": "x"}, cookies={"ds_csrf" + base.rsplit(":", 1)[1]:
                                                             "x"},
                                allow_redirects=False) as resp:
                            assert resp.status == 303, resp.status
                rate, latencies = await rate_async(sign_in, args.seconds, args.rounds,
                                                   concurrency=2)
                results["sign_in"] = {"per_second": rate,
                                      "p50_ms": percentile(latencies, 0.5) * 1000,
                                      "p95_ms": percentile(latencies, 0.95) * 1000}
                return results
        finally:
            await server.close()
            if url is not None and schema is not None:
                engine = create_engine(url)
                async with engine.begin() as conn:
                    await conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
                await engine.dispose()


async def main() -> None:
    """Measure on each store, print the table, write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--postgres", default=None, help="a PostgreSQL URL to measure too")
    args = parser.parse_args()
    stores = [("sqlite", None)] + ([("postgresql", args.postgres)] if args.postgres else [])
    runs = [await run_store(kind, url, args) for kind, url in stores]
    rows = []
    for run in runs:
        rows.append([run["store"], "signed-in page vs /healthz",
                     run["page"]["per_second"], run["page_baseline"]["per_second"],
                     run["page"]["per_second"] / run["page_baseline"]["per_second"],
                     run["page"]["p95_ms"]])
        rows.append([run["store"], "API token vs admin key",
                     run["token"]["per_second"], run["token_baseline"]["per_second"],
                     run["token"]["per_second"] / run["token_baseline"]["per_second"],
                     run["token"]["p95_ms"]])
        rows.append([run["store"], "password sign-in (argon2id t=3, 64 MiB)",
                     run["sign_in"]["per_second"], "", "", run["sign_in"]["p95_ms"]])
    print_table("Consoles: per second (16 clients; sign-in 2)",
                ["store", "measure", "per s", "baseline per s", "ratio", "p95 ms"], rows)
    path = write_results("console", {"runs": runs, "seconds": args.seconds,
                                     "rounds": args.rounds})
    print(f"\nwrote {path}")


if __name__ == "__main__":
    asyncio.run(main())
