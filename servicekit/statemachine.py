"""State machines: one transition table per machine, the single authority.

A machine is a ``StrEnum`` of states plus a :class:`TransitionTable` naming,
for each state, the states it may move to. Entities call
:meth:`TransitionTable.check` (or use :func:`transition`) before persisting a
new state; anything else raises :class:`~servicekit.errors.IllegalTransition`
with both states named, which the protocols map to their own error bodies.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum
from typing import Generic, TypeVar

from servicekit.errors import IllegalTransition

__all__ = ["TransitionTable"]

S = TypeVar("S", bound=StrEnum)


class TransitionTable(Generic[S]):
    """The allowed transitions of one machine."""

    def __init__(
        self,
        name: str,
        allowed: Mapping[S, Iterable[S]],
        *,
        initial: Iterable[S] = (),
        terminal: Iterable[S] = (),
    ) -> None:
        self.name = name
        self.initial: frozenset[S] = frozenset(initial)
        self._allowed: dict[S, frozenset[S]] = {
            state: frozenset(targets) for state, targets in allowed.items()
        }
        self.terminal: frozenset[S] = frozenset(terminal)
        for state in self.terminal:
            if self._allowed.get(state):
                raise ValueError(f"{name}: terminal state {state} has transitions")

    def can(self, current: S | None, target: S) -> bool:
        """True when ``current`` may move to ``target`` (``None`` = not created yet)."""
        if current is None:
            return target in self.initial
        return target in self._allowed.get(current, frozenset())

    def check(self, current: S | None, target: S) -> S:
        """Return ``target`` when allowed, else raise :class:`IllegalTransition`."""
        if not self.can(current, target):
            raise IllegalTransition(
                f"{self.name} cannot move from {current or 'nothing'} to {target}",
                extra={"from": str(current) if current else None, "to": str(target)},
            )
        return target

    def targets(self, current: S) -> frozenset[S]:
        """The states ``current`` may move to."""
        return self._allowed.get(current, frozenset())

    def is_terminal(self, state: S) -> bool:
        """True for states nothing leaves."""
        return state in self.terminal
