"""What the trust anchor issues, as DCP describes it: credential objects and their schemas."""

from __future__ import annotations

from typing import Any

from trust_anchor.settings import TrustAnchorSettings

__all__ = ["PROFILE", "credential_objects", "credential_schema"]

#: The DCP profile of every credential we issue: VC 2.0, Bitstring status lists, JWT.
PROFILE = "vc20-bssl/jwt"


def credential_objects(settings: TrustAnchorSettings) -> list[dict[str, Any]]:
    """The ``CredentialObject`` of every type a member may request from us."""
    return [
        {
            "id": config.type,
            "type": "CredentialObject",
            "credentialType": config.type,
            "credentialSchema": f"{settings.base_url}/schemas/{config.type}.json",
            "bindingMethods": ["did:web", "did:key"],
            "profile": PROFILE,
            "offerReason": "membership" if config.on_approval else "request",
        }
        for config in settings.credential_types
        if "self" in config.issued_by
    ]


def credential_schema(settings: TrustAnchorSettings, credential_type: str) -> dict[str, Any]:
    """A JSON Schema of the credentials of ``credential_type`` we issue."""
    subject: dict[str, Any] = {
        "type": "object",
        "required": ["id"],
        "properties": {"id": {"type": "string", "pattern": "^did:"}},
    }
    if credential_type == "MembershipCredential":
        subject["required"] += ["legalName", "organisationNumber", "country", "roles",
                                "memberSince"]
        subject["properties"].update({
            "legalName": {"type": "string"},
            "organisationNumber": {"type": "string"},
            "country": {"type": "string", "pattern": "^[A-Z]{2}$"},
            "roles": {"type": "array", "items": {"enum": ["provider", "consumer",
                                                           "marketplace"]}},
            "memberSince": {"type": "string", "format": "date-time"},
        })
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"{settings.base_url}/schemas/{credential_type}.json",
        "title": credential_type,
        "type": "object",
        "required": ["@context", "type", "issuer", "credentialSubject", "credentialStatus"],
        "properties": {
            "type": {"type": "array", "contains": {"const": credential_type}},
            "credentialSubject": subject,
        },
    }
