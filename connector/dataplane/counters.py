"""Exact usage counters across workers and replicas, without a database trip per request.

A policy that limits uses (``count lt 100``) gets one counter row per
agreement and counting window. ``allocated`` is how many uses have been
handed to workers; it never exceeds the limit because the only statement that
raises it is one atomic ``UPDATE`` that adds ``min(block, limit - allocated)``.
A worker keeps the slots of its block in memory and gives one to each
permitted request (the slot number is the ``count`` the policy sees), so
the hot path touches no database until the block runs out.

Invariant: uses served + slots held by workers <= ``allocated`` <= limit.
Slots come back (``allocated`` decreases) only when nobody holds them: a
worker hands back unused slots after a short idle time, and a request whose
backend failed gives its slot back (it was not a use).

``consumed`` is what workers have reported as used. When ``allocated`` has
reached the limit but ``allocated > consumed``, other workers may still hand
slots back, so a request waits (briefly) instead of being denied early:
that is what makes the count exact at the end, not only safe.

Block sizes shrink as the limit nears (an eighth of what is left, at most
``block_size``), so little is ever held idle. The next block is asked for in
the background when half of the current one is left.

Counting windows run from the agreement (``count`` within ``P1D``, ``P1M``):
:meth:`Counters.window` names the counter of the window a request falls in,
and keeps it until the window ends, so the hot path computes no calendar. On SQLite, one
process's writers (these reservations and the data plane's flush) take
turns through one :class:`~connector.dataplane.sql.Writer`.
"""

from __future__ import annotations

import asyncio
import math
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from connector.dataplane.sql import Writer, insert_ignore
from connector.dataplane.store.tables import counters
from policies import Plan
from servicekit.clock import Clock

__all__ = ["CounterSpec", "Counters", "window_end", "window_start"]

_POLL = 0.01


