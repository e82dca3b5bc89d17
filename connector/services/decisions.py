"""What we do next in a process: the default decisions, or a TCK script's.

Default decisions:

* provider, on a (counter-)request: agree when the requested terms are our
  offer's, the offer is approved automatically and its policy is satisfied
  by the caller's verified claims; otherwise wait for the owner (approve,
  counter-offer or terminate). On ACCEPTED: agree. On VERIFIED: finalize.
* consumer, on an offer equal to what we asked for: accept; on another
  offer: wait for the owner. On an agreement matching the last offer:
  verify; on one that does not: terminate.
* transfer provider, on a request: start at once.

A script (:class:`NegotiationScript`, :class:`TransferScript`) overrides
them event by event.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

import structlog
from sqlalchemy.ext.asyncio import AsyncConnection

from connector.domain.caller import Caller
from connector.domain.catalog import policy_body
from connector.domain.negotiation import Negotiation, NegotiationAction, NegotiationEvent
from connector.domain.policy import check_offer
from connector.domain.process import Role
from connector.domain.transfer import Transfer, TransferAction, TransferEvent
from connector.services.steps import WAIT, Step
from connector.store import catalog as catalog_store

__all__ = [
    "NegotiationScript",
    "TransferScript",
    "negotiation_steps",
    "same_terms",
    "transfer_steps",
]

_log = structlog.get_logger("connector.negotiations")
_A = NegotiationAction
_E = NegotiationEvent
#: The fixed answers to an event: the action when the facts say "same", and otherwise.
_ANSWERS: dict[NegotiationEvent, tuple[str, str]] = {
    _E.ACCEPTED: (_A.AGREE.value, _A.AGREE.value),
    _E.VERIFIED: (_A.FINALIZE.value, _A.FINALIZE.value),
    _E.OFFERED: (_A.ACCEPT.value, WAIT),
    _E.AGREED: (_A.VERIFY.value, _A.TERMINATE.value),
}


class NegotiationScript(Protocol):
    """Overrides the default decisions (the TCK's scripted counter-party behaviour)."""

    def negotiation_steps(self, negotiation: Negotiation, event: str) -> list[Step] | None:
        """The steps for ``event``, or None to use the default decision."""
        ...


class TransferScript(Protocol):
    """Overrides the default decisions (the TCK's scripted counter-party behaviour)."""

    def transfer_steps(self, transfer: Transfer, event: str) -> list[Step] | None:
        """The steps for ``event``, or None to use the default decision."""
        ...


def same_terms(a: Mapping[str, Any] | None, b: Mapping[str, Any] | None) -> bool:
    """True when both policies grant the same (their ODRL bodies are equal)."""
    return a is not None and b is not None and policy_body(a) == policy_body(b)


async def negotiation_steps(
    conn: AsyncConnection,
    script: NegotiationScript | None,
    current: Negotiation,
    event: NegotiationEvent,
    facts: Mapping[str, Any],
) -> list[Step]:
    """What we do about ``event``: the script's steps, else the default decision."""
    if script is not None:
        named = "counter-requested" if facts.get("counter") else event.value
        steps = script.negotiation_steps(current, named)
        if steps is not None:
            return steps
    if event is _E.REQUESTED:
        return [Step(await _provider_verdict(conn, current))]
    if event in _ANSWERS:
        same, otherwise = _ANSWERS[event]
        return [Step(same if facts.get("same") else otherwise)]
    return []


async def _provider_verdict(conn: AsyncConnection, current: Negotiation) -> str:
    """AGREE when the request can be granted automatically, else WAIT for the owner."""
    offer = await catalog_store.get_offer(conn, current.offer_id or "")
    if offer is None or not same_terms(offer.policy, current.offer):
        return WAIT
    if offer.approval.value != "auto":
        return WAIT
    caller = Caller.from_summary(current.caller or {"id": current.counterparty_id})
    verdict = check_offer(offer.id, offer.policy, target=offer.dataset_id, caller=caller)
    if verdict.satisfied:
        return _A.AGREE.value
    _log.info("negotiation_needs_approval", negotiation=current.id,
              reasons=list(verdict.reasons))
    return WAIT


def transfer_steps(script: TransferScript | None, current: Transfer,
                   event: TransferEvent) -> list[Step]:
    """What we do about ``event``: the script's steps, else the default decision."""
    if script is not None:
        steps = script.transfer_steps(current, event.value)
        if steps is not None:
            return steps
    if event is TransferEvent.REQUESTED and current.role is Role.PROVIDER:
        return [Step(TransferAction.START.value)]
    return []
