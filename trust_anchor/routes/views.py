"""Response bodies shared by several route modules."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel

from trust_anchor.domain.participants import AuditEvent, Participant

__all__ = ["ApplicationView", "ParticipantView"]


class ParticipantView(BaseModel):
    """A participant as the public participant list shows it."""

    did: str
    legal_name: str
    organisation_number: str
    country: str
    roles: list[str]
    status: str
    member_since: datetime | None

    @classmethod
    def of(cls, participant: Participant) -> ParticipantView:
        """The public view of ``participant``."""
        return cls(
            did=participant.did,
            legal_name=participant.legal_name,
            organisation_number=participant.organisation_number,
            country=participant.country,
            roles=[str(r) for r in participant.roles],
            status=str(participant.state),
            member_since=participant.member_since,
        )


class ApplicationView(ParticipantView):
    """An application as its applicant and the operator see it."""

    id: str
    contact_name: str
    contact_email: str
    submitted_at: datetime
    updated_at: datetime
    audit: list[AuditEvent] | None = None
    credential_offer_uri: str | None = None
    credential_offer: dict[str, Any] | None = None

    @classmethod
    def of_application(
        cls, participant: Participant, audit: list[AuditEvent] | None = None
    ) -> ApplicationView:
        """The full view of an application."""
        base = ParticipantView.of(participant).model_dump()
        return cls(
            **base,
            id=participant.id,
            contact_name=participant.contact.name,
            contact_email=str(participant.contact.email),
            submitted_at=participant.submitted_at,
            updated_at=participant.updated_at,
            audit=audit,
        )
