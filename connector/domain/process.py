"""What contract negotiations and transfer processes share: roles and the action table.

A process (a negotiation or a transfer) is one state machine that both
sides keep. A party moves it by taking an *action*; each action is one row
of its process's :class:`ProcessTable`, a :class:`Move` that says

* the state the process moves to,
* the DSP message it sends to the counter-party (its ``@type``, and the
  ``eventType`` for event messages),
* the path of that message under the counter-party's process URL
  (``{address}/negotiations/{their pid}`` + ``/offers``),
* who may take it (the provider, the consumer, or either side),
* whether the message carries a ``code`` and ``reason``.

The generic process service (:mod:`connector.services.process`) reads only
this table, so adding an action is one row here plus its message payload.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Generic, TypeVar

from servicekit.statemachine import TransitionTable

__all__ = ["Move", "ProcessTable", "Role"]

S = TypeVar("S", bound=StrEnum)
A = TypeVar("A", bound=StrEnum)


class Role(StrEnum):
    """Which side of a process this connector plays."""

    PROVIDER = "provider"
    CONSUMER = "consumer"


@dataclass(frozen=True, slots=True)
class Move(Generic[S]):
    """One action: the state it reaches and the DSP message that tells the counter-party."""

    target: S
    message: str
    path: str
    by: Role | None = None
    event_type: str | None = None
    reason: bool = False


@dataclass(frozen=True, slots=True)
class ProcessTable(Generic[S, A]):
    """A process kind: its name, URL segment, state machine and action table."""

    name: str
    path: str
    transitions: TransitionTable[S]
    moves: Mapping[A, Move[S]]
    actions: type[A]
    #: What every move sets on the record besides the state (a negotiation: nobody awaited).
    cleared: Mapping[str, object] = field(default_factory=dict)

    @property
    def terminated(self) -> S:
        """The state the ``terminate`` action ends in."""
        return self.moves[self.actions("terminate")].target

    def target(self, action: A) -> S:
        """The state ``action`` moves a process to."""
        return self.moves[action].target

    def may_take(self, role: Role, state: S, action: A) -> bool:
        """True when a ``role`` party may take ``action`` from ``state``."""
        move = self.moves[action]
        if move.by is not None and move.by is not role:
            return False
        return self.transitions.can(state, move.target)

    def peer_url(self, address: str, peer_pid: str, action: A) -> str:
        """Where the message of ``action`` goes: the counter-party's process URL + its path."""
        return f"{address}/{self.path}/{peer_pid}{self.moves[action].path}"
