"""Fakes of the outer world shared by every test package: the clock."""

from __future__ import annotations

from datetime import datetime

from servicekit.clock import epoch_from_datetime

START = 1_750_000_000.0  # 2025-06-15T15:06:40Z


def _seconds(moment: float | datetime) -> float:
    return epoch_from_datetime(moment) if isinstance(moment, datetime) else float(moment)


class FakeClock:
    """A :data:`servicekit.clock.Clock` the test moves by hand (epoch seconds)."""

    def __init__(self, start: float | datetime = START) -> None:
        self.now = _seconds(start)

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move ``seconds`` forward."""
        self.now += seconds

    def set(self, moment: float | datetime) -> None:
        """Jump to ``moment``."""
        self.now = _seconds(moment)
