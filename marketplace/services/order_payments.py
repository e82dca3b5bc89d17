"""Paying orders: the provider's signed callbacks, the operator's "paid", the due-date sweep.

Every payment arrives as a :class:`~marketplace.payments.PaymentEvent`: from
the invoice provider's signed "paid" callback, the card provider's signed
webhook, or the operator marking an invoice paid. :meth:`Payments.apply`
then, in one transaction: finds the order (``order_ref`` is the order id),
checks that the event is about the order's payment and its amount
(:func:`~marketplace.payments.check_amount`), records the event id (unique
per provider: a replay is refused with 409 ``payment-event-replayed``) and
completes the order (its product, its purchase credential). Anything refused
rolls the whole transaction back: nothing changes.

A failed card payment leaves the order ``inProgress`` (the buyer may try
another card) with a note; the due-date sweep (:data:`SWEEP_JOB`) fails every
order still unpaid after its ``paymentDueDate``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import structlog

from marketplace.domain.ordering import OrderState
from marketplace.domain.tmf import Filter, Query
from marketplace.errors import ResourceNotFound
from marketplace.payments import (
    CardProvider,
    InvoiceProvider,
    PaymentEvent,
    PaymentOutcome,
    check_amount,
)
from marketplace.services.callers import Caller
from marketplace.services.inventory import Context, iso, schedule, write
from marketplace.services.ordering import ORDER, Orders, amount_due
from marketplace.store import payments as events
from marketplace.store import resources as store
from servicekit.errors import Conflict, Forbidden, NotFound
from servicekit.jobs import Job, JobHandler

__all__ = ["SWEEP_JOB", "Payments"]

_log = structlog.get_logger("marketplace.payments")

#: The periodic job that fails orders unpaid past their due date.
SWEEP_JOB = "order-payment-due"


@dataclass
class Payments:
    """Turn verified payment events into completed orders; fail the unpaid ones."""

    context: Context
    orders: Orders
    invoice: InvoiceProvider
    card: CardProvider | None = None

    def jobs(self) -> dict[str, JobHandler]:
        """The job kinds this runs: the periodic due-date sweep."""
        return {SWEEP_JOB: self.sweep_job}

    async def callback(self, provider: str, headers: Mapping[str, str],
                       raw_body: bytes) -> dict[str, Any]:
        """A provider's signed callback (``invoice`` or ``card``), verified, then applied."""
        source: InvoiceProvider | CardProvider | None = (
            self.invoice if provider == "invoice" else self.card)
        if source is None:
            raise NotFound(f"payments by {provider} are not configured here",
                           code="payment-provider-not-configured")
        return await self.apply(source.verify_callback(headers, raw_body))

    async def mark_paid(self, who: Caller, order_id: str) -> dict[str, Any]:
        """The operator marks an order's invoice paid (marking it twice is a replay)."""
        if not who.require().operator:
            raise Forbidden("only the operator marks an invoice paid", code="operator-only")
        async with self.context.engine.connect() as conn:
            order = await store.get(conn, ORDER, order_id)
        if order is None:
            raise ResourceNotFound(ORDER, order_id)
        due, currency = amount_due(order)
        return await self.apply(self.invoice.operator_payment(order_id, due, currency))

    async def apply(self, event: PaymentEvent) -> dict[str, Any]:
        """Act on a verified event once; see the module docstring."""
        now = self.context.now()
        async with self.context.engine.begin() as conn:
            order = await store.get(conn, ORDER, event.order_ref)
            if order is None:
                raise ResourceNotFound(ORDER, event.order_ref)
            payment = (order.body.get("payment") or [{}])[0]
            if (payment.get("name"), payment.get("id")) != (event.provider,
                                                            event.provider_payment_id):
                raise Conflict(f"the event is not about order {order.id}'s payment",
                               code="payment-not-of-order")
            due, currency = amount_due(order)
            check_amount(event, due, currency)
            if not await events.record_event(
                    conn, provider=event.provider, event_id=event.event_id, order_id=order.id,
                    outcome=event.outcome.value, amount_minor=event.amount_minor,
                    currency=event.currency, received_at=now):
                raise Conflict(f"payment event {event.event_id} was processed before",
                               code="payment-event-replayed")
            if event.outcome is PaymentOutcome.SUCCEEDED:
                saved = await self.orders.complete(conn, order, now)
            else:
                notes = list(order.body.get("note") or [])
                notes.append({"id": str(len(notes) + 1), "author": "marketplace",
                              "date": iso(now), "@type": "Note",
                              "text": "The card payment failed; pay again before "
                                      f"{order.body.get('paymentDueDate')}."})
                saved = await write(conn, order, now, note=notes)
        self.context.wake()
        _log.info("payment_applied", order=order.id, provider=event.provider,
                  event_id=event.event_id, outcome=event.outcome.value, state=saved.state)
        return {"order": saved.id, "state": saved.state, "event": event.event_id}

    async def sweep_job(self, job: Job) -> None:
        """The periodic job: fail what is overdue, then schedule the next run."""
        await self.sweep_overdue()
        async with self.context.engine.begin() as conn:
            await schedule(conn, SWEEP_JOB)

    async def sweep_overdue(self) -> int:
        """Fail every ``inProgress`` order unpaid past its ``paymentDueDate``; how many."""
        now = self.context.now()
        due = Query(filters=(Filter(("state",), "eq", (OrderState.IN_PROGRESS.value,)),
                             Filter(("paymentDueDate",), "lt", (iso(now),))), limit=50)
        failed = 0
        while True:
            async with self.context.engine.begin() as conn:
                page, _ = await store.find(conn, ORDER, due)
                for order in page:
                    await self.orders.move(conn, order, OrderState.FAILED, now,
                                           completionDate=iso(now))
                    await self.orders.inventory.terminate(conn, order.id, now,
                                                          reason="not paid")
                    failed += 1
            if len(page) < due.limit:
                break
        if failed:
            _log.info("orders_overdue_failed", count=failed)
        return failed
