"""The data plane's runtime: its parts, their background loops, and one flush for them all.

:class:`DataPlane` owns the decision engine and what it stands on (tokens,
flow registry, counters, audit log, meter), the byte path's backends, the
signaling the control plane calls, and the policy monitor. :meth:`flush`
writes the buffered audit records and the metered usage in **one**
transaction, audit first: usage is never stored, so never billed, before
the audit records of its decisions are durable; the usage notices
(:mod:`.notices`) are queued in the same transaction.

Whoever builds a :class:`DataPlane` hands it, at :meth:`DataPlane.start`, a
job runner to queue on and a :class:`~connector.signaling.Terminator` (the
control plane's way to end a transfer over DSP), and registers the jobs of
:meth:`DataPlane.jobs` on that runner: the connector's app on its control
plane's runner, the standalone app on its own.

Usage notices go to endpoints an agreement's policy names (``dst:notify``)
through servicekit's guarded client, which refuses private, link-local and
(outside ``dev``) loopback addresses before connecting. Usage reports go to
the configured marketplace on the plain client.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import Any

import aiohttp
import orjson
import sqlalchemy as sa
import structlog
from sqlalchemy.ext.asyncio import AsyncEngine

from connector.dataplane.audit import AuditLog
from connector.dataplane.backends import Backends, ConnectionPool
from connector.dataplane.backends.http import USER_AGENT
from connector.dataplane.counters import Counters
from connector.dataplane.decision import DecisionEngine, PaymentState
from connector.dataplane.flows import FlowRegistry
from connector.dataplane.metering import (
    USAGE_REPORT_JOB,
    Meter,
    purchased_plan,
    purchased_product,
    tmf635_usage,
)
from connector.dataplane.monitor import PolicyMonitor
from connector.dataplane.notices import NOTIFY_JOB, Notifier
from connector.dataplane.signaling import EnforcingSignaling
from connector.dataplane.sql import Writer
from connector.dataplane.store.tables import audit as audit_table
from connector.dataplane.store.tables import audit_head, flows, usage
from connector.dataplane.tokens import AccessTokens
from connector.settings import DataPlaneSettings
from connector.signaling import Terminator
from identity.signer import Signer
from servicekit.clock import Clock, system_clock
from servicekit.http import HttpClientConfig, create_client_session
from servicekit.jobs import Job, JobHandler, JobRunner, PermanentJobError

__all__ = ["NOTIFY_JOB", "RECEIPT_TYPE", "USAGE_REPORT_JOB", "USAGE_TYPE", "DataPlane"]

_log = structlog.get_logger("connector.dataplane")
RECEIPT_TYPE = "usage-receipt+jwt"
USAGE_TYPE = "usage+jwt"


#: Client errors worth retrying: a timeout, too early, too many requests.
_RETRIED = frozenset({408, 425, 429})


async def _code(response: aiohttp.ClientResponse) -> str:
    """The refusal's problem code, if the body says one."""
    try:
        body = await response.json(content_type=None)
    except (ValueError, aiohttp.ClientError):
        return ""
    return str(body.get("code", "")) if isinstance(body, dict) else ""


