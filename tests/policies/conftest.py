"""Fixtures of the policy tests: the decision corpus and the FORCE conformance cases."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

CORPUS = Path(__file__).parent / "corpus"


@dataclass(frozen=True)
class Case:
    """One corpus case: a policy, a request context and what must come out."""

    id: str
    why: str
    policy: dict[str, Any]
    context: dict[str, Any]
    expected: str  # permit, deny or invalid
    basis: str | None = None
    duties: tuple[str, ...] | None = None
    errors: frozenset[str] = frozenset()
    parents: tuple[dict[str, Any], ...] = ()


def load_corpus() -> list[Case]:
    """Every case of every file under ``corpus/``."""
    cases: list[Case] = []
    for path in sorted(CORPUS.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        for group in data["groups"]:
            for item in group["cases"]:
                cases.append(
                    Case(
                        id=item["id"],
                        why=item["why"],
                        policy=group["policy"],
                        context={**group.get("context", {}), **item.get("context", {})},
                        expected=item["expected"],
                        basis=item.get("basis"),
                        duties=tuple(item["duties"]) if "duties" in item else None,
                        parents=tuple(group.get("parents", ())),
                    )
                )
        for item in data.get("invalid", ()):
            cases.append(
                Case(
                    id=item["id"],
                    why=item["why"],
                    policy=item["policy"],
                    context={},
                    expected="invalid",
                    errors=frozenset(item["errors"]),
                )
            )
    return cases


CORPUS_CASES = load_corpus()
DECISION_CASES = [c for c in CORPUS_CASES if c.expected != "invalid"]


@pytest.fixture(scope="session")
def force_cases(shared_dir: Path) -> list[dict[str, Any]]:
    """The 68 FORCE ODRL test-suite cases (``../shared/conformance/odrl-force``)."""
    path = shared_dir / "conformance" / "odrl-force" / "cases.json"
    cases: list[dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))
    return cases
