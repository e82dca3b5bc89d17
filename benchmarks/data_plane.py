"""Benchmark of the data plane against the same backend, direct and through a bare proxy.

In one run on loopback, with one backend process and ``wrk`` as the load
generator (its own process, so the client does not share the server's core):

* (a) ``direct``: the backend itself;
* (b) ``bare``: a bare aiohttp streaming proxy written here (the Python ceiling:
  no checks at all, the same small-body fast path and chunked streaming);
* (c) ``data_plane``: ``python -m connector.dataplane`` with token check,
  policy decision (time window, purpose, count limit), usage counter,
  metering and audit on every request.

And, as a reference rather than a target, ``lean``: the same bare proxy with
the data plane's own HTTP/1.1 backend client (``connector.dataplane.backends.h1``)
instead of aiohttp's. The data plane uses that client, so (c) can pass (b);
(c) against ``lean`` is what the checks and the data plane's plumbing cost.

For 1 KiB responses: requests/s and p99 latency; for 256 MiB downloads:
MiB/s. (b) and (c) also run with two worker processes (SO_REUSEPORT).
Prints a table and writes ``benchmarks/results/data_plane.json``; with
``--huge`` also streams one 2 GiB response through (c) and reports its
peak RSS (VmHWM).

    .venv/bin/python benchmarks/data_plane.py [--seconds 10] [--database-url URL] [--huge]

Needs ``wrk`` (``apt-get install wrk``). With ``--database-url`` (PostgreSQL)
the data plane keeps its state there; otherwise in a SQLite file.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import print_table, unshadow, write_results

unshadow()

import aiohttp  # noqa: E402
from aiohttp import web  # noqa: E402

SMALL = b"x" * 1024
BIG = 256 << 20
RESEARCH = "https://w3id.org/dpv#AcademicResearch"
REPO = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- the servers (run as separate processes by this same script) --------------------------


def backend_app() -> web.Application:
    """The data source: 1 KiB JSON-ish bodies, and large streams."""
    block = b"z" * (1 << 20)

    async def small(_request: web.Request) -> web.Response:
        return web.Response(body=SMALL, content_type="application/json")

    async def big(request: web.Request) -> web.StreamResponse:
        size = int(request.query.get("size", str(BIG)))
        response = web.StreamResponse(headers={"Content-Type": "application/octet-stream"})
        response.content_length = size
        await response.prepare(request)
        left = size
        while left > 0:
            chunk = block if left >= len(block) else block[:left]
            await response.write(chunk)
            left -= len(chunk)
        return response

    app = web.Application()
    app.router.add_get("/small", small)
    app.router.add_get("/big", big)
    return app


async def relay(request: web.Request, status: int, content_type: str, length: int | None,
                read: Callable[[], Awaitable[bytes]],
                chunks: Callable[[], AsyncIterator[bytes]]) -> web.StreamResponse:  # fmt: skip
    """Answer ``request`` with the backend's answer: small ones in one write, others streamed.

    Both reference proxies answer through this, so they differ only in their client."""
    headers = {"Content-Type": content_type}
    if length is not None and length <= 64 * 1024:
        return web.Response(status=status, headers=headers, body=await read())
    response = web.StreamResponse(status=status, headers=headers)
    if length is not None:
        response.content_length = length
    await response.prepare(request)
    async for chunk in chunks():
        await response.write(chunk)
    await response.write_eof()
    return response


def bare_proxy_app(upstream: str) -> web.Application:
    """The ceiling: forward GET to the backend and stream the answer back, nothing else."""
    session: aiohttp.ClientSession | None = None

    async def startup(_app: web.Application) -> None:
        nonlocal session
        session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=None, sock_read=60),
            connector=aiohttp.TCPConnector(limit=1000, limit_per_host=0), auto_decompress=False)

    async def cleanup(_app: web.Application) -> None:
        assert session is not None
        await session.close()

    async def proxy(request: web.Request) -> web.StreamResponse:
        assert session is not None
        url = upstream + "/" + request.match_info["tail"]
        if request.query_string:
            url += "?" + request.query_string
        async with session.get(url, headers={"Accept-Encoding": "identity"}) as upstream_response:
            return await relay(request, upstream_response.status,
                               upstream_response.headers.get("Content-Type", ""),
                               upstream_response.content_length, upstream_response.read,
                               lambda: upstream_response.content.iter_chunked(256 * 1024))

    app = web.Application()
    app.on_startup.append(startup)
    app.on_cleanup.append(cleanup)
    app.router.add_get("/{tail:.*}", proxy)
    return app


def lean_proxy_app(upstream: str) -> web.Application:
    """The reference: the bare proxy on the data plane's HTTP/1.1 client instead of aiohttp's."""
    from urllib.parse import urlsplit

    from connector.dataplane.backends.h1 import ConnectionPool, Origin

    parts = urlsplit(upstream)
    origin = Origin(host=parts.hostname or "", port=parts.port or 80, tls=False)
    fields = f"Host: {parts.netloc}\r\nAccept-Encoding: identity\r\n\r\n".encode()
    pool = ConnectionPool(connect_timeout=10, head_timeout=60, read_timeout=60)

    async def cleanup(_app: web.Application) -> None:
        await pool.close()

    async def proxy(request: web.Request) -> web.StreamResponse:
        target = "/" + request.match_info["tail"]
        if request.query_string:
            target += "?" + request.rel_url.raw_query_string
        upstream_response = await pool.request(origin, b"GET %s HTTP/1.1\r\n%s" % (
            target.encode(), fields))
        try:
            return await relay(request, upstream_response.status,
                               upstream_response.fields.get("content-type", ""),
                               upstream_response.content_length, upstream_response.read,
                               upstream_response.chunks)
        finally:
            upstream_response.release()

    app = web.Application()
    app.on_cleanup.append(cleanup)
    app.router.add_get("/{tail:.*}", proxy)
    return app


def serve(kind: str, port: int, upstream: str | None) -> None:
    """Run one server process (uvloop, like the services)."""
    import uvloop

    factories = {"proxy": bare_proxy_app, "lean": lean_proxy_app}
    app = backend_app() if kind == "backend" else factories[kind](upstream or "")
    uvloop.install()
    web.run_app(app, host="127.0.0.1", port=port, access_log=None, print=None,
                reuse_port=True, backlog=1024)


class Servers:
    """Background processes, stopped together."""

    def __init__(self) -> None:
        self.processes: list[subprocess.Popen[bytes]] = []

    def start(self, args: list[str], env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        process = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL, start_new_session=True)
        self.processes.append(process)
        return process

    def script(self, kind: str, port: int, upstream: str | None = None) -> subprocess.Popen[bytes]:
        args = [sys.executable, __file__, "--serve", kind, "--port", str(port)]
        if upstream:
            args += ["--upstream", upstream]
        return self.start(args)

    def stop(self, process: subprocess.Popen[bytes]) -> None:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        if process in self.processes:
            self.processes.remove(process)

    def stop_all(self) -> None:
        for process in list(self.processes):
            self.stop(process)


async def wait_up(url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as http:
        while True:
            try:
                async with http.get(url) as response:
                    if response.status < 500:
                        return
            except aiohttp.ClientError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{url} did not come up")
            await asyncio.sleep(0.1)


# --- the load generator ------------------------------------------------------------------

_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}
_SIZES = {"B": 1, "KB": 1 << 10, "MB": 1 << 20, "GB": 1 << 30}


def wrk(url: str, *, seconds: float, connections: int, headers: dict[str, str]) -> dict[str, float]:
    """Run wrk (one thread) and read requests/s, MiB/s, p50/p99 latency (ms), errors."""
    args = ["wrk", "-t1", f"-c{connections}", f"-d{seconds:g}s", "--latency", "--timeout", "60s"]
    for name, value in headers.items():
        args += ["-H", f"{name}: {value}"]
    output = subprocess.run([*args, url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    rate = re.search(r"Transfer/sec:\s+([\d.]+)(\w+)", output)
    assert rate is not None
    latency = {q: float(v) * _UNITS[u] * 1000 for q, v, u in
               re.findall(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s|m)\s*$", output, re.M)}
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)",
                       output)
    return {
        "rps": rps,
        "mib_s": float(rate.group(1)) * _SIZES[rate.group(2)] / (1 << 20),
        "p50_ms": latency.get("50", float("nan")),
        "p99_ms": latency.get("99", float("nan")),
        "non_2xx": float(non_2xx.group(1)) if non_2xx else 0.0,
        "socket_errors": float(sum(int(g) for g in errors.groups())) if errors else 0.0,
    }


# --- the data plane ----------------------------------------------------------------------


async def data_plane_setup(workdir: Path, database_url: str | None, port: int,
                           backend: str) -> tuple[Any, Any, dict[str, str]]:  # fmt: skip
    """Settings, a control-side data plane (signaling), and the EDR tokens of two flows."""
    from connector.dataplane.app import connector_signer, migrate_data_plane, open_data_plane
    from connector.domain.catalog import Backend
    from connector.settings import ConnectorSettings
    from connector.signaling import DataFlow
    from policies.presets import (
        agreement_from_offer,
        calls_per_period,
        plan_offer,
        research_use,
        subscription,
    )
    from policies.serialize import to_dsp
    from servicekit.db import create_engine

    schema = f"bench_{uuid.uuid4().hex[:8]}" if database_url else None
    settings = ConnectorSettings(
        dev=True, host="127.0.0.1", port=port, data_dir=workdir, name="bench",
        database_url=database_url or f"sqlite+aiosqlite:///{workdir / 'dp.sqlite3'}",
        database_schema=schema, did_method="key", key_passphrase="bench",
        log_level="WARNING", edr_token_seconds=86400)
    engine = create_engine(settings.sqlalchemy_url, schema=schema)
    await migrate_data_plane(engine, schema)
    plane = open_data_plane(settings, engine, connector_signer(settings))
    await plane.start()
    terms = (subscription(datetime(2026, 1, 1, tzinfo=UTC), datetime(2030, 1, 1, tzinfo=UTC))
             + calls_per_period(1_000_000_000, "P3650D") + research_use())
    offer = plan_offer(terms, offer_id="urn:offer:bench", assigner=plane.signer.did,
                       target="urn:dataset:bench", membership_credential=None)
    tokens = {}
    for name, path in (("small", "/small"), ("big", "/big")):
        agreement = to_dsp(agreement_from_offer(
            offer, agreement_id=f"urn:agreement:{name}", assignee="did:web:bench.example",
            target="urn:dataset:bench", timestamp=datetime(2026, 1, 1, tzinfo=UTC)))
        edr = await plane.signaling.start(DataFlow(
            transfer_id=f"urn:transfer:{name}", agreement_id=f"urn:agreement:{name}",
            dataset_id="urn:dataset:bench", consumer_id="did:web:bench.example",
            format="HttpData-PULL", agreement=agreement,
            backend=Backend(type="http", address=backend + path,
                            properties={"proxyQueryParams": "true",
                                        "header.Authorization": "Bearer backend-secret"})))
        tokens[name] = edr.token
    return settings, plane, tokens


def data_plane_env(settings: Any) -> dict[str, str]:
    # data-plane tuning (CONNECTOR_DATA_PLANE__*) passes through; nothing else of ours does
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("CONNECTOR_") or k.startswith("CONNECTOR_DATA_PLANE__")}
    env.update({
        "CONNECTOR_DEV": "true", "CONNECTOR_HOST": "127.0.0.1",
        "CONNECTOR_PORT": str(settings.port),
        "CONNECTOR_NAME": "bench", "CONNECTOR_DATA_DIR": str(settings.data_dir),
        "CONNECTOR_DATABASE_URL": settings.sqlalchemy_url, "CONNECTOR_DID_METHOD": "key",
        "CONNECTOR_KEY_PASSPHRASE": "bench", "CONNECTOR_LOG_LEVEL": "WARNING",
        "CONNECTOR_EDR_TOKEN_SECONDS": "86400", "PYTHONPATH": str(REPO),
    })
    if settings.database_schema:
        env["CONNECTOR_DATABASE_SCHEMA"] = settings.database_schema
    return env


def _tree(root: int) -> list[int]:
    """``root`` and its descendants (worker processes)."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            parents.setdefault(int(fields[1]), []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(parents.get(pid, []))
    return found


