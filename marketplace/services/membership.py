"""The marketplace becomes a member of the data space, as a connector does.

With a trust anchor configured, the marketplace applies for membership
with its own DID and the role ``marketplace`` (the application's legal
name, organisation number and contact come from the settings'
``membership`` group), proving control of its DID
(:class:`identity.onboarding.TrustAnchorClient`). The operator approves it
at the trust anchor, which then lists the marketplace in its trusted-issuers
registry as accredited for the types its role issues (DataProductPurchase).

Until it holds a MembershipCredential, :meth:`Membership.step` runs every
``membership.poll_seconds`` (:meth:`Membership.run`): it applies if it has
not, reads the application, and once it is active asks for the credential
over DCP issuance; the trust anchor delivers it to our Credential Service
(:class:`~marketplace.services.holder.Holder`). The operator may also
collect it over OpenID4VCI with the transaction code the trust anchor's
operator handed over (:meth:`Membership.collect`).
"""

from __future__ import annotations

import asyncio
import secrets
import time
from dataclasses import dataclass
from typing import Any

import aiohttp
import structlog
from sqlalchemy.ext.asyncio import AsyncEngine

from identity.dcp import issuer_service_url, request_credentials
from identity.oid4vci_client import collect_credential
from identity.onboarding import TrustAnchorClient
from identity.resolver import DidResolver
from identity.signer import Signer
from marketplace.services.holder import Holder
from marketplace.settings import MembershipSettings
from marketplace.store import holder as store
from marketplace.store.holder import MembershipApplication
from servicekit.errors import Conflict, DataspaceError, UpstreamError

__all__ = ["MEMBERSHIP", "Membership"]

_log = structlog.get_logger("marketplace.membership")

MEMBERSHIP = "MembershipCredential"
#: Application states that another application would not change.
_STANDING = frozenset({"submitted", "approved", "active", "suspended"})
#: A DCP request not answered within this long is asked again.
_REQUEST_PATIENCE = 60.0


