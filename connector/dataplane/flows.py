"""The flows this data plane serves, kept in memory and in step with every other worker.

Each worker holds every non-terminated flow (its state, token generation,
backend and compiled policy) in memory, so a request costs no database trip.
Changes go through :meth:`FlowRegistry.save`: in one transaction the
revocation epoch (``dp_epoch``) is bumped and the flow row stamped with the
new epoch. Every worker reads the epoch every ``sync_seconds`` and loads the
rows stamped after the epoch it has applied, then records that epoch in
``dp_workers``. :meth:`FlowRegistry.wait_applied` returns once every live
worker has applied an epoch, which is how suspension reaches all workers
"at once": when ``suspend()`` returns, no worker serves the flow any more.

A worker that has not managed to sync for ``stale_seconds`` (database down,
loop blocked) syncs before it decides, and refuses if it cannot (fail closed).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import socket
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import orjson
import sqlalchemy as sa
import structlog
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from connector.dataplane.sql import lock_row
from connector.dataplane.store.tables import epoch as epoch_table
from connector.dataplane.store.tables import flows, workers
from connector.domain.catalog import Backend
from policies import CompiledPolicy, PolicyCache, PolicyError, parse_policy
from servicekit.clock import Clock, system_clock

__all__ = ["Flow", "FlowRegistry", "FlowState", "policy_version"]

_log = structlog.get_logger("connector.dataplane")


class FlowState(StrEnum):
    """Where a flow stands in the data plane."""

    PREPARED = "prepared"
    LIVE = "live"
    SUSPENDED = "suspended"
    TERMINATED = "terminated"


def policy_version(policy: Mapping[str, Any]) -> str:
    """A short content hash of an agreement policy (the compiled-policy cache key)."""
    return hashlib.sha256(orjson.dumps(policy, option=orjson.OPT_SORT_KEYS)).hexdigest()[:32]


@dataclass(slots=True)
class Flow:
    """One transfer as the data plane serves it."""

    transfer_id: str
    agreement_id: str
    dataset_id: str
    consumer_id: str
    state: FlowState
    generation: int
    policy: dict[str, Any] = field(repr=False)
    policy_version: str
    backend: Backend = field(repr=False)
    agreed_at: float
    reason: str | None = None
    credentials: Mapping[str, Any] = field(default_factory=dict, repr=False)
    """The consumer's credentials verified when the contract was made (type → subjects)."""
    compiled: CompiledPolicy | None = field(default=None, repr=False)
    policy_error: str | None = None


