"""Issuing credentials with Bitstring status entries, and signing the status lists.

:class:`CredentialIssuer` is what every issuing service shares (the trust
anchor for memberships, the marketplace for purchases): every credential it
issues carries two ``BitstringStatusListEntry`` objects, one in a revocation
list and one in a suspension list, at random free indexes, and is recorded
with them in the service's :class:`~identity.status_store.CredentialStore`.
Status list credentials are published at ``{base_url}/status/{list id}``,
signed on demand and reused until their bits change (the list's version).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from identity.data_integrity import (
    EDDSA_RDFC_2022,
    UNDEFINED_TERMS_V2_CONTEXT,
    issue_data_integrity,
)
from identity.errors import VerificationError
from identity.keys import KeyType
from identity.service_identity import ServiceIdentity
from identity.status_list import StatusList, build_status_list_credential, status_list_entry
from identity.status_store import CredentialStore, IssuedCredential
from identity.vc import build_credential, issue_vc_jwt
from servicekit.clock import Clock, datetime_from_epoch, system_clock
from servicekit.errors import Conflict, InvalidRequest

__all__ = ["PROOF_FORMATS", "STATUS_PATH", "VC_JWT", "CredentialIssuer"]

VC_JWT = "vc+jwt"
#: How an issued credential may be secured.
PROOF_FORMATS = (VC_JWT, EDDSA_RDFC_2022)
#: Where, under the service's base URL, its status lists are published.
STATUS_PATH = "/status"


@dataclass(frozen=True, slots=True)
class _Slots:
    """A credential's (list id, index) in a revocation and in a suspension list."""

    revocation: tuple[str, int]
    suspension: tuple[str, int]

    def issued(self, **fields: Any) -> IssuedCredential:
        """The record of a credential secured with these status entries."""
        return IssuedCredential(
            **fields, revocation_list=self.revocation[0], revocation_index=self.revocation[1],
            suspension_list=self.suspension[0], suspension_index=self.suspension[1])


