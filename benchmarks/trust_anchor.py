"""Benchmark of the trust anchor: issuance and VC-API verification rates.

In one run, with the trust anchor's own key:

* ``raw_sign``: Ed25519 signatures per second over a credential-sized
  signing input (the ceiling: issuing cannot be faster than signing);
* ``issue_in_process``: credentials issued per second through the issuer
  (status slots allocated, credential built, signed and stored, one
  transaction each) on SQLite;
* ``issue_http``: ``POST /credentials/issue`` per second against a trust
  anchor process on loopback (16 concurrent clients);
* ``verify_http_cold`` / ``verify_http_cached``: ``POST /credentials/verify``
  per second, each credential seen once, then one credential repeatedly.

Prints a table and writes ``benchmarks/results/trust_anchor.json``.

    .venv/bin/python benchmarks/trust_anchor.py [--seconds 3] [--rounds 1]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from bench import free_port, print_table, rate_async, rate_sync, unshadow, write_results

unshadow()

import aiohttp  # noqa: E402

from identity.service_identity import ServiceIdentity  # noqa: E402
from servicekit import jobs  # noqa: E402
from servicekit.db import create_engine, migrate  # noqa: E402
from trust_anchor.services.issuer import Issuer  # noqa: E402
from trust_anchor.store import MIGRATIONS, VERSION_TABLE  # noqa: E402

SUBJECT = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"
CLAIMS = {"legalName": "Halden kommune", "organisationNumber": "959 159 092", "country": "NO",
          "roles": ["provider", "consumer"]}



async def in_process(workdir: Path, seconds: float, rounds: int) -> dict[str, float]:
    identity = ServiceIdentity.load_or_create(
        workdir / "inproc" / "keys", base_url="http://127.0.0.1:1", passphrase="bench",
        dev=True, scrypt_n=2**10)
    engine = create_engine(f"sqlite+aiosqlite:///{workdir / 'inproc' / 'ta.sqlite3'}")
    await migrate(engine, jobs.MIGRATIONS, version_table=jobs.VERSION_TABLE)
    await migrate(engine, MIGRATIONS, version_table=VERSION_TABLE)
    issuer = Issuer(identity, "http://127.0.0.1:1")
    signing_input = b"x" * 900  # about the size of a membership credential's JWS input
    raw = rate_sync(lambda: identity.key.sign(signing_input), seconds, rounds)

    async def issue_one() -> None:
        async with engine.begin() as conn:
            await issuer.issue(conn, subject_did=SUBJECT, credential_type="MembershipCredential",
                               claims=CLAIMS, validity=timedelta(days=365))

    issued, _ = await rate_async(issue_one, seconds, rounds)
    await engine.dispose()
    return {"raw_sign": raw, "issue_in_process": issued}


async def over_http(workdir: Path, seconds: float, rounds: int) -> dict[str, float]:
    port = free_port()
    data = workdir / "http"
    env = {**os.environ, "TA_DEV": "true", "TA_PORT": str(port), "TA_DATA_DIR": str(data),
           "TA_KEY_PASSPHRASE": "bench", "TA_KEY_SCRYPT_N": "1024", "TA_LOG_LEVEL": "WARNING"}
    process = subprocess.Popen([sys.executable, "-m", "trust_anchor"], env=env, cwd=workdir,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while not (data / "service.json").exists():
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("the trust anchor did not start")
            await asyncio.sleep(0.1)
        import json

        info = json.loads((data / "service.json").read_text())
        base, headers = info["base_url"], {"Authorization": f"Bearer {info['admin_api_key']}"}
        body = {"credential": {"@context": ["https://www.w3.org/ns/credentials/v2",
                                            "https://www.w3.org/ns/credentials/undefined-terms/v2"],
                               "type": ["VerifiableCredential", "MembershipCredential"],
                               "credentialSubject": {"id": SUBJECT, **CLAIMS}}}
        connector = aiohttp.TCPConnector(limit=64)
        async with aiohttp.ClientSession(connector=connector) as session:
            issued: list[dict[str, Any]] = []

            async def issue_one() -> None:
                async with session.post(f"{base}/credentials/issue", json=body,
                                        headers=headers) as response:
                    assert response.status == 201, await response.text()
                    issued.append((await response.json())["verifiableCredential"])

            issue_rate, issue_latency = await rate_async(issue_one, seconds, rounds,
                                                         concurrency=16)
            pool = list(issued)

            async def verify_cold() -> None:
                credential = pool.pop() if pool else issued[0]
                async with session.post(f"{base}/credentials/verify",
                                        json={"verifiableCredential": credential}) as response:
                    assert response.status == 200, await response.text()

            cold_rate, _ = await rate_async(verify_cold, seconds / 2, 1, concurrency=16)
            one = issued[0]

            async def verify_cached() -> None:
                async with session.post(f"{base}/credentials/verify",
                                        json={"verifiableCredential": one}) as response:
                    assert response.status == 200

            cached_rate, _ = await rate_async(verify_cached, seconds, rounds, concurrency=16)
        return {"issue_http": issue_rate, "verify_http_cold": cold_rate,
                "verify_http_cached": cached_rate,
                "issue_http_p50_ms": sorted(issue_latency)[len(issue_latency) // 2] * 1000}
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=10)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        results = await in_process(workdir, args.seconds, args.rounds)
        results.update(await over_http(workdir, args.seconds, args.rounds))
    raw = results["raw_sign"]
    rows = [
        ("raw Ed25519 sign (ceiling)", raw, 1.0),
        ("issue, in process (SQLite)", results["issue_in_process"],
         results["issue_in_process"] / raw),
        ("issue over HTTP (16 clients)", results["issue_http"], results["issue_http"] / raw),
        ("VC-API verify, cold", results["verify_http_cold"], results["verify_http_cold"] / raw),
        ("VC-API verify, cached", results["verify_http_cached"],
         results["verify_http_cached"] / raw),
    ]
    print_table("Trust anchor (per second; ratio to the raw signing rate of the same key)",
                ["case", "per second", "x raw sign"], rows)
    print(f"issue over HTTP median latency: {results['issue_http_p50_ms']:.1f} ms")
    results["ratios_to_raw_sign"] = {name: value / raw for name, value in results.items()
                                     if not name.endswith("_ms") and name != "raw_sign"}
    write_results("trust_anchor", results)


if __name__ == "__main__":
    asyncio.run(main())
