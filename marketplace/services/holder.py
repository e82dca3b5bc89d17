"""The marketplace as a DCP holder: its own credentials and its Credential Service.

The marketplace calls providers' connectors over DSP with its own DCP
token, so a provider asks the marketplace's Credential Service for its
MembershipCredential, as it would ask any member's connector:

* ``POST /dcp/presentations/query``: a verifier reads our credentials with
  its self-issued token and the access token we gave it; the answer holds
  only what the query asks for *and* the token grants
  (:meth:`identity.dcp.DcpHolder.answer_query`);
* ``POST /dcp/credentials`` (DCP storage): the trust anchor delivers the
  credential we asked for over DCP issuance; accepted only from that
  issuer, for a pending request of ours, of the types we asked for.

A credential collected over OpenID4VCI is verified (signature, validity,
status, and that we are its subject) before it is stored.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncEngine

from identity.dcp import DcpHolder, StoredCredential
from identity.dcp.requests import check_answers
from identity.errors import VerificationError
from identity.vc import VerifiedCredential
from identity.vc_verify import CredentialVerifier
from marketplace.store import holder as store
from marketplace.store.holder import CredentialRecord, CredentialRequest
from servicekit.errors import InvalidRequest
from servicekit.ids import new_id

__all__ = ["Holder"]

_log = structlog.get_logger("marketplace.holder")
_BASE_TYPE = "VerifiableCredential"


def _record(verified: VerifiedCredential, source: str) -> CredentialRecord:
    until = verified.valid_until.timestamp() if verified.valid_until is not None else None
    raw = verified.raw if isinstance(verified.raw, str) else dict(verified.raw)
    return CredentialRecord(
        id=new_id("cred-"), credential_id=verified.id,
        types=[t for t in verified.types if t != _BASE_TYPE] or list(verified.types),
        issuer=verified.issuer, subject=verified.subject_id, format=verified.format.value,
        raw=raw, claims=dict(verified.claims), valid_until=until, source=source,
        created_at=time.time(),
    )


@dataclass(frozen=True, eq=False)
class Holder:
    """Our credentials, for us and for verifiers (see the module docstring)."""

    engine: AsyncEngine
    dcp: DcpHolder
    credentials: CredentialVerifier

    @property
    def did(self) -> str:
        """Our DID (the subject of our credentials)."""
        return self.dcp.did

    async def find(self, credential_type: str | None = None) -> list[CredentialRecord]:
        """Our credentials (of one type), oldest first."""
        async with self.engine.connect() as conn:
            records = await store.list_credentials(conn)
        return [r for r in records if credential_type is None or credential_type in r.types]

    async def current(self, credential_type: str, issuer: str | None = None
                      ) -> CredentialRecord | None:
        """Our newest unexpired credential of ``credential_type`` (from ``issuer``)."""
        now = time.time()
        usable = [r for r in await self.find(credential_type)
                  if (r.valid_until is None or r.valid_until > now)
                  and (issuer is None or r.issuer == issuer)]
        return usable[-1] if usable else None

    async def add(self, credential: str | Mapping[str, Any], *, source: str) -> CredentialRecord:
        """Verify and store a credential about us (400 when it does not verify or is not ours)."""
        try:
            verified = await self.credentials.verify(credential)
        except VerificationError as exc:
            raise InvalidRequest(f"the credential does not verify: {exc.detail}",
                                 code="credential-invalid", extra={"reason": exc.code}) from None
        if verified.subject_id != self.did:
            raise InvalidRequest(f"the credential is about {verified.subject_id}, not about us",
                                 code="credential-not-ours")
        async with self.engine.begin() as conn:
            stored = await store.insert_credential(conn, _record(verified, source))
        _log.info("credential_stored", credential=stored.id, types=stored.types,
                  issuer=stored.issuer, source=source)
        return stored

    async def stored(self) -> list[StoredCredential]:
        """Our credentials as the DCP holder selects from them."""
        return [
            StoredCredential(raw=r.raw, types=(_BASE_TYPE, *r.types), id=r.credential_id,
                             issuer=r.issuer, subject=r.subject, valid_until=r.valid_until)
            for r in await self.find()
        ]

    async def answer_query(self, authorization: str | None, body: Any) -> dict[str, Any]:
        """A ``PresentationResponseMessage`` for a verifier's ``PresentationQueryMessage``."""
        return await self.dcp.answer_query(authorization, body, await self.stored())

    # --- DCP issuance ---------------------------------------------------------------------

    async def request_pending(self, holder_pid: str, issuer_did: str,
                              types: list[str]) -> None:
        """Record a DCP issuance request before it is sent (the issuer may deliver at once)."""
        now = time.time()
        async with self.engine.begin() as conn:
            await store.insert_request(conn, CredentialRequest(
                holder_pid=holder_pid, issuer_did=issuer_did, credential_types=types,
                status="REQUESTED", created_at=now, updated_at=now))

    async def request_failed(self, holder_pid: str, reason: str) -> None:
        """The issuer did not take the request."""
        async with self.engine.begin() as conn:
            await store.settle_request(conn, holder_pid, "FAILED", reason, time.time())

    async def latest_request(self) -> CredentialRequest | None:
        """The DCP issuance request we sent last."""
        async with self.engine.connect() as conn:
            return await store.latest_request(conn)

    async def accept(self, authorization: str | None, body: Any) -> int:
        """Verify and store an issuer's ``CredentialMessage``; how many credentials were stored."""
        delivered = await self.dcp.accept_credentials(authorization, body)
        # Verified by accept_credentials; this reads the cached results back.
        records = [_record(await self.credentials.verify(c.raw), "dcp")
                   for c in delivered.credentials]
        async with self.engine.begin() as conn:
            request = (await store.get_request(conn, delivered.holder_pid)
                       if delivered.holder_pid else None)
            request = check_answers(delivered, request)
            for record in records:
                await store.insert_credential(conn, record)
            await store.settle_request(conn, request.holder_pid, delivered.status,
                                       delivered.rejection_reason, time.time())
        _log.info("credentials_delivered", issuer=delivered.issuer, status=delivered.status,
                  count=len(delivered.credentials))
        return len(delivered.credentials)
