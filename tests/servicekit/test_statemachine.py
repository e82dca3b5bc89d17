"""Transition tables refuse every move they do not list."""

from __future__ import annotations

from enum import StrEnum

import pytest

from servicekit.errors import IllegalTransition
from servicekit.statemachine import TransitionTable


class Door(StrEnum):
    OPEN = "OPEN"
    CLOSED = "CLOSED"
    LOCKED = "LOCKED"
    GONE = "GONE"


TABLE = TransitionTable(
    "door",
    {Door.OPEN: [Door.CLOSED], Door.CLOSED: [Door.OPEN, Door.LOCKED, Door.GONE],
     Door.LOCKED: [Door.CLOSED]},
    initial=[Door.CLOSED],
    terminal=[Door.GONE],
)


def test_allowed_moves_pass() -> None:
    assert TABLE.check(None, Door.CLOSED) is Door.CLOSED
    assert TABLE.check(Door.CLOSED, Door.LOCKED) is Door.LOCKED
    assert TABLE.targets(Door.CLOSED) == {Door.OPEN, Door.LOCKED, Door.GONE}


@pytest.mark.parametrize(
    ("current", "target"),
    [(None, Door.OPEN), (Door.OPEN, Door.LOCKED), (Door.GONE, Door.CLOSED),
     (Door.LOCKED, Door.LOCKED)],
)
def test_everything_else_is_refused(current: Door | None, target: Door) -> None:
    with pytest.raises(IllegalTransition) as caught:
        TABLE.check(current, target)
    assert caught.value.code == "illegal-transition"
    assert caught.value.status == 409
    assert caught.value.extra["to"] == str(target)


def test_terminal_states_cannot_have_exits() -> None:
    assert TABLE.is_terminal(Door.GONE)
    with pytest.raises(ValueError, match="terminal"):
        TransitionTable("bad", {Door.GONE: [Door.OPEN]}, terminal=[Door.GONE])
