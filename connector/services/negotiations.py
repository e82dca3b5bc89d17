"""Contract negotiation, both roles: inbound DSP messages, owner actions, decisions.

Every change goes through :data:`~connector.domain.negotiation.NEGOTIATION_TRANSITIONS`
and is a compare-and-set on the stored row. An inbound message moves the
negotiation; in the same transaction we decide what we do next (default
rules, or a TCK script) and take the immediate step: the next state plus the
outbound message in the outbox, which its delivery job sends after the
commit, with retries. Steps that wait (a scripted pause) become jobs.
Nothing waits on a peer inside a request.

The decisions themselves are in :mod:`connector.services.decisions`.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from connector.core import ControlPlane, Tx, new_pid
from connector.domain.caller import Caller
from connector.domain.catalog import policy_body, rfc3339
from connector.domain.negotiation import (
    NEGOTIATION_TRANSITIONS,
    NEGOTIATIONS,
    Negotiation,
    NegotiationAction,
    NegotiationEvent,
    NegotiationState,
    Role,
)
from connector.domain.policy import required_credentials
from connector.errors import PeerError, ProcessNotFound, UnknownOffer
from connector.protocol import messages
from connector.protocol.schemas import validate_message
from connector.services.addresses import check_callback, check_counterparty
from connector.services.catalog import CatalogService
from connector.services.decisions import NegotiationScript, negotiation_steps, same_terms
from connector.services.delivery import DspClient
from connector.services.lookup import one
from connector.services.process import ProcessService
from connector.store import catalog as catalog_store
from connector.store import processes
from connector.store.agreements import Agreement, get_agreement, insert_agreement, list_agreements
from connector.store.decisions import record_decision
from servicekit.errors import IllegalTransition, InvalidRequest

__all__ = ["STEPS_JOB", "NegotiationScript", "NegotiationService"]

STEPS_JOB = "connector.negotiation.steps"

_A = NegotiationAction
_S = NegotiationState


class NegotiationService(ProcessService[Negotiation, NegotiationState, NegotiationAction]):
    """All contract negotiation behaviour of one connector."""

    kind = NEGOTIATIONS
    rows = processes.NEGOTIATION_ROWS
    steps_job = STEPS_JOB
    waits = True

    def __init__(
        self,
        plane: ControlPlane,
        catalog: CatalogService,
        script: NegotiationScript | None = None,
    ) -> None:
        super().__init__(plane)
        self.catalog = catalog
        self.script = script

    # --- reading -------------------------------------------------------------------

    async def agreement(self, agreement_id: str) -> Agreement:
        """A stored agreement."""
        return await one(self.plane, lambda conn: get_agreement(conn, agreement_id),
                         ProcessNotFound(f"no agreement {agreement_id}",
                                         code="agreement-not-found"))

    async def agreements(self, *, role: Role | None = None, limit: int = 50,
                         offset: int = 0) -> list[Agreement]:
        """Stored agreements (optionally of one role), for the owner."""
        async with self.plane.read() as conn:
            return await list_agreements(conn, role=role, limit=limit, offset=offset)

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
            found = await processes.NEGOTIATION_ROWS.get(conn, pid)
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
            existing = await processes.NEGOTIATION_ROWS.list(tx.conn, role=Role.PROVIDER, limit=1,
                                                         consumer_pid=consumer_pid,
                                                         counterparty_id=caller.id)
            if existing:
                return existing[0], False
            await self._open(tx, negotiation)
            await self._react(tx, negotiation, NegotiationEvent.REQUESTED, {})
        self._log.info("negotiation_requested", negotiation=negotiation.id, caller=caller.id,
                  offer=offer.id)
        return negotiation, True

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

        return await self._inbound(
            caller, pid, message, _S.REQUESTED, role=Role.PROVIDER, changes=changes,
            then=self._reacting(NegotiationEvent.REQUESTED, lambda _c: {"counter": True}))

    async def on_event(self, caller: Caller, pid: str, message: Mapping[str, Any]) -> Negotiation:
        """ACCEPTED (to the provider) or FINALIZED (to the consumer)."""
        event_type = message.get("eventType")
        current = await self.get_for_caller(caller, pid)
        if current.role is Role.PROVIDER:
            if event_type != "ACCEPTED":
                raise IllegalTransition(f"a provider does not receive {event_type} events",
                                        code="illegal-transition")
            return await self._inbound(caller, pid, message, _S.ACCEPTED, role=Role.PROVIDER,
                                       then=self._reacting(NegotiationEvent.ACCEPTED))
        if event_type != "FINALIZED":
            raise IllegalTransition(f"a consumer does not receive {event_type} events",
                                    code="illegal-transition")
        return await self._inbound(caller, pid, message, _S.FINALIZED, role=Role.CONSUMER)

    async def on_verification(self, caller: Caller, pid: str,
                              message: Mapping[str, Any]) -> Negotiation:
        """ContractAgreementVerificationMessage (to the provider)."""
        return await self._inbound(caller, pid, message, _S.VERIFIED, role=Role.PROVIDER,
                                   then=self._reacting(NegotiationEvent.VERIFIED))

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
            await self._open(tx, negotiation)
            await self._react(tx, negotiation, NegotiationEvent.OFFERED, {"same": False})
        return negotiation

    async def on_offer(self, caller: Caller, pid: str, message: Mapping[str, Any]) -> Negotiation:
        """A ContractOfferMessage for our request."""
        offer = dict(message["offer"])
        return await self._inbound(
            caller, pid, message, _S.OFFERED, role=Role.CONSUMER,
            changes=lambda _c: {"offer": offer, "offer_id": str(offer.get("@id"))},
            then=self._reacting(NegotiationEvent.OFFERED,
                                lambda current: {"same": same_terms(current.offer, offer)}),
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
            caller, pid, message, _S.AGREED, role=Role.CONSUMER,
            changes=lambda _c: {"agreement_id": str(agreement["@id"])},
            before=store,
            then=self._reacting(NegotiationEvent.AGREED, lambda current: {
                "same": same_terms(current.offer, agreement)
                and agreement.get("target") == current.dataset_id
            }),
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
            await self._open(tx, negotiation, send=message)
            await self._react(tx, negotiation, NegotiationEvent.INITIATED, {})
        self._log.info("negotiation_started", negotiation=pid, provider=counterparty_id)
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

    async def act(  # type: ignore[override]
        self,
        negotiation_id: str,
        action: NegotiationAction,
        *,
        policy: Mapping[str, Any] | None = None,
        code: str | None = None,
        reason: str | None = None,
        decision: Mapping[str, Any] | None = None,
    ) -> Negotiation:
        """The owner's move: approve (agree), counter-offer, accept, counter-request, terminate.

        ``decision`` (``{"decision", "approver", "reason"}``) is stored with the
        move, in its transaction: who approved or rejected a request, and why.
        """
        return await super().act(negotiation_id, action, policy=policy, code=code, reason=reason,
                                 decision=decision)

    async def _prepare(self, current: Negotiation, action: NegotiationAction,
                       options: dict[str, Any]) -> dict[str, Any]:
        """The owner's policy becomes the offer we send (a fresh offer id)."""
        policy = options.pop("policy", None)
        if policy is not None:
            options["offer"] = {"@id": new_pid(), "@type": "Offer",
                                "target": current.dataset_id, **policy_body(policy)}
        return options

    async def _payload(self, tx: Tx, current: Negotiation, action: NegotiationAction,
                       options: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        """The offer of an (counter-)offer or request; the agreement we store and send."""
        decision = options.get("decision")
        if decision is not None:
            await record_decision(tx.conn, current.id, decision=str(decision["decision"]),
                                  approver=decision.get("approver"),
                                  reason=decision.get("reason"), at=time.time())
        if action in (_A.OFFER, _A.REQUEST):
            sent = options.get("offer") or dict(current.offer or {})
            if action is _A.OFFER:
                sent.setdefault("target", current.dataset_id)
                return {"offer": sent}, {"offer": sent}
            return {"offer": sent}, {"offer": sent, "offer_id": sent.get("@id")}
        if action is _A.AGREE:
            agreement = self._agreement(current)
            await insert_agreement(tx.conn, Agreement(
                id=agreement["@id"], negotiation_id=current.id, role=Role.PROVIDER,
                dataset_id=str(current.dataset_id), assigner=self.plane.did,
                assignee=current.counterparty_id, policy=agreement,
                counterparty_id=current.counterparty_id,
                counterparty_address=current.counterparty_address, created_at=time.time(),
            ))
            return {"agreement": agreement}, {"agreement_id": agreement["@id"]}
        return {}, {}

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

    def _reacting(
        self, event: NegotiationEvent,
        facts: Callable[[Negotiation], dict[str, Any]] | None = None,
    ) -> Callable[[Tx, Negotiation, Negotiation], Awaitable[None]]:
        """React to ``event`` after an inbound move (``facts`` read from the record before)."""

        async def then(tx: Tx, current: Negotiation, updated: Negotiation) -> None:
            await self._react(tx, updated, event, facts(current) if facts is not None else {})

        return then

    async def _react(self, tx: Tx, current: Negotiation, event: NegotiationEvent,
                     facts: Mapping[str, Any]) -> None:
        """Decide what we do about ``event``; take the immediate step now, in ``tx``."""
        await self._take(tx, current,
                         await negotiation_steps(tx.conn, self.script, current, event, facts))
