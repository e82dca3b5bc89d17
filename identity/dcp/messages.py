"""Build DCP 1.0 messages (plain JSON, compacted with the DCP context).

Every builder returns a message that validates against the vendored schema
(the tests check each one); incoming messages are validated with
:func:`identity.dcp.schemas.validate_dcp` where they are received.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from identity.dcp.schemas import DCP_CONTEXT

__all__ = [
    "credential_message",
    "credential_offer_message",
    "credential_request_message",
    "presentation_query_message",
    "presentation_response_message",
]


def presentation_query_message(scopes: Sequence[str]) -> dict[str, Any]:
    """A ``PresentationQueryMessage`` asking for ``scopes``."""
    return {"@context": [DCP_CONTEXT], "type": "PresentationQueryMessage", "scope": list(scopes)}


def presentation_response_message(
    presentations: Iterable[str | Mapping[str, Any]],
) -> dict[str, Any]:
    """A ``PresentationResponseMessage`` (presentations: VP JWTs or enveloped VP objects)."""
    return {
        "@context": [DCP_CONTEXT],
        "type": "PresentationResponseMessage",
        "presentation": [p if isinstance(p, str) else dict(p) for p in presentations],
    }


def credential_request_message(holder_pid: str, credential_ids: Sequence[str]) -> dict[str, Any]:
    """A ``CredentialRequestMessage`` for the issuer's credential objects ``credential_ids``."""
    return {
        "@context": [DCP_CONTEXT],
        "type": "CredentialRequestMessage",
        "holderPid": holder_pid,
        "credentials": [{"id": i} for i in credential_ids],
    }


def credential_message(
    *,
    issuer_pid: str,
    holder_pid: str | None,
    status: str,
    credentials: Sequence[Mapping[str, str]] = (),
    rejection_reason: str | None = None,
) -> dict[str, Any]:
    """A ``CredentialMessage`` (what an issuer delivers to a holder's Credential Service).

    ``credentials`` are containers ``{"credentialType", "payload", "format"}``;
    ``status`` is ``ISSUED`` or ``REJECTED``.
    """
    message: dict[str, Any] = {
        "@context": [DCP_CONTEXT],
        "type": "CredentialMessage",
        "issuerPid": issuer_pid,
        "status": status,
    }
    if holder_pid is not None:
        message["holderPid"] = holder_pid
    if credentials:
        message["credentials"] = [dict(c) for c in credentials]
    if rejection_reason is not None:
        message["rejectionReason"] = rejection_reason
    return message


def credential_offer_message(
    issuer: str, credential_objects: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    """A ``CredentialOfferMessage``: ``issuer`` offers the holder these ``CredentialObject`` s.

    Each object names at least its ``id`` (what the holder requests) and
    ``credentialType``; ``type`` is set to ``CredentialObject``.
    """
    return {
        "@context": [DCP_CONTEXT],
        "type": "CredentialOfferMessage",
        "issuer": issuer,
        "credentials": [{**o, "type": "CredentialObject"} for o in credential_objects],
    }