def cpu_seconds(root: int | None) -> float:
    """CPU time (user + system) used so far by ``root`` and its worker processes."""
    if root is None:
        return 0.0
    total = 0
    for pid in _tree(root):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def vm_hwm_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def huge_download(url: str, headers: dict[str, str], size: int) -> tuple[float, int]:
    """Stream one response of ``size`` bytes; seconds and bytes received."""
    started, total = time.monotonic(), 0
    timeout = aiohttp.ClientTimeout(total=None, sock_read=60)
    async with aiohttp.ClientSession(timeout=timeout) as http, http.get(
            url, headers=headers) as response:
        async for chunk in response.content.iter_chunked(1 << 20):
            total += len(chunk)
    return time.monotonic() - started, total


# --- the run -----------------------------------------------------------------------------


async def run(seconds: float, database_url: str | None, huge: bool,
              rounds_count: int) -> dict[str, Any]:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install wrk")
    servers = Servers()
    workdir = Path(tempfile.mkdtemp(prefix="dp-bench-"))
    results: dict[str, Any] = {"seconds": seconds, "store": "postgresql" if database_url else
                               "sqlite", "cores": os.cpu_count()}
    plane = None
    try:
        backend_port = free_port()
        servers.script("backend", backend_port)
        backend = f"http://127.0.0.1:{backend_port}"
        await wait_up(backend + "/small")
        dp_port = free_port()
        settings, plane, tokens = await data_plane_setup(workdir, database_url, dp_port, backend)
        small_headers = {"Authorization": f"Bearer {tokens['small']}", "X-Purpose": RESEARCH}
        big_headers = {"Authorization": f"Bearer {tokens['big']}", "X-Purpose": RESEARCH}

        async def rounds(targets: dict[str, tuple[str, str, dict[str, str], dict[str, str],
                                                  list[int]]], count: int) -> None:
            """Alternate the targets round by round (so drifting background load hits all
            alike); keep each one's best round."""
            for url, _big, headers, _bh, _pids in targets.values():
                wrk(url, seconds=2, connections=32, headers=headers)  # warm up
            for label in targets:
                results[label] = {"small_rounds": [], "big_rounds": []}
            for _ in range(count):
                for label, (url, big_url, headers, big_headers, pids) in targets.items():
                    before = sum(cpu_seconds(pid) for pid in pids)
                    small = wrk(url, seconds=seconds, connections=32, headers=headers)
                    used = sum(cpu_seconds(pid) for pid in pids) - before
                    # CPU per request: what a dedicated core would make of it, whatever
                    # else the machine is doing meanwhile
                    small["cpu_us_per_request"] = used / max(1.0, small["rps"] * seconds) * 1e6
                    results[label]["small_rounds"].append(small)
                    results[label]["big_rounds"].append(
                        wrk(big_url, seconds=seconds, connections=2, headers=big_headers))
            for label in targets:
                entry = results[label]
                entry["small"] = max(entry["small_rounds"], key=lambda r: r["rps"])
                entry["cpu_us_per_request"] = min(r["cpu_us_per_request"]
                                                  for r in entry["small_rounds"])
                entry["big"] = max(entry["big_rounds"], key=lambda r: r["mib_s"])
                print(f"  {label}: " + ", ".join(f"{r['rps']:.0f}" for r in entry["small_rounds"])
                      + " req/s; " + ", ".join(f"{r['mib_s']:.0f}" for r in entry["big_rounds"])
                      + " MiB/s", flush=True)

        backend_process = servers.processes[0]
        await rounds({"direct": (backend + "/small", f"{backend}/big?size={BIG}", {}, {},
                                 [backend_process.pid])}, 1)
        for workers in (1, 2):
            port = free_port()
            procs = [servers.script("proxy", port, backend) for _ in range(workers)]
            lean = None
            if workers == 1:
                lean_port = free_port()
                lean = servers.script("lean", lean_port, backend)
                await wait_up(f"http://127.0.0.1:{lean_port}/small")
            process = servers.start([sys.executable, "-m", "connector.dataplane", "--workers",
                                     str(workers)], env=data_plane_env(settings))
            await wait_up(f"http://127.0.0.1:{port}/small")
            await wait_up(f"http://127.0.0.1:{dp_port}/readyz")
            await asyncio.sleep(1.0)  # let every worker join
            bare = f"http://127.0.0.1:{port}"
            ours = f"http://127.0.0.1:{dp_port}/data"
            targets = {
                f"bare_{workers}w": (bare + "/small", f"{bare}/big?size={BIG}", {}, {},
                                     [p.pid for p in procs]),
                f"data_plane_{workers}w": (ours, f"{ours}?size={BIG}", small_headers,
                                           big_headers, [process.pid]),
            }
            if lean is not None:
                url = f"http://127.0.0.1:{lean_port}"
                targets["lean_1w"] = (url + "/small", f"{url}/big?size={BIG}", {}, {}, [lean.pid])
            await rounds(targets, rounds_count)
            if workers == 1:
                results["data_plane_1w"]["peak_rss_mib"] = vm_hwm_mb(process.pid)
                if huge:
                    elapsed, total = await huge_download(f"{ours}?size={2 << 30}", big_headers,
                                                         2 << 30)
                    results["huge"] = {"bytes": total, "seconds": elapsed,
                                       "mib_s": total / elapsed / (1 << 20),
                                       "peak_rss_mib": vm_hwm_mb(process.pid)}
            for proc in [*procs, *([lean] if lean else [])]:
                servers.stop(proc)
            servers.stop(process)
        receipt = await plane.receipt("urn:transfer:small")
        results["metered_small_requests"] = receipt["content"]["usage"]["requests"]
    finally:
        servers.stop_all()
        if plane is not None:
            await plane.stop()
            await plane.db.dispose()
            if database_url:
                from sqlalchemy import text

                from servicekit.db import create_engine

                engine = create_engine(database_url)
                async with engine.begin() as conn:
                    await conn.execute(text(
                        f'DROP SCHEMA IF EXISTS "{settings.database_schema}" CASCADE'))
                await engine.dispose()
        shutil.rmtree(workdir, ignore_errors=True)
    return results


