"""Usage notices: the ``dst:notify`` / ``inform`` duties, buffered like usage and sent as jobs.

A permitted use under a policy with a notify duty adds one to the pending
count of its (agreement, transfer, consumer, endpoint). :meth:`Notifier.flush`
queues one job per endpoint and transfer for the uses since the last flush,
in the caller's transaction (the data plane's flush, beside the audit records
and the usage), and keeps the counts if that transaction fails. The job
(:meth:`Notifier.send`) posts a signed ``UsageNotification``.

Anyone who writes a policy picks the address, so notices go out through the
guarded session: public addresses only (loopback too in development), no
redirects; an address it refuses fails the job for good.
"""

from __future__ import annotations

from typing import Any

import aiohttp
import orjson
import structlog
from sqlalchemy.ext.asyncio import AsyncConnection

from identity.signer import Signer
from servicekit import jobs
from servicekit.http import AddressRefused
from servicekit.jobs import Job, PermanentJobError

__all__ = ["NOTICE_TYPE", "NOTIFY_JOB", "Notifier"]

_log = structlog.get_logger("connector.dataplane")
NOTICE_TYPE = "usage-notice+jwt"
NOTIFY_JOB = "connector.dataplane.notify"

#: (agreement, transfer, consumer, endpoint)
_Key = tuple[str, str, str, str]


class Notifier:
    """Uses to notify, counted in memory between flushes."""

    def __init__(self, signer: Signer, *, attempts: int) -> None:
        self._signer = signer
        self._attempts = attempts
        self._pending: dict[_Key, int] = {}

    def add(self, agreement_id: str, transfer_id: str, consumer_id: str, endpoint: str) -> None:
        """Count one use to tell ``endpoint`` about."""
        key = (agreement_id, transfer_id, consumer_id, endpoint)
        self._pending[key] = self._pending.get(key, 0) + 1

    def has_pending(self) -> bool:
        """True when uses wait to be notified."""
        return bool(self._pending)

    async def flush(self, conn: AsyncConnection, *, at: float) -> int:
        """Queue one notification per endpoint and transfer; how many were queued."""
        pending, self._pending = self._pending, {}
        try:
            for (agreement_id, transfer_id, consumer_id, endpoint), uses in pending.items():
                await jobs.enqueue(conn, NOTIFY_JOB, {
                    "endpoint": endpoint, "agreementId": agreement_id,
                    "transferId": transfer_id, "consumer": consumer_id, "uses": uses, "at": at,
                }, max_attempts=self._attempts)
        except BaseException:
            for key, uses in pending.items():
                self._pending[key] = self._pending.get(key, 0) + uses
            raise
        return len(pending)

    async def send(self, session: aiohttp.ClientSession, job: Job) -> None:
        """Post one signed notification (the job of :data:`NOTIFY_JOB`)."""
        payload: dict[str, Any] = dict(job.payload)
        endpoint = str(payload.pop("endpoint"))
        document = {"@type": "UsageNotification", "provider": self._signer.did, **payload}
        signed = self._signer.sign_jwt(document, typ=NOTICE_TYPE)
        try:
            async with session.post(
                endpoint, data=orjson.dumps(document), allow_redirects=False,
                headers={"Content-Type": "application/json", "X-Notification-Signature": signed},
            ) as response:
                if response.status >= 300:
                    raise RuntimeError(f"the notified party answered {response.status}")
        except AddressRefused as exc:
            _log.warning("usage_notice_refused", endpoint=endpoint, detail=exc.detail)
            raise PermanentJobError(f"the notify endpoint is refused: {exc.detail}") from None
