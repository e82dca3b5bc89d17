"""Metering: usage per agreement and transfer in time buckets, and the usage reports it feeds.

Requests settle into an in-memory table (``add`` is a dictionary update);
:meth:`Meter.flush` adds it to ``dp_usage`` in the caller's transaction (the
same one that writes the audit records, so usage is never stored, and so
never billed, before the audit records of its decisions are). Usage lands in
the bucket of the flush time, so a bucket no worker flushes into any more
(its end plus a grace period has passed) is final: that is when a usage
report is queued for a pay-per-use agreement, once (a job dedupe key), and
the job retries until the marketplace acknowledges it.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from connector.dataplane.sql import upsert_add
from connector.dataplane.store.tables import usage
from policies import PolicyError, parse_policy
from policies.model import atoms, rule_nodes
from policies.presets import PURCHASE_CREDENTIAL
from servicekit import jobs
from servicekit.clock import Clock, system_clock

__all__ = ["USAGE_REPORT_JOB", "Meter", "purchased_plan", "purchased_product", "tmf635_usage",
           "usage_id"]

USAGE_REPORT_JOB = "connector.dataplane.usage-report"
_NAMESPACE = uuid.UUID("6c1a3a52-2f0e-4e8f-9a55-6a0d1b9a2f10")


def usage_id(agreement_id: str, transfer_id: str, bucket_start: float) -> str:
    """The stable id of one bucket's usage report (the marketplace dedupes on it)."""
    return f"urn:uuid:{uuid.uuid5(_NAMESPACE, f'{agreement_id}|{transfer_id}|{bucket_start:.0f}')}"


