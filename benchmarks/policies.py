"""Benchmark of policy decisions: compiled closures against the interpreter, same run.

The policy is a realistic DSP agreement with five constraints on its one
permission (a time window of two bounds, a count limit, a purpose list, a
recipient and a membership credential). Measured, on one pinned core:

* ``compiled permit`` / ``compiled deny``: ``CompiledPolicy.decide`` on prebuilt
  contexts (the deny's reasons are not read: they are built lazily);
* ``compiled permit + context``: the same, building the ``RequestContext`` too;
* ``interpreted permit`` / ``interpreted deny``: ``evaluate`` walking the model;
* ``explain deny``: a deny with its full explanation;
* once each: parse and compile times.

Requests rotate over 64 contexts with different times, counts, purposes.
Targets: compiled >= 500,000 decisions/s and >= 10x the interpreter. Prints a
table and writes ``benchmarks/results/policies.json``.

    .venv/bin/python benchmarks/policies.py [--seconds 1] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import time
from datetime import UTC, datetime, timedelta
from itertools import cycle
from typing import Any

import bench

bench.unshadow()  # this script's name would shadow the policies package

from policies import (  # noqa: E402
    RequestContext,
    compile_policy,
    evaluate,
    parse_policy,
)

AGREEMENT: dict[str, Any] = {
    "@context": ["https://w3id.org/dspace/2025/1/context.jsonld"],
    "@id": "urn:uuid:e8dc8655-44c2-46ef-b701-4cffdc2faa44",
    "@type": "Agreement",
    "profile": "https://w3id.org/dataspace-toolkit/odrl/profile",
    "target": "urn:dataset:trondheim:traffic-counts",
    "assigner": "did:web:trondheim.kommune.no",
    "assignee": "did:web:acme.example",
    "timestamp": "2025-01-01T00:00:00Z",
    "permission": [
        {
            "action": "use",
            "constraint": [
                {"leftOperand": "dateTime", "operator": "gteq",
                 "rightOperand": {"@value": "2025-01-01T00:00:00Z", "@type": "xsd:dateTime"}},
                {"leftOperand": "dateTime", "operator": "lt",
                 "rightOperand": {"@value": "2026-01-01T00:00:00Z", "@type": "xsd:dateTime"}},
                {"leftOperand": "count", "operator": "lt",
                 "rightOperand": {"@value": "100000", "@type": "xsd:integer"}},
                {"leftOperand": "purpose", "operator": "isAnyOf",
                 "rightOperand": ["https://w3id.org/dpv#AcademicResearch",
                                  "https://w3id.org/dpv#ResearchAndDevelopment"]},
                {"leftOperand": "recipient", "operator": "eq",
                 "rightOperand": "did:web:acme.example"},
                {"leftOperand": "dst:credentialType", "operator": "eq",
                 "rightOperand": "MembershipCredential"},
            ],
        }
    ],
}  # fmt: skip

START = datetime(2025, 3, 1, tzinfo=UTC)
PURPOSES = ["https://w3id.org/dpv#AcademicResearch", "https://w3id.org/dpv#ResearchAndDevelopment"]
CREDENTIALS = {"MembershipCredential": ({"memberOf": "did:web:dataspace.example"},)}


def _fields(i: int, *, deny: bool) -> dict[str, Any]:
    return {
        "action": "read",
        "target": "urn:dataset:trondheim:traffic-counts",
        "assignee": "did:web:acme.example",
        "now": START + timedelta(hours=7 * i),
        "count": 100_000 + i if deny else i * 13,
        "purpose": PURPOSES[i % 2],
        "recipient": "did:web:acme.example",
        "credentials": CREDENTIALS,
    }


def _pin_one_core() -> str:
    if hasattr(os, "sched_setaffinity"):
        core = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {core})
        return f"core {core}"
    return "not pinned (no sched_setaffinity)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.0, help="seconds per round")
    parser.add_argument("--rounds", type=int, default=3, help="rounds (best is kept)")
    args = parser.parse_args()
    pinned = _pin_one_core()

    started = time.perf_counter()
    policy = parse_policy(AGREEMENT)
    parse_ms = (time.perf_counter() - started) * 1000
    started = time.perf_counter()
    compiled = compile_policy(policy)
    compile_ms = (time.perf_counter() - started) * 1000

    permits = [RequestContext(**_fields(i, deny=False)) for i in range(64)]
    denies = [RequestContext(**_fields(i, deny=True)) for i in range(64)]
    assert all(compiled.decide(c).permitted for c in permits)
    assert not any(compiled.decide(c).permitted for c in denies)
    assert all(evaluate(policy, c).permitted for c in permits)

    decide = compiled.decide
    permit_iter, deny_iter = cycle(permits), cycle(denies)
    fields = cycle([_fields(i, deny=False) for i in range(64)])

    def rate(call: Any) -> float:
        return bench.rate_sync(call, args.seconds, args.rounds)

    rates = {
        "compiled permit": rate(lambda: decide(next(permit_iter))),
        "compiled deny": rate(lambda: decide(next(deny_iter))),
        "compiled permit + context": rate(lambda: decide(RequestContext(**next(fields)))),
        "interpreted permit": rate(lambda: evaluate(policy, next(permit_iter))),
        "interpreted deny": rate(lambda: evaluate(policy, next(deny_iter))),
        "explain deny (full reasons)": rate(lambda: decide(next(deny_iter)).reasons),
    }
    ratios = {
        "permit": rates["compiled permit"] / rates["interpreted permit"],
        "deny": rates["compiled deny"] / rates["interpreted deny"],
    }
    targets = {
        "compiled >= 500k/s": min(rates["compiled permit"], rates["compiled deny"]) >= 500_000,
        "compiled >= 10x interpreted": min(ratios.values()) >= 10,
    }
    bench.print_table(
        f"Policy decisions, 5-constraint agreement ({pinned})",
        ["case", "decisions/s", "µs/decision"],
        [(name, value, 1e6 / value) for name, value in rates.items()],
    )
    bench.print_table(
        "Compiled vs interpreted",
        ["outcome", "speed-up"],
        [(name, f"{value:.1f}x") for name, value in ratios.items()],
    )
    bench.print_table(
        "One-off costs", ["step", "ms"], [("parse", parse_ms), ("compile", compile_ms)]
    )
    bench.print_table(
        "Targets", ["target", "met"], [(k, "yes" if v else "NO") for k, v in targets.items()]
    )
    bench.write_results(
        "policies",
        {
            "pinned": pinned,
            "seconds_per_round": args.seconds,
            "rounds": args.rounds,
            "decisions_per_second": rates,
            "speedup_compiled_over_interpreted": ratios,
            "parse_ms": parse_ms,
            "compile_ms": compile_ms,
            "targets_met": targets,
        },
    )


if __name__ == "__main__":
    main()