@dataclass
class CredentialIssuer:
    """Signs credentials and status lists as a service's DID, recording them in ``store``."""

    identity: ServiceIdentity
    base_url: str
    store: CredentialStore
    status_max_age: int = 60
    clock: Clock = system_clock
    _signed_lists: dict[str, tuple[int, str]] = field(default_factory=dict)
    _open_lists: dict[str, str] = field(default_factory=dict)

    def now(self) -> datetime:
        """The clock's time as an aware UTC datetime (credentials carry calendar times)."""
        return datetime_from_epoch(self.clock())

    @property
    def did(self) -> str:
        """The issuer DID."""
        return self.identity.did

    def status_list_url(self, list_id: str) -> str:
        """Where the status list credential ``list_id`` is published."""
        return f"{self.base_url}{STATUS_PATH}/{list_id}"

    async def issue(
        self,
        conn: AsyncConnection,
        *,
        subject_did: str,
        credential_type: str,
        claims: Mapping[str, Any],
        validity: timedelta | None = None,
        valid_until: datetime | None = None,
        owner: str | None = None,
        proof_format: str = VC_JWT,
    ) -> IssuedCredential:
        """Issue and record a credential of ``credential_type`` for ``subject_did``.

        It is valid from now for ``validity``, or until ``valid_until``.
        ``proof_format`` is ``vc+jwt`` (the token is a compact JWS) or
        ``eddsa-rdfc-2022`` (the token is the JSON of the credential with its
        Data Integrity proof). Nothing is recorded if signing fails.
        """
        if proof_format not in PROOF_FORMATS:
            raise InvalidRequest(f"unknown proof format {proof_format!r}",
                                 code="proof-format-unknown")
        at = self.now().replace(microsecond=0)
        until = at + validity if validity is not None else valid_until
        if until is not None and until <= at:
            raise InvalidRequest("the credential would never be valid", code="validity-invalid")

        async def secure(slots: _Slots) -> IssuedCredential:
            credential_id = f"urn:uuid:{uuid.uuid4()}"
            credential = build_credential(
                issuer=self.did,
                subject={"id": subject_did, **claims},
                types=[credential_type],
                id=credential_id,
                # The VC 2.0 context defines none of our types and claims; a conforming
                # credential defines every term (and Data Integrity signs only those).
                contexts=[UNDEFINED_TERMS_V2_CONTEXT],
                valid_from=at,
                valid_until=until,
                status=self._status_entries(slots),
            )
            return slots.issued(
                id=credential_id, owner=owner, subject_did=subject_did,
                credential_type=credential_type, token=await self.sign(credential, proof_format),
                issued_at=at, valid_until=until)

        return await self._in_free_slots(conn, at, secure)

    async def sign(self, credential: Mapping[str, Any], proof_format: str) -> str:
        """Secure ``credential`` as it is: a ``vc+jwt`` token or Data Integrity JSON."""
        if proof_format == VC_JWT:
            return issue_vc_jwt(credential, self.identity.signer)
        return await self._sign_data_integrity(dict(credential))

    async def issue_with_status(
        self,
        conn: AsyncConnection,
        credential: Mapping[str, Any],
        *,
        record_id: str,
        subject_did: str,
        credential_type: str,
        valid_until: datetime | None,
        proof_format: str = VC_JWT,
        check: Callable[[Mapping[str, Any]], None] | None = None,
    ) -> IssuedCredential:
        """Secure and record ``credential`` as given, plus a revocation and a suspension entry.

        Its own ``credentialStatus`` entries, if any, are kept before ours.
        ``check`` sees the credential with its status entries before it is
        signed; raising there stores nothing (the caller's transaction rolls back).
        """
        at = self.now().replace(microsecond=0)
        existing = credential.get("credentialStatus", [])
        kept = list(existing) if isinstance(existing, list) else [existing]

        async def secure(slots: _Slots) -> IssuedCredential:
            complete = {**credential,
                        "credentialStatus": [*kept, *self._status_entries(slots)]}
            if check is not None:
                check(complete)
            return slots.issued(
                id=record_id, owner=None, subject_did=subject_did,
                credential_type=credential_type, token=await self.sign(complete, proof_format),
                issued_at=at, valid_until=valid_until)

        return await self._in_free_slots(conn, at, secure)

    async def set_status(
        self, conn: AsyncConnection, credential: IssuedCredential, purpose: str, value: bool
    ) -> bool:
        """Set (or clear) ``credential``'s ``revocation`` or ``suspension`` bit; True if it changed.

        Relying parties see it at their next fetch of the list (within
        ``status_max_age``).
        """
        list_id, index = credential.slot(purpose)
        return await self.store.set_status(conn, list_id, index, value, self.now())

    async def _in_free_slots(
        self, conn: AsyncConnection, at: datetime,
        secure: Callable[[_Slots], Awaitable[IssuedCredential]],
    ) -> IssuedCredential:
        """Draw a revocation and a suspension slot, secure, record; draw again on a collision."""
        store = self.store
        for _ in range(20):
            slots = _Slots(await store.allocate_slot(conn, "revocation", at, self._open_lists),
                           await store.allocate_slot(conn, "suspension", at, self._open_lists))
            issued = await secure(slots)
            if await store.record(conn, issued):
                return issued
        raise RuntimeError("no free status slot after 20 draws")  # pragma: no cover

    def _status_entries(self, slots: _Slots) -> list[dict[str, Any]]:
        return [
            status_list_entry(list_credential=self.status_list_url(list_id), index=index,
                              purpose=purpose)
            for purpose, (list_id, index) in (("revocation", slots.revocation),
                                              ("suspension", slots.suspension))
        ]

    async def _sign_data_integrity(self, credential: dict[str, Any]) -> str:
        signer = self.identity.signer
        if signer.key.key_type is not KeyType.ED25519:
            raise Conflict(
                f"this issuer's key is {signer.key.key_type.value}; {EDDSA_RDFC_2022} needs "
                "an Ed25519 key (use vc+jwt)",
                code="proof-format-unavailable",
            )
        try:
            secured = await asyncio.to_thread(issue_data_integrity, credential, signer)
        except VerificationError as exc:
            raise InvalidRequest(exc.detail, code="credential-invalid") from exc
        return json.dumps(secured, ensure_ascii=False)

    async def status_list_credential(self, conn: AsyncConnection, list_id: str) -> tuple[str, int]:
        """The signed status list credential ``list_id`` and its version.

        Signed once per version of the bits, then served from memory.
        """
        row = await self.store.status_list(conn, list_id)
        cached = self._signed_lists.get(list_id)
        if cached is not None and cached[0] == row.version:
            return cached[1], row.version
        credential = build_status_list_credential(
            id=self.status_list_url(list_id),
            issuer=self.did,
            status_list=StatusList(data=row.bits),
            purpose=row.purpose,
            valid_from=row.updated_at.replace(microsecond=0),
            ttl_ms=self.status_max_age * 1000,
        )
        token = issue_vc_jwt(credential, self.identity.signer)
        self._signed_lists[list_id] = (row.version, token)
        return token, row.version
