"""The tamper-evident audit log: every decision, hash-chained, with signed checkpoints.

Record format (one row of ``dp_audit``)::

    seq        1, 2, 3 ... (one sequence across all workers and replicas)
    body       JSON of {...fields, "seq", "at", "kind"}; the stored text is what is hashed
    prev_hash  the previous record's hash ("0" * 64 before the first)
    hash       sha256(prev_hash + "\\n" + body), hex

``kind`` is ``permit`` or ``deny`` (a decision) or ``unbilled`` (a permitted
request whose backend failed, so it was not a use). Every
``checkpoint_records`` records or ``checkpoint_seconds`` a checkpoint is
signed with the connector's key: a JWS (``typ`` ``audit-checkpoint+jwt``)
over ``{"seq", "hash", "at", "iss"}``. Editing, deleting or reordering any
record breaks the chain; rewriting the chain after an edit cannot match a
signed checkpoint without the key; cutting the tail is seen against the
head row and the last checkpoint.

Appends are cheap on the hot path (a tuple on a list); :meth:`AuditLog.flush`
writes them in the caller's transaction, holding the chain head's row lock,
so concurrent writers form one chain.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects import sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from connector.dataplane.sql import lock_row
from connector.dataplane.store.tables import audit, audit_checkpoints, audit_head
from identity.errors import VerificationError
from identity.jose import decode_jws, verify_jws
from identity.keys import PublicKey
from identity.signer import Signer
from servicekit.clock import Clock

__all__ = [
    "CHECKPOINT_TYPE",
    "GENESIS",
    "AuditLog",
    "VerifyReport",
    "chain_hash",
    "verify_chain",
    "verify_store",
]

GENESIS = "0" * 64
CHECKPOINT_TYPE = "audit-checkpoint+jwt"


def chain_hash(prev_hash: str, body: bytes) -> str:
    """The hash of a record: sha256 over the previous hash, a newline and the body."""
    digest = hashlib.sha256(prev_hash.encode("ascii"))
    digest.update(b"\n")
    digest.update(body)
    return digest.hexdigest()


_COLUMNS = ("seq", "at", "kind", "transfer_id", "agreement_id", "body", "prev_hash", "hash")


_SQLITE_COMPILED = audit.insert().compile(dialect=sqlite.dialect(), column_keys=list(_COLUMNS))
assert _SQLITE_COMPILED.positiontup == list(_COLUMNS)  # the rows' order is the statement's
_SQLITE_INSERT = str(_SQLITE_COMPILED)


async def _insert(conn: AsyncConnection, rows: list[tuple[Any, ...]]) -> None:
    """Insert audit rows in ``conn``'s transaction, through the driver.

    PostgreSQL: binary COPY (a tenth of the CPU of a multi-row INSERT per
    record). SQLite: the driver's ``executemany`` on plain tuples, run on the
    driver's thread: SQLAlchemy's per-row parameter processing would hold
    the event loop for about 10 ms per thousand records.
    """
    raw: Any = (await conn.get_raw_connection()).driver_connection
    if conn.dialect.name == "postgresql":
        await raw.copy_records_to_table(audit.name, records=rows, columns=_COLUMNS)
    elif conn.dialect.driver == "aiosqlite":
        await raw.executemany(_SQLITE_INSERT, rows)
    else:
        await conn.execute(audit.insert(),
                           [dict(zip(_COLUMNS, row, strict=True)) for row in rows])


class AuditLog:
    """Buffers audit records and appends them to the chain."""

    def __init__(
        self,
        signer: Signer,
        *,
        clock: Clock,
        checkpoint_records: int,
        checkpoint_seconds: float,
    ) -> None:
        self._signer = signer
        self._clock = clock
        self._every = checkpoint_records
        self._seconds = checkpoint_seconds
        self._pending: list[tuple[float, str, dict[str, Any]]] = []
        self.appended = 0

    def append(self, kind: str, fields: dict[str, Any]) -> None:
        """Queue a record (written by the next flush)."""
        self._pending.append((self._clock(), kind, fields))

    @property
    def pending(self) -> int:
        """Records not yet written."""
        return len(self._pending)

    async def flush(self, conn: AsyncConnection, *, checkpoint: bool = False) -> int:
        """Write the queued records in ``conn``'s transaction; returns how many.

        The records are serialised before the chain head is locked (on SQLite
        that lock is the database's one write lock, which counter
        reservations wait for), and the locked part does not yield to the
        event loop between records: under load, each yield lasts a whole
        loop iteration, and the lock would be held for all of them.
        """
        batch, self._pending = self._pending, []
        if not batch and not checkpoint:
            return 0
        try:
            prepared = []
            for index, (at, kind, fields) in enumerate(batch):
                if index and not index % 256:
                    await asyncio.sleep(0)  # long batches: let requests through meanwhile
                prepared.append((at, kind, fields.get("transfer"), fields.get("agreement"),
                                 orjson.dumps(fields)[:-1], b"," if fields else b""))
            await lock_row(conn, audit_head, 1)
            head = (await conn.execute(sa.select(audit_head))).one()
            seq, prev = int(head.seq), str(head.hash)
            rows: list[tuple[Any, ...]] = []
            for at, kind, transfer, agreement, opening, comma in prepared:
                seq += 1
                # the fields, then seq, at and kind: as orjson.dumps(fields | {...}) writes it
                body = b"%s%s\"seq\":%d,\"at\":%s,\"kind\":%s}" % (
                    opening, comma, seq, orjson.dumps(at), orjson.dumps(kind))
                digest = chain_hash(prev, body)
                rows.append((seq, at, kind, transfer, agreement, body.decode(), prev, digest))
                prev = digest
            if rows:
                await _insert(conn, rows)
            values: dict[str, Any] = {"seq": seq, "hash": prev}
            now = time.time()
            due = (seq - int(head.checkpoint_seq) >= self._every
                   or (seq > head.checkpoint_seq and now - head.checkpoint_at >= self._seconds))
            if seq > 0 and (due or (checkpoint and seq > head.checkpoint_seq)):
                await conn.execute(audit_checkpoints.insert().values(
                    seq=seq, hash=prev, at=now, jws=self.sign_checkpoint(seq, prev, now)))
                values.update(checkpoint_seq=seq, checkpoint_at=now)
            await conn.execute(audit_head.update().where(audit_head.c.id == 1).values(**values))
        except BaseException:
            self._pending[:0] = batch  # keep them for the next try
            raise
        self.appended += len(batch)
        return len(batch)

    def sign_checkpoint(self, seq: int, digest: str, at: float) -> str:
        """The signed statement "the chain's record ``seq`` has hash ``digest``"."""
        return self._signer.sign_jwt(
            {"iss": self._signer.did, "seq": seq, "hash": digest, "at": at},
            typ=CHECKPOINT_TYPE,
        )


@dataclass
class VerifyReport:
    """What :func:`verify_chain` found."""

    records: int = 0
    checkpoints: int = 0
    signatures_checked: bool = False
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when nothing is wrong."""
        return not self.problems