class FlowRegistry:
    """Flows in memory, synchronised through the revocation epoch."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        sync_seconds: float,
        stale_seconds: float,
        worker_ttl: float,
        clock: Clock = system_clock,
        channel: str = "dp_epoch",
        listen_poll_seconds: float = 0.5,
    ) -> None:
        self._engine = engine
        self.engine = engine
        self._sync_seconds = sync_seconds
        self._stale = stale_seconds
        self._worker_ttl = worker_ttl
        self._clock = clock
        self.worker_id = f"{socket.gethostname()[:40]}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.flows: dict[str, Flow] = {}
        self.epoch = -1
        self.synced_at = 0.0  # monotonic
        self._beat_at = 0.0
        self._sync_lock = asyncio.Lock()
        self._policies = PolicyCache(maxsize=4096)
        self.listeners: list[Callable[[Flow], None]] = []
        # PostgreSQL: a NOTIFY on this channel wakes every worker at once, so polling can
        # be slow (it only covers a lost listener connection)
        self.channel = channel
        self._listen_poll = listen_poll_seconds
        self._notified = asyncio.Event()
        self._listening: Any = None  # the AsyncConnection held for LISTEN

    # --- reading (hot path) ----------------------------------------------------------

    def fresh(self) -> bool:
        """True while the in-memory view is recent enough to decide on."""
        return time.monotonic() - self.synced_at < self._stale

    async def ensure_fresh(self) -> None:
        """Sync now if the periodic sync has fallen behind (fail closed if it cannot)."""
        if not self.fresh():
            await self.sync()

    # --- synchronisation -------------------------------------------------------------

    async def sync(self) -> None:
        """Apply every flow change after our epoch; record the epoch we have applied."""
        async with self._sync_lock:
            started = time.monotonic()
            async with self._engine.begin() as conn:
                current = int((await conn.execute(sa.select(epoch_table.c.epoch))).scalar_one())
                changed = current != self.epoch
                if changed:
                    query = sa.select(flows)
                    query = (query.where(flows.c.state != FlowState.TERMINATED.value)
                             if self.epoch < 0 else query.where(flows.c.epoch > self.epoch))
                    for row in (await conn.execute(query)).all():
                        self._apply(row._mapping)
                if changed or started - self._beat_at > 1.0:
                    await _beat(conn, self.worker_id, current, time.time())
                    self._beat_at = started
            self.epoch = current
            self.synced_at = started

    def _apply(self, row: Mapping[Any, Any]) -> None:
        state = FlowState(row["state"])
        transfer_id = row["transfer_id"]
        if state is FlowState.TERMINATED:
            gone = self.flows.pop(transfer_id, None)
            if gone is not None:
                gone.state = state
                self._notify(gone)
            return
        current = self.flows.get(transfer_id)
        version = row["policy_version"]
        if current is not None and current.policy_version == version:
            policy, compiled, error = current.policy, current.compiled, current.policy_error
        else:
            policy = orjson.loads(row["policy"])
            compiled, error = self._compile(row["agreement_id"], version, policy)
        flow = Flow(
            transfer_id=transfer_id,
            agreement_id=row["agreement_id"],
            dataset_id=row["dataset_id"],
            consumer_id=row["consumer_id"],
            state=state,
            generation=int(row["generation"]),
            policy=policy,
            policy_version=version,
            backend=Backend.model_validate_json(row["backend"]),
            agreed_at=float(row["agreed_at"]),
            reason=row["reason"],
            credentials=orjson.loads(row["credentials"]) if row["credentials"] else {},
            compiled=compiled,
            policy_error=error,
        )
        self.flows[transfer_id] = flow
        self._notify(flow)

    def _notify(self, flow: Flow) -> None:
        for listener in self.listeners:
            listener(flow)

    def _compile(self, agreement_id: str, version: str,
                 policy: dict[str, Any]) -> tuple[CompiledPolicy | None, str | None]:
        try:
            parsed = parse_policy(policy)
            return self._policies.get(parsed, version=f"{agreement_id}:{version}"), None
        except PolicyError as exc:
            # an agreement we cannot read permits nothing; say why when it is used
            _log.warning("agreement_policy_invalid", agreement=agreement_id, error=str(exc))
            return None, str(exc)

    async def run(self, stopping: asyncio.Event) -> None:
        """The sync loop (a background task) until ``stopping`` is set."""
        try:
            while not stopping.is_set():
                if self._engine.dialect.name == "postgresql" and not self._listen_ok():
                    await self._listen()
                self._notified.clear()
                try:
                    await self.sync()
                except Exception:
                    _log.exception("flow_sync_failed")
                pause = self._listen_poll if self._listen_ok() else self._sync_seconds
                wake = asyncio.ensure_future(self._notified.wait())
                stop = asyncio.ensure_future(stopping.wait())
                try:
                    await asyncio.wait({wake, stop}, timeout=pause,
                                       return_when=asyncio.FIRST_COMPLETED)
                finally:
                    wake.cancel()
                    stop.cancel()
        finally:
            await self._unlisten()

    def _listen_ok(self) -> bool:
        conn = self._listening
        if conn is None:
            return False
        raw = conn.sync_connection.connection.driver_connection if not conn.closed else None
        return raw is not None and not raw.is_closed()

    async def _listen(self) -> None:
        await self._unlisten()
        try:
            conn = await self._engine.connect()
            raw: Any = (await conn.get_raw_connection()).driver_connection
            await raw.add_listener(self.channel, self._on_notify)
            self._listening = conn
        except Exception:
            _log.warning("flow_listen_failed", channel=self.channel, exc_info=True)

    async def _unlisten(self) -> None:
        conn, self._listening = self._listening, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.close()

    def _on_notify(self, *_args: Any) -> None:
        self._notified.set()

    async def leave(self) -> None:
        """Forget this worker (on shutdown), so nobody waits for it."""
        async with self._engine.begin() as conn:
            await conn.execute(workers.delete().where(workers.c.id == self.worker_id))

    # --- changes ---------------------------------------------------------------------

    async def save(
        self,
        transfer_id: str,
        *,
        state: FlowState,
        bump_generation: bool = False,
        reason: str | None = None,
        create: Mapping[str, Any] | None = None,
    ) -> int | None:
        """Change a flow (or create it with ``create`` values); the new epoch, None if unknown."""
        now = time.time()
        async with self._engine.begin() as conn:
            await lock_row(conn, epoch_table, 1)
            new_epoch = int((await conn.execute(
                epoch_table.update().where(epoch_table.c.id == 1)
                .values(epoch=epoch_table.c.epoch + 1).returning(epoch_table.c.epoch)
            )).scalar_one())
            if conn.dialect.name == "postgresql":  # delivered on commit, to every listener
                await conn.execute(sa.select(sa.func.pg_notify(self.channel, str(new_epoch))))
            row = (await conn.execute(
                sa.select(flows.c.generation).where(flows.c.transfer_id == transfer_id)
            )).first()
            if row is None:
                if create is None:
                    return None
                await conn.execute(flows.insert().values(
                    transfer_id=transfer_id, state=state.value, generation=1, reason=reason,
                    epoch=new_epoch, created_at=now, updated_at=now, **create,
                ))
            else:
                values: dict[str, Any] = {"state": state.value, "reason": reason,
                                          "epoch": new_epoch, "updated_at": now}
                if create is not None:
                    values.update({k: v for k, v in create.items() if k != "agreed_at"})
                if bump_generation:
                    values["generation"] = flows.c.generation + 1
                await conn.execute(
                    flows.update().where(flows.c.transfer_id == transfer_id).values(**values)
                )
        return new_epoch

    async def wait_applied(self, target: int, *, within: float) -> bool:
        """Wait until every live worker has applied epoch ``target``; False on timeout."""
        await self.sync()
        deadline = time.monotonic() + within
        while True:
            async with self._engine.connect() as conn:
                lagging = (await conn.execute(
                    sa.select(sa.func.count()).select_from(workers).where(
                        workers.c.seen_epoch < target,
                        workers.c.heartbeat > time.time() - self._worker_ttl,
                    )
                )).scalar_one()
            if not lagging:
                return True
            if time.monotonic() >= deadline:
                _log.warning("revocation_not_acknowledged", epoch=target, workers=lagging)
                return False
            await asyncio.sleep(min(0.01, self._sync_seconds))

    async def get_row(self, conn: AsyncConnection, transfer_id: str) -> Mapping[Any, Any] | None:
        """The stored flow row (for the control endpoints, not the hot path)."""
        row = (await conn.execute(
            sa.select(flows).where(flows.c.transfer_id == transfer_id)
        )).first()
        return row._mapping if row is not None else None


async def _beat(conn: AsyncConnection, worker_id: str, seen: int, now: float) -> None:
    updated = await conn.execute(
        workers.update().where(workers.c.id == worker_id).values(seen_epoch=seen, heartbeat=now)
    )
    if updated.rowcount == 0:
        await conn.execute(workers.insert().values(id=worker_id, seen_epoch=seen, heartbeat=now))