class DataPlane:
    """Everything the data plane is, in one process."""

    def __init__(
        self,
        *,
        engine: AsyncEngine,
        signer: Signer,
        settings: DataPlaneSettings,
        endpoint: str,
        token_seconds: float = 300.0,
        marketplace_url: str | None = None,
        clock: Clock = system_clock,
        payments: PaymentState | None = None,
        schema: str | None = None,
        allow_loopback: bool = False,
    ) -> None:
        self.db = engine
        self.signer = signer
        self.settings = settings
        self.endpoint = endpoint.rstrip("/")
        self.marketplace_url = marketplace_url.rstrip("/") if marketplace_url else None
        self.clock = clock
        self.tokens = AccessTokens(signer, audience=self.endpoint, lifetime=token_seconds,
                                   clock=clock)
        self.flows = FlowRegistry(engine, sync_seconds=settings.sync_seconds,
                                  stale_seconds=settings.stale_seconds,
                                  worker_ttl=settings.worker_ttl_seconds,
                                  channel=f"dp_epoch_{schema or 'public'}")
        self.writer = Writer(engine)
        self.counters = Counters(self.writer, block_size=settings.block_size,
                                 wait_seconds=settings.counter_wait_seconds,
                                 linger_seconds=settings.counter_linger_seconds)
        self.audit = AuditLog(signer, clock=clock, checkpoint_records=settings.checkpoint_records,
                              checkpoint_seconds=settings.checkpoint_seconds)
        self.meter = Meter(bucket_seconds=settings.usage_bucket_seconds,
                           grace_seconds=max(settings.usage_grace_seconds,
                                             2 * settings.flush_seconds), clock=clock)
        self.notifier = Notifier(signer, attempts=settings.usage_report_attempts)
        kwargs: dict[str, Any] = {"payments": payments} if payments is not None else {}
        self.decisions = DecisionEngine(
            tokens=self.tokens, flows=self.flows, counters=self.counters, audit=self.audit,
            meter=self.meter, notifier=self.notifier, clock=clock,
            locations=settings.locations, **kwargs)
        self.signaling = EnforcingSignaling(self.flows, self.tokens, endpoint=self.endpoint,
                                            ack_timeout=settings.ack_timeout_seconds)
        self.monitor = PolicyMonitor(self.flows, stop_flow=self.signaling.terminate, clock=clock,
                                     max_sleep=settings.monitor_seconds)
        self.session: aiohttp.ClientSession | None = None
        #: For addresses policies name (notify duties): public ones only.
        self.guarded_session: aiohttp.ClientSession | None = None
        self._allow_loopback = allow_loopback
        self.backends: Backends | None = None
        self.runner: JobRunner | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._flush_lock = asyncio.Lock()
        self._stopping = asyncio.Event()
        self._reported_at = 0.0

    def jobs(self) -> dict[str, JobHandler]:
        """The data plane's job kinds and their handlers (for the runner it is given)."""
        return {USAGE_REPORT_JOB: self.report_usage, NOTIFY_JOB: self.notify}

    # --- life cycle ------------------------------------------------------------------

    async def start(self, *, runner: JobRunner | None = None,
                    terminator: Terminator | None = None) -> None:
        """Load the flows and start the background loops.

        ``runner``: where usage reports and notices are queued (its owner
        registers :meth:`jobs` and runs it); ``terminator``: how the policy
        monitor ends a transfer (without one it stops the flow here only).
        """
        s = self.settings
        self.runner = runner
        self.monitor.terminator = terminator
        timeout = aiohttp.ClientTimeout(
            total=None, sock_connect=min(10.0, s.backend_timeout_seconds),
            sock_read=s.backend_read_timeout_seconds)
        self.session = aiohttp.ClientSession(
            timeout=timeout, connector=aiohttp.TCPConnector(limit=1000, limit_per_host=0),
            auto_decompress=False, headers={"User-Agent": USER_AGENT})
        self.guarded_session = create_client_session(
            HttpClientConfig(total_timeout=30.0, connect_timeout=10.0, read_timeout=30.0,
                             user_agent=USER_AGENT),
            guarded=True, allow_loopback=self._allow_loopback)
        pool = ConnectionPool(connect_timeout=min(10.0, s.backend_timeout_seconds),
                              head_timeout=s.backend_timeout_seconds,
                              read_timeout=s.backend_read_timeout_seconds,
                              high_water=s.chunk_bytes)
        self.backends = Backends(pool, chunk_bytes=s.chunk_bytes, file_roots=s.file_roots)
        await self.flows.sync()
        self._stopping.clear()
        self._tasks = [
            asyncio.create_task(self.flows.run(self._stopping), name="dp-sync"),
            asyncio.create_task(self._every(s.flush_seconds, self.flush), name="dp-flush"),
            asyncio.create_task(self._every(s.counter_linger_seconds / 2, self.counters.tick),
                                name="dp-counters"),
            asyncio.create_task(self.monitor.run(self._stopping), name="dp-monitor"),
        ]

    async def stop(self) -> None:
        """Stop the loops, hand back reserved uses, write what is buffered."""
        # Let the loops finish their round: cancelling one inside a transaction can leave
        # a connection holding SQLite's write lock until it is garbage-collected.
        self._stopping.set()
        _done, pending = await asyncio.wait(self._tasks, timeout=10)
        for task in pending:
            task.cancel()
        for task in pending:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        try:
            await self.counters.close()
            await self.flush(checkpoint=True)
            await self.flows.leave()
        finally:
            if self.backends is not None:
                await self.backends.close()
            if self.session is not None:
                await self.session.close()
            if self.guarded_session is not None:
                await self.guarded_session.close()

    async def _every(self, seconds: float, work: Callable[[], Any]) -> None:
        while not self._stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), seconds)
            try:
                await work()
            except Exception:
                _log.exception("data_plane_task_failed", task=getattr(work, "__name__", "?"))

    async def flush(self, *, checkpoint: bool = False) -> None:
        """Write buffered audit records, usage and notices in one transaction (audit first)."""
        async with self._flush_lock:
            now = time.monotonic()
            report = self.marketplace_url is not None and now - self._reported_at >= 5.0
            if not (self.audit.pending or checkpoint or report or self.meter.has_pending()
                    or self.notifier.has_pending()):
                return
            async with self.writer.begin() as conn:
                await self.audit.flush(conn, checkpoint=checkpoint)
                queued = await self.meter.flush(conn, report=report)
                queued += await self.notifier.flush(conn, at=self.clock())
            if report:
                self._reported_at = now
            if queued and self.runner is not None:
                self.runner.wake()

    async def notify(self, job: Job) -> None:
        """Send one usage notice (the job of :data:`NOTIFY_JOB`)."""
        if self.guarded_session is None:
            raise RuntimeError("the data plane is not running")
        await self.notifier.send(self.guarded_session, job)

    # --- receipts and reports ----------------------------------------------------------

    async def receipt(self, transfer_id: str) -> dict[str, Any]:
        """A signed statement of a transfer's stored usage and the audit chain head.

        It names the transfer by both process ids (``providerPid`` is ours and
        ``transferId``; ``consumerPid`` is the one the consumer knows), and
        counts, beside the uses served (``requests``) and the backend's
        failures, the requests the data plane refused (``refusals``: the
        transfer's deny records in the audit log).
        """
        await self.flush()
        flow_row = None
        async with self.db.connect() as conn:
            totals: dict[str, Any] = await self.meter.totals(conn, transfer_id)
            head = (await conn.execute(sa.select(audit_head.c.seq, audit_head.c.hash))).one()
            flow_row = await self.flows.get_row(conn, transfer_id)
            refusals = (await conn.execute(
                sa.select(sa.func.count()).select_from(audit_table)
                .where(audit_table.c.transfer_id == transfer_id,
                       audit_table.c.kind == "deny"))).scalar_one()
        assert flow_row is not None
        body = {
            "iss": self.signer.did,
            "sub": flow_row["consumer_id"],
            "iat": int(self.clock()),
            "transferId": transfer_id,
            "providerPid": transfer_id,
            "consumerPid": flow_row["consumer_pid"],
            "agreementId": flow_row["agreement_id"],
            "datasetId": flow_row["dataset_id"],
            "usage": {**totals, "refusals": int(refusals)},
            "audit": {"seq": int(head.seq), "hash": head.hash},
        }
        return {"receipt": self.signer.sign_jwt(body, typ=RECEIPT_TYPE), "content": body}

    async def report_usage(self, job: Job) -> None:
        """Send one final bucket's usage to the marketplace (the job of ``USAGE_REPORT_JOB``)."""
        if self.marketplace_url is None or self.session is None:
            raise PermanentJobError("no marketplace is configured")
        payload = job.payload
        async with self.db.connect() as conn:
            row = (await conn.execute(sa.select(usage).where(
                usage.c.agreement_id == payload["agreement_id"],
                usage.c.transfer_id == payload["transfer_id"],
                usage.c.bucket_start == payload["bucket_start"],
            ))).first()
            flow = (await conn.execute(sa.select(flows.c.dataset_id, flows.c.policy).where(
                flows.c.transfer_id == payload["transfer_id"]))).first()
        if row is None:
            raise PermanentJobError("the usage bucket is gone")
        policy = orjson.loads(flow.policy) if flow is not None else {}
        document = tmf635_usage(
            row, provider=self.signer.did, bucket_seconds=self.settings.usage_bucket_seconds,
            dataset_id=flow.dataset_id if flow is not None else None,
            product_id=purchased_product(policy) if flow is not None else None,
            plan_id=purchased_plan(policy) if flow is not None else None)
        signed = self.signer.sign_jwt(document, typ=USAGE_TYPE)
        url = f"{self.marketplace_url}/tmf-api/usageManagement/v4/usage"
        async with self.session.post(
            url, data=orjson.dumps(document),
            headers={"Content-Type": "application/json", "X-Usage-Signature": signed},
            timeout=aiohttp.ClientTimeout(total=30),
        ) as response:
            # 409: the marketplace has this report already (a retry after a lost answer)
            if response.status >= 300 and response.status != 409:
                if 400 <= response.status < 500 and response.status not in _RETRIED:
                    # a refusal (not sold here, a bad signature): sending it again won't help
                    raise PermanentJobError(f"the marketplace refused the report: "
                                            f"{response.status} {await _code(response)}")
                raise RuntimeError(f"marketplace answered {response.status}")
        _log.info("usage_reported", agreement=row.agreement_id, transfer=row.transfer_id,
                  requests=row.requests, bytes=row.bytes)
