"""Purchase credentials: issued when an order completes, offered and delivered over DCP, revoked.

When an order completes, :meth:`Purchases.issue` signs a
``DataProductPurchaseCredential`` (VC 2.0, ``vc+jwt``) as the marketplace's
DID, naming the buyer, the product, the offering and its version, the plan,
the validity and the plan's limits, with a revocation and a suspension
``BitstringStatusListEntry`` in our own status lists (``/status/{list}``).
The trust anchor accredits the marketplace for that type (its role
``marketplace``), so providers whose offers require it trust it.

Delivery is DCP 1.0 issuance started by the issuer, as retried jobs:

1. ``purchase-offer``: a ``CredentialOfferMessage`` to the buyer's Credential
   Service (``POST {CredentialService}/offers``), naming the credential by id;
2. the buyer's connector answers with a ``CredentialRequestMessage`` to our
   ``IssuerService`` (``POST /dcp/issuer/credentials``, :meth:`Purchases.receive`),
   carrying a write access token for its Credential Service;
3. ``purchase-deliver``: the ``CredentialMessage`` with the credential
   (``POST {CredentialService}/credentials``).

Cancellation, non-payment past the due date or the end of the period call
:meth:`Purchases.revoke`: the revocation bit flips, and a provider whose
running transfer rests on the credential ends it at its next status check.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import aiohttp
import structlog
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from identity.credential_issuer import CredentialIssuer
from identity.dcp import (
    CREDENTIAL_MESSAGE,
    CREDENTIAL_OFFER_MESSAGE,
    CREDENTIAL_REQUEST_MESSAGE,
    CREDENTIAL_STATUS,
    DCP_CONTEXT,
    ISSUER_METADATA,
    OFFERS_PATH,
    STORAGE_PATH,
    credential_message,
    credential_offer_message,
    send_to_credential_service,
    validate_dcp,
)
from identity.resolver import DidResolver
from identity.self_issued import SelfIssuedToken, SelfIssuedTokenVerifier
from identity.status_store import IssuedCredential
from marketplace.store import purchases as store
from marketplace.store.purchases import PURCHASE_CREDENTIALS, CredentialRequest
from policies.presets import PURCHASE_CREDENTIAL
from servicekit.errors import Forbidden, InvalidRequest, NotFound, Unauthorized
from servicekit.ids import new_id
from servicekit.jobs import Job, JobHandler, JobRunner, enqueue

__all__ = ["DELIVER_JOB", "ISSUER_SERVICE_PATH", "OFFER_JOB", "PURCHASE_CREDENTIAL", "Delivery",
           "Purchases"]

_log = structlog.get_logger("marketplace.purchases")

#: The job kind that offers an issued purchase credential to the buyer's connector.
OFFER_JOB = "purchase-offer"
#: The job kind that delivers the credentials a buyer's connector requested.
DELIVER_JOB = "purchase-deliver"
#: Where our DCP ``IssuerService`` is mounted (our DID document names it).
ISSUER_SERVICE_PATH = "/dcp/issuer"
_PROFILE = "vc20-bssl/jwt"


def _credential_object(credential_id: str) -> dict[str, Any]:
    return {"id": credential_id, "type": "CredentialObject",
            "credentialType": PURCHASE_CREDENTIAL, "offerReason": "purchase",
            "bindingMethods": ["did:web", "did:key"], "profile": _PROFILE}


@dataclass(frozen=True)
class Delivery:
    """Where a purchase credential is: offered to the buyer's connector, requested by it
    (``RECEIVED``), delivered (``ISSUED``) or refused (``REJECTED``); revoked or not."""

    credential: IssuedCredential
    revoked: bool
    #: OFFERED (not asked for yet), RECEIVED, ISSUED or REJECTED.
    status: str
    error: str | None = None


@dataclass(frozen=True, eq=False)
class Purchases:
    """Issue, offer, deliver and revoke purchase credentials (see the module docstring).

    ``session`` reaches the buyers' Credential Services (the guarded client);
    ``callers`` verifies the self-issued tokens of buyers' connectors
    addressed to our DID; ``dev`` lets Credential Services live on loopback.
    """

    engine: AsyncEngine
    issuer: CredentialIssuer
    resolver: DidResolver
    session: aiohttp.ClientSession
    callers: SelfIssuedTokenVerifier
    runner: JobRunner
    dev: bool = False

    def jobs(self) -> dict[str, JobHandler]:
        """The job kinds this runs (offering, delivering), for the app's job table."""
        return {OFFER_JOB: self.offer, DELIVER_JOB: self.deliver}

    # --- issuing and revoking (in the caller's transaction) ---------------------------------

    async def issue(
        self,
        conn: AsyncConnection,
        *,
        buyer_did: str,
        product_id: str,
        offering_id: str,
        offering_version: str,
        plan_id: str,
        valid_until: datetime,
        limits: Mapping[str, Any] | None = None,
        order_id: str | None = None,
    ) -> IssuedCredential:
        """Issue and record the buyer's purchase credential, and enqueue its offer.

        Runs in the caller's transaction (the order's completion): nothing is
        issued or offered if it rolls back. Call :meth:`wake` after the commit.
        """
        if not buyer_did.startswith("did:"):
            raise InvalidRequest("the buyer must be named by its DID", code="buyer-did-invalid")
        claims: dict[str, Any] = {
            "product": product_id, "offering": offering_id,
            "offeringVersion": offering_version, "plan": plan_id, "limits": dict(limits or {}),
        }
        if order_id is not None:
            claims["order"] = order_id
        issued = await self.issuer.issue(
            conn, subject_did=buyer_did, credential_type=PURCHASE_CREDENTIAL, claims=claims,
            valid_until=valid_until, owner=order_id)
        await enqueue(conn, OFFER_JOB, {"credential_id": issued.id},
                      dedupe_key=f"{OFFER_JOB}:{issued.id}")
        _log.info("purchase_credential_issued", credential=issued.id, buyer=buyer_did,
                  product=product_id, plan=plan_id, order=order_id)
        return issued

    async def revoke(
        self,
        conn: AsyncConnection,
        *,
        credential_id: str | None = None,
        order_id: str | None = None,
        reason: str,
    ) -> list[str]:
        """Revoke one credential, or every credential of an order; the ids newly revoked.

        Revoking twice changes nothing. Relying parties see it at their next
        fetch of the status list (within its max-age).
        """
        if (credential_id is None) == (order_id is None):
            raise InvalidRequest("name a credential or an order", code="revoke-target-invalid")
        if credential_id is not None:
            credentials = [await PURCHASE_CREDENTIALS.get(conn, credential_id)]
        else:
            credentials = await PURCHASE_CREDENTIALS.find(conn, owner=order_id)
        at = self.issuer.now()
        revoked = []
        for credential in credentials:
            if await store.mark_revoked(conn, credential.id, reason, at):
                await self.issuer.set_status(conn, credential, "revocation", True)
                revoked.append(credential.id)
                _log.info("purchase_credential_revoked", credential=credential.id,
                          order=credential.owner, reason=reason)
        return revoked

    def wake(self) -> None:
        """Run due jobs now (call after committing :meth:`issue`)."""
        self.runner.wake()

    async def credentials_of(self, *, order_id: str | None = None,
                             buyer_did: str | None = None) -> list[IssuedCredential]:
        """The purchase credentials of an order or a buyer, oldest first."""
        async with self.engine.connect() as conn:
            return await PURCHASE_CREDENTIALS.find(conn, owner=order_id, subject_did=buyer_did)

    async def deliveries(self, order_id: str) -> list[Delivery]:
        """An order's purchase credentials, each revoked or not and delivered or not."""
        async with self.engine.connect() as conn:
            issued = await PURCHASE_CREDENTIALS.find(conn, owner=order_id)
            if not issued:
                return []
            revoked = await store.revoked(conn, [c.id for c in issued])
            requests = await store.requests_of(conn, issued[0].subject_did)
        found: list[Delivery] = []
        for credential in issued:
            asked = [r for r in requests if credential.id in r.credential_ids]
            status = asked[-1].status if asked else "OFFERED"
            found.append(Delivery(credential, credential.id in revoked, status,
                                  asked[-1].error if asked else None))
        return found

    async def status_list(self, list_id: str) -> tuple[str, int]:
        """The signed status list credential ``list_id`` and its version."""
        async with self.engine.connect() as conn:
            return await self.issuer.status_list_credential(conn, list_id)

    # --- the IssuerService (DCP) -------------------------------------------------------------

    def metadata(self) -> dict[str, Any]:
        """Our ``IssuerMetadata``: purchase credentials, offered (never requested unasked)."""
        body = {"@context": [DCP_CONTEXT], "type": "IssuerMetadata", "issuer": self.issuer.did,
                "credentialsSupported": [_credential_object(PURCHASE_CREDENTIAL)]}
        validate_dcp(ISSUER_METADATA, body)
        return body

    async def caller(self, token: str | None, *, require_token: bool = False) -> SelfIssuedToken:
        """The connector that sent ``token`` (a self-issued ID token to our DID); 401 otherwise."""
        if token is None:
            raise Unauthorized("a self-issued ID token is required", code="token-required")
        return await self.callers.verify(token, require_token=require_token)

    async def receive(self, caller: SelfIssuedToken, message: Any) -> str:
        """Record a buyer's ``CredentialRequestMessage`` for credentials we offered it.

        Returns the request id; a job delivers them. Only credentials issued
        to the caller may be asked for (others are unknown to it), and none
        that is revoked.
        """
        validate_dcp(CREDENTIAL_REQUEST_MESSAGE, message, what="CredentialRequestMessage")
        wanted = [str(c["id"]) for c in message["credentials"]]
        if not wanted or caller.access_token is None:
            raise InvalidRequest("ask for at least one credential, with a write token",
                                 code="credential-request-invalid")
        async with self.engine.begin() as conn:
            for credential_id in wanted:
                if not await self._issued_to(conn, credential_id, caller.issuer):
                    raise InvalidRequest(f"no credential {credential_id} was offered to you",
                                         code="credential-object-unknown")
            if await store.revoked(conn, wanted):
                raise Forbidden("a requested credential is revoked", code="credential-revoked")
            request = CredentialRequest(id=new_id("r-"), holder_did=caller.issuer,
                                        holder_pid=message["holderPid"],
                                        credential_ids=wanted, status="RECEIVED")
            await store.insert_request(conn, request, self.issuer.now())
            await enqueue(conn, DELIVER_JOB, {"request_id": request.id,
                                              "access_token": caller.access_token})
        self.wake()
        return request.id

    async def _issued_to(self, conn: AsyncConnection, credential_id: str, did: str) -> bool:
        try:
            credential = await PURCHASE_CREDENTIALS.get(conn, credential_id)
        except NotFound:
            return False
        return credential.subject_did == did

    async def request_status(self, caller: SelfIssuedToken, request_id: str) -> dict[str, Any]:
        """The ``CredentialStatus`` of a request, to the connector that sent it only."""
        async with self.engine.connect() as conn:
            found = await store.get_request(conn, request_id)
        if found.holder_did != caller.issuer:
            raise NotFound("no such request", code="request-not-found")
        body = {"@context": [DCP_CONTEXT], "type": "CredentialStatus", "issuerPid": found.id,
                "holderPid": found.holder_pid, "status": found.status}
        validate_dcp(CREDENTIAL_STATUS, body)
        return body

    # --- the jobs -----------------------------------------------------------------------------

    async def offer(self, job: Job) -> None:
        """Offer one issued credential to its buyer's Credential Service (not once revoked)."""
        credential_id: str = job.payload["credential_id"]
        async with self.engine.connect() as conn:
            credential = await PURCHASE_CREDENTIALS.get(conn, credential_id)
            if await store.revoked(conn, [credential_id]):
                return
        message = credential_offer_message(self.issuer.did, [_credential_object(credential.id)])
        validate_dcp(CREDENTIAL_OFFER_MESSAGE, message)
        await send_to_credential_service(
            self.session, self.resolver, self.issuer.identity.signer, credential.subject_did,
            OFFERS_PATH, message, allow_loopback=self.dev)
        _log.info("purchase_credential_offered", credential=credential.id,
                  buyer=credential.subject_did)

    async def deliver(self, job: Job) -> None:
        """Deliver the credentials of one request (REJECTED if one was revoked meanwhile)."""
        async with self.engine.connect() as conn:
            request = await store.get_request(conn, job.payload["request_id"])
            if request.status != "RECEIVED":
                return  # settled by an earlier attempt
            revoked = await store.revoked(conn, request.credential_ids)
            credentials = [await PURCHASE_CREDENTIALS.get(conn, c)
                           for c in request.credential_ids]
        refusal = "a requested credential was revoked" if revoked else None
        message = credential_message(
            issuer_pid=request.id, holder_pid=request.holder_pid,
            status="REJECTED" if refusal else "ISSUED", rejection_reason=refusal,
            credentials=[] if refusal else [
                {"credentialType": c.credential_type, "payload": c.token, "format": "vc+jwt"}
                for c in credentials])
        validate_dcp(CREDENTIAL_MESSAGE, message)
        await send_to_credential_service(
            self.session, self.resolver, self.issuer.identity.signer, request.holder_did,
            STORAGE_PATH, message, access_token=job.payload["access_token"],
            allow_loopback=self.dev)
        async with self.engine.begin() as conn:
            await store.settle_request(conn, request.id, message["status"], refusal,
                                       self.issuer.now())
        _log.info("purchase_credentials_delivered", request=request.id,
                  buyer=request.holder_did, status=message["status"])
