"""The injectable clock: tests pass a fake one instead of sleeping."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

__all__ = ["Clock", "datetime_from_epoch", "epoch_from_datetime", "now", "system_clock"]

Clock = Callable[[], float | datetime]
"""A callable returning the current time as epoch seconds or an aware datetime."""


def system_clock() -> float:
    """The real clock: seconds since the epoch."""
    return time.time()


def epoch_from_datetime(value: datetime) -> float:
    """Epoch seconds of ``value``; a naive datetime is taken as UTC."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.timestamp()


def datetime_from_epoch(value: float) -> datetime:
    """An aware UTC datetime from epoch seconds."""
    return datetime.fromtimestamp(value, UTC)


def now(clock: Clock) -> float:
    """Read ``clock`` as epoch seconds, whichever form it returns."""
    value = clock()
    if isinstance(value, datetime):
        return epoch_from_datetime(value)
    return float(value)
