"""The connector as a DCP holder: its credentials and its Credential Service.

* the owner lists, adds and removes our credentials (management API); a
  credential is verified before it is stored (signature, validity, status,
  and that we are its subject);
* ``POST /dcp/presentations/query``: a verifier asks for our credentials
  with its self-issued token and the access token we gave it; the answer
  holds only what the query asks for *and* the token grants, less what has
  expired or been revoked while a good credential of its types remains
  (:meth:`identity.dcp.DcpHolder.answer_query`);
* ``POST /dcp/offers``: an issuer offers us credentials (DCP issuance started
  by the issuer, e.g. a marketplace's purchase credential). We request them
  at once if the trust anchor's registry accredits the issuer for every
  offered type, and refuse the offer (403 ``issuer-not-trusted``) otherwise;
* ``POST /dcp/credentials`` (DCP storage): an issuer delivers credentials we
  asked for over DCP issuance; accepted only from that issuer, for a
  pending request of ours, of the types we asked for.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Mapping
from typing import Any

import structlog

from connector.core import ControlPlane, new_pid
from connector.services.lookup import one
from connector.store import holder as store
from connector.store.holder import CredentialRecord, CredentialRequest
from connector.trust import Trust
from identity.dcp import StoredCredential, issuer_service_url, request_credentials
from identity.dcp.requests import check_answers
from identity.errors import VerificationError
from identity.vc import VerifiedCredential
from servicekit.errors import DataspaceError, Forbidden, InvalidRequest, NotFound

__all__ = ["HolderService"]

_log = structlog.get_logger("connector.holder")
_BASE_TYPE = "VerifiableCredential"


def _record(verified: VerifiedCredential, source: str) -> CredentialRecord:
    until = verified.valid_until.timestamp() if verified.valid_until is not None else None
    raw = verified.raw if isinstance(verified.raw, str) else dict(verified.raw)
    return CredentialRecord(
        id=new_pid(), credential_id=verified.id,
        types=[t for t in verified.types if t != _BASE_TYPE] or list(verified.types),
        issuer=verified.issuer, subject=verified.subject_id, format=verified.format.value,
        raw=raw, claims=dict(verified.claims), valid_until=until, source=source,
        created_at=time.time(),
    )


class HolderService:
    """Our credentials, for the owner and for verifiers (see the module docstring)."""

    def __init__(self, plane: ControlPlane, trust: Trust) -> None:
        self.plane = plane
        self.trust = trust

    # --- the owner --------------------------------------------------------------------

    async def find(self, *, credential_type: str | None = None, limit: int = 50,
                   offset: int = 0) -> list[CredentialRecord]:
        """Our credentials, oldest first."""
        async with self.plane.read() as conn:
            return await store.list_credentials(conn, credential_type=credential_type,
                                                limit=limit, offset=offset)

    async def get(self, record_id: str) -> CredentialRecord:
        """One of our credentials, or NotFound."""
        return await one(self.plane, lambda conn: store.get_credential(conn, record_id),
                         NotFound(f"no credential {record_id}", code="credential-not-found"))

    async def verify_ours(self, credential: str | Mapping[str, Any]) -> VerifiedCredential:
        """Verify a credential about us (400 ``credential-invalid`` / ``credential-not-ours``)."""
        try:
            verified = await self.trust.credentials.verify(credential)
        except VerificationError as exc:
            raise InvalidRequest(f"the credential does not verify: {exc.detail}",
                                 code="credential-invalid",
                                 extra={"reason": exc.code}) from None
        if verified.subject_id != self.trust.did:
            raise InvalidRequest(
                f"the credential is about {verified.subject_id}, not about us ({self.trust.did})",
                code="credential-not-ours")
        return verified

    async def add(self, credential: str | Mapping[str, Any], *,
                  source: str = "manual") -> CredentialRecord:
        """Verify and store a credential about us; the same one twice is stored once."""
        record = _record(await self.verify_ours(credential), source)
        async with self.plane.transaction() as tx:
            stored = await store.insert_credential(tx.conn, record)
        _log.info("credential_stored", credential=stored.id, types=stored.types,
                  issuer=stored.issuer, source=source)
        return stored

    async def delete(self, record_id: str) -> None:
        """Remove one of our credentials (it is presented no more)."""
        async with self.plane.transaction() as tx:
            if not await store.delete_credential(tx.conn, record_id):
                raise NotFound(f"no credential {record_id}", code="credential-not-found")

    async def stored(self) -> list[StoredCredential]:
        """Our credentials as the DCP holder selects from them."""
        records = await self.find(limit=10_000)
        return [
            StoredCredential(raw=r.raw, types=("VerifiableCredential", *r.types),
                             id=r.credential_id, issuer=r.issuer, subject=r.subject,
                             valid_until=r.valid_until)
            for r in records
        ]

    # --- verifiers and issuers (the Credential Service) ------------------------------------

    async def answer_query(self, authorization: str | None, body: Any) -> dict[str, Any]:
        """A ``PresentationResponseMessage`` for a verifier's ``PresentationQueryMessage``.

        The DCP holder leaves out what is expired, and what its issuer revoked
        or suspended while a good credential of its types remains (a buyer who
        cancelled a purchase and bought again holds both):
        :mod:`identity.dcp.presentable`, with our status checker's cache.
        """
        return await self.trust.holder.answer_query(authorization, body, await self.stored())

    async def request_from(self, issuer_did: str, credential_ids: list[str],
                           types: list[str]) -> str:
        """Ask ``issuer_did`` for credentials over DCP issuance; our request's ``holderPid``.

        ``credential_ids`` are its credential objects, ``types`` what it may
        write to our Credential Service (its delivery comes to ``accept``).
        """
        base = await issuer_service_url(self.trust.resolver, issuer_did,
                                        allow_loopback=self.plane.settings.dev)
        holder_pid = f"urn:uuid:{secrets.token_hex(16)}"
        await self.request_pending(holder_pid, issuer_did, types)
        try:
            receipt = await request_credentials(
                self.trust.session, base, self.trust.signer, issuer_did, credential_ids,
                write_types=types, holder_pid=holder_pid)
        except DataspaceError as exc:
            await self.request_failed(holder_pid, exc.detail)
            raise
        await self.request_sent(holder_pid, receipt.status_url)
        return holder_pid

    async def offered(self, authorization: str | None, body: Any) -> str:
        """An issuer's ``CredentialOfferMessage``: request what it offers, if it may issue it.

        Returns our request's ``holderPid``. The issuer must be accredited in
        the trust anchor's registry for every offered type.
        """
        offer = await self.trust.holder.accept_offer(authorization, body)
        types = sorted({kind for _, kind in offer.credentials})
        registry = self.trust.registry
        for kind in types:
            if registry is None or not await registry.is_trusted(offer.issuer, kind):
                _log.warning("credential_offer_refused", issuer=offer.issuer, type=kind)
                raise Forbidden(f"{offer.issuer} is not accredited to issue {kind}",
                                code="issuer-not-trusted")
        holder_pid = await self.request_from(
            offer.issuer, [object_id for object_id, _ in offer.credentials], types)
        _log.info("credential_offer_requested", issuer=offer.issuer, types=types,
                  holder_pid=holder_pid)
        return holder_pid

    async def request_pending(self, holder_pid: str, issuer_did: str,
                              types: list[str]) -> CredentialRequest:
        """Record a DCP issuance request before it is sent (the issuer may deliver at once)."""
        now = time.time()
        request = CredentialRequest(holder_pid=holder_pid, issuer_did=issuer_did,
                                    credential_types=types, status_url="",
                                    status="REQUESTED", created_at=now, updated_at=now)
        async with self.plane.transaction() as tx:
            await store.insert_request(tx.conn, request)
        return request

    async def request_sent(self, holder_pid: str, status_url: str) -> None:
        """Remember where the issuer keeps the request's status."""
        async with self.plane.transaction() as tx:
            await store.set_request_status_url(tx.conn, holder_pid, status_url)

    async def request_failed(self, holder_pid: str, reason: str) -> None:
        """The issuer did not take the request."""
        async with self.plane.transaction() as tx:
            await store.settle_request(tx.conn, holder_pid, "FAILED", reason, time.time())

    async def accept(self, authorization: str | None, body: Any) -> int:
        """Verify and store an issuer's ``CredentialMessage``; how many credentials were stored."""
        delivered = await self.trust.holder.accept_credentials(authorization, body)
        # Verified by accept_credentials; this reads the cached results back.
        records = [_record(await self.trust.credentials.verify(c.raw), "dcp")
                   for c in delivered.credentials]
        async with self.plane.transaction() as tx:
            request = (await store.get_request(tx.conn, delivered.holder_pid)
                       if delivered.holder_pid else None)
            request = check_answers(delivered, request)
            for record in records:
                await store.insert_credential(tx.conn, record)
            await store.settle_request(tx.conn, request.holder_pid, delivered.status,
                                       delivered.rejection_reason, time.time())
        _log.info("credentials_delivered", issuer=delivered.issuer, status=delivered.status,
                  count=len(delivered.credentials))
        return len(delivered.credentials)

    async def latest_request(self) -> CredentialRequest | None:
        """The DCP issuance request we sent last."""
        async with self.plane.read() as conn:
            return await store.latest_request(conn)
