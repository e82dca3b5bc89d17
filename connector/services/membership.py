"""Onboarding the connector itself: apply at the trust anchor, collect the MembershipCredential.

Two calls make a connector a member, with its own DID and key:

1. :meth:`MembershipService.apply` asks the trust anchor for a challenge,
   answers it with a self-issued token signed by our key (proof of DID
   control; the trust anchor resolves our did:web document) and submits
   the application (:class:`identity.onboarding.TrustAnchorClient`, which the
   marketplace applies with too). The status token it returns is kept in our store.
2. After the operator approved, :meth:`MembershipService.collect` fetches the
   credential: over OpenID4VCI (the pre-authorized offer from our
   application, the transaction code the operator handed over, a key proof
   by our key), or over DCP issuance (a ``CredentialRequestMessage``; the
   trust anchor delivers to our Credential Service). Either way the
   credential is verified and stored, and our DSP requests carry it.

:meth:`MembershipService.status` shows the application as the trust anchor
reports it, and our membership credentials.
"""

from __future__ import annotations

import time
from typing import Any, Literal

import aiohttp
import structlog
from pydantic import BaseModel, ConfigDict, EmailStr, Field

from connector.core import ControlPlane
from connector.services.holder import HolderService
from connector.store import holder as store
from connector.store.holder import MembershipApplication
from connector.trust import Trust
from identity.oid4vci_client import collect_credential
from identity.onboarding import TrustAnchorClient
from servicekit.errors import Conflict, UpstreamError

__all__ = ["MEMBERSHIP", "MembershipApply", "MembershipCollect", "MembershipService"]

_log = structlog.get_logger("connector.membership")

MEMBERSHIP = "MembershipCredential"
#: Application states in which applying again makes no sense.
_PENDING_OR_MEMBER = frozenset({"submitted", "approved", "active", "suspended"})


