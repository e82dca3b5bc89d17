"""Pending sign-in requests: what the verifier remembers between showing a request and its answer.

A :class:`PendingRecord` is created when the sign-in page shows a request and
finished once, by compare-and-set, when the wallet answers: :meth:`PendingStore.finish`
moves ``pending`` to ``done`` or ``failed`` and answers False when the record
was not pending, so a replayed answer never signs anyone in twice, also with
several replicas sharing a database store. :class:`MemoryPendingStore` keeps
them in one process (tests, a single replica).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from typing import Any, Protocol, runtime_checkable

__all__ = [
    "DONE",
    "FAILED",
    "PENDING",
    "MemoryPendingStore",
    "Pending",
    "PendingRecord",
    "PendingStore",
]

PENDING = "pending"
DONE = "done"
FAILED = "failed"


@dataclass(frozen=True)
class PendingRecord:
    """One sign-in request.

    ``status`` is ``pending``, ``done`` or ``failed``; ``request_object`` the
    signed request JWT served at the request URI; ``result`` the
    :class:`~identity.oid4vp.verifier.OrganisationSignIn` as a dict once done,
    or ``{"error": code}`` once failed.
    """

    state: str
    nonce: str
    expires_at: float
    status: str
    request_object: str
    result: dict[str, Any] | None = None


class Pending(Protocol):
    """What a store's record must tell (a :class:`PendingRecord`, or a service's own row)."""

    @property
    def state(self) -> str:
        """The request's random state."""
        ...

    @property
    def nonce(self) -> str:
        """The nonce the presentation must carry."""
        ...

    @property
    def expires_at(self) -> float:
        """When the request stops being answerable (epoch seconds)."""
        ...

    @property
    def status(self) -> str:
        """``pending``, ``done`` or ``failed`` (a service may add its own after these)."""
        ...

    @property
    def request_object(self) -> str:
        """The signed request object."""
        ...

    @property
    def result(self) -> dict[str, Any] | None:
        """The signed-in organisation (as a dict) or ``{"error": code}`` once finished."""
        ...


@runtime_checkable
class PendingStore(Protocol):
    """Where pending requests live (a service's database, or memory)."""

    async def create(self, record: Pending) -> None:
        """Keep a new record (its ``state`` is fresh and random)."""
        ...

    async def get(self, state: str) -> Pending | None:
        """The record of ``state``, or None."""
        ...

    async def finish(self, state: str, status: str, result: dict[str, Any]) -> bool:
        """Set ``status`` and ``result`` if the record is pending; False otherwise (atomic)."""
        ...


class MemoryPendingStore:
    """A :class:`PendingStore` in one process's memory; records past ``expires_at + keep``
    seconds are dropped when new ones are created."""

    def __init__(self, *, keep: float = 3600.0) -> None:
        self._records: dict[str, PendingRecord] = {}
        self._lock = asyncio.Lock()
        self.keep = keep

    async def create(self, record: Pending) -> None:
        """Keep ``record``; a state already known is refused (ValueError)."""
        record = PendingRecord(state=record.state, nonce=record.nonce,
                               expires_at=record.expires_at, status=record.status,
                               request_object=record.request_object, result=record.result)
        async with self._lock:
            if record.state in self._records:
                raise ValueError("state already used")
            horizon = record.expires_at - self.keep
            for old in [s for s, r in self._records.items() if r.expires_at < horizon]:
                del self._records[old]
            self._records[record.state] = record

    async def get(self, state: str) -> PendingRecord | None:
        """The record of ``state``, or None."""
        return self._records.get(state)

    async def finish(self, state: str, status: str, result: dict[str, Any]) -> bool:
        """Compare-and-set ``pending`` -> ``status``."""
        async with self._lock:
            record = self._records.get(state)
            if record is None or record.status != PENDING:
                return False
            self._records[state] = replace(record, status=status, result=dict(result))
            return True
