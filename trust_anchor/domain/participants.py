"""Participants and their onboarding: a persisted state machine.

::

    (apply) ──▶ SUBMITTED ──approve──▶ APPROVED ──issue──▶ ACTIVE ◀──reinstate──┐
                    │                                       │  │                 │
                    └──reject──▶ REJECTED (final)           │  └──suspend──▶ SUSPENDED
                                                            └──revoke──▶ REVOKED (final)
                                                       (SUSPENDED ──revoke──▶ REVOKED)

Approval issues the MembershipCredential at once, so a participant passes
through APPROVED to ACTIVE in one operator action; APPROVED stays visible
only if issuing failed and must be retried. Every transition is audited.
"""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator

from servicekit.statemachine import TransitionTable

__all__ = [
    "ONBOARDING",
    "Application",
    "ApplicationState",
    "AuditAction",
    "AuditEvent",
    "Contact",
    "Participant",
    "Role",
    "membership_claims",
]


class ApplicationState(StrEnum):
    """Where a participant is in onboarding and membership."""

    SUBMITTED = "submitted"
    APPROVED = "approved"
    REJECTED = "rejected"
    ACTIVE = "active"
    SUSPENDED = "suspended"
    REVOKED = "revoked"


ONBOARDING: TransitionTable[ApplicationState] = TransitionTable(
    "participant",
    {
        ApplicationState.SUBMITTED: [ApplicationState.APPROVED, ApplicationState.REJECTED],
        ApplicationState.APPROVED: [ApplicationState.ACTIVE, ApplicationState.REVOKED],
        ApplicationState.ACTIVE: [ApplicationState.SUSPENDED, ApplicationState.REVOKED],
        ApplicationState.SUSPENDED: [ApplicationState.ACTIVE, ApplicationState.REVOKED],
    },
    initial=[ApplicationState.SUBMITTED],
    terminal=[ApplicationState.REJECTED, ApplicationState.REVOKED],
)


class Role(StrEnum):
    """What a participant may do in the data space."""

    PROVIDER = "provider"
    CONSUMER = "consumer"
    MARKETPLACE = "marketplace"


_ORG_NUMBER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 .\-/]{1,39}$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")
_DID = re.compile(r"^did:(web|key):[A-Za-z0-9._:%\-]+$")


class Contact(BaseModel):
    """Who to talk to at the participant."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    email: EmailStr


class Application(BaseModel):
    """What an applicant submits (the proof of DID control travels beside it)."""

    model_config = ConfigDict(extra="forbid")

    legal_name: str = Field(min_length=2, max_length=200)
    organisation_number: str = Field(description="National register number, e.g. 940 192 226.")
    country: str = Field(description="ISO 3166-1 alpha-2 country code.")
    did: str = Field(description="The participant's DID (did:web; did:key in development).")
    contact: Contact
    roles: list[Role] = Field(min_length=1, max_length=3)

    @field_validator("organisation_number")
    @classmethod
    def _org_number(cls, value: str) -> str:
        if not _ORG_NUMBER.match(value):
            raise ValueError("organisation number must be 2-40 letters, digits, spaces or .-/")
        return value

    @field_validator("country")
    @classmethod
    def _country(cls, value: str) -> str:
        if not _COUNTRY.match(value):
            raise ValueError("country must be an ISO 3166-1 alpha-2 code such as NO")
        return value

    @field_validator("did")
    @classmethod
    def _did(cls, value: str) -> str:
        if not _DID.match(value) or len(value) > 500:
            raise ValueError("did must be a did:web or did:key identifier")
        return value

    @field_validator("roles")
    @classmethod
    def _unique_roles(cls, value: list[Role]) -> list[Role]:
        if len(set(value)) != len(value):
            raise ValueError("roles must not repeat")
        return value


class Participant(BaseModel):
    """An application and what became of it."""

    id: str
    legal_name: str
    organisation_number: str
    country: str
    did: str
    contact: Contact
    roles: list[Role]
    state: ApplicationState
    submitted_at: datetime
    updated_at: datetime
    member_since: datetime | None = None


class AuditAction(StrEnum):
    """What an audit event records: a transition, or a step that changes no state."""

    APPLIED = "applied"
    APPROVED = "approved"
    CREDENTIAL_ISSUED = "credential-issued"
    REJECTED = "rejected"
    SUSPENDED = "suspended"
    REINSTATED = "reinstated"
    REVOKED = "revoked"
    #: The participant's wallet collected the credential of its offer (no state change).
    CREDENTIAL_COLLECTED = "credential-collected"

    @classmethod
    def of_transition(
        cls, from_state: ApplicationState | None, to_state: ApplicationState
    ) -> AuditAction:
        """The action a transition records (the action of events stored before it was kept)."""
        if to_state is ApplicationState.ACTIVE:
            return cls.REINSTATED if from_state is ApplicationState.SUSPENDED \
                else cls.CREDENTIAL_ISSUED
        return {
            ApplicationState.SUBMITTED: cls.APPLIED,
            ApplicationState.APPROVED: cls.APPROVED,
            ApplicationState.REJECTED: cls.REJECTED,
            ApplicationState.SUSPENDED: cls.SUSPENDED,
            ApplicationState.REVOKED: cls.REVOKED,
        }[to_state]


class AuditEvent(BaseModel):
    """One event of a participant's history: who did what, when, and why.

    A transition moves ``from_state`` to ``to_state``; a step that changes
    no state (a credential collected) has both the same. ``actor`` is the
    applicant's DID, the signed-in operator's email, ``api-key`` for the
    admin API, or the collecting wallet's DID. ``detail`` keeps particulars
    (the offer and credential an approval made).
    """

    participant_id: str
    action: AuditAction
    from_state: ApplicationState | None
    to_state: ApplicationState
    actor: str
    reason: str | None
    at: datetime
    detail: dict[str, str] | None = None

    @property
    def is_transition(self) -> bool:
        """Whether the event changed the participant's state."""
        return self.from_state != self.to_state


def membership_claims(participant: Participant, at: datetime) -> dict[str, object]:
    """The MembershipCredential subject claims of ``participant`` (``at``: when first a member)."""
    since = (participant.member_since or at).replace(microsecond=0)
    return {
        "legalName": participant.legal_name,
        "organisationNumber": participant.organisation_number,
        "country": participant.country,
        "roles": [str(r) for r in participant.roles],
        "memberSince": since.isoformat().replace("+00:00", "Z"),
    }
