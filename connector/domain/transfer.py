"""Transfer process: the DSP 2025-1 state machine and the transfer record.

One :data:`TRANSFER_TRANSITIONS` table is the single authority for both
roles::

    (none) ─► REQUESTED ─► STARTED ─► COMPLETED
                           STARTED ◄─► SUSPENDED
    REQUESTED, STARTED, SUSPENDED ─► TERMINATED

A suspended process must be started again before it can complete; COMPLETED
and TERMINATED are terminal.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict

from connector.domain.process import Move, ProcessTable, Role
from servicekit.statemachine import TransitionTable

__all__ = [
    "PULL_FORMAT",
    "TRANSFERS",
    "TRANSFER_TRANSITIONS",
    "Transfer",
    "TransferAction",
    "TransferEvent",
    "TransferState",
]

#: The one transfer type the control plane offers: HTTP pull through the data plane.
PULL_FORMAT = "HttpData-PULL"


class TransferState(StrEnum):
    """DSP 2025-1 transfer process states."""

    REQUESTED = "REQUESTED"
    STARTED = "STARTED"
    SUSPENDED = "SUSPENDED"
    COMPLETED = "COMPLETED"
    TERMINATED = "TERMINATED"


_S = TransferState
TRANSFER_TRANSITIONS: TransitionTable[TransferState] = TransitionTable(
    "transfer process",
    {
        _S.REQUESTED: (_S.STARTED, _S.TERMINATED),
        _S.STARTED: (_S.SUSPENDED, _S.COMPLETED, _S.TERMINATED),
        _S.SUSPENDED: (_S.STARTED, _S.TERMINATED),
    },
    initial=(_S.REQUESTED,),
    terminal=(_S.COMPLETED, _S.TERMINATED),
)


class TransferEvent(StrEnum):
    """What just happened to a transfer, that a party may react to."""

    INITIATED = "initiated"  # consumer: our request is on its way
    REQUESTED = "requested"  # provider: a transfer request arrived
    STARTED = "started"  # consumer: the provider started (or resumed) the transfer


class TransferAction(StrEnum):
    """What a party does next; each one sends one DSP message."""

    START = "start"
    SUSPEND = "suspend"
    COMPLETE = "complete"
    TERMINATE = "terminate"


_A = TransferAction
#: Each action: the state it reaches, the message it sends and where (either side takes it;
#: only the provider starts from REQUESTED, see :meth:`Transfer.can_take`).
TRANSFERS: ProcessTable[TransferState, TransferAction] = ProcessTable(
    "transfer",
    "transfers",
    TRANSFER_TRANSITIONS,
    {
        _A.START: Move(_S.STARTED, "TransferStartMessage", "/start"),
        _A.SUSPEND: Move(_S.SUSPENDED, "TransferSuspensionMessage", "/suspension", reason=True),
        _A.COMPLETE: Move(_S.COMPLETED, "TransferCompletionMessage", "/completion"),
        _A.TERMINATE: Move(_S.TERMINATED, "TransferTerminationMessage", "/termination",
                           reason=True),
    },
    TransferAction,
)


class Transfer(BaseModel):
    """One transfer process as this connector keeps it.

    ``id`` is our own process id (providerPid as provider, consumerPid as
    consumer). ``data_address`` is, on the consumer side, the endpoint data
    reference the provider sent with its start message. ``standing`` is, on
    the provider side, what the consumer's credentials were when it asked for
    (or resumed) the transfer (:class:`~connector.domain.caller.Standing` as
    JSON): the standing check ends the transfer when that no longer holds.
    """

    model_config = ConfigDict(frozen=True)

    id: str
    role: Role
    state: TransferState
    provider_pid: str | None
    consumer_pid: str | None
    agreement_id: str
    dataset_id: str | None = None
    counterparty_id: str
    counterparty_address: str
    format: str
    data_address: dict[str, Any] | None = None
    error_code: str | None = None
    error_reason: str | None = None
    standing: list[dict[str, Any]] | None = None
    created_at: float
    updated_at: float
    version: int = 0

    def can_take(self, action: TransferAction) -> bool:
        """True when the state machine allows ``action`` now.

        Only the provider starts a process from REQUESTED; resuming a
        suspended one is open to both sides.
        """
        if (
            action is TransferAction.START
            and self.state is TransferState.REQUESTED
            and self.role is not Role.PROVIDER
        ):
            return False
        return TRANSFERS.may_take(self.role, self.state, action)

    def pids(self) -> tuple[str, str]:
        """(providerPid, consumerPid) as messages carry them."""
        return self.provider_pid or "", self.consumer_pid or ""
