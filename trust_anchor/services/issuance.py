"""Issuance use cases besides the protocols' own: accredited issuers' requests, status lists.

An accredited issuer (``TI`` or ``TAO`` in the registry for the type, e.g. a
marketplace for DataProductPurchaseCredential) asks the trust anchor to issue a
configured credential type to an active participant. It authenticates with a
self-issued ID token from its DID to the trust anchor's DID; the credential
is issued and signed by the trust anchor, with status entries like every
other credential. Status list credentials are served here, signed once per
version of their bits.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from identity.self_issued import SelfIssuedToken, SelfIssuedTokenVerifier
from servicekit.errors import Forbidden, InvalidRequest, Unauthorized
from trust_anchor.domain.participants import ApplicationState
from trust_anchor.domain.registry import IssuerType
from trust_anchor.services.issuer import Issuer
from trust_anchor.services.overview import Overview
from trust_anchor.settings import TrustAnchorSettings
from trust_anchor.store import participants as participant_store
from trust_anchor.store.credentials import IssuedCredential
from trust_anchor.store.issuers import get_issuer

__all__ = ["Issuance", "verified_caller"]


async def verified_caller(
    verifier: SelfIssuedTokenVerifier, token: str | None, *, require_token: bool = False
) -> SelfIssuedToken:
    """The caller a self-issued ID token names: 401 without one, or when it does not verify
    (the :class:`~identity.errors.VerificationError` keeps its code)."""
    if token is None:
        raise Unauthorized("a self-issued ID token is required", code="token-required")
    return await verifier.verify(token, require_token=require_token)


@dataclass(frozen=True, eq=False)
class Issuance:
    """Issues on an accredited issuer's request; serves the status lists."""

    engine: AsyncEngine
    settings: TrustAnchorSettings
    issuer: Issuer
    callers: SelfIssuedTokenVerifier

    @property
    def overview(self) -> Overview:
        """The operator's counts over credential types and status lists."""
        return Overview(self.engine, self.settings, self.issuer)

    async def status_list(self, list_id: str) -> tuple[str, int]:
        """The signed status list credential ``list_id`` and its version."""
        async with self.engine.connect() as conn:
            return await self.issuer.status_list_credential(conn, list_id)

    async def caller(self, token: str | None) -> SelfIssuedToken:
        """The accredited issuer asking (its self-issued ID token to our DID)."""
        return await verified_caller(self.callers, token)

    async def for_accredited(
        self,
        caller: SelfIssuedToken,
        *,
        credential_type: str,
        subject_did: str,
        claims: Mapping[str, Any],
        validity_days: int | None,
    ) -> IssuedCredential:
        """Issue ``credential_type`` to an active participant if the caller is accredited for it."""
        config = next((c for c in self.settings.credential_types
                       if c.type == credential_type), None)
        if config is None:
            raise InvalidRequest(f"{credential_type} is not a configured credential type",
                                 code="credential-type-unknown")
        if "id" in claims:
            raise InvalidRequest("claims must not set the subject id", code="claims-invalid")
        async with self.engine.begin() as conn:
            accreditation = await get_issuer(conn, caller.issuer)
            if (accreditation is None
                    or accreditation.issuer_type not in (IssuerType.TI, IssuerType.TAO)
                    or credential_type not in accreditation.credential_types):
                raise Forbidden(f"{caller.issuer} is not accredited for {credential_type}",
                                code="not-accredited")
            subject = await participant_store.participant_by_did(conn, subject_did)
            if subject.state is not ApplicationState.ACTIVE:
                raise Forbidden(f"{subject_did} is not an active participant",
                                code="subject-not-active")
            return await self.issuer.issue(
                conn,
                subject_did=subject.did,
                credential_type=credential_type,
                claims={**claims, "requestedBy": caller.issuer},
                validity=timedelta(days=validity_days or config.validity_days),
                owner=subject.id,
            )
