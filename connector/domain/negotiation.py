"""Contract negotiation: the DSP 2025-1 state machine and the negotiation record.

One :data:`NEGOTIATION_TRANSITIONS` table is the single authority for both
roles (the spec's machine is shared; which side sends which message is the
protocol layer's concern)::

    (none) ─► REQUESTED ─► OFFERED ─► ACCEPTED ─► AGREED ─► VERIFIED ─► FINALIZED
    (none) ─► OFFERED      REQUESTED ─► AGREED
                           OFFERED ─► REQUESTED (counter-request)
    every non-terminal state ─► TERMINATED

FINALIZED and TERMINATED are terminal. :class:`NegotiationAction` names what
a party decides to do next; :data:`NEGOTIATIONS` is the action table: the
state each action moves the negotiation to, the message it sends, the path
it goes to and who may take it (the message is sent after the commit by the
job queue).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict

from connector.domain.process import Move, ProcessTable, Role
from servicekit.statemachine import TransitionTable

__all__ = [
    "NEGOTIATIONS",
    "NEGOTIATION_TRANSITIONS",
    "Negotiation",
    "NegotiationAction",
    "NegotiationEvent",
    "NegotiationState",
    "Role",
]


class NegotiationState(StrEnum):
    """DSP 2025-1 contract negotiation states."""

    REQUESTED = "REQUESTED"
    OFFERED = "OFFERED"
    ACCEPTED = "ACCEPTED"
    AGREED = "AGREED"
    VERIFIED = "VERIFIED"
    FINALIZED = "FINALIZED"
    TERMINATED = "TERMINATED"


_S = NegotiationState
NEGOTIATION_TRANSITIONS: TransitionTable[NegotiationState] = TransitionTable(
    "contract negotiation",
    {
        _S.REQUESTED: (_S.OFFERED, _S.AGREED, _S.TERMINATED),
        _S.OFFERED: (_S.REQUESTED, _S.ACCEPTED, _S.TERMINATED),
        _S.ACCEPTED: (_S.AGREED, _S.TERMINATED),
        _S.AGREED: (_S.VERIFIED, _S.TERMINATED),
        _S.VERIFIED: (_S.FINALIZED, _S.TERMINATED),
    },
    initial=(_S.REQUESTED, _S.OFFERED),
    terminal=(_S.FINALIZED, _S.TERMINATED),
)


class NegotiationEvent(StrEnum):
    """What just happened to a negotiation, that a party may react to."""

    INITIATED = "initiated"  # consumer: our first request is on its way
    REQUESTED = "requested"  # provider: a (counter-)request arrived
    OFFERED = "offered"  # consumer: an offer arrived
    ACCEPTED = "accepted"  # provider: the consumer accepted our offer
    AGREED = "agreed"  # consumer: the agreement arrived
    VERIFIED = "verified"  # provider: the consumer verified the agreement


class NegotiationAction(StrEnum):
    """What a party does next; each one sends one DSP message."""

    OFFER = "offer"  # provider: (counter-)offer
    AGREE = "agree"  # provider: send the agreement
    FINALIZE = "finalize"  # provider: FINALIZED event
    REQUEST = "request"  # consumer: (counter-)request
    ACCEPT = "accept"  # consumer: ACCEPTED event
    VERIFY = "verify"  # consumer: agreement verification
    TERMINATE = "terminate"  # either side


_A = NegotiationAction
_P, _C = Role.PROVIDER, Role.CONSUMER
_EVENT = "ContractNegotiationEventMessage"
#: Each action: the state it reaches, the message it sends, where, and who takes it.
NEGOTIATIONS: ProcessTable[NegotiationState, NegotiationAction] = ProcessTable(
    "negotiation",
    "negotiations",
    NEGOTIATION_TRANSITIONS,
    {
        _A.OFFER: Move(_S.OFFERED, "ContractOfferMessage", "/offers", _P),
        _A.AGREE: Move(_S.AGREED, "ContractAgreementMessage", "/agreement", _P),
        _A.FINALIZE: Move(_S.FINALIZED, _EVENT, "/events", _P, event_type="FINALIZED"),
        _A.REQUEST: Move(_S.REQUESTED, "ContractRequestMessage", "/request", _C),
        _A.ACCEPT: Move(_S.ACCEPTED, _EVENT, "/events", _C, event_type="ACCEPTED"),
        _A.VERIFY: Move(_S.VERIFIED, "ContractAgreementVerificationMessage",
                        "/agreement/verification", _C),
        _A.TERMINATE: Move(_S.TERMINATED, "ContractNegotiationTerminationMessage",
                           "/termination", reason=True),
    },
    NegotiationAction,
    cleared={"awaiting": None},
)


class Negotiation(BaseModel):
    """One contract negotiation as this connector keeps it.

    ``id`` is our own process id: the providerPid when we are the provider,
    the consumerPid when we are the consumer. ``counterparty_address`` is
    where we send messages: the consumer's callback address, or the
    provider's DSP base URL. ``offer`` is the latest offer exchanged;
    ``awaiting`` says whose move it is when nothing happens automatically
    (``owner`` = waiting for the owner's approval).
    """

    model_config = ConfigDict(frozen=True)

    id: str
    role: Role
    state: NegotiationState
    provider_pid: str | None
    consumer_pid: str | None
    counterparty_id: str
    counterparty_address: str
    dataset_id: str | None = None
    offer_id: str | None = None
    offer: dict[str, Any] | None = None
    agreement_id: str | None = None
    caller: dict[str, Any] | None = None
    awaiting: str | None = None
    error_code: str | None = None
    error_reason: str | None = None
    created_at: float
    updated_at: float
    version: int = 0

    def can_take(self, action: NegotiationAction) -> bool:
        """True when ``action`` is this role's to take from the current state."""
        return NEGOTIATIONS.may_take(self.role, self.state, action)

    def pids(self) -> tuple[str, str]:
        """(providerPid, consumerPid) as messages carry them (empty when not known yet)."""
        return self.provider_pid or "", self.consumer_pid or ""
