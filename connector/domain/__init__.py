"""The connector's domain: state machines, records and pure decisions (no aiohttp, no SQL)."""

from connector.domain.caller import Caller
from connector.domain.negotiation import (
    NEGOTIATION_TRANSITIONS,
    Negotiation,
    NegotiationAction,
    NegotiationEvent,
    NegotiationState,
    Role,
)
from connector.domain.transfer import (
    TRANSFER_TRANSITIONS,
    Transfer,
    TransferAction,
    TransferEvent,
    TransferState,
)

__all__ = [
    "NEGOTIATION_TRANSITIONS",
    "TRANSFER_TRANSITIONS",
    "Caller",
    "Negotiation",
    "NegotiationAction",
    "NegotiationEvent",
    "NegotiationState",
    "Role",
    "Transfer",
    "TransferAction",
    "TransferEvent",
    "TransferState",
]