def verify_chain(
    records: Iterable[Mapping[str, Any]],
    checkpoints: Iterable[Mapping[str, Any]],
    head: Mapping[str, Any] | None,
    *,
    public_key: PublicKey | None = None,
    max_problems: int = 50,
) -> VerifyReport:
    """Check a whole chain: order, links, hashes, the head and the signed checkpoints.

    ``records`` must come in stored ``seq`` order; each is a mapping with
    ``seq``, ``kind``, ``body``, ``prev_hash`` and ``hash``.
    """
    report = VerifyReport(signatures_checked=public_key is not None)
    problems = report.problems
    hashes: dict[int, str] = {}
    expected_seq, prev = 1, GENESIS
    for row in records:
        seq = int(row["seq"])
        report.records += 1
        if seq != expected_seq:
            problems.append(f"record {expected_seq} is missing or out of order (found {seq})")
        try:
            body = orjson.loads(row["body"])
        except orjson.JSONDecodeError:
            problems.append(f"record {seq}: body is not JSON")
            body = {}
        if body.get("seq") != seq or body.get("kind") != row["kind"]:
            problems.append(f"record {seq}: body does not belong at this position")
        if row["prev_hash"] != prev:
            problems.append(f"record {seq}: does not link to the record before it")
        digest = chain_hash(str(row["prev_hash"]), str(row["body"]).encode())
        if digest != row["hash"]:
            problems.append(f"record {seq}: content was changed (hash mismatch)")
        hashes[seq] = str(row["hash"])
        prev = str(row["hash"])
        expected_seq = seq + 1
        if len(problems) >= max_problems:
            return report
    last = expected_seq - 1
    if head is not None and (int(head["seq"]) != last or (last and head["hash"] != prev)):
        problems.append(f"the chain ends at record {last} but its head says {head['seq']}")
    for cp in checkpoints:
        report.checkpoints += 1
        seq = int(cp["seq"])
        if public_key is not None:
            try:
                jws = decode_jws(str(cp["jws"]), typ={CHECKPOINT_TYPE})
                verify_jws(jws, public_key)
                claims = jws.claims()
            except VerificationError as exc:
                problems.append(f"checkpoint {seq}: signature does not verify ({exc.code})")
                continue
            if claims.get("seq") != seq or claims.get("hash") != cp["hash"]:
                problems.append(f"checkpoint {seq}: signed content differs from its row")
        if seq not in hashes:
            problems.append(f"checkpoint {seq}: the record it signs is missing")
        elif hashes[seq] != cp["hash"]:
            problems.append(f"checkpoint {seq}: the chain differs from what was signed")
    return report


async def verify_store(engine: AsyncEngine, *, public_key: PublicKey | None) -> VerifyReport:
    """Verify the audit log kept in ``engine``'s database (records read in stored order)."""
    async with engine.connect() as conn:
        head_row = (await conn.execute(sa.select(audit_head))).first()
        checkpoints = [dict(r._mapping) for r in (await conn.execute(
            sa.select(audit_checkpoints).order_by(audit_checkpoints.c.seq))).all()]
        stream = await conn.stream(
            sa.select(audit.c.seq, audit.c.kind, audit.c.body, audit.c.prev_hash, audit.c.hash)
            .order_by(audit.c.seq).execution_options(yield_per=2000))
        rows = [dict(r._mapping) async for r in stream]
    return verify_chain(rows, checkpoints, dict(head_row._mapping) if head_row else None,
                        public_key=public_key)