class Contact(BaseModel):
    """Who the operator talks to."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    email: EmailStr


class MembershipApply(BaseModel):
    """What the connector applies with (its DID and proof are added)."""

    model_config = ConfigDict(extra="forbid")

    legal_name: str = Field(min_length=2, max_length=200)
    organisation_number: str = Field(min_length=2, max_length=40,
                                     pattern=r"^[A-Za-z0-9 .\-/]+$",
                                     description="National register number, e.g. 940 192 226.")
    country: str = Field(default="NO", pattern=r"^[A-Z]{2}$",
                         description="ISO 3166-1 alpha-2 country code.")
    contact: Contact
    roles: list[Literal["provider", "consumer", "marketplace"]] = Field(
        min_length=1, max_length=3)


class MembershipCollect(BaseModel):
    """How to fetch the approved credential."""

    model_config = ConfigDict(extra="forbid")

    tx_code: str | None = Field(default=None, min_length=1, max_length=64,
                                description="The transaction code the operator handed over "
                                "(OpenID4VCI).")
    via: Literal["oid4vci", "dcp"] = Field(
        default="oid4vci", description="OpenID4VCI pre-authorized code (default) or a DCP "
        "credential request (delivered to our Credential Service).")


class MembershipService:
    """Apply, collect, status (see the module docstring)."""

    def __init__(self, plane: ControlPlane, trust: Trust, holder: HolderService) -> None:
        self.plane = plane
        self.trust = trust
        self.holder = holder

    def _trust_anchor(self) -> TrustAnchorClient:
        if self.trust.trust_anchor_url is None or self.trust.trust_anchor_did is None:
            raise Conflict("no trust anchor is configured (--trust-anchor)",
                           code="trust-anchor-not-configured")
        return TrustAnchorClient(self.trust.session, self.trust.trust_anchor_url,
                                 self.trust.trust_anchor_did)

    async def _latest(self) -> MembershipApplication | None:
        async with self.plane.read() as conn:
            return await store.latest_application(conn)

    async def _application_view(self, application: MembershipApplication) -> dict[str, Any]:
        client = TrustAnchorClient(self.trust.session, application.trust_anchor_url,
                                   application.trust_anchor_did)
        view = await client.application(application.id, application.status_token)
        status = str(view.get("status", application.status))
        if status != application.status:
            async with self.plane.transaction() as tx:
                await store.update_application(tx.conn, application.id, status=status,
                                               at=time.time())
        return view

    async def status(self) -> dict[str, Any]:
        """Our application (as the trust anchor reports it now) and membership credentials."""
        application = await self._latest()
        credentials = [c.summary() for c in await self.holder.find(credential_type=MEMBERSHIP)]
        request = await self.holder.latest_request()
        result: dict[str, Any] = {
            "did": self.trust.did,
            "trust_anchor": self.trust.trust_anchor_url,
            "status": "none",
            "application_id": None,
            "credentials": credentials,
            "dcp_request": request.model_dump(exclude={"status_url"}) if request else None,
        }
        if application is None:
            return result
        result.update(application_id=application.id, status=application.status,
                      trust_anchor=application.trust_anchor_url, live=False,
                      applied_at=application.created_at)
        try:
            view = await self._application_view(application)
        except UpstreamError as exc:
            result["error"] = exc.detail  # the stored status stands
            return result
        result.update(status=view.get("status"), live=True,
                      credential_offer=view.get("credential_offer_uri") is not None)
        return result

    async def apply(self, data: MembershipApply) -> dict[str, Any]:
        """Apply with our DID, proving control of it; 409 while an application stands."""
        client = self._trust_anchor()
        latest = await self._latest()
        if latest is not None and latest.status in _PENDING_OR_MEMBER:
            current = await self.status()
            if current["status"] in _PENDING_OR_MEMBER:
                raise Conflict(f"our application {latest.id} is {current['status']}",
                               code="membership-application-exists",
                               extra={"application_id": latest.id})
        applied = await client.apply(self.trust.signer, data.model_dump(mode="json"))
        url, trust_anchor_did = client.url, client.did
        now = time.time()
        application = MembershipApplication(
            id=applied.id, trust_anchor_url=url, trust_anchor_did=trust_anchor_did,
            status_token=applied.status_token, status=applied.status,
            created_at=now, updated_at=now)
        async with self.plane.transaction() as tx:
            await store.insert_application(tx.conn, application)
        _log.info("membership_applied", application=application.id, trust_anchor=url)
        return {"did": self.trust.did, "trust_anchor": url, "application_id": application.id,
                "status": application.status, "applied_at": now}

    async def collect(self, data: MembershipCollect) -> dict[str, Any]:
        """Fetch the approved MembershipCredential (OpenID4VCI) or ask for it (DCP)."""
        trust_anchor_did = self._trust_anchor().did
        if data.via == "dcp":
            return await self._request_over_dcp(trust_anchor_did)
        application = await self._latest()
        if application is None:
            raise Conflict("apply first (POST /api/v1/membership/apply)",
                           code="membership-not-applied")
        view = await self._application_view(application)
        offer = view.get("credential_offer_uri")
        if not isinstance(offer, str):
            raise Conflict(f"no credential is waiting (the application is {view.get('status')})",
                           code="no-credential-offer", extra={"status": view.get("status")})
        try:
            credential = await collect_credential(self.trust.session, offer, self.trust.signer,
                                                  tx_code=data.tx_code)
        except aiohttp.ClientError as exc:
            raise UpstreamError(f"the issuer could not be reached: {type(exc).__name__}",
                                code="trust-anchor-unavailable") from None
        record = await self.holder.add(credential, source="oid4vci")
        if record.issuer != trust_anchor_did:
            _log.warning("membership_issuer_unexpected", issuer=record.issuer)
        _log.info("membership_collected", credential=record.id, via="oid4vci")
        return {"via": "oid4vci", "status": view.get("status"), "credential": record.summary()}

    async def _request_over_dcp(self, issuer_did: str) -> dict[str, Any]:
        holder_pid = await self.holder.request_from(issuer_did, [MEMBERSHIP], [MEMBERSHIP])
        _log.info("membership_requested", holder_pid=holder_pid, via="dcp")
        request = await self.holder.latest_request()
        return {"via": "dcp", "request": request.model_dump(exclude={"status_url"})
                if request else {"holder_pid": holder_pid}}
