"""Durable background jobs: record the intent now, do the work (and retry) later.

A request handler that must tell another party something (send a DSP message,
push a usage report, call a webhook) enqueues a job **in the same transaction**
as the state change it follows from, so the two are never out of step. A
:class:`JobRunner` per process claims due jobs, runs the handler registered
for their ``kind`` and, on failure, retries with exponential back-off and
jitter until ``max_attempts``.

Claiming takes a lease (``lease_owner``, ``lease_until``) in one UPDATE, with
``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so several replicas share one queue
and never run a job twice at the same time; a replica that dies leaves its
leases to expire and another picks the work up. Handlers must be idempotent:
a job whose replica died after the work but before the bookkeeping runs again.

Jobs survive restarts: nothing about them lives only in memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import structlog
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from servicekit.clock import Clock, system_clock
from servicekit.db import timestamps

__all__ = [
    "MIGRATIONS",
    "VERSION_TABLE",
    "Job",
    "JobHandler",
    "JobRunner",
    "PermanentJobError",
    "enqueue",
    "jobs_columns",
    "jobs_table",
]

#: servicekit's own migrations (shared tables) and their version table.
MIGRATIONS = Path(__file__).parent / "migrations"
VERSION_TABLE = "servicekit_version"


def jobs_columns() -> list[sa.schema.SchemaItem]:
    """The ``jobs`` table's columns and index, as ``sk0001`` creates them (frozen: the
    migration builds the table with this too; see :mod:`servicekit.db`)."""
    return [
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("kind", sa.String(100), nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("dedupe_key", sa.String(200), nullable=True, unique=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("max_attempts", sa.Integer, nullable=False),
        sa.Column("run_at", sa.Float, nullable=False),
        sa.Column("lease_owner", sa.String(64), nullable=True),
        sa.Column("lease_until", sa.Float, nullable=True),
        sa.Column("last_error", sa.Text, nullable=True),
        *timestamps(),
        sa.Index("ix_jobs_due", "status", "run_at"),
    ]


metadata = sa.MetaData()
jobs_table = sa.Table("jobs", metadata, *jobs_columns())

_log = structlog.get_logger("servicekit.jobs")


class PermanentJobError(Exception):
    """Raised by a handler when retrying cannot help (the job fails at once)."""


@dataclass(frozen=True, slots=True)
class Job:
    """A claimed job, as its handler sees it."""

    id: str
    kind: str
    payload: dict[str, Any]
    attempts: int
    max_attempts: int


JobHandler = Callable[[Job], Awaitable[None]]
FailureHandler = Callable[[Job, str], Awaitable[None]]


async def enqueue(
    conn: AsyncConnection,
    kind: str,
    payload: Mapping[str, Any],
    *,
    delay: float = 0.0,
    max_attempts: int = 8,
    dedupe_key: str | None = None,
    now: float | None = None,
) -> str:
    """Add a job in the caller's transaction; returns its id.

    With ``dedupe_key`` a second job with the same key is not added (the
    first one's id is returned), which makes "enqueue on retry" safe.
    """
    now = time.time() if now is None else now
    if dedupe_key is not None:
        existing = (
            await conn.execute(
                sa.select(jobs_table.c.id).where(jobs_table.c.dedupe_key == dedupe_key)
            )
        ).scalar()
        if existing is not None:
            return str(existing)
    return await _insert(conn, kind, payload, now=now, run_at=now + delay, attempts=0,
                         max_attempts=max_attempts, dedupe_key=dedupe_key)


async def _insert(
    conn: AsyncConnection,
    kind: str,
    payload: Mapping[str, Any],
    *,
    now: float,
    run_at: float,
    attempts: int,
    max_attempts: int,
    dedupe_key: str | None = None,
    lease_owner: str | None = None,
    lease_until: float | None = None,
) -> str:
    """Insert one pending job row; returns its new id."""
    job_id = str(uuid.uuid4())
    await conn.execute(
        jobs_table.insert().values(
            id=job_id,
            kind=kind,
            payload=json.dumps(dict(payload)),
            dedupe_key=dedupe_key,
            status="pending",
            attempts=attempts,
            max_attempts=max_attempts,
            run_at=run_at,
            lease_owner=lease_owner,
            lease_until=lease_until,
            created_at=now,
            updated_at=now,
        )
    )
    return job_id


class JobRunner:
    """Claims and runs due jobs in the background of one process."""

    def __init__(
        self,
        engine: AsyncEngine,
        handlers: Mapping[str, JobHandler],
        *,
        owner: str | None = None,
        lease_seconds: float = 15.0,
        poll_interval: float = 1.0,
        batch_size: int = 20,
        concurrency: int = 8,
        base_backoff: float = 0.5,
        max_backoff: float = 60.0,
        on_failure: FailureHandler | None = None,
        clock: Clock = system_clock,
    ) -> None:
        self._engine = engine
        self._handlers = dict(handlers)
        self.owner = owner or uuid.uuid4().hex
        self._lease = lease_seconds
        self._poll = poll_interval
        self._batch = batch_size
        self._semaphore = asyncio.Semaphore(concurrency)
        self._base_backoff = base_backoff
        self._max_backoff = max_backoff
        self._on_failure = on_failure
        self._clock = clock
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._running: set[asyncio.Task[None]] = set()
        self._postgres = engine.dialect.name == "postgresql"

    def register(self, kind: str, handler: JobHandler) -> None:
        """Run ``handler`` for jobs of ``kind``."""
        self._handlers[kind] = handler

    def wake(self) -> None:
        """Look for due jobs now instead of at the next poll (call after enqueue)."""
        self._wake.set()

    async def enqueue_claimed(
        self,
        conn: AsyncConnection,
        kind: str,
        payload: Mapping[str, Any],
        *,
        max_attempts: int = 8,
    ) -> Job:
        """Add a job already claimed by this runner, in the caller's transaction.

        Hand the returned job to :meth:`run_claimed` once the transaction has
        committed: it runs at once, without waiting for a wake-up and a claim.
        If the transaction rolls back, nothing was added; if this process dies
        before the job finishes, its lease expires and any runner retries it,
        exactly as with a job claimed by the loop.
        """
        now = self._clock()
        job_id = await _insert(conn, kind, payload, now=now, run_at=now, attempts=1,
                               max_attempts=max_attempts, lease_owner=self.owner,
                               lease_until=now + self._lease)
        return Job(id=job_id, kind=kind, payload=dict(payload), attempts=1,
                   max_attempts=max_attempts)

    def run_claimed(self, job: Job) -> None:
        """Run a job from :meth:`enqueue_claimed` now, in the background (after commit)."""
        task = asyncio.create_task(self._run(job))
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    async def start(self) -> None:
        """Start the background loop."""
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name=f"jobs-{self.owner[:8]}")

    async def stop(self) -> None:
        """Stop claiming, let running jobs finish, release nothing (leases expire)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._running:
            await asyncio.gather(*self._running, return_exceptions=True)

    async def run_due(self) -> int:
        """Claim and run one batch of due jobs to completion; returns how many ran."""
        jobs = await self._claim()
        if jobs:
            await asyncio.gather(*(self._run(job) for job in jobs))
        return len(jobs)

    async def purge(self, older_than: float = 7 * 86400) -> int:
        """Delete finished jobs older than ``older_than`` seconds; returns how many."""
        cutoff = self._clock() - older_than
        async with self._engine.begin() as conn:
            result = await conn.execute(
                jobs_table.delete().where(
                    jobs_table.c.status.in_(("done", "failed")),
                    jobs_table.c.updated_at < cutoff,
                )
            )
        return int(result.rowcount or 0)

    async def _loop(self) -> None:
        last_purge = self._clock()
        while True:
            if self._clock() - last_purge > 3600:
                last_purge = self._clock()
                with contextlib.suppress(Exception):
                    await self.purge()
            # Clear before claiming: a wake() that arrives while the claim runs
            # (a job just enqueued by a running handler) must not be lost.
            self._wake.clear()
            try:
                jobs = await self._claim()
            except asyncio.CancelledError:
                raise
            except Exception:
                _log.exception("job_claim_failed")
                jobs = []
            for job in jobs:
                task = asyncio.create_task(self._run(job))
                self._running.add(task)
                task.add_done_callback(self._running.discard)
            if len(jobs) == self._batch:
                continue  # more may be due; do not wait
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a
            # cancellation that lands as the wake-up does, and stop() would hang.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._poll):
                    await self._wake.wait()

    async def _claim(self) -> list[Job]:
        now = self._clock()
        due = (
            sa.select(jobs_table.c.id)
            .where(
                jobs_table.c.status == "pending",
                jobs_table.c.run_at <= now,
                sa.or_(jobs_table.c.lease_until.is_(None), jobs_table.c.lease_until < now),
            )
            .order_by(jobs_table.c.run_at)
            .limit(self._batch)
        )
        if self._postgres:
            due = due.with_for_update(skip_locked=True)
        statement = (
            jobs_table.update()
            .where(jobs_table.c.id.in_(due.scalar_subquery()))
            .values(
                lease_owner=self.owner,
                lease_until=now + self._lease,
                attempts=jobs_table.c.attempts + 1,
                updated_at=now,
            )
            .returning(
                jobs_table.c.id,
                jobs_table.c.kind,
                jobs_table.c.payload,
                jobs_table.c.attempts,
                jobs_table.c.max_attempts,
            )
        )
        async with self._engine.begin() as conn:
            rows = (await conn.execute(statement)).all()
        return [
            Job(id=r.id, kind=r.kind, payload=json.loads(r.payload), attempts=r.attempts,
                max_attempts=r.max_attempts)
            for r in rows
        ]

    async def _run(self, job: Job) -> None:
        handler = self._handlers.get(job.kind)
        async with self._semaphore:
            if handler is None:
                await self._finish(job, error=f"no handler for job kind {job.kind}",
                                   permanent=True)
                return
            try:
                await handler(job)
            except asyncio.CancelledError:
                raise
            except PermanentJobError as exc:
                await self._finish(job, error=str(exc) or type(exc).__name__, permanent=True)
            except Exception as exc:
                await self._finish(job, error=f"{type(exc).__name__}: {exc}"[:2000],
                                   permanent=False)
            else:
                await self._finish(job, error=None, permanent=False)

    def backoff(self, attempts: int) -> float:
        """Seconds to wait before attempt ``attempts + 1`` (exponential, jittered)."""
        ceiling = min(self._max_backoff, self._base_backoff * 2.0 ** max(0, attempts - 1))
        return ceiling / 2 + random.uniform(0, ceiling / 2)  # noqa: S311 - jitter, not crypto

    async def _finish(self, job: Job, *, error: str | None, permanent: bool) -> None:
        now = self._clock()
        owned = sa.and_(jobs_table.c.id == job.id, jobs_table.c.lease_owner == self.owner)
        if error is None:
            values: dict[str, Any] = {"status": "done", "lease_until": None, "last_error": None}
        elif permanent or job.attempts >= job.max_attempts:
            values = {"status": "failed", "lease_until": None, "last_error": error}
        else:
            values = {"lease_until": None, "last_error": error,
                      "run_at": now + self.backoff(job.attempts)}
        values["updated_at"] = now
        async with self._engine.begin() as conn:
            await conn.execute(jobs_table.update().where(owned).values(**values))
        if error is not None:
            _log.warning("job_failed", job_id=job.id, kind=job.kind, attempts=job.attempts,
                         final=values.get("status") == "failed", error=error)
            if values.get("status") == "failed" and self._on_failure is not None:
                await self._on_failure(job, error)
