"""The one clock type: a callable answering seconds, injected so tests move time by hand.

Every component that reads the time takes ``clock: Clock`` (default
:func:`system_clock`, epoch seconds) instead of calling :func:`time.time`;
interval timers take a monotonic :data:`Clock` (``time.monotonic``). Code that
needs a calendar time converts at the edge with :func:`datetime_from_epoch`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

__all__ = ["Clock", "datetime_from_epoch", "epoch_from_datetime", "system_clock"]

Clock = Callable[[], float]
"""Seconds as a float: since the epoch for a wall clock, arbitrary origin for a monotonic one."""


def system_clock() -> float:
    """The real wall clock: seconds since the epoch."""
    return time.time()


def epoch_from_datetime(value: datetime) -> float:
    """Epoch seconds of ``value``; a naive datetime is taken as UTC."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.timestamp()


def datetime_from_epoch(value: float) -> datetime:
    """An aware UTC datetime from epoch seconds."""
    return datetime.fromtimestamp(value, UTC)
