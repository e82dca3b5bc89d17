"""The standing check: a provider's running transfers end when the consumer's credentials lapse.

A consumer proves its membership (and, for paid data, its purchase) with DCP
when it asks for a transfer; each DSP request after that is checked afresh.
But a pull transfer's data flows without DSP requests: without this check a
participant the operator revoked would keep pulling data as long as it kept
refreshing its access token. So every ``interval`` seconds (one status-list
refresh by default) the check walks the live transfers we provide
(REQUESTED, STARTED, SUSPENDED), and for the credentials each consumer stood
on when it asked for (or resumed) the transfer (their
:class:`~connector.domain.caller.Standing`) asks:

* is a credential's ``validUntil`` past? (``credential-expired``)
* is its revocation or suspension bit set in its status list, refreshed at
  most once per ``status_list_ttl``? (``credential-revoked``,
  ``credential-suspended``)
* does the trusted-issuers registry still accredit its issuer for one of its
  types? (``issuer-not-trusted``)

A transfer whose consumer fails one is terminated through the control plane
(DSP TransferTerminationMessage to the consumer, then the data plane stops
the flow and its tokens at once), with the code and a reason. Suspension
also terminates: the agreement stays, and a reinstated participant starts a
new transfer under it, proving its standing again.

The check fails open for what it cannot learn: a status list or registry
that cannot be fetched leaves the transfer running (and is logged), so an
outage of the trust anchor does not cut every running transfer. New DSP
requests still fail closed in that case.

Every replica runs the check; a transfer two replicas end at once is ended
once (the loser finds it TERMINATED).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from dataclasses import dataclass

import structlog

from connector.domain.caller import Standing
from connector.domain.negotiation import Role
from connector.domain.transfer import Transfer, TransferAction, TransferState
from connector.services.transfers import TransferService
from connector.trust import Trust
from servicekit.clock import Clock, system_clock
from servicekit.errors import Conflict, DataspaceError, NotFound

__all__ = ["Lapse", "StandingCheck"]

_log = structlog.get_logger("connector.standing")

_LIVE = (TransferState.REQUESTED.value, TransferState.STARTED.value,
         TransferState.SUSPENDED.value)
_PAGE = 500


@dataclass(frozen=True, slots=True)
class Lapse:
    """Why a consumer no longer stands where it stood: a code and a reason."""

    code: str
    reason: str


class StandingCheck:
    """Terminates live transfers whose consumer's credentials have lapsed (module docstring)."""

    def __init__(
        self,
        transfers: TransferService,
        trust: Trust,
        *,
        interval: float,
        clock: Clock = system_clock,
    ) -> None:
        self._transfers = transfers
        self._trust = trust
        self.interval = interval
        self._clock = clock

    async def lapse(self, standing: Sequence[Standing]) -> Lapse | None:
        """The first way ``standing`` no longer holds; ``None`` if it holds (or is unknown)."""
        now = self._clock()
        for item in standing:
            kind = next(iter(item.types), "credential")
            if item.valid_until is not None and item.valid_until <= now:
                return Lapse("credential-expired", f"the consumer's {kind} has expired")
            try:
                for entry in item.status:
                    result = await self._trust.status.check(entry, self._trust.credentials,
                                                            issuer=item.issuer)
                    if result.revoked:
                        return Lapse("credential-revoked",
                                     f"the consumer's {kind} has been revoked")
                    if result.suspended:
                        return Lapse("credential-suspended",
                                     f"the consumer's {kind} is suspended")
                registry = self._trust.registry
                if registry is not None and item.types:
                    decisions = [await registry.check(item.issuer, t) for t in item.types]
                    if not any(decisions):
                        return Lapse("issuer-not-trusted", f"the issuer of the consumer's "
                                     f"{kind} is no longer trusted for it "
                                     f"({decisions[0].reason})")
            except DataspaceError as exc:
                # cannot tell now (list or registry unreachable, or not verifiable): keep going
                _log.warning("standing_unknown", issuer=item.issuer, code=exc.code,
                             error=str(exc))
        return None

    async def check(self) -> list[str]:
        """One pass over the live transfers we provide; the ids terminated."""
        ended: list[str] = []
        seen: dict[str, Lapse | None] = {}
        offset = 0
        while True:
            page = await self._transfers.find(role=Role.PROVIDER, states=_LIVE, limit=_PAGE,
                                              offset=offset)
            for transfer in page:
                if await self._end_if_lapsed(transfer, seen):
                    ended.append(transfer.id)
            if len(page) < _PAGE:
                return ended
            offset += _PAGE

    async def _end_if_lapsed(self, transfer: Transfer, seen: dict[str, Lapse | None]) -> bool:
        if not transfer.standing:
            return False  # authenticated without credentials (fixed tokens, the TCK)
        standing = Standing.list_from_json(transfer.standing)
        key = repr(standing)
        if key not in seen:
            seen[key] = await self.lapse(standing)
        lapse = seen[key]
        if lapse is None:
            return False
        try:
            await self._transfers.act(transfer.id, TransferAction.TERMINATE, code=lapse.code,
                                      reason=lapse.reason)
        except (Conflict, NotFound):
            return False  # ended meanwhile (by the peer, the owner or another replica)
        _log.info("transfer_terminated_standing", transfer=transfer.id,
                  consumer=transfer.counterparty_id, code=lapse.code)
        return True

    async def run(self, stopping: asyncio.Event) -> None:
        """Check every ``interval`` seconds until ``stopping`` is set (a background task)."""
        while not stopping.is_set():
            try:
                await self.check()
            except Exception:
                _log.exception("standing_check_failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), timeout=self.interval)
