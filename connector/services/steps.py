"""Steps: what a party does next, decided by the default rules or a TCK script.

A decision is a list of :class:`Step` s: an action name (a negotiation or
transfer action, or ``wait`` for the owner) and a delay before it. The
first step runs at once (or after its delay); the rest run as one follow-up
job each, so a scripted "offer, pause, terminate" keeps its pauses across
restarts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["WAIT", "Step", "steps_from_payload", "steps_to_payload"]

#: The pseudo-action "leave it to the owner".
WAIT = "wait"


@dataclass(frozen=True, slots=True)
class Step:
    """One action to take, after ``delay`` seconds."""

    action: str
    delay: float = 0.0


def steps_to_payload(steps: Sequence[Step]) -> list[dict[str, Any]]:
    """Steps as a job payload."""
    return [{"action": s.action, "delay": s.delay} for s in steps]


def steps_from_payload(items: Sequence[Mapping[str, Any]]) -> list[Step]:
    """Steps back from a job payload."""
    return [Step(str(i["action"]), float(i.get("delay", 0.0))) for i in items]
