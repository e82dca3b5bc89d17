"""The trusted-issuers registry's model (EBSI Trusted Issuers Registry v4).

An entry is an issuer DID with attributes ``{hash, body, issuerType, tao,
rootTao}``. The trust anchor is the ``RootTAO``; the operator may accredit
other issuers as ``TAO`` or ``TI``; participants whose roles issue a
configured type (a marketplace issues DataProductPurchaseCredential) become
``TI`` on approval and ``Revoked`` while suspended or after revocation.

An attribute's ``body`` is the base64 of a signed accreditation (``vc+jwt``,
type ``VerifiableAccreditation``) naming the types; ``hash`` is the SHA-256
(hex) of the decoded body, so a relying party can check both the signature
and that the registry did not swap bodies.

This is the registry the trust anchor keeps; the client side that relying
parties use to ask it is :mod:`identity.trusted_issuers`.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from identity.issuer_types import IssuerType

__all__ = ["IssuerRecord", "IssuerType", "attribute_of"]


@dataclass(frozen=True, slots=True)
class IssuerRecord:
    """One issuer in the registry."""

    did: str
    issuer_type: str
    tao: str
    root_tao: str
    credential_types: list[str]
    accreditation: str
    created_at: datetime
    updated_at: datetime


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
