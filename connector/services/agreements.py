"""Ending an agreement: no new transfers under it, and its live transfers terminated.

Either role may end an agreement it holds: the provider (it stops serving
the consumer) or the consumer (it stops using it). The agreement is marked
terminated first, so a transfer request arriving meanwhile is refused; then
each of its live transfers is terminated as the owner would (the peer is
told, and the data plane stops serving it).
"""

from __future__ import annotations

import time

import structlog

from connector.core import ControlPlane
from connector.domain.transfer import TRANSFERS, TransferAction, TransferState
from connector.errors import ProcessNotFound
from connector.services.transfers import TransferService
from connector.store import processes
from connector.store.agreements import Agreement, get_agreement, terminate_agreement
from servicekit.errors import Conflict

__all__ = ["LIVE_TRANSFER_STATES", "AgreementTermination"]

#: The transfer states a terminated agreement's transfers leave (every non-final one).
LIVE_TRANSFER_STATES = tuple(state.value for state in TransferState
                             if not TRANSFERS.transitions.is_terminal(state))

_log = structlog.get_logger("connector.agreements")


class AgreementTermination:
    """Terminate agreements (see the module docstring)."""

    def __init__(self, plane: ControlPlane, transfers: TransferService) -> None:
        self.plane = plane
        self.transfers = transfers

    async def terminate(self, agreement_id: str, *, code: str,
                        reason: str) -> tuple[Agreement, list[str]]:
        """End ``agreement_id``; returns it and the ids of the transfers terminated."""
        async with self.plane.transaction() as tx:
            found = await get_agreement(tx.conn, agreement_id)
            if found is None:
                raise ProcessNotFound(f"no agreement {agreement_id}",
                                      code="agreement-not-found")
            if not await terminate_agreement(tx.conn, agreement_id, at=time.time(),
                                             reason=reason):
                raise Conflict(f"agreement {agreement_id} is terminated already",
                               code="agreement-terminated")
            live = await processes.TRANSFER_ROWS.list(
                tx.conn, states=LIVE_TRANSFER_STATES, agreement_id=agreement_id, limit=10_000)
        ended = []
        for transfer in live:
            await self.transfers.act(transfer.id, TransferAction.TERMINATE, code=code,
                                     reason=reason)
            ended.append(transfer.id)
        _log.info("agreement_terminated", agreement=agreement_id, transfers=len(ended))
        async with self.plane.read() as conn:
            agreement = await get_agreement(conn, agreement_id)
        assert agreement is not None
        return agreement, ended
