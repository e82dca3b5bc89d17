"""The OpenID for VC Issuance 1.0 documents the trust anchor publishes.

Pure functions of the settings: the credential issuer metadata, a credential
offer for a pre-authorized code, and the ``openid-credential-offer://`` URI
that points at an offer by reference.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict

from trust_anchor.settings import TrustAnchorSettings

__all__ = [
    "PRE_AUTHORIZED_GRANT",
    "CredentialRequest",
    "Proof",
    "credential_offer",
    "issuer_metadata",
    "offer_uri",
]

PRE_AUTHORIZED_GRANT = "urn:ietf:params:oauth:grant-type:pre-authorized_code"
_ALGS = ["EdDSA", "ES256"]


class Proof(BaseModel):
    """A single key proof."""

    model_config = ConfigDict(extra="allow")
    proof_type: str
    jwt: str | None = None


class CredentialRequest(BaseModel):
    """OID4VCI 1.0 credential request (one proof; ``proofs.jwt`` with one entry is accepted)."""

    model_config = ConfigDict(extra="allow")
    credential_configuration_id: str | None = None
    credential_identifier: str | None = None
    proof: Proof | None = None
    proofs: dict[str, list[str]] | None = None

    def jwt_proofs(self) -> list[str]:
        """The ``jwt`` key proofs it carries (``proofs`` wins over ``proof``)."""
        if self.proofs is not None:
            return list(self.proofs.get("jwt", []))
        if self.proof is None or self.proof.proof_type != "jwt" or self.proof.jwt is None:
            return []
        return [self.proof.jwt]


def issuer_metadata(settings: TrustAnchorSettings) -> dict[str, Any]:
    """The OID4VCI 1.0 credential issuer metadata."""
    base = settings.base_url
    configurations = {}
    for config in settings.credential_types:
        if "self" not in config.issued_by:
            continue
        configurations[config.type] = {
            "format": "vc+jwt",
            "scope": config.type,
            "cryptographic_binding_methods_supported": ["did:web", "did:key"],
            "credential_signing_alg_values_supported": _ALGS,
            "proof_types_supported": {"jwt": {"proof_signing_alg_values_supported": _ALGS}},
            "credential_definition": {"type": ["VerifiableCredential", config.type]},
            "credential_metadata": {
                "display": [{"name": config.type, "locale": "en"}],
            },
        }
    return {
        "credential_issuer": base,
        "authorization_servers": [base],
        "credential_endpoint": f"{base}/oid4vci/credential",
        "nonce_endpoint": f"{base}/oid4vci/nonce",
        "display": [{"name": settings.operator_name, "locale": "en"}],
        "credential_configurations_supported": configurations,
    }


def credential_offer(
    base_url: str, configuration_id: str, code: str | None, tx_code: bool
) -> dict[str, Any]:
    """An OID4VCI credential offer for a pre-authorized code."""
    grant: dict[str, Any] = {}
    if code is not None:
        grant["pre-authorized_code"] = code
    if tx_code:
        grant["tx_code"] = {
            "input_mode": "numeric",
            "length": 6,
            "description": "The six digits the data-space operator gave you.",
        }
    return {
        "credential_issuer": base_url,
        "credential_configuration_ids": [configuration_id],
        "grants": {PRE_AUTHORIZED_GRANT: grant},
    }


def offer_uri(base_url: str, offer_id: str) -> str:
    """The ``openid-credential-offer://`` URI that points at an offer by reference."""
    return "openid-credential-offer://?credential_offer_uri=" + quote(
        f"{base_url}/oid4vci/offers/{offer_id}", safe=""
    )
