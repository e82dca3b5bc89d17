"""The decision half of the data plane: token -> sub-path -> policy -> reserve -> decide -> audit.

:class:`DecisionEngine` is one async component with no web request in it: it
takes a :class:`DataRequest` (what any front can tell about a request: the
bearer token, method, path, query, purpose and client address) and returns a
:class:`Ticket` (permitted, with what the byte path must do) or a
:class:`Denial` (an error to render). When the response has ended, the byte
path calls :meth:`DecisionEngine.settle` with its status and size. The
connector's own aiohttp proxy calls it in-process; an nginx front calls the
same two methods over ``POST /dataplane/decide`` and ``POST /dataplane/settle``.

The hot path holds no database round trip: the token check is cached, the
flow and its compiled policy are in memory (kept current by the flow
registry), the use is taken from an in-memory block of the counter, and the
audit record and metering are buffered for the next flush. A count-limited
policy reserves its slot *before* it decides, because the slot number is the
``count`` the policy reads; a denied or failed request gives the slot back.

``HEAD`` is decided (token, flow, policy, audit record) but is not a use: it
evaluates the count with the slot a ``GET`` would get now, hands the slot
back at once, and is neither metered nor counted for notifications.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import structlog

from connector.dataplane.audit import AuditLog
from connector.dataplane.counters import Counters, CounterSpec
from connector.dataplane.duties import perform_duties
from connector.dataplane.errors import DataPlaneUnavailable
from connector.dataplane.flows import Flow, FlowRegistry, FlowState
from connector.dataplane.metering import Meter
from connector.dataplane.notices import Notifier
from connector.dataplane.paths import leaves_base
from connector.dataplane.tokens import AccessClaims, AccessTokens
from policies import Plan, RequestContext
from servicekit.clock import Clock, system_clock
from servicekit.errors import DataspaceError, Forbidden, InvalidToken, PolicyDenied

__all__ = ["DataRequest", "DecisionEngine", "Denial", "PaymentState", "Ticket"]

_log = structlog.get_logger("connector.dataplane")

#: The payment state of an agreement, when a policy asks (amount paid, currency).
PaymentState = Callable[[Flow], tuple[Decimal, str] | None]


@dataclass(frozen=True, slots=True)
class DataRequest:
    """What the decision needs to know about one data request."""

    token: str | None
    method: str = "GET"
    path: str = ""
    query: str = ""
    purpose: str | None = None
    client_ip: str | None = None


@dataclass(slots=True)
class Ticket:
    """A permitted request, until its response is settled."""

    transfer_id: str
    agreement_id: str
    consumer_id: str
    counter: CounterSpec | None
    slot: int | None
    billable: bool
    headers: dict[str, str] = field(default_factory=dict)
    flow: Flow | None = None
    """The flow (with its backend) when decided in this process."""
    settled: bool = False
    use: bool = True
    """False for ``HEAD``: checked and audited, but neither counted nor metered."""


@dataclass(frozen=True, slots=True)
class Denial:
    """A refused request and the error to answer with."""

    error: DataspaceError


def _no_payment(_flow: Flow) -> tuple[Decimal, str] | None:
    return None


class DecisionEngine:
    """Decides and settles data requests; see the module docstring."""

    def __init__(
        self,
        *,
        tokens: AccessTokens,
        flows: FlowRegistry,
        counters: Counters,
        audit: AuditLog,
        meter: Meter,
        notifier: Notifier,
        clock: Clock = system_clock,
        locations: Mapping[str, str] | None = None,
        payments: PaymentState = _no_payment,
    ) -> None:
        self.tokens = tokens
        self.flows = flows
        self.counters = counters
        self.audit = audit
        self.meter = meter
        self.notifier = notifier
        self._clock = clock
        self._networks = [(ipaddress.ip_network(cidr, strict=False), iri)
                          for cidr, iri in (locations or {}).items()]
        self._payments = payments

    # --- decide ----------------------------------------------------------------------

    async def decide(self, request: DataRequest) -> Ticket | Denial:
        """Permit (a ticket to settle later) or deny (an error), and audit the decision."""
        claims = self._claims(request)
        if isinstance(claims, Denial):
            return claims
        if not self.flows.fresh():
            refused = await self._sync()
            if refused is not None:
                return refused
        flow = self._live_flow(claims, request)
        if isinstance(flow, Denial):
            return flow
        compiled = flow.compiled
        assert compiled is not None  # checked
        plan = compiled.plan
        now = self._clock()
        use = request.method != "HEAD"
        counter: CounterSpec | None = None
        slot = count = None
        if plan.count_limit is not None:
            # the slot is taken before deciding: its number is the count the policy reads
            counter = self.counters.window(flow.agreement_id, plan, flow.agreed_at, now)
            slot = await self.counters.take(counter)
            count = slot if slot is not None else counter.limit
        decision = compiled.decide(self._context(flow, plan, request, now, count))
        if slot is not None and counter is not None and not (use and decision.permitted):
            self.counters.give_back(counter, slot)
            slot = None
        if not decision.permitted:
            reasons = [r.to_dict() for r in decision.reasons]
            # Say what failed: the verdict, then the constraints that did not hold.
            failing = [r["message"] for r in reasons
                       if r.get("code") not in ("constraint-satisfied",)][:4]
            return self._deny(flow, request, PolicyDenied(
                "; ".join(failing) or "the agreement does not permit this request",
                extra={"reasons": reasons, "basis": str(decision.basis)}),
                basis=str(decision.basis))
        record = _record("permit", flow, request)
        if count is not None:
            record["count"] = count
        billable, headers = False, {}
        if decision.duties:
            duties = perform_duties(decision.duties, flow, assigner=compiled.policy.assigner,
                                    use=use, notifier=self.notifier)
            billable, headers = duties.billable, duties.headers
            record["duties"] = duties.actions
        self.audit.append("permit", record)
        return Ticket(transfer_id=flow.transfer_id, agreement_id=flow.agreement_id,
                      consumer_id=flow.consumer_id, counter=counter, slot=slot,
                      billable=billable, headers=headers, flow=flow, use=use)

    def _claims(self, request: DataRequest) -> AccessClaims | Denial:
        """What the request's access token says, if it is ours and current."""
        if not request.token:
            return Denial(InvalidToken("a bearer access token is required",
                                       code="access-token-missing"))
        try:
            return self.tokens.verify(request.token)
        except InvalidToken as exc:
            return Denial(exc)

    async def _sync(self) -> Denial | None:
        """Catch up with the store when this worker has not synced lately (fail closed)."""
        try:
            await self.flows.ensure_fresh()
        except Exception:
            _log.exception("flow_sync_failed")
            return Denial(DataPlaneUnavailable("cannot confirm the transfer is still live"))
        return None

    def _live_flow(self, claims: AccessClaims, request: DataRequest) -> Flow | Denial:
        """The token's flow, if it is live under this token, and the sub-path stays inside."""
        flow = self.flows.flows.get(claims.transfer_id)
        if (flow is None or flow.state is not FlowState.LIVE
                or flow.generation != claims.generation
                or flow.agreement_id != claims.agreement_id):
            state = "unknown" if flow is None else (
                flow.state.value if flow.generation == claims.generation else "reissued")
            return self._deny(claims, request, Forbidden(
                f"transfer {claims.transfer_id} is not active ({state}); its access token "
                "no longer works", code="transfer-not-active"))
        if request.path and leaves_base(request.path):
            return self._deny(claims, request, Forbidden(
                "the sub-path leaves the dataset (dot segments, decoded or not, climb above "
                "its base path)", code="path-outside-dataset"))
        if flow.compiled is None:
            return self._deny(claims, request, Forbidden(
                "the agreement's policy cannot be enforced", code="agreement-policy-invalid"))
        return flow

    def _context(self, flow: Flow, plan: Plan, request: DataRequest, now: float,
                 count: int | None) -> RequestContext:
        reads = plan.reads
        elapsed = spatial = pay_amount = pay_unit = None
        interval: Any = None
        if "elapsedTime" in reads:
            elapsed = timedelta(seconds=max(0.0, now - flow.agreed_at))
        if "spatial" in reads and request.client_ip:
            spatial = self._locate(request.client_ip)
        if "payAmount" in reads:
            paid = self._payments(flow)
            if paid is not None:
                pay_amount, pay_unit = paid
        if "timeInterval" in reads:
            interval = plan.count_period
        return RequestContext(
            action="use",
            target=flow.dataset_id,
            assignee=flow.consumer_id,
            recipient=flow.consumer_id,
            now=datetime.fromtimestamp(now, UTC),
            count=count,
            purpose=request.purpose,
            elapsed_time=elapsed,
            time_interval=interval,
            spatial=spatial,
            pay_amount=pay_amount,
            pay_unit=pay_unit,
            credentials=flow.credentials,
        )

    def _locate(self, client_ip: str) -> str | None:
        try:
            address = ipaddress.ip_address(client_ip)
        except ValueError:
            return None
        for network, iri in self._networks:
            if address in network:
                return iri
        return None

    def _deny(self, ids: AccessClaims | Flow, request: DataRequest, error: DataspaceError, *,
              basis: str | None = None) -> Denial:
        record = _record("deny", ids, request)
        record["code"] = error.code
        if basis is not None:
            record["basis"] = basis
        reasons = error.extra.get("reasons")
        if reasons:
            record["reasons"] = [r.get("code") for r in reasons]
        self.audit.append("deny", record)
        return Denial(error)

    # --- settle ----------------------------------------------------------------------

    def settle(self, ticket: Ticket, *, status: int, size: int, failed: bool = False,
               error: str | None = None) -> None:
        """The response of ``ticket`` has ended: meter the use, or give the use back.

        A use is a ``GET`` the backend answered with a 2xx/3xx status that was
        delivered whole; anything else (and any ``HEAD``) is not counted and not billed.
        """
        if ticket.settled:
            return
        ticket.settled = True
        if not ticket.use:
            return
        if failed or status >= 400:
            if ticket.slot is not None and ticket.counter is not None:
                self.counters.give_back(ticket.counter, ticket.slot)
            self.meter.add(ticket.agreement_id, ticket.transfer_id, ticket.consumer_id,
                           billable=ticket.billable, size=0, failed=True)
            self.audit.append("unbilled", {
                "transfer": ticket.transfer_id, "agreement": ticket.agreement_id,
                "status": status, "bytes": size, "error": error or f"status {status}",
            })
            return
        self.meter.add(ticket.agreement_id, ticket.transfer_id, ticket.consumer_id,
                       billable=ticket.billable, size=size)

    # --- tokens ----------------------------------------------------------------------

    async def refresh(self, token: str, *, grace: float) -> tuple[str, float, Flow]:
        """A fresh token for a live flow, in exchange for a current (or just expired) one."""
        claims = self.tokens.verify(token, grace=grace)
        await self.flows.ensure_fresh()
        flow = self.flows.flows.get(claims.transfer_id)
        if flow is None or flow.state is not FlowState.LIVE or flow.generation != claims.generation:
            raise Forbidden("the transfer is not active; its token cannot be refreshed",
                            code="transfer-not-active")
        fresh, expires = self.tokens.issue(
            transfer_id=flow.transfer_id, agreement_id=flow.agreement_id,
            dataset_id=flow.dataset_id, consumer_id=flow.consumer_id,
            generation=flow.generation)
        return fresh, expires, flow


def _record(decision: str, ids: AccessClaims | Flow, request: DataRequest) -> dict[str, Any]:
    """The audit record of a decision: who asked for what (and for which purpose)."""
    record: dict[str, Any] = {
        "decision": decision, "transfer": ids.transfer_id, "agreement": ids.agreement_id,
        "consumer": ids.consumer_id, "method": request.method, "path": request.path,
    }
    if request.purpose:
        record["purpose"] = request.purpose
    return record