def _rfc3339(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat().replace("+00:00", "Z")


def _purchase_claim(policy: dict[str, Any], name: str) -> str | None:
    """The value an agreement's policy requires of the purchase credential's claim ``name``."""
    try:
        parsed = parse_policy(policy)
    except (PolicyError, ValueError):
        return None
    claim = f"dst:claim/{PURCHASE_CREDENTIAL}/{name}"
    for rule in parsed.permissions:
        for constraint in atoms(rule_nodes(rule)):
            if (constraint.left_operand == claim and constraint.operator == "eq"
                    and not isinstance(constraint.right_operand, tuple)):
                return constraint.right_operand.value
    return None


def purchased_product(policy: dict[str, Any]) -> str | None:
    """The data product an agreement's policy requires a purchase credential for, if one.

    That is the ``product`` claim of the ``DataProductPurchaseCredential`` the
    buyer presented: the marketplace bills the usage against what it sold.
    """
    return _purchase_claim(policy, "product")


def purchased_plan(policy: dict[str, Any]) -> str | None:
    """The pricing plan (its ``ProductOfferingPrice`` id) the agreement was bought under, if
    its policy names one: the ``plan`` claim of the purchase credential, which tells the
    marketplace which of a buyer's products of one data product the usage is of."""
    return _purchase_claim(policy, "plan")


def tmf635_usage(row: Any, *, provider: str, bucket_seconds: float,
                 dataset_id: str | None = None, product_id: str | None = None,
                 plan_id: str | None = None) -> dict[str, Any]:  # fmt: skip
    """One bucket of usage as a TMF635 ``Usage`` resource.

    ``dataset_id``, ``product_id`` (the purchased data product, see
    :func:`purchased_product`) and ``plan_id`` (its plan, :func:`purchased_plan`)
    are added as characteristics (``datasetId``, ``productId``, ``planId``) when known.
    """
    start = float(row.bucket_start)
    named = [(name, value) for name, value in (("datasetId", dataset_id),
                                                ("productId", product_id),
                                                ("planId", plan_id)) if value]
    return {
        "@type": "Usage",
        "id": usage_id(row.agreement_id, row.transfer_id, start),
        "usageDate": _rfc3339(start + bucket_seconds),
        "usageType": "dataAccess",
        "description": f"Data requests under agreement {row.agreement_id}",
        "status": "received",
        "usageCharacteristic": [
            {"name": "agreementId", "valueType": "string", "value": row.agreement_id},
            {"name": "transferId", "valueType": "string", "value": row.transfer_id},
            {"name": "periodStart", "valueType": "dateTime", "value": _rfc3339(start)},
            {"name": "periodEnd", "valueType": "dateTime",
             "value": _rfc3339(start + bucket_seconds)},
            {"name": "requests", "valueType": "integer", "value": int(row.requests)},
            {"name": "bytes", "valueType": "integer", "value": int(row.bytes)},
            *({"name": name, "valueType": "string", "value": value} for name, value in named),
        ],
        "relatedParty": [
            {"id": provider, "role": "provider", "@referredType": "Organization"},
            {"id": row.consumer_id, "role": "consumer", "@referredType": "Organization"},
        ],
    }


class Meter:
    """Usage aggregated in memory between flushes."""

    def __init__(self, *, bucket_seconds: float, grace_seconds: float,
                 clock: Clock = system_clock) -> None:
        self.bucket_seconds = bucket_seconds
        self._grace = grace_seconds
        self._clock = clock
        # (agreement, transfer, consumer, billable) -> [requests, bytes, failures]
        self._pending: dict[tuple[str, str, str, bool], list[int]] = {}

    def add(self, agreement_id: str, transfer_id: str, consumer_id: str, *, billable: bool,
            size: int, failed: bool = False) -> None:
        """Count one settled request (a failed one counts as a failure, not a use)."""
        key = (agreement_id, transfer_id, consumer_id, billable)
        entry = self._pending.get(key)
        if entry is None:
            entry = self._pending[key] = [0, 0, 0]
        if failed:
            entry[2] += 1
        else:
            entry[0] += 1
            entry[1] += size

    def has_pending(self) -> bool:
        """True when usage waits to be written."""
        return bool(self._pending)

    def bucket_of(self, at: float) -> float:
        """Start of the bucket ``at`` falls in."""
        return at - (at % self.bucket_seconds)

    async def flush(self, conn: AsyncConnection, *, report: bool) -> int:
        """Add pending usage to the store; queue reports of final buckets when ``report``.

        Returns how many reports were queued."""
        pending, self._pending = self._pending, {}
        bucket = self.bucket_of(self._clock())
        rows = [
            {"agreement_id": a, "transfer_id": t, "bucket_start": bucket, "consumer_id": c,
             "requests": n, "bytes": b, "failures": f, "billable": billable}
            for (a, t, c, billable), (n, b, f) in pending.items()
        ]
        try:
            await upsert_add(conn, usage, rows, add=("requests", "bytes", "failures"))
        except BaseException:
            for key, values in pending.items():
                entry = self._pending.setdefault(key, [0, 0, 0])
                for i, value in enumerate(values):
                    entry[i] += value
            raise
        return await self._queue_reports(conn) if report else 0

    async def _queue_reports(self, conn: AsyncConnection) -> int:
        final_before = self.bucket_of(self._clock() - self._grace)
        due = (await conn.execute(
            sa.select(usage.c.agreement_id, usage.c.transfer_id, usage.c.bucket_start)
            .where(usage.c.billable.is_(True), usage.c.reported.is_(False),
                   usage.c.bucket_start < final_before, usage.c.requests > 0)
            .limit(200)
        )).all()
        for agreement_id, transfer_id, bucket_start in due:
            await jobs.enqueue(
                conn, USAGE_REPORT_JOB,
                {"agreement_id": agreement_id, "transfer_id": transfer_id,
                 "bucket_start": bucket_start},
                dedupe_key=f"usage:{usage_id(agreement_id, transfer_id, bucket_start)}",
                max_attempts=50,
            )
            await conn.execute(usage.update().where(
                usage.c.agreement_id == agreement_id, usage.c.transfer_id == transfer_id,
                usage.c.bucket_start == bucket_start).values(reported=True))
        return len(due)

    async def totals(self, conn: AsyncConnection, transfer_id: str) -> dict[str, int]:
        """Stored usage of one transfer: requests, bytes, failures."""
        row = (await conn.execute(
            sa.select(sa.func.coalesce(sa.func.sum(usage.c.requests), 0),
                      sa.func.coalesce(sa.func.sum(usage.c.bytes), 0),
                      sa.func.coalesce(sa.func.sum(usage.c.failures), 0))
            .where(usage.c.transfer_id == transfer_id)
        )).one()
        return {"requests": int(row[0]), "bytes": int(row[1]), "failures": int(row[2])}