def report(results: dict[str, Any]) -> None:
    rows = []
    for label in ("direct", "bare_1w", "data_plane_1w", "lean_1w", "bare_2w", "data_plane_2w"):
        small, big = results[label]["small"], results[label]["big"]
        rows.append([label, small["rps"], small["p50_ms"], small["p99_ms"],
                     results[label]["cpu_us_per_request"], big["mib_s"],
                     int(small["non_2xx"] + small["socket_errors"])])
    print_table("Data plane vs a bare proxy (wrk, loopback; 1 KiB: 32 connections, "
                "256 MiB: 2 connections; best of the alternating rounds; lean: the bare "
                "proxy on the data plane's HTTP client, a reference)",
                ["server", "1 KiB req/s", "p50 ms", "p99 ms", "CPU us/req", "256 MiB MiB/s",
                 "errors"], rows)
    ratios = {}
    for workers in (1, 2):
        bare, ours = results[f"bare_{workers}w"], results[f"data_plane_{workers}w"]
        ratios[f"{workers}w"] = {
            "rps_ratio": ours["small"]["rps"] / bare["small"]["rps"],
            "p99_ratio": ours["small"]["p99_ms"] / bare["small"]["p99_ms"],
            "mib_s_ratio": ours["big"]["mib_s"] / bare["big"]["mib_s"],
            "cpu_efficiency": bare["cpu_us_per_request"] / ours["cpu_us_per_request"],
        }
    ratios["scaling_2w_over_1w"] = (results["data_plane_2w"]["small"]["rps"]
                                    / results["data_plane_1w"]["small"]["rps"])
    results["ratios"] = ratios
    print_table("Data plane / bare proxy (targets: req/s >= 0.85, p99 <= 1.3, MiB/s >= 0.90; "
                "CPU: bare CPU per request / ours)",
                ["workers", "req/s", "p99", "MiB/s", "CPU"],
                [[w, r["rps_ratio"], r["p99_ratio"], r["mib_s_ratio"], r["cpu_efficiency"]]
                 for w, r in ratios.items() if isinstance(r, dict)])
    lean, ours = results["lean_1w"], results["data_plane_1w"]
    results["against_lean_1w"] = against = {
        "rps_ratio": ours["small"]["rps"] / lean["small"]["rps"],
        "cpu_us_more": ours["cpu_us_per_request"] - lean["cpu_us_per_request"],
    }
    print(f"\n1 KiB, data plane / lean proxy (same HTTP client, 1 worker): req/s "
          f"{against['rps_ratio']:.2f}; checks and plumbing cost "
          f"{against['cpu_us_more']:.0f} us of CPU per request")
    print(f"2 workers / 1 worker (data plane, 1 KiB req/s): {ratios['scaling_2w_over_1w']:.2f}")
    print(f"data plane peak RSS (1 worker): {results['data_plane_1w']['peak_rss_mib']:.0f} MiB")
    if "huge" in results:
        huge = results["huge"]
        print(f"2 GiB through the data plane: {huge['mib_s']:.0f} MiB/s, "
              f"peak RSS {huge['peak_rss_mib']:.0f} MiB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--rounds", type=int, default=3,
                        help="alternating rounds of (b) and (c); the best of each is kept")
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL"))
    parser.add_argument("--huge", action="store_true", help="also stream 2 GiB through (c)")
    parser.add_argument("--serve", choices=["backend", "proxy", "lean"], help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--upstream", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.port, args.upstream)
        return
    results = asyncio.run(run(args.seconds, args.database_url, args.huge, args.rounds))
    report(results)
    write_results("data_plane", results)


if __name__ == "__main__":
    main()