@dataclass(frozen=True, slots=True)
class CounterSpec:
    """Which counter a request uses: the agreement's, in the current window."""

    agreement_id: str
    window_start: float
    limit: int
    key: str = field(init=False, compare=False)
    """The counter row's key (agreement and window)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "key", f"{self.agreement_id}|{self.window_start:.0f}")


@dataclass
class _Lease:
    spec: CounterSpec
    available: list[int] = field(default_factory=list)
    consumed: int = 0  # taken since the last report
    refunds: int = 0  # slots to hand back that we no longer hold
    last_used: float = 0.0
    exhausted_until: float = 0.0
    checked_at: float = -1.0
    low_water: int = 0  # refill in the background below this many slots
    refilling: bool = False
    seen: tuple[int, int] = (0, 0)  # (allocated, consumed) at the last reservation
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class Counters:
    """This worker's leases on the shared counters."""

    def __init__(
        self,
        writer: Writer,
        *,
        block_size: int,
        wait_seconds: float,
        linger_seconds: float,
        monotonic: Clock = time.monotonic,
    ) -> None:
        self.writer = writer
        self._block = block_size
        self._wait = wait_seconds
        self._linger = linger_seconds
        self._monotonic = monotonic
        self._leases: dict[str, _Lease] = {}
        self._refills: set[asyncio.Task[None]] = set()
        # agreement -> (its current window's counter, the window's anchor, its end)
        self._windows: dict[str, tuple[CounterSpec, float, float]] = {}
        self.reservations = 0

    def window(self, agreement_id: str, plan: Plan, anchor: float, now: float) -> CounterSpec:
        """The counter of the window ``now`` falls in (windows run from ``anchor``)."""
        limit = plan.count_limit
        assert limit is not None
        known = self._windows.get(agreement_id)
        if known is not None:
            spec, since, until = known
            if since == anchor and spec.window_start <= now < until and spec.limit == limit:
                return spec
        spec = CounterSpec(agreement_id, window_start(plan, anchor, now), limit)
        self._windows[agreement_id] = (spec, anchor, window_end(plan, spec.window_start))
        return spec

    async def take(self, spec: CounterSpec) -> int | None:
        """A slot for one use (its number is the count of uses before it), or None if none."""
        lease = self._leases.get(spec.key)
        if lease is None or lease.spec.limit != spec.limit:
            lease = self._leases[spec.key] = _Lease(spec)
        if lease.available:
            return self._give(lease)
        deadline = self._monotonic() + self._wait
        while True:
            async with lease.lock:
                if lease.available:
                    return self._give(lease)
                if lease.exhausted_until > self._monotonic():
                    return None
                if self._monotonic() - lease.checked_at >= _POLL:
                    # one query per poll interval, however many requests wait here
                    lease.seen = await self._reserve(lease)
                    lease.checked_at = self._monotonic()
                allocated, consumed = lease.seen
                if lease.available:
                    return self._give(lease)
                if allocated <= consumed or self._monotonic() >= deadline:
                    # every slot is used (or held by a worker that went silent): none left
                    lease.exhausted_until = self._monotonic() + _POLL * 5
                    return None
            await asyncio.sleep(_POLL)

    def _give(self, lease: _Lease) -> int:
        lease.consumed += 1
        lease.last_used = self._monotonic()
        slot = lease.available.pop()
        if len(lease.available) < lease.low_water and not lease.refilling:
            # fetch the next block before this one runs out, so requests never wait for it
            lease.refilling = True
            task = asyncio.create_task(self._refill(lease))
            self._refills.add(task)
            task.add_done_callback(self._refills.discard)
        return slot

    async def _refill(self, lease: _Lease) -> None:
        try:
            async with lease.lock:
                if len(lease.available) < lease.low_water:
                    lease.seen = await self._reserve(lease, keep=True)
                    lease.checked_at = self._monotonic()
        except Exception:  # the next take() reserves in the foreground and reports it
            lease.low_water = 0
        finally:
            lease.refilling = False

    def give_back(self, spec: CounterSpec, slot: int) -> None:
        """The use of ``slot`` did not happen (denied or failed): it may serve another request."""
        lease = self._leases.get(spec.key)
        if lease is not None and lease.spec.limit == spec.limit:
            lease.available.append(slot)
            lease.consumed -= 1
            lease.exhausted_until = 0.0
            return
        # settled by a worker that does not hold the lease (remote decide): refund in the store
        lease = self._leases[spec.key] = _Lease(spec)
        lease.refunds += 1

    async def _reserve(self, lease: _Lease, *, keep: bool = False) -> tuple[int, int]:
        spec = lease.spec
        c = counters.c
        remaining = sa.literal(spec.limit) - c.allocated
        take = sa.case(
            (remaining <= 0, 0),
            (remaining >= 8 * self._block, self._block),
            (remaining >= 8, remaining // 8),
            else_=1,
        )
        report, refunds = lease.consumed, lease.refunds
        statement = (
            counters.update()
            .where(c.key == spec.key)
            .values(
                allocated=c.allocated + take - refunds,
                last_take=take,
                consumed=c.consumed + report - refunds,
                limit_n=spec.limit,
                updated_at=time.time(),
            )
            .returning(c.allocated, c.last_take, c.consumed)
        )
        async with self.writer.begin() as conn:
            row = (await conn.execute(statement)).first()
            if row is None:
                await insert_ignore(conn, counters, {
                    "key": spec.key, "agreement_id": spec.agreement_id,
                    "window_start": spec.window_start, "limit_n": spec.limit, "allocated": 0,
                    "last_take": 0, "consumed": 0, "updated_at": time.time(),
                })
                row = (await conn.execute(statement)).first()
        assert row is not None
        self.reservations += 1
        lease.consumed -= report
        lease.refunds -= refunds
        allocated, took, consumed = int(row[0]), int(row[1]), int(row[2])
        if took > 0:
            # slots [allocated - took, allocated), highest first: pop() hands out the lowest,
            # and slots still held (keep) are lower still, so they go first
            block = list(range(allocated - 1, allocated - took - 1, -1))
            lease.available = block + lease.available if keep else block
            # only big blocks are worth refilling early; near the limit, every slot counts
            lease.low_water = took // 2 if took >= 64 else 0
        return allocated, consumed

    async def tick(self) -> None:
        """Hand back slots idle longer than the linger time; report uses and refunds."""
        now = self._monotonic()
        for key, lease in list(self._leases.items()):
            idle = now - lease.last_used >= self._linger
            if not (lease.refunds or (idle and (lease.available or lease.consumed))):
                if idle and not lease.available and lease.last_used and now - lease.last_used > 60:
                    del self._leases[key]
                    self._windows.pop(lease.spec.agreement_id, None)
                continue
            async with lease.lock:
                # take the slots out of reach first: take() pops without the lock
                returned: list[int] = []
                if idle:
                    returned, lease.available = lease.available, []
                report, refunds = lease.consumed, lease.refunds
                c = counters.c
                try:
                    async with self.writer.begin() as conn:
                        await conn.execute(
                            counters.update().where(c.key == key).values(
                                allocated=c.allocated - len(returned) - refunds,
                                consumed=c.consumed + report - refunds,
                                updated_at=time.time(),
                            )
                        )
                except BaseException:
                    lease.available.extend(returned)
                    raise
                lease.consumed -= report
                lease.refunds -= refunds

    async def close(self) -> None:
        """Hand everything back (on shutdown)."""
        for task in list(self._refills):
            await task
        self._linger = 0.0
        await self.tick()


def window_start(plan: Plan, anchor: float, now: float) -> float:
    """Start of the counting window ``now`` falls in (windows run from the agreement)."""
    period = plan.count_period
    if period is None:
        return 0.0
    if isinstance(period, timedelta):
        length = period.total_seconds()
        if length <= 0:
            return 0.0
        return anchor + math.floor(max(0.0, now - anchor) / length) * length
    # calendar months (P1M, P1Y): step from the agreement's date
    start = datetime.fromtimestamp(anchor, UTC)
    current = datetime.fromtimestamp(now, UTC)
    months = max(1, period.months)
    elapsed = (current.year - start.year) * 12 + current.month - start.month
    steps = max(0, elapsed // months)
    while steps > 0 and _add_months(start, steps * months) > current:
        steps -= 1
    return _add_months(start, steps * months).timestamp()


def window_end(plan: Plan, start: float) -> float:
    """When the window that starts at ``start`` ends (a lifetime window never does)."""
    period = plan.count_period
    if period is None:
        return math.inf
    if isinstance(period, timedelta):
        return start + period.total_seconds() if period.total_seconds() > 0 else math.inf
    return _add_months(datetime.fromtimestamp(start, UTC), max(1, period.months)).timestamp()


def _add_months(moment: datetime, months: int) -> datetime:
    total = moment.year * 12 + moment.month - 1 + months
    year, month = divmod(total, 12)
    day = min(moment.day, [31, 29 if year % 4 == 0 and (year % 100 or year % 400 == 0) else 28,
                           31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month])
    return moment.replace(year=year, month=month + 1, day=day)
