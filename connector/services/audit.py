"""The data plane's audit log for the owner: read it, verify it, export it.

Records come newest first, filtered by transfer, agreement, dataset (the
transfer's), decision (``permit``, ``deny`` or ``unbilled``) and time.
Verification walks the whole chain (:func:`connector.dataplane.audit.verify_chain`)
and checks the signed checkpoints against this connector's key.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import AsyncIterator
from typing import Any

import orjson
import sqlalchemy as sa

from connector.core import ControlPlane
from connector.dataplane.audit import verify_chain
from connector.dataplane.store.tables import audit, audit_checkpoints, audit_head
from connector.domain.catalog import rfc3339
from connector.store import console as store
from connector.store.console import AuditFilter
from servicekit.errors import Conflict

__all__ = ["CSV_COLUMNS", "DECISIONS", "AuditFilter", "AuditService", "record_view"]

DECISIONS = ("permit", "deny", "unbilled")
#: The columns of the CSV export, in order.
CSV_COLUMNS = ("seq", "at", "decision", "transfer_id", "agreement_id", "dataset_id",
               "consumer", "method", "path", "purpose", "code", "status", "bytes", "hash")
_RECORD = re.compile(r"record (\d+)")
_CSV_BATCH = 1000


def record_view(row: dict[str, Any]) -> dict[str, Any]:
    """One audit record as the API shows it: its columns, its body's fields, its hash."""
    body = orjson.loads(row["body"])
    return {
        "seq": int(row["seq"]),
        "at": float(row["at"]),
        "time": rfc3339(float(row["at"])),
        "decision": row["kind"],
        "transfer_id": row["transfer_id"],
        "agreement_id": row["agreement_id"],
        "dataset_id": row.get("dataset_id"),
        "consumer": body.get("consumer"),
        "method": body.get("method"),
        "path": body.get("path"),
        "purpose": body.get("purpose"),
        "code": body.get("code"),
        "status": body.get("status"),
        "bytes": body.get("bytes"),
        "hash": row["hash"],
        "prev_hash": row["prev_hash"],
        "record": body,
    }


class AuditService:
    """Read, verify and export the audit log (see the module docstring)."""

    def __init__(self, plane: ControlPlane) -> None:
        self.plane = plane

    def _check(self) -> None:
        if self.plane.settings.signaling != "data-plane":
            raise Conflict("this connector runs no enforcing data plane, so it keeps no "
                           "audit log (signaling = data-plane)", code="audit-log-unavailable")

    async def page(self, where: AuditFilter, *, before: int | None,
                   limit: int) -> tuple[list[dict[str, Any]], int | None]:
        """Records newest first, and the ``before`` of the next page (None: no more)."""
        self._check()
        async with self.plane.read() as conn:
            rows = await store.audit_page(conn, where, before=before, limit=limit + 1)
        more = len(rows) > limit
        rows = rows[:limit]
        return [record_view(r) for r in rows], (int(rows[-1]["seq"]) if more else None)

    async def csv_chunks(self, where: AuditFilter) -> AsyncIterator[bytes]:
        """The matching records as CSV (a header line first), in chunks, newest first."""
        self._check()
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(CSV_COLUMNS)
        before: int | None = None
        while True:
            async with self.plane.read() as conn:
                rows = await store.audit_page(conn, where, before=before, limit=_CSV_BATCH)
            for row in rows:
                view = record_view(row)
                view["at"] = view["time"]
                writer.writerow(["" if view[c] is None else view[c] for c in CSV_COLUMNS])
            yield out.getvalue().encode()
            out.seek(0)
            out.truncate()
            if len(rows) < _CSV_BATCH:
                return
            before = int(rows[-1]["seq"])

    async def verify(self) -> dict[str, Any]:
        """Verify the chain: ``ok``, how many records and checkpoints, the first broken one."""
        self._check()
        async with self.plane.read() as conn:
            head = (await conn.execute(sa.select(audit_head))).first()
            checkpoints = [dict(r._mapping) for r in (await conn.execute(
                sa.select(audit_checkpoints).order_by(audit_checkpoints.c.seq))).all()]
            stream = await conn.stream(
                sa.select(audit.c.seq, audit.c.kind, audit.c.body, audit.c.prev_hash,
                          audit.c.hash).order_by(audit.c.seq).execution_options(yield_per=2000))
            rows = [dict(r._mapping) async for r in stream]
        report = verify_chain(rows, checkpoints, dict(head._mapping) if head else None,
                              public_key=self.plane.signer.key.public_key)
        broken = next((int(m.group(1)) for p in report.problems
                       if (m := _RECORD.search(p)) is not None), None)
        return {"ok": report.ok, "count": report.records, "checkpoints": report.checkpoints,
                "signatures_checked": report.signatures_checked,
                "first_broken": broken, "problems": report.problems}
