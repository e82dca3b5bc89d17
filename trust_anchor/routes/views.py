"""Response bodies shared by several route modules."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field

from trust_anchor.domain.participants import AuditEvent, Participant
from trust_anchor.services.oid4vci import OfferStatus

__all__ = ["ApplicationView", "OfferView", "OperatorApplicationView", "ParticipantView"]


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
    audit: list[AuditEvent] | None = Field(
        default=None, description="The state transitions, oldest first.")
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
            audit=None if audit is None else [e for e in audit if e.is_transition],
        )


def _instant(timestamp: float | None) -> datetime | None:
    return None if timestamp is None else datetime.fromtimestamp(timestamp, UTC)


class OfferView(BaseModel):
    """The newest credential offer of a participant, as the operator follows it."""

    offer_id: str
    credential_configuration_id: str
    credential_offer_uri: str | None = Field(
        description="Until the credential is collected: the URI to give the participant "
                    "(as a link or QR code).")
    tx_code: str | None = Field(
        description="Until the credential is collected: the transaction code to give the "
                    "participant out of band (operator only).")
    collected: bool
    collected_at: datetime | None
    expires_at: datetime
    usable: bool = Field(description="False once the offer expired or its code was spent.")

    @classmethod
    def of(cls, status: OfferStatus) -> OfferView:
        """The view of an offer's status."""
        return cls(
            offer_id=status.offer_id,
            credential_configuration_id=status.configuration_id,
            credential_offer_uri=status.credential_offer_uri,
            tx_code=status.tx_code,
            collected=status.collected,
            collected_at=_instant(status.collected_at),
            expires_at=datetime.fromtimestamp(status.expires_at, UTC),
            usable=status.usable,
        )


class OperatorApplicationView(ApplicationView):
    """An application or member as the operator sees it: its whole history and its offer."""

    history: list[AuditEvent] = Field(
        description="Every event (transitions, and steps such as a credential collected), "
                    "oldest first, each with its actor, time, reason and particulars.")
    offer: OfferView | None = Field(
        description="The newest credential offer: with its URI and transaction code until "
                    "the participant collected it; null when none was made.")

    @classmethod
    def of_reviewed(cls, participant: Participant, history: list[AuditEvent],
                    offer: OfferStatus | None) -> OperatorApplicationView:
        """The operator's view of ``participant`` with its ``history`` and ``offer``."""
        base = ApplicationView.of_application(participant, history).model_dump()
        return cls(**base, history=history,
                   offer=OfferView.of(offer) if offer is not None else None)
