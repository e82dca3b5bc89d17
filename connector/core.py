"""The control plane's runtime: what every handler and background job shares.

:class:`ControlPlane` holds the database engine, our identity, the auth and
signaling seams, the outbound HTTP session and the job runner. Both the DSP
app and the management app reach it through the ``CONTROL_PLANE`` key.
:meth:`ControlPlane.transaction` is how state changes are made: everything
written in one block (the new state, the outbound message, its job) commits
together; right after the commit the message's delivery starts (its job was
claimed as it was queued) and the job runner is woken for any other job,
instead of waiting for its next poll.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Unpack

import aiohttp
import structlog
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from connector.auth import AuthSeam
from connector.settings import ConnectorSettings
from connector.signaling import DataPlaneSignaling
from connector.store import outbox
from identity.signer import Signer
from servicekit import jobs
from servicekit.jobs import JobRunner

__all__ = ["ControlPlane", "Tx", "new_pid"]

_log = structlog.get_logger("connector")

SEND_JOB = "connector.dsp.send"


def new_pid() -> str:
    """A fresh process, agreement or offer id."""
    return f"urn:uuid:{uuid.uuid4()}"


@dataclass
class Tx:
    """One open transaction: the connection plus what to do after commit."""

    conn: AsyncConnection
    plane: ControlPlane
    enqueued: int = 0
    after_commit: list[Any] = field(default_factory=list)
    changed: list[tuple[str, str]] = field(default_factory=list)
    claimed: list[jobs.Job] = field(default_factory=list)

    def record(self, process_id: str, state: str) -> None:
        """Note a process's new state, announced to watchers once this commits."""
        self.changed.append((process_id, state))

    async def enqueue(self, kind: str, payload: dict[str, Any], *, delay: float = 0.0) -> str:
        """Add a background job in this transaction."""
        self.enqueued += 1
        return await jobs.enqueue(
            self.conn, kind, payload, delay=delay,
            max_attempts=self.plane.settings.jobs.max_attempts,
        )

    async def send(self, **outgoing: Unpack[outbox.Outgoing]) -> int:
        """Queue a DSP message for delivery (in order, after earlier ones of the process).

        The delivery job is claimed by this process as it is queued and starts
        right after the commit; if the process dies first, its lease expires
        and any replica delivers the message.
        """
        message_id = await outbox.add_message(self.conn, **outgoing)
        self.claimed.append(await self.plane.runner.enqueue_claimed(
            self.conn, SEND_JOB, {"outbox_id": message_id},
            max_attempts=self.plane.settings.jobs.max_attempts,
        ))
        return message_id


class ControlPlane:
    """Shared runtime of one connector process."""

    def __init__(
        self,
        *,
        settings: ConnectorSettings,
        engine: AsyncEngine,
        did: str,
        signer: Signer,
        auth: AuthSeam,
        signaling: DataPlaneSignaling,
        http: aiohttp.ClientSession,
        did_document: dict[str, Any] | None = None,
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.did = did
        self.signer = signer
        self.auth = auth
        self.signaling = signaling
        self.http = http
        self.did_document = did_document
        self.runner = JobRunner(
            engine,
            {},
            owner=f"{settings.name}-{os.getpid()}-{uuid.uuid4().hex[:8]}",
            lease_seconds=settings.jobs.lease_seconds,
            poll_interval=settings.jobs.poll_seconds,
            concurrency=settings.jobs.concurrency,
            batch_size=max(20, settings.jobs.concurrency),
            base_backoff=settings.jobs.base_backoff_seconds,
            on_failure=self._job_failed,
        )
        #: Called when a job of a kind has failed for good (retries exhausted).
        self.failure_handlers: dict[str, jobs.FailureHandler] = {}
        self._watchers: dict[str, list[tuple[frozenset[str], asyncio.Future[str]]]] = {}

    async def _job_failed(self, job: jobs.Job, error: str) -> None:
        handler = self.failure_handlers.get(job.kind)
        if handler is not None:
            await handler(job, error)

    @property
    def dsp_url(self) -> str:
        """Our DSP base URL (also the callback address we give peers)."""
        return self.settings.dsp_url

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[Tx]:
        """A write transaction; wakes the job runner after commit if jobs were added."""
        async with self.engine.begin() as conn:
            tx = Tx(conn, self)
            yield tx
        if tx.enqueued:
            self.runner.wake()
        for job in tx.claimed:
            self.runner.run_claimed(job)
        for process_id, state in tx.changed:
            self._announce(process_id, state)
        for callback in tx.after_commit:
            await callback()

    def _announce(self, process_id: str, state: str) -> None:
        watchers = self._watchers.get(process_id)
        if not watchers:
            return
        keep = []
        for states, future in watchers:
            if future.done():
                continue
            if state in states:
                future.set_result(state)
            else:
                keep.append((states, future))
        if keep:
            self._watchers[process_id] = keep
        else:
            del self._watchers[process_id]

    def watch(self, process_id: str, states: frozenset[str]) -> asyncio.Future[str]:
        """A future resolved when this process commits ``process_id`` into one of ``states``.

        Only changes made by this process are seen (another replica's are
        not); callers re-read the store after a timeout.
        """
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._watchers.setdefault(process_id, []).append((states, future))
        return future

    @contextlib.asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """A read-only connection."""
        async with self.engine.connect() as conn:
            yield conn
