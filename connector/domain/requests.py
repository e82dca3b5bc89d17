"""What the owner sees of a negotiation that waits for them: who asks, and for what use.

The requester is the verified caller the negotiation keeps (its id, and
the legal name and organisation number of its MembershipCredential, which
the trust anchor checked at onboarding); the purposes are those the
requested terms allow (the offer's ``purpose`` constraint; empty: any).
"""

from __future__ import annotations

from typing import Any

from connector.domain.negotiation import Negotiation
from connector.domain.policy import required_purposes

__all__ = ["MEMBERSHIP", "REQUESTER_SCHEMA", "negotiation_view", "requester"]

MEMBERSHIP = "MembershipCredential"

#: The JSON schema of :func:`requester` (for the OpenAPI description).
REQUESTER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "The counter-party (for a provider: who asks, as verified) and the "
                   "uses the requested terms allow.",
    "properties": {
        "id": {"type": "string", "description": "The requester's participant id (DID)."},
        "legal_name": {"type": ["string", "null"],
                       "description": "From its verified MembershipCredential."},
        "organisation_number": {"type": ["string", "null"]},
        "credential_types": {"type": "array", "items": {"type": "string"},
                             "description": "The credential types it proved."},
        "purposes": {"type": "array", "items": {"type": "string"},
                     "description": "Purposes the requested terms allow (empty: any)."},
    },
    "required": ["id", "legal_name", "organisation_number", "credential_types", "purposes"],
}


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def requester(negotiation: Negotiation) -> dict[str, Any]:
    """The counter-party of ``negotiation`` as the owner needs to see it."""
    caller = negotiation.caller or {}
    claims = caller.get("claims") or {}
    membership = claims.get(MEMBERSHIP) if isinstance(claims, dict) else None
    membership = membership if isinstance(membership, dict) else {}
    purposes: frozenset[str] = frozenset()
    if negotiation.offer:
        purposes = required_purposes(str(negotiation.offer_id or "urn:offer:requested"),
                                     negotiation.offer, target=negotiation.dataset_id)
    return {
        "id": str(caller.get("id") or negotiation.counterparty_id),
        "legal_name": _text(membership.get("legalName")),
        "organisation_number": _text(membership.get("organisationNumber")),
        "credential_types": sorted(str(t) for t in caller.get("credentialTypes") or ()),
        "purposes": sorted(purposes),
    }


def negotiation_view(negotiation: Negotiation) -> dict[str, Any]:
    """The negotiation as the management API shows it, with ``counterparty``.

    For a provider's negotiation the counter-party is the requester.
    """
    return negotiation.model_dump(mode="json") | {"counterparty": requester(negotiation)}