@dataclass(frozen=True, eq=False)
class Membership:
    """Apply, follow the application, collect the credential (see the module docstring)."""

    engine: AsyncEngine
    signer: Signer
    session: aiohttp.ClientSession
    resolver: DidResolver
    holder: Holder
    trust_anchor: TrustAnchorClient
    settings: MembershipSettings
    dev: bool = False

    async def _latest(self) -> MembershipApplication | None:
        async with self.engine.connect() as conn:
            return await store.latest_application(conn)

    async def credential(self) -> dict[str, Any] | None:
        """Our unexpired MembershipCredential from the trust anchor (its summary), if any."""
        record = await self.holder.current(MEMBERSHIP, issuer=self.trust_anchor.did)
        return record.summary() if record is not None else None

    async def apply(self) -> MembershipApplication:
        """Apply with our DID and the configured details; 409 while an application stands."""
        latest = await self._latest()
        if latest is not None and latest.status in _STANDING:
            raise Conflict(f"our application {latest.id} is {latest.status}",
                           code="membership-application-exists",
                           extra={"application_id": latest.id})
        if not self.settings.legal_name or not self.settings.organisation_number:
            raise Conflict("set membership.legal_name and membership.organisation_number "
                           "to apply", code="membership-not-configured")
        applied = await self.trust_anchor.apply(self.signer, {
            "legal_name": self.settings.legal_name,
            "organisation_number": self.settings.organisation_number,
            "country": self.settings.country,
            "contact": {"name": self.settings.contact_name,
                        "email": self.settings.contact_email},
            "roles": ["marketplace"],
        })
        now = time.time()
        application = MembershipApplication(
            id=applied.id, trust_anchor_url=self.trust_anchor.url,
            trust_anchor_did=self.trust_anchor.did, status_token=applied.status_token,
            status=applied.status, created_at=now, updated_at=now)
        async with self.engine.begin() as conn:
            await store.insert_application(conn, application)
        _log.info("membership_applied", application=application.id,
                  trust_anchor=self.trust_anchor.url)
        return application

    async def _follow(self, application: MembershipApplication) -> dict[str, Any]:
        view = await self.trust_anchor.application(application.id, application.status_token)
        status = str(view.get("status", application.status))
        if status != application.status:
            async with self.engine.begin() as conn:
                await store.update_application(conn, application.id, status=status,
                                               at=time.time())
            _log.info("membership_status", application=application.id, status=status)
        return view

    async def status(self) -> dict[str, Any]:
        """Our application (as the trust anchor reports it now) and our membership credential."""
        application = await self._latest()
        request = await self.holder.latest_request()
        result: dict[str, Any] = {
            "did": self.signer.did, "trust_anchor": self.trust_anchor.url, "status": "none",
            "application_id": None, "credential": await self.credential(),
            "dcp_request": request.model_dump() if request is not None else None,
        }
        if application is None:
            return result
        result.update(application_id=application.id, status=application.status, live=False)
        try:
            view = await self._follow(application)
        except UpstreamError as exc:
            result["error"] = exc.detail  # the stored status stands
            return result
        result.update(status=view.get("status"), live=True)
        return result

    async def step(self) -> str:
        """One round of becoming a member; the application's status (or "member")."""
        if await self.credential() is not None:
            return "member"
        application = await self._latest()
        if application is None:
            if not self.settings.legal_name:
                return "none"
            application = await self.apply()
        view = await self._follow(application)
        status = str(view.get("status"))
        if status == "active" and not await self._request_waiting():
            await self.request_over_dcp()
        return status

    async def _request_waiting(self) -> bool:
        """True while our last request may still be answered, or was, meanwhile."""
        request = await self.holder.latest_request()
        if (request is not None and request.status == "REQUESTED"
                and time.time() - request.created_at < _REQUEST_PATIENCE):
            return True
        # A delivery stores the credential and settles the request together: read after the
        # request, so one that landed while we asked the trust anchor is seen here.
        return await self.credential() is not None

    async def request_over_dcp(self) -> str:
        """Ask the trust anchor for our MembershipCredential over DCP issuance; the holderPid."""
        issuer = self.trust_anchor.did
        base = await issuer_service_url(self.resolver, issuer, allow_loopback=self.dev)
        holder_pid = f"urn:uuid:{secrets.token_hex(16)}"
        await self.holder.request_pending(holder_pid, issuer, [MEMBERSHIP])
        try:
            await request_credentials(self.session, base, self.signer, issuer, [MEMBERSHIP],
                                      write_types=[MEMBERSHIP], holder_pid=holder_pid)
        except DataspaceError as exc:
            await self.holder.request_failed(holder_pid, exc.detail)
            raise
        _log.info("membership_requested", holder_pid=holder_pid, via="dcp")
        return holder_pid

    async def collect(self, tx_code: str | None) -> dict[str, Any]:
        """Fetch the approved credential over OpenID4VCI (with the operator's transaction code)."""
        application = await self._latest()
        if application is None:
            raise Conflict("apply first", code="membership-not-applied")
        view = await self._follow(application)
        offer = view.get("credential_offer_uri")
        if not isinstance(offer, str):
            raise Conflict(f"no credential is waiting (the application is {view.get('status')})",
                           code="no-credential-offer", extra={"status": view.get("status")})
        try:
            credential = await collect_credential(self.session, offer, self.signer,
                                                  tx_code=tx_code)
        except aiohttp.ClientError as exc:
            raise UpstreamError(f"the issuer could not be reached: {type(exc).__name__}",
                                code="trust-anchor-unavailable") from None
        record = await self.holder.add(credential, source="oid4vci")
        _log.info("membership_collected", credential=record.id, via="oid4vci")
        return {"via": "oid4vci", "credential": record.summary()}

    async def run(self, stopping: asyncio.Event) -> None:
        """Step until we are a member (or ``stopping`` is set), every ``poll_seconds``."""
        while not stopping.is_set():
            try:
                await self.step()
            except DataspaceError as exc:
                _log.warning("membership_step_failed", code=exc.code, detail=exc.detail)
            except Exception:  # a loop that dies silently would never make us a member
                _log.exception("membership_step_crashed")
            try:
                await asyncio.wait_for(stopping.wait(), self.settings.poll_seconds)
            except TimeoutError:
                continue
