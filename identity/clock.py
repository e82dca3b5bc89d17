"""The injectable clock of the identity package: servicekit's :data:`~servicekit.clock.Clock`."""

from __future__ import annotations

from servicekit.clock import Clock, datetime_from_epoch, epoch_from_datetime, system_clock

__all__ = ["Clock", "datetime_from_epoch", "epoch_from_datetime", "now", "system_clock"]


def now(clock: Clock) -> float:
    """Read ``clock``: epoch seconds."""
    return float(clock())
