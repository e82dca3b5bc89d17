"""Customer bills (TMF678 v4) and provider payouts: the billing run, and reading what it made.

**The billing run** (:meth:`Billing.run`: the operator's ``POST /billing/runs``,
and :data:`RUN_JOB` every ``billing_run_hours`` when set) closes every charge
not yet billed whose use happened before ``until``:

* per buyer and currency, one ``CustomerBill`` (``state`` ``new``; its
  amounts, VAT per rate and due date; its lines are the charges, served as
  ``AppliedCustomerBillingRate``), as CSV and as a printable page;
* per provider and currency, one payout: its sales and their VAT less the
  operator's fee (``operator_fee_percent`` of the sales excluding VAT).

Charges are claimed by compare-and-set (``bill_id IS NULL``) in the run's
transaction, so two runs (two replicas) never bill one charge twice.
Recurring periods renewed by the inventory are charged here too
(:meth:`Billing.record_renewal`, the inventory's renewal hook).

**Reading.** The operator sees every bill, rate and payout; a member the
bills and rates it is the customer of, and the payouts it is owed. Only the
operator changes a bill's ``state`` (:data:`~marketplace.domain.billing.BILL_STATES`)
or marks a payout ``paid``.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import structlog

from marketplace.domain.bill_views import applied_rate_body, customer_bill_body, payout_body
from marketplace.domain.billing import (
    BILL_STATES,
    BillPatch,
    BillSection,
    BillState,
    PayoutPatch,
    PayoutState,
    build_bill,
    payout,
)
from marketplace.domain.rating import Charge, period_charge
from marketplace.domain.tmf import Query
from marketplace.errors import ResourceNotFound
from marketplace.services.callers import Caller
from marketplace.services.inventory import INVENTORY_PATH, Context, Renewal, iso, write
from marketplace.store import billing as ledger
from marketplace.store import resources as store
from marketplace.store.billing import StoredCharge, StoredPayout
from marketplace.store.resources import Resource, Scope
from servicekit.clock import system_clock
from servicekit.errors import Conflict, Forbidden
from servicekit.jobs import Job, JobHandler, enqueue

__all__ = ["BILL", "BILL_PATH", "PAYOUT_PATH", "RATE_PATH", "RUN_JOB", "BillDocument", "Billing"]

_log = structlog.get_logger("marketplace.billing")

BILL = "customerBill"
BILL_PATH = "/tmf-api/customerBillManagement/v4/customerBill"
RATE_PATH = "/tmf-api/customerBillManagement/v4/appliedCustomerBillingRate"
PAYOUT_PATH = "/billing/payouts"
#: The periodic billing run (when ``billing_run_hours`` is set).
RUN_JOB = "billing-run"
#: Days from the bill date to the payment due date.
PAYMENT_DAYS = 14


@dataclass(frozen=True)
class BillDocument:
    """A bill and its lines, for the CSV and HTML views."""

    bill: dict[str, Any]
    section: BillSection
    #: charge id -> the product it is charged on
    products: dict[str, str]


def _operator_only(who: Caller, what: str) -> None:
    who.require()
    if not who.operator:
        raise Forbidden(f"only the operator may {what}", code="operator-only")


@dataclass
class Billing:
    """Billing runs, bills, their lines and payouts."""

    context: Context
    #: Our DID: the bill issuer.
    issuer: str
    fee_percent: Decimal
    #: Hours between billing runs (0: only when the operator asks).
    run_hours: float = 0.0

    def jobs(self) -> dict[str, JobHandler]:
        """The periodic billing run."""
        return {RUN_JOB: self.run_job}

    # --- the run ------------------------------------------------------------------------

    async def start(self) -> None:
        """Have the periodic run queued (once, whichever replica asks) when it is set."""
        if self.run_hours <= 0:
            return
        # slots on the job runner's (wall) clock; the run itself reads the injected one
        interval, now = self.run_hours * 3600, system_clock()
        slot = int(now // interval) + 1
        async with self.context.engine.begin() as conn:
            await enqueue(conn, RUN_JOB, {"slot": slot}, delay=slot * interval - now, now=now,
                          dedupe_key=f"{RUN_JOB}:{slot}")

    async def run_job(self, job: Job) -> None:
        """The periodic run: bill what was used until now, then queue the next run."""
        await self.run(until=self.context.now())
        await self.start()

    async def run(self, who: Caller | None = None, until: datetime | None = None
                  ) -> dict[str, list[dict[str, Any]]]:
        """Close the open charges used before ``until`` into bills and payouts."""
        if who is not None:
            _operator_only(who, "run billing")
        now = self.context.now()
        until = min(until or now, now)
        async with self.context.engine.begin() as conn:
            open_charges = await ledger.open_charges(conn, until)
            bills = await self._bills(conn, open_charges, until, now)
            payouts = await self._payouts(conn, open_charges, until, now)
        _log.info("billing_run", until=until.isoformat(), charges=len(open_charges),
                  bills=len(bills), payouts=len(payouts))
        return {"bills": bills, "payouts": payouts}

    async def _bills(self, conn: Any, open_charges: list[StoredCharge], until: datetime,
                     now: datetime) -> list[dict[str, Any]]:
        groups: dict[tuple[str, str], list[StoredCharge]] = defaultdict(list)
        for item in open_charges:
            groups[(item.buyer, item.charge.currency.value)].append(item)
        made = []
        for (buyer, _unit), items in sorted(groups.items()):
            bill_id = str(uuid.uuid4())
            if not await ledger.claim(conn, [i.charge.id for i in items], column="bill_id",
                                      value=bill_id):
                raise Conflict("another billing run closed these charges; run again",
                               code="billing-run-busy")
            section = build_bill([i.charge for i in items]).sections[0]
            start = min(i.charge.period_start or i.used_at for i in items)
            body = customer_bill_body(
                section, bill_id=bill_id, href=self.context.href(BILL_PATH, bill_id),
                bill_no=f"{now:%Y%m%d}-{bill_id[:8]}", buyer=buyer, issuer=self.issuer,
                period=(min(start, until), until), billed_at=now,
                due=now + timedelta(days=PAYMENT_DAYS))
            await store.insert(conn, Resource(
                kind=BILL, id=bill_id, version="1", state=BillState.NEW.value, owner=buyer,
                name=body["billNo"], private=True, created_at=now, last_update=now, body=body))
            made.append(body)
        return made

    async def _payouts(self, conn: Any, open_charges: list[StoredCharge], until: datetime,
                       now: datetime) -> list[dict[str, Any]]:
        if not open_charges:
            return []
        owed = payout([i.charge for i in open_charges], self.fee_percent)
        start = min(i.charge.period_start or i.used_at for i in open_charges)
        made = []
        for row in owed.providers:
            payout_id = str(uuid.uuid4())
            ids = [i.charge.id for i in open_charges
                   if i.charge.provider == row.provider and i.charge.currency is row.currency]
            if not await ledger.claim(conn, ids, column="payout_id", value=payout_id):
                raise Conflict("another billing run closed these charges; run again",
                               code="billing-run-busy")
            body = payout_body(row, payout_id=payout_id,
                               href=self.context.href(PAYOUT_PATH, payout_id),
                               state=PayoutState.PENDING, fee_percent=owed.fee_percent,
                               period=(min(start, until), until), created=now,
                               charges=len(ids))
            await ledger.insert_payout(conn, StoredPayout(
                id=payout_id, provider=row.provider, state=PayoutState.PENDING.value,
                created_at=now, updated_at=now, body=body), row.currency.value)
            made.append(body)
        return made

    async def record_renewal(self, conn: Any, renewal: Renewal) -> None:
        """The inventory's renewal hook: charge the renewed period (once per period)."""
        charge = period_charge(renewal.plan, renewal.started, source=renewal.order_id,
                               provider=renewal.seller, index=renewal.period)
        if await ledger.get_charge(conn, charge.id) is None:
            await ledger.insert_charge(conn, charge, buyer=renewal.buyer,
                                       product=renewal.product_id,
                                       period_start=renewal.period_start,
                                       used_at=renewal.period_start, now=self.context.now())

    # --- bills --------------------------------------------------------------------------

    async def find_bills(self, who: Caller, query: Query) -> tuple[list[dict[str, Any]], int]:
        """Bills: all for the operator, a member's own otherwise."""
        who.require()
        scope = Scope() if who.operator else Scope(owner=who.did)
        async with self.context.engine.connect() as conn:
            page, total = await store.find(conn, BILL, query, scope)
        return [r.body for r in page], total

    async def _bill(self, conn: Any, who: Caller, bill_id: str) -> Resource:
        who.require()
        found = await store.get(conn, BILL, bill_id)
        if found is None or not (who.operator or found.owner == who.did):
            raise ResourceNotFound(BILL, bill_id)
        return found

    async def get_bill(self, who: Caller, bill_id: str) -> dict[str, Any]:
        """One bill (its customer's or the operator's to see)."""
        async with self.context.engine.connect() as conn:
            return (await self._bill(conn, who, bill_id)).body

    async def patch_bill(self, who: Caller, bill_id: str, patch: BillPatch) -> dict[str, Any]:
        """The operator moves a bill's ``state`` (409 ``illegal-transition`` off the table)."""
        _operator_only(who, "change a bill")
        async with self.context.engine.begin() as conn:
            bill = await self._bill(conn, who, bill_id)
            BILL_STATES.check(BillState(bill.state), patch.state)
            changes: dict[str, Any] = {}
            if patch.state is BillState.SETTLED:
                changes["remainingAmount"] = {**bill.body["amountDue"], "value": 0}
            saved = await write(conn, bill, self.context.now(), state=patch.state.value,
                                **changes)
        return saved.body

    async def document(self, who: Caller, bill_id: str) -> BillDocument:
        """A bill with its lines (for CSV and HTML)."""
        async with self.context.engine.connect() as conn:
            bill = await self._bill(conn, who, bill_id)
            lines, _ = await ledger.find_charges(conn, bill_id=bill_id, limit=100_000)
        section = build_bill([c.charge for c in lines]).sections[0]
        return BillDocument(bill.body, section, {c.charge.id: c.product for c in lines})

    # --- lines (AppliedCustomerBillingRate) ----------------------------------------------

    def _rate(self, item: StoredCharge) -> dict[str, Any]:
        charge: Charge = item.charge
        bill = ({"id": item.bill_id, "href": self.context.href(BILL_PATH, item.bill_id)}
                if item.bill_id else None)
        return applied_rate_body(
            charge, href=self.context.href(RATE_PATH, charge.id), buyer=item.buyer,
            product={"id": item.product, "href": self.context.href(INVENTORY_PATH,
                                                                   item.product)},
            bill=bill, rated_at=item.created_at)

    async def find_rates(self, who: Caller, query: Query) -> tuple[list[dict[str, Any]], int]:
        """Charges as ``AppliedCustomerBillingRate`` (``bill.id``, ``product.id`` filter)."""
        who.require()
        filters = {".".join(f.path): f.values[0] for f in query.filters if f.operator == "eq"}
        async with self.context.engine.connect() as conn:
            page, total = await ledger.find_charges(
                conn, buyer=None if who.operator else who.did, bill_id=filters.get("bill.id"),
                product=filters.get("product.id"), limit=query.limit, offset=query.offset)
        return [self._rate(item) for item in page], total

    async def get_rate(self, who: Caller, rate_id: str) -> dict[str, Any]:
        """One charge (its customer's or the operator's to see)."""
        who.require()
        async with self.context.engine.connect() as conn:
            item = await ledger.get_charge(conn, rate_id)
        if item is None or not (who.operator or item.buyer == who.did):
            raise ResourceNotFound("appliedCustomerBillingRate", rate_id)
        return self._rate(item)

    # --- payouts ------------------------------------------------------------------------

    async def find_payouts(self, who: Caller, *, state: str | None, limit: int,
                           offset: int) -> tuple[list[dict[str, Any]], int]:
        """Payouts: all for the operator, what a provider is owed otherwise."""
        who.require()
        async with self.context.engine.connect() as conn:
            page, total = await ledger.find_payouts(
                conn, provider=None if who.operator else who.did, state=state, limit=limit,
                offset=offset)
        return [p.body for p in page], total

    async def get_payout(self, who: Caller, payout_id: str) -> dict[str, Any]:
        """One payout (the provider's or the operator's to see)."""
        who.require()
        async with self.context.engine.connect() as conn:
            found = await ledger.get_payout(conn, payout_id)
        if found is None or not (who.operator or found.provider == who.did):
            raise ResourceNotFound("payout", payout_id)
        return found.body

    async def patch_payout(self, who: Caller, payout_id: str,
                           patch: PayoutPatch) -> dict[str, Any]:
        """The operator records a payout as paid (``pending`` → ``paid`` only)."""
        _operator_only(who, "change a payout")
        now = self.context.now()
        async with self.context.engine.begin() as conn:
            found = await ledger.get_payout(conn, payout_id)
            if found is None:
                raise ResourceNotFound("payout", payout_id)
            if (found.state, patch.state) != (PayoutState.PENDING, PayoutState.PAID):
                raise Conflict(f"a {found.state} payout cannot become {patch.state}",
                               code="illegal-transition")
            body = {**found.body, "state": patch.state.value, "paidAt": iso(now)}
            if not await ledger.update_payout(conn, found, state=patch.state.value, now=now,
                                              body=body):
                raise Conflict("the payout changed meanwhile", code="resource-changed")
        return body
