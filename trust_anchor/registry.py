"""The trusted-issuers registry: who may issue which credential types.

Entries follow the EBSI Trusted Issuers Registry v4 model: an issuer DID with
attributes ``{hash, body, issuerType, tao, rootTao}``. The trust anchor is
the ``RootTAO``; the operator may accredit other issuers as ``TAO`` or
``TI``; participants whose roles issue a configured type (a marketplace
issues DataProductPurchase) become ``TI`` on approval and ``Revoked`` while
suspended or after revocation.

An attribute's ``body`` is the base64 of a signed accreditation (``vc+jwt``,
type ``VerifiableAccreditation``) naming the types; ``hash`` is the SHA-256
(hex) of the decoded body, so a relying party can check both the signature
and that the registry did not swap bodies.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence
from datetime import timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from identity.vc import build_credential, issue_vc_jwt
from servicekit.errors import InvalidRequest
from trust_anchor.domain.participants import ApplicationState, Participant
from trust_anchor.issuance import Issuer
from trust_anchor.settings import TrustAnchorSettings
from trust_anchor.store.registry import IssuerRecord, get_issuer, upsert_issuer

__all__ = ["IssuerType", "Registry", "attribute_of"]


class IssuerType(StrEnum):
    """EBSI TIR issuer types."""

    ROOT_TAO = "RootTAO"
    TAO = "TAO"
    TI = "TI"
    REVOKED = "Revoked"


def attribute_of(record: IssuerRecord) -> dict[str, Any]:
    """The TIR v4 attribute of a registry entry."""
    body = record.accreditation.encode()
    return {
        "hash": hashlib.sha256(body).hexdigest(),
        "body": base64.b64encode(body).decode(),
        "issuerType": record.issuer_type,
        "tao": record.tao,
        "rootTao": record.root_tao,
    }


class Registry:
    """Writes registry entries with signed accreditations."""

    def __init__(self, issuer: Issuer, settings: TrustAnchorSettings) -> None:
        self._issuer = issuer
        self._settings = settings

    def _accreditation(self, did: str, issuer_type: IssuerType, types: Sequence[str]) -> str:
        at = self._issuer.clock().replace(microsecond=0)
        credential = build_credential(
            issuer=self._issuer.did,
            subject={
                "id": did,
                "issuerType": str(issuer_type),
                "accreditedFor": [{"types": sorted(set(types))}],
            },
            types=["VerifiableAccreditation"],
            valid_from=at,
            valid_until=at + timedelta(days=3650),
        )
        return issue_vc_jwt(credential, self._issuer.identity.signer)

    async def put(
        self, conn: AsyncConnection, did: str, issuer_type: IssuerType, types: Sequence[str]
    ) -> IssuerRecord:
        """Create or replace the entry of ``did``."""
        if issuer_type is IssuerType.ROOT_TAO and did != self._issuer.did:
            raise InvalidRequest("only the trust anchor is the RootTAO", code="root-tao-reserved")
        at = self._issuer.clock()
        existing = await get_issuer(conn, did)
        record = IssuerRecord(
            did=did,
            issuer_type=str(issuer_type),
            tao=self._issuer.did,
            root_tao=self._issuer.did,
            credential_types=sorted(set(types)),
            accreditation=self._accreditation(did, issuer_type, types),
            created_at=existing.created_at if existing else at,
            updated_at=at,
        )
        await upsert_issuer(conn, record)
        return record

    async def ensure_root(self, conn: AsyncConnection) -> None:
        """Register the trust anchor as RootTAO for every configured type.

        The root vouches for all the types it accredits others for, and it
        may issue any of them itself (e.g. on an accredited issuer's request).
        """
        types = [c.type for c in self._settings.credential_types]
        types.append("VerifiableAccreditation")
        existing = await get_issuer(conn, self._issuer.did)
        if existing is None or sorted(set(types)) != existing.credential_types:
            await self.put(conn, self._issuer.did, IssuerType.ROOT_TAO, types)

    def _types_for(self, participant: Participant) -> list[str]:
        roles = {str(r) for r in participant.roles}
        return [
            c.type for c in self._settings.credential_types if roles.intersection(c.issued_by)
        ]

    async def accredit_roles(self, conn: AsyncConnection, participant: Participant) -> None:
        """Make an approved participant a TI for the types its roles issue."""
        types = self._types_for(participant)
        if types:
            await self.put(conn, participant.did, IssuerType.TI, types)

    async def follow_participant(self, conn: AsyncConnection, participant: Participant) -> None:
        """Mirror a participant's suspension, reinstatement or revocation in the registry."""
        existing = await get_issuer(conn, participant.did)
        if existing is None:
            return
        active = participant.state is ApplicationState.ACTIVE
        issuer_type = IssuerType.TI if active else IssuerType.REVOKED
        if existing.issuer_type != issuer_type:
            await self.put(conn, participant.did, issuer_type, existing.credential_types)
