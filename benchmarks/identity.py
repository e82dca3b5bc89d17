"""Benchmark of the identity hot paths against a bare PyJWT decode-and-verify.

Measures, in one run and on the same token and key:

* ``pyjwt_bare``: ``jwt.decode`` of the ``vc+jwt`` with the public key object
  (signature and time claims only: no DID, no issuer or validity checks);
* ``vc_jwt_cold``: our full verification (header rules, DID resolution from
  the resolver's cache for a did:key issuer, ``assertionMethod`` check,
  signature, issuer binding, validity period), no verified-token cache;
* ``vc_jwt_cached``: the same verifier with the verified-token cache;
* ``self_issued``: DCP self-issued ID tokens, each a fresh ``jti`` (full
  verification plus the replay store).

Each case runs for ``--seconds`` per round, best of ``--rounds``. Prints a
table and writes ``benchmarks/results/identity.json``.

    .venv/bin/python benchmarks/identity.py [--seconds 1] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench import rate_sync, rate_tight, unshadow

# Run as a script, this file's folder comes first on sys.path and its name
# would shadow the ``identity`` package it measures.
unshadow()

import jwt  # noqa: E402

from identity import (  # noqa: E402
    CredentialVerifier,
    DidResolver,
    InMemoryReplayStore,
    KeyPair,
    SelfIssuedTokenVerifier,
    Signer,
    TokenCache,
    VerifiedCredential,
    build_credential,
    create_self_issued_token,
    issue_vc_jwt,
)

RESULTS = Path(__file__).resolve().parent / "results" / "identity.json"
AUDIENCE = "did:web:provider.example"


def credential_token(signer: Signer) -> str:
    now = datetime.now(UTC)
    credential = build_credential(
        issuer=signer.did,
        subject={"id": "did:web:company.example", "memberOf": "dataspace", "level": "full"},
        types=["MembershipCredential"],
        id="urn:uuid:5f7c1e9a-2f4b-4f0e-9d53-3b8a0c1d2e4f",
        valid_from=now - timedelta(days=1),
        valid_until=now + timedelta(days=365),
    )
    return issue_vc_jwt(credential, signer)


async def bench_algorithm(key_type: str, seconds: float, rounds: int) -> dict[str, float]:
    key = KeyPair.generate(key_type)
    signer = Signer.for_did_key(key)
    token = credential_token(signer)
    public = key.public_key

    def bare() -> object:
        return jwt.decode(token, public, algorithms=[key.alg])

    async with DidResolver() as resolver:
        cold = CredentialVerifier(resolver)
        cache: TokenCache[VerifiedCredential] = TokenCache()
        cached = CredentialVerifier(resolver, cache=cache)
        await cold.verify(token)  # the DID document is resolved (and kept) once
        await cached.verify(token)
        return {
            "pyjwt_bare": rate_sync(bare, seconds, rounds),
            "vc_jwt_cold": await rate_tight(lambda: cold.verify(token), seconds, rounds),
            "vc_jwt_cached": await rate_tight(lambda: cached.verify(token), seconds, rounds),
        }


async def bench_self_issued(key_type: str, seconds: float, rounds: int) -> float:
    signer = Signer.for_did_key(KeyPair.generate(key_type))
    count = max(2000, int(15000 * seconds))
    tokens = [create_self_issued_token(signer, AUDIENCE, token="access") for _ in range(count)]
    best = 0.0
    async with DidResolver() as resolver:
        for _ in range(rounds):
            verifier = SelfIssuedTokenVerifier(resolver, InMemoryReplayStore(), audience=AUDIENCE)
            await verifier.verify(create_self_issued_token(signer, AUDIENCE))  # warm the DID cache
            done, started = 0, time.perf_counter()
            deadline = started + seconds
            for token in tokens:
                await verifier.verify(token)
                done += 1
                if done % 100 == 0 and time.perf_counter() >= deadline:
                    break
            best = max(best, done / (time.perf_counter() - started))
    return best


async def main(seconds: float, rounds: int) -> dict[str, Any]:
    results: dict[str, Any] = {
        "benchmark": "identity",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "seconds_per_round": seconds,
        "rounds": rounds,
        "algorithms": {},
    }
    for key_type, alg in (("ed25519", "EdDSA"), ("p256", "ES256")):
        rates = await bench_algorithm(key_type, seconds, rounds)
        rates["self_issued"] = await bench_self_issued(key_type, seconds, rounds)
        bare = rates["pyjwt_bare"]
        results["algorithms"][alg] = {
            "per_second": {k: round(v, 1) for k, v in rates.items()},
            "ratios": {
                "cold_vs_bare": round(rates["vc_jwt_cold"] / bare, 3),
                "cached_vs_bare": round(rates["vc_jwt_cached"] / bare, 1),
                "self_issued_vs_bare": round(rates["self_issued"] / bare, 3),
            },
            "targets": {
                "cached_at_least_50x_bare": rates["vc_jwt_cached"] >= 50 * bare,
                "cold_within_1.3x_of_bare": rates["vc_jwt_cold"] >= bare / 1.3,
            },
        }
    return results


def print_table(results: dict[str, Any]) -> None:
    print(f"{'alg':<6} {'case':<14} {'verify/s':>12} {'vs bare PyJWT':>14}")
    for alg, data in results["algorithms"].items():
        bare = data["per_second"]["pyjwt_bare"]
        for case, rate in data["per_second"].items():
            print(f"{alg:<6} {case:<14} {rate:>12,.0f} {rate / bare:>13.2f}x")
        targets = ", ".join(f"{k}={'yes' if v else 'NO'}" for k, v in data["targets"].items())
        print(f"{alg:<6} targets: {targets}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.0, help="seconds per round and case")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per case (best counts)")
    arguments = parser.parse_args()
    outcome = asyncio.run(main(arguments.seconds, arguments.rounds))
    print_table(outcome)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(outcome, indent=2) + "\n")
    print(f"wrote {RESULTS}")
