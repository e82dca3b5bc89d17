"""The operator's overviews: the credential types with their counts, the status lists.

Read-only; what a console shows beside the registries. A credential counts
as *revoked* when its revocation bit is set, *suspended* when (only) its
suspension bit is, *expired* when (only) its validity ended, and *active*
otherwise.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncEngine

from identity.status_list import StatusList
from servicekit.paging import more_rows
from trust_anchor.services.issuer import Issuer
from trust_anchor.settings import TrustAnchorSettings
from trust_anchor.store import credentials as credential_store

__all__ = ["CredentialState", "CredentialTypeUse", "Overview", "StatusListUse"]


@dataclass(frozen=True)
class CredentialTypeUse:
    """A credential type the trust anchor issues or issued, and how many of it are in use.

    ``configured`` is False for a type only the VC-API issued (no schema of ours).
    """

    type: str
    configured: bool
    schema_url: str | None
    validity_days: int | None
    on_approval: bool
    issued_by: list[str]
    roles: list[str]
    issued: int
    active: int
    suspended: int
    revoked: int
    expired: int


@dataclass(frozen=True)
class StatusListUse:
    """One status list: its purpose, size, indexes handed out, bits set, and where it is."""

    id: str
    purpose: str
    size: int
    used: int
    set_bits: int
    version: int
    updated_at: datetime
    url: str


@dataclass(frozen=True)
class CredentialState:
    """One credential issued to a participant and its status now.

    ``status`` is ``revoked``, ``suspended``, ``expired`` or ``active`` (in that order
    of precedence, as the counts of :meth:`Overview.credential_types`).
    """

    id: str
    credential_type: str
    issued_at: datetime
    valid_until: datetime | None
    status: str


@dataclass(frozen=True, eq=False)
class Overview:
    """Counts over the issued credentials and the status lists."""

    engine: AsyncEngine
    settings: TrustAnchorSettings
    issuer: Issuer

    async def credential_types(self) -> list[CredentialTypeUse]:
        """The configured types (in configuration order), then any other type issued."""
        async with self.engine.connect() as conn:
            slots = await credential_store.credential_slots(conn)
            bits = {list_id: StatusList(data=data)
                    for list_id, data in (await credential_store.all_status_bits(conn)).items()}
        now = self.issuer.now()
        counts: dict[str, Counter[str]] = {}
        for slot in slots:
            tally = counts.setdefault(slot.credential_type, Counter())
            tally["issued"] += 1
            tally[_status(bits, slot, now)] += 1
        base = self.settings.base_url
        result = [
            CredentialTypeUse(
                type=c.type, configured=True, schema_url=f"{base}/schemas/{c.type}.json",
                validity_days=c.validity_days, on_approval=c.on_approval,
                issued_by=list(c.issued_by), roles=list(c.roles), **_counts(counts.get(c.type)))
            for c in self.settings.credential_types
        ]
        configured = {c.type for c in self.settings.credential_types}
        result.extend(
            CredentialTypeUse(type=name, configured=False, schema_url=None, validity_days=None,
                              on_approval=False, issued_by=["self"], roles=[],
                              **_counts(counts[name]))
            for name in sorted(set(counts) - configured)
        )
        return result

    async def credentials_of(self, participant_id: str) -> list[CredentialState]:
        """The credentials issued to a participant, oldest first, each with its status."""
        async with self.engine.connect() as conn:
            issued = await credential_store.CREDENTIALS.find(conn, owner=participant_id)
            bits = {list_id: StatusList(data=data)
                    for list_id, data in (await credential_store.all_status_bits(conn)).items()}
        now = self.issuer.now()
        return [CredentialState(id=c.id, credential_type=c.credential_type,
                                issued_at=c.issued_at, valid_until=c.valid_until,
                                status=_status(bits, c, now))
                for c in issued]

    async def status_lists(
        self, *, after: str | None, limit: int
    ) -> tuple[list[StatusListUse], str | None]:
        """A page of status lists ordered by id, and the cursor of the next page."""
        async with self.engine.connect() as conn:
            rows = await credential_store.list_status_lists(conn, after=after, limit=limit + 1)
        page, more = more_rows(rows, limit)
        base = self.settings.base_url
        items = [
            StatusListUse(
                id=use.row.id, purpose=use.row.purpose, size=len(use.row.bits) * 8,
                used=use.allocated,
                set_bits=int.from_bytes(use.row.bits, "big").bit_count(),
                version=use.row.version, updated_at=use.row.updated_at,
                url=f"{base}/status/{use.row.id}")
            for use in page
        ]
        return items, page[-1].row.id if more and page else None


class _Slots(Protocol):
    @property
    def revocation_list(self) -> str: ...
    @property
    def revocation_index(self) -> int: ...
    @property
    def suspension_list(self) -> str: ...
    @property
    def suspension_index(self) -> int: ...
    @property
    def valid_until(self) -> datetime | None: ...


def _status(bits: dict[str, StatusList], slots: _Slots, now: datetime) -> str:
    """revoked, suspended, expired or active (the first that holds)."""
    if _bit(bits, slots.revocation_list, slots.revocation_index):
        return "revoked"
    if _bit(bits, slots.suspension_list, slots.suspension_index):
        return "suspended"
    if slots.valid_until is not None and slots.valid_until <= now:
        return "expired"
    return "active"


def _bit(bits: dict[str, StatusList], list_id: str, index: int) -> bool:
    found = bits.get(list_id)
    return found is not None and index < len(found) and found.get(index)


def _counts(tally: Counter[str] | None) -> dict[str, int]:
    tally = tally or Counter()
    return {key: tally[key] for key in ("issued", "active", "suspended", "revoked", "expired")}
