"""The owner's dashboard figures: datasets, requests, agreements, transfers and usage.

Usage is what the enforcing data plane metered (``dp_usage``, per agreement,
transfer and time bucket), attributed to a dataset through the transfer's
flow and to a day (UTC) by the bucket's start. A connector without the
enforcing data plane meters nothing: its usage figures are zero and
``data_plane`` is false.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

from connector.core import ControlPlane
from connector.domain.transfer import TransferState
from connector.store import catalog as catalog_store
from connector.store import console as store
from connector.store.agreements import count_live_agreements

__all__ = ["MAX_DAYS", "DashboardService"]

#: The longest usage history one answer gives (days).
MAX_DAYS = 366
_DAY = 86_400.0


def _day(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d")


class DashboardService:
    """The dashboard's figures (see the module docstring)."""

    def __init__(self, plane: ControlPlane) -> None:
        self.plane = plane

    @property
    def metered(self) -> bool:
        """Whether an enforcing data plane meters usage in this connector's database."""
        return self.plane.settings.signaling == "data-plane"

    async def figures(self, *, days: int, now: float | None = None) -> dict[str, Any]:
        """The figures, with usage per dataset per day for the last ``days`` days (UTC)."""
        now = time.time() if now is None else now
        today = datetime.fromtimestamp(now, UTC).replace(hour=0, minute=0, second=0,
                                                         microsecond=0)
        first = today - timedelta(days=days - 1)
        dates = [_day((first + timedelta(days=i)).timestamp()) for i in range(days)]
        async with self.plane.read() as conn:
            total, retired = await catalog_store.dataset_counts(conn)
            waiting = await store.count_waiting(conn)
            live = await count_live_agreements(conn)
            active = await store.count_transfers(conn, states=[TransferState.STARTED.value])
            rows = (await store.usage_rows(conn, since=first.timestamp())
                    if self.metered else [])
        per: dict[str, dict[str, list[int]]] = {}
        calls_today = 0
        for dataset_id, bucket, requests, size in rows:
            day = _day(bucket)
            if day not in dates:
                continue
            cell = per.setdefault(dataset_id, {}).setdefault(day, [0, 0])
            cell[0] += requests
            cell[1] += size
            if bucket >= today.timestamp():
                calls_today += requests
        series = [{"dataset_id": dataset_id,
                   "days": [{"date": d, "requests": cells.get(d, [0, 0])[0],
                             "bytes": cells.get(d, [0, 0])[1]} for d in dates]}
                  for dataset_id, cells in sorted(per.items())]
        return {
            "datasets": {"count": total, "retired": retired, "active": total - retired},
            "requests_waiting": waiting,
            "agreements_live": live,
            "transfers_active": active,
            "calls_today": calls_today,
            "data_plane": self.metered,
            "usage": {"days": days, "from": dates[0], "to": dates[-1], "dates": dates,
                      "datasets": series},
        }
