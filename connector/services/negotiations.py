"""Contract negotiation, both roles: inbound DSP messages, owner actions, decisions.

Every change goes through :data:`~connector.domain.negotiation.NEGOTIATION_TRANSITIONS`
and is a compare-and-set on the stored row. An inbound message moves the
negotiation; in the same transaction we decide what we do next (default
rules, or a TCK script) and take the immediate step: the next state plus the
outbound message in the outbox, which its delivery job sends after the
commit, with retries. Steps that wait (a scripted pause) become jobs.
Nothing waits on a peer inside a request.

Default decisions:

* provider, on a (counter-)request: agree when the requested terms are our
  offer's, the offer is approved automatically and its policy is satisfied
  by the caller's verified claims; otherwise wait for the owner (approve,
  counter-offer or terminate). On ACCEPTED: agree. On VERIFIED: finalize.
* consumer, on an offer equal to what we asked for: accept; on another
  offer: wait for the owner. On an agreement matching the last offer:
  verify; on one that does not: terminate.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol, TypeVar

import structlog

from connector.core import ControlPlane, Tx, new_pid
from connector.domain.caller import Caller
from connector.domain.catalog import policy_body, rfc3339
from connector.domain.negotiation import (
    ACTION_TARGET,
    NEGOTIATION_TRANSITIONS,
    Negotiation,
    NegotiationAction,
    NegotiationEvent,
    NegotiationState,
    Role,
)
from connector.domain.policy import check_offer, required_credentials
from connector.errors import PeerError, ProcessNotFound, UnknownOffer
from connector.protocol import messages
from connector.protocol.schemas import validate_message
from connector.services.addresses import check_callback, check_counterparty
from connector.services.catalog import CatalogService
from connector.services.delivery import DspClient
from connector.services.steps import WAIT, Step, steps_from_payload, steps_to_payload
from connector.store import catalog as catalog_store
from connector.store import processes
from connector.store.agreements import Agreement, get_agreement, insert_agreement
from servicekit.errors import IllegalTransition, InvalidRequest
from servicekit.jobs import Job

__all__ = ["STEPS_JOB", "NegotiationScript", "NegotiationService", "retrying"]

STEPS_JOB = "connector.negotiation.steps"
PROVIDER_PID = "{providerPid}"
CONSUMER_PID = "{consumerPid}"

_log = structlog.get_logger("connector.negotiations")
_A = NegotiationAction
_S = NegotiationState


class NegotiationScript(Protocol):
    """Overrides the default decisions (the TCK's scripted counter-party behaviour)."""

    def negotiation_steps(self, negotiation: Negotiation, event: str) -> list[Step] | None:
        """The steps for ``event``, or None to use the default decision."""
        ...


def _same_terms(a: Mapping[str, Any] | None, b: Mapping[str, Any] | None) -> bool:
    return a is not None and b is not None and policy_body(a) == policy_body(b)


T = TypeVar("T")


async def retrying(attempt: Callable[[], Awaitable[T]], tries: int = 4) -> T:
    """Run ``attempt`` again when a concurrent change made its read stale."""
    for _ in range(tries - 1):
        try:
            return await attempt()
        except processes.StaleProcess:
            continue
    return await attempt()


class NegotiationService:
    """All contract negotiation behaviour of one connector."""

    def __init__(
        self,
        plane: ControlPlane,
        catalog: CatalogService,
        script: NegotiationScript | None = None,
    ) -> None:
        self.plane = plane
        self.catalog = catalog
        self.script = script
        plane.runner.register(STEPS_JOB, self._steps_job)

    # --- reading -------------------------------------------------------------------

    async def get(self, negotiation_id: str) -> Negotiation:
        """Our negotiation ``negotiation_id`` (owner view)."""
        async with self.plane.read() as conn:
            found = await processes.get_negotiation(conn, negotiation_id)
        if found is None:
            raise ProcessNotFound(f"no negotiation {negotiation_id}")
        return found

    async def get_for_caller(self, caller: Caller, pid: str) -> Negotiation:
        """The negotiation ``pid`` if ``caller`` is its counter-party, else 404."""
        async with self.plane.read() as conn:
            found = await processes.get_negotiation(conn, pid)
        return self._owned(found, caller, pid)

    @staticmethod
    def _owned(found: Negotiation | None, caller: Caller, pid: str) -> Negotiation:
        if found is None or found.counterparty_id != caller.id:
            raise ProcessNotFound(f"no negotiation {pid} with you")
        return found

    async def find(self, **filters: Any) -> list[Negotiation]:
        """Negotiations for the owner, newest first."""
        async with self.plane.read() as conn:
            return await processes.list_negotiations(conn, **filters)

    async def agreement(self, agreement_id: str) -> Agreement:
        """A stored agreement."""
        async with self.plane.read() as conn:
            found = await get_agreement(conn, agreement_id)
        if found is None:
            raise ProcessNotFound(f"no agreement {agreement_id}", code="agreement-not-found")
        return found

    async def credentials_for_offer(self, offer_id: str | None) -> frozenset[str]:
        """The credential types a caller must prove to request our offer ``offer_id``.

        What the offer's policy names; nothing for an unknown offer (the
        request is refused later, as for anyone).
        """
        if not offer_id:
            return frozenset()
        async with self.plane.read() as conn:
            offer = await catalog_store.get_offer(conn, offer_id)
        if offer is None:
            return frozenset()
        return required_credentials(offer.id, offer.policy, target=offer.dataset_id)

    async def credentials_for_negotiation(self, pid: str) -> frozenset[str]:
        """The credential types a counter-request in our negotiation ``pid`` needs."""
        async with self.plane.read() as conn:
            found = await processes.get_negotiation(conn, pid)
        if found is None or found.role is not Role.PROVIDER:
            return frozenset()
        return await self.credentials_for_offer(found.offer_id)

    # --- inbound, provider -----------------------------------------------------------

    async def on_request(self, caller: Caller, message: Mapping[str, Any]) -> tuple[
        Negotiation, bool
    ]:
        """An initial ContractRequestMessage; returns the negotiation and whether it is new."""
        if message.get("providerPid"):
            raise InvalidRequest(
                "a request naming a providerPid goes to /negotiations/{providerPid}/request",
                code="counter-request-misrouted",
            )
        callback = await check_callback(self.plane, message.get("callbackAddress"))
        offer_in = dict(message["offer"])
        offer = await self.catalog.offer_for(caller, str(offer_in.get("@id", "")))
        target = offer_in.get("target", offer.dataset_id)
        if target != offer.dataset_id:
            raise UnknownOffer(f"offer {offer.id} is not an offer of {target}")
        offer_in["target"] = offer.dataset_id
        consumer_pid = str(message["consumerPid"])
        now = time.time()
        negotiation = Negotiation(
            id=new_pid(),
            role=Role.PROVIDER,
            state=NEGOTIATION_TRANSITIONS.check(None, _S.REQUESTED),
            provider_pid=None,
            consumer_pid=consumer_pid,
            counterparty_id=caller.id,
            counterparty_address=callback,
            dataset_id=offer.dataset_id,
            offer_id=offer.id,
            offer=offer_in,
            caller=caller.summary(),
            created_at=now,
            updated_at=now,
        )
        negotiation = negotiation.model_copy(update={"provider_pid": negotiation.id})
        async with self.plane.transaction() as tx:
            existing = await processes.list_negotiations(tx.conn, role=Role.PROVIDER, limit=1,
                                                         consumer_pid=consumer_pid,
                                                         counterparty_id=caller.id)
            if existing:
                return existing[0], False
            await processes.insert_negotiation(tx.conn, negotiation)
            tx.record(negotiation.id, negotiation.state.value)
            await self._react(tx, negotiation, NegotiationEvent.REQUESTED, {})
        _log.info("negotiation_requested", negotiation=negotiation.id, caller=caller.id,
                  offer=offer.id)
        return negotiation, True

    async def _inbound(
        self,
        caller: Caller,
        pid: str,
        message: Mapping[str, Any],
        *,
        role: Role,
        target: NegotiationState,
        event: NegotiationEvent | None = None,
        changes: Callable[[Negotiation], dict[str, Any]] | None = None,
        facts: Callable[[Negotiation], dict[str, Any]] | None = None,
        before: Callable[[Tx, Negotiation], Awaitable[None]] | None = None,
    ) -> Negotiation:
        async def attempt() -> Negotiation:
            async with self.plane.transaction() as tx:
                current = self._owned(await processes.get_negotiation(tx.conn, pid), caller, pid)
                if current.role is not role:
                    raise ProcessNotFound(
                        f"negotiation {pid} is not one where we are the {role.value}"
                    )
                update = self._pid_updates(current, message)
                NEGOTIATION_TRANSITIONS.check(current.state, target)
                if changes is not None:
                    update |= changes(current)
                if before is not None:
                    await before(tx, current)
                updated = await processes.update_negotiation(
                    tx.conn, current, state=target, awaiting=None, **update
                )
                tx.record(pid, target.value)
                if event is not None:
                    await self._react(tx, updated, event,
                                      facts(current) if facts is not None else {})
                return updated

        updated = await retrying(attempt)
        _log.info("negotiation_moved", negotiation=pid, state=target.value, by="counter-party")
        return updated

    @staticmethod
    def _pid_updates(current: Negotiation, message: Mapping[str, Any]) -> dict[str, Any]:
        """Check the message's pids against ours; learn the peer's pid if we lacked it."""
        ours, theirs = (
            ("providerPid", "consumerPid") if current.role is Role.PROVIDER
            else ("consumerPid", "providerPid")
        )
        if message.get(ours) not in (None, current.id):
            raise InvalidRequest(f"{ours} does not match this negotiation", code="pid-mismatch")
        known = current.consumer_pid if current.role is Role.PROVIDER else current.provider_pid
        given = message.get(theirs)
        if known and given not in (None, known):
            raise InvalidRequest(f"{theirs} does not match this negotiation",
                                 code="pid-mismatch")
        if not known and isinstance(given, str) and given:
            return {"provider_pid": given} if theirs == "providerPid" else {"consumer_pid": given}
        return {}

    async def on_counter_request(self, caller: Caller, pid: str,
                                 message: Mapping[str, Any]) -> Negotiation:
        """A ContractRequestMessage for an existing negotiation (a counter-request)."""
        offer = dict(message["offer"])

        def changes(current: Negotiation) -> dict[str, Any]:
            offer.setdefault("target", current.dataset_id)
            if offer["target"] != current.dataset_id:
                raise InvalidRequest("a counter-request must keep the dataset",
                                     code="target-mismatch")
            return {"offer": offer, "caller": caller.summary()}

        return await self._inbound(caller, pid, message, role=Role.PROVIDER,
                                   target=_S.REQUESTED, event=NegotiationEvent.REQUESTED,
                                   changes=changes, facts=lambda _c: {"counter": True})

    async def on_event(self, caller: Caller, pid: str, message: Mapping[str, Any]) -> Negotiation:
        """ACCEPTED (to the provider) or FINALIZED (to the consumer)."""
        event_type = message.get("eventType")
        async with self.plane.read() as conn:
            current = self._owned(await processes.get_negotiation(conn, pid), caller, pid)
        if current.role is Role.PROVIDER:
            if event_type != "ACCEPTED":
                raise IllegalTransition(f"a provider does not receive {event_type} events",
                                        code="illegal-transition")
            return await self._inbound(caller, pid, message, role=Role.PROVIDER,
                                       target=_S.ACCEPTED, event=NegotiationEvent.ACCEPTED)
        if event_type != "FINALIZED":
            raise IllegalTransition(f"a consumer does not receive {event_type} events",
                                    code="illegal-transition")
        return await self._inbound(caller, pid, message, role=Role.CONSUMER,
                                   target=_S.FINALIZED)

    async def on_verification(self, caller: Caller, pid: str,
                              message: Mapping[str, Any]) -> Negotiation:
        """ContractAgreementVerificationMessage (to the provider)."""
        return await self._inbound(caller, pid, message, role=Role.PROVIDER,
                                   target=_S.VERIFIED, event=NegotiationEvent.VERIFIED)

    async def on_termination(self, caller: Caller, pid: str,
                             message: Mapping[str, Any]) -> Negotiation:
        """ContractNegotiationTerminationMessage (either role)."""
        async with self.plane.read() as conn:
            current = self._owned(await processes.get_negotiation(conn, pid), caller, pid)
        reason = message.get("reason")
        text = "; ".join(str(r) for r in reason) if isinstance(reason, list) else None
        return await self._inbound(
            caller, pid, message, role=current.role, target=_S.TERMINATED,
            changes=lambda _c: {"error_code": message.get("code") or "terminated-by-peer",
                                "error_reason": text or "terminated by the counter-party"},
        )

    # --- inbound, consumer -----------------------------------------------------------

    async def on_initial_offer(self, caller: Caller, message: Mapping[str, Any]) -> Negotiation:
        """A provider-initiated ContractOfferMessage (POST /negotiations/offers)."""
        callback = await check_callback(self.plane, message.get("callbackAddress"))
        offer = dict(message["offer"])
        now = time.time()
        pid = new_pid()
        negotiation = Negotiation(
            id=pid, role=Role.CONSUMER,
            state=NEGOTIATION_TRANSITIONS.check(None, _S.OFFERED),
            provider_pid=str(message["providerPid"]), consumer_pid=pid,
            counterparty_id=caller.id, counterparty_address=callback,
            dataset_id=str(offer.get("target")), offer_id=str(offer.get("@id")), offer=offer,
            awaiting="owner", created_at=now, updated_at=now,
        )
        async with self.plane.transaction() as tx:
            await processes.insert_negotiation(tx.conn, negotiation)
            tx.record(pid, negotiation.state.value)
            await self._react(tx, negotiation, NegotiationEvent.OFFERED, {"same": False})
        return negotiation

    async def on_offer(self, caller: Caller, pid: str, message: Mapping[str, Any]) -> Negotiation:
        """A ContractOfferMessage for our request."""
        offer = dict(message["offer"])
        return await self._inbound(
            caller, pid, message, role=Role.CONSUMER, target=_S.OFFERED,
            event=NegotiationEvent.OFFERED,
            changes=lambda _c: {"offer": offer, "offer_id": str(offer.get("@id"))},
            facts=lambda current: {"same": _same_terms(current.offer, offer)},
        )

    async def on_agreement(self, caller: Caller, pid: str,
                           message: Mapping[str, Any]) -> Negotiation:
        """A ContractAgreementMessage for our request."""
        agreement = dict(message["agreement"])

        async def store(tx: Tx, current: Negotiation) -> None:
            await insert_agreement(tx.conn, Agreement(
                id=str(agreement["@id"]), negotiation_id=current.id, role=Role.CONSUMER,
                dataset_id=str(agreement.get("target", current.dataset_id)),
                assigner=str(agreement.get("assigner", current.counterparty_id)),
                assignee=str(agreement.get("assignee", self.plane.did)), policy=agreement,
                counterparty_id=current.counterparty_id,
                counterparty_address=current.counterparty_address, created_at=time.time(),
            ))

        return await self._inbound(
            caller, pid, message, role=Role.CONSUMER, target=_S.AGREED,
            event=NegotiationEvent.AGREED,
            changes=lambda _c: {"agreement_id": str(agreement["@id"])},
            facts=lambda current: {
                "same": _same_terms(current.offer, agreement)
                and agreement.get("target") == current.dataset_id
            },
            before=store,
        )

    # --- owner and consumer-initiated --------------------------------------------------

    async def start(
        self,
        *,
        counterparty_address: str,
        counterparty_id: str,
        offer: Mapping[str, Any],
        dataset_id: str | None = None,
    ) -> Negotiation:
        """Ask a provider for a contract on ``offer`` (we are the consumer)."""
        offer = dict(offer)
        target = offer.get("target") or dataset_id
        if not isinstance(target, str) or not target:
            raise InvalidRequest("the offer needs a target (or give dataset_id)",
                                 code="offer-target-missing")
        offer["target"] = target
        offer.setdefault("@type", "Offer")
        if not offer.get("@id"):
            raise InvalidRequest("the offer needs its @id from the provider's catalog",
                                 code="offer-id-missing")
        address = await check_counterparty(self.plane, counterparty_address)
        pid = new_pid()
        message = messages.contract_request(consumer_pid=pid, offer=offer,
                                            callback_address=self.plane.dsp_url)
        validate_message(message)
        now = time.time()
        negotiation = Negotiation(
            id=pid, role=Role.CONSUMER,
            state=NEGOTIATION_TRANSITIONS.check(None, _S.REQUESTED),
            provider_pid=None, consumer_pid=pid, counterparty_id=counterparty_id,
            counterparty_address=address, dataset_id=target, offer_id=str(offer["@id"]),
            offer=offer, created_at=now, updated_at=now,
        )
        async with self.plane.transaction() as tx:
            await processes.insert_negotiation(tx.conn, negotiation)
            tx.record(pid, negotiation.state.value)
            await tx.send(process_kind="negotiation", process_id=pid,
                          url=f"{address}/negotiations/request", audience=counterparty_id,
                          message=message)
            await self._react(tx, negotiation, NegotiationEvent.INITIATED, {})
        _log.info("negotiation_started", negotiation=pid, provider=counterparty_id)
        return negotiation

    async def start_from_catalog(
        self,
        client: DspClient,
        *,
        counterparty_address: str,
        dataset_id: str,
        counterparty_id: str | None = None,
        offer_id: str | None = None,
    ) -> Negotiation:
        """Look the offer (and the provider's participant id) up over DSP, then :meth:`start`."""
        address = counterparty_address.rstrip("/")
        audience = counterparty_id or address
        if counterparty_id is None:
            catalog, _next = await client.catalog(address, audience=audience)
            counterparty_id = str(catalog["participantId"])
            bound = self.plane.auth.participant_id
            if bound is not None and counterparty_id != await bound(address):
                raise PeerError(
                    f"the catalog at {address} names {counterparty_id}, not the participant "
                    "at that address", code="participant-id-mismatch")
        dataset = await client.dataset(address, dataset_id, audience=counterparty_id)
        offers = [o for o in dataset.get("hasPolicy", []) if isinstance(o, dict)]
        chosen = next((o for o in offers if offer_id is None or o.get("@id") == offer_id), None)
        if chosen is None:
            raise UnknownOffer(f"the provider offers no {offer_id or 'offer'} for {dataset_id}")
        return await self.start(counterparty_address=address, counterparty_id=counterparty_id,
                                offer=chosen | {"target": dataset_id})

    async def act(
        self,
        negotiation_id: str,
        action: NegotiationAction,
        *,
        policy: Mapping[str, Any] | None = None,
        code: str | None = None,
        reason: str | None = None,
    ) -> Negotiation:
        """The owner's move: approve (agree), counter-offer, accept, counter-request, terminate."""

        async def attempt() -> Negotiation:
            async with self.plane.transaction() as tx:
                current = await processes.get_negotiation(tx.conn, negotiation_id)
                if current is None:
                    raise ProcessNotFound(f"no negotiation {negotiation_id}")
                offer = None
                if policy is not None:
                    offer = {"@id": new_pid(), "@type": "Offer", "target": current.dataset_id,
                             **policy_body(policy)}
                return await self._apply(tx, current, action, offer=offer, code=code,
                                         reason=reason)

        return await retrying(attempt)

    async def _apply(
        self,
        tx: Tx,
        current: Negotiation,
        action: NegotiationAction,
        *,
        offer: dict[str, Any] | None = None,
        code: str | None = None,
        reason: str | None = None,
    ) -> Negotiation:
        """Take ``action``: move the negotiation and queue its message, in ``tx``."""
        if not current.can_take(action):
            raise IllegalTransition(
                f"a {current.role.value} cannot {action.value} a negotiation in {current.state}",
                extra={"from": current.state.value, "action": action.value},
            )
        target = ACTION_TARGET[action]
        changes: dict[str, Any] = {"state": target, "awaiting": None}
        base = current.counterparty_address
        provider_pid = current.provider_pid or PROVIDER_PID
        consumer_pid = current.consumer_pid or CONSUMER_PID
        if current.role is Role.PROVIDER:
            path = f"{base}/negotiations/{consumer_pid}"
        else:
            path = f"{base}/negotiations/{provider_pid}"
        pids = {"provider_pid": provider_pid, "consumer_pid": consumer_pid}
        if action is _A.OFFER:
            sent = offer or dict(current.offer or {})
            sent.setdefault("target", current.dataset_id)
            changes["offer"] = sent
            message = messages.offer_message(offer=sent, **pids)
            url = f"{path}/offers"
        elif action is _A.AGREE:
            agreement = self._agreement(current)
            await insert_agreement(tx.conn, Agreement(
                id=agreement["@id"], negotiation_id=current.id, role=Role.PROVIDER,
                dataset_id=str(current.dataset_id), assigner=self.plane.did,
                assignee=current.counterparty_id, policy=agreement,
                counterparty_id=current.counterparty_id,
                counterparty_address=current.counterparty_address, created_at=time.time(),
            ))
            changes["agreement_id"] = agreement["@id"]
            message = messages.agreement_message(agreement=agreement, **pids)
            url = f"{path}/agreement"
        elif action is _A.FINALIZE:
            message = messages.event_message(event_type="FINALIZED", **pids)
            url = f"{path}/events"
        elif action is _A.REQUEST:
            sent = offer or dict(current.offer or {})
            changes["offer"] = sent
            changes["offer_id"] = sent.get("@id")
            message = messages.contract_request(offer=sent, **pids)
            url = f"{path}/request"
        elif action is _A.ACCEPT:
            message = messages.event_message(event_type="ACCEPTED", **pids)
            url = f"{path}/events"
        elif action is _A.VERIFY:
            message = messages.verification_message(**pids)
            url = f"{path}/agreement/verification"
        else:
            changes["error_code"] = code or "terminated"
            changes["error_reason"] = reason or f"terminated by the {current.role.value}"
            message = messages.negotiation_termination(code=code, reason=reason, **pids)
            url = f"{path}/termination"
        updated = await processes.update_negotiation(tx.conn, current, **changes)
        tx.record(current.id, target.value)
        await tx.send(process_kind="negotiation", process_id=current.id, url=url,
                      audience=current.counterparty_id, message=message)
        _log.info("negotiation_moved", negotiation=current.id, state=target.value,
                  action=action.value)
        return updated

    def _agreement(self, current: Negotiation) -> dict[str, Any]:
        body = policy_body(current.offer or {})
        return {
            "@id": new_pid(),
            "@type": "Agreement",
            "target": current.dataset_id,
            "assigner": self.plane.did,
            "assignee": current.counterparty_id,
            "timestamp": rfc3339(time.time()),
            **body,
        }

    # --- decisions ---------------------------------------------------------------------

    async def _react(self, tx: Tx, current: Negotiation, event: NegotiationEvent,
                     facts: Mapping[str, Any]) -> None:
        """Decide what we do about ``event``; take the immediate step now, in ``tx``."""
        steps = None
        if self.script is not None:
            named = "counter-requested" if facts.get("counter") else event.value
            steps = self.script.negotiation_steps(current, named)
        if steps is None:
            steps = await self._default_steps(tx, current, event, facts)
        await self._take(tx, current, steps)

    async def _take(self, tx: Tx, current: Negotiation, steps: list[Step]) -> None:
        """Take the first step (unless it waits) and schedule the rest as jobs."""
        if not steps:
            return
        first, rest = steps[0], steps[1:]
        if first.delay > 0:
            await tx.enqueue(STEPS_JOB, {"id": current.id, "steps": steps_to_payload(steps)},
                             delay=first.delay)
            return
        if first.action == WAIT:
            await processes.update_negotiation(tx.conn, current, awaiting="owner")
        else:
            action = NegotiationAction(first.action)
            if not current.can_take(action):
                _log.info("negotiation_step_skipped", negotiation=current.id,
                          action=action.value, state=current.state.value)
                return
            await self._apply(tx, current, action)
        if rest:
            await tx.enqueue(STEPS_JOB, {"id": current.id, "steps": steps_to_payload(rest)},
                             delay=rest[0].delay)

    async def _steps_job(self, job: Job) -> None:
        """Scheduled steps (a scripted pause): take them now."""
        steps = steps_from_payload(job.payload["steps"])
        if steps:
            steps[0] = Step(steps[0].action)

        async def attempt() -> None:
            async with self.plane.transaction() as tx:
                current = await processes.get_negotiation(tx.conn, str(job.payload["id"]))
                if current is None or NEGOTIATION_TRANSITIONS.is_terminal(current.state):
                    return
                await self._take(tx, current, steps)

        await retrying(attempt)

    async def _default_steps(self, tx: Tx, current: Negotiation, event: NegotiationEvent,
                             payload: Mapping[str, Any]) -> list[Step]:
        if event is NegotiationEvent.REQUESTED:
            return [Step(await self._provider_verdict(tx, current))]
        if event is NegotiationEvent.ACCEPTED:
            return [Step(_A.AGREE.value)]
        if event is NegotiationEvent.VERIFIED:
            return [Step(_A.FINALIZE.value)]
        if event is NegotiationEvent.OFFERED:
            return [Step(_A.ACCEPT.value if payload.get("same") else WAIT)]
        if event is NegotiationEvent.AGREED:
            if payload.get("same"):
                return [Step(_A.VERIFY.value)]
            return [Step(_A.TERMINATE.value)]
        return []

    async def _provider_verdict(self, tx: Tx, current: Negotiation) -> str:
        """AGREE when the request can be granted automatically, else WAIT for the owner."""
        offer = await catalog_store.get_offer(tx.conn, current.offer_id or "")
        if offer is None or not _same_terms(offer.policy, current.offer):
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
