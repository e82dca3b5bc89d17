"""Ordering (TMF622 v4): place, read, approve, reject, cancel and delete product orders.

A member orders as itself; the operator may order for a buyer it names. The
order is checked against the catalog (the offering exists and is visible to
the buyer, is launched, and the plan is one of its prices) before anything
is stored, then:

- a restricted product (:func:`~marketplace.domain.ordering.is_restricted`)
  is ``held`` until the offering's provider approves (PATCH ``state``
  ``inProgress``) or rejects (``rejected``) it, seeing the buyer's ``purpose``;
- nothing to pay up front: ``completed`` at once, the product created and the
  purchase credential issued in the same transaction;
- else the payment provider starts the payment (invoice: KID and due date;
  card: the client secret) and the order is ``inProgress`` until it is paid
  (:mod:`marketplace.services.order_payments`) or its due date passes.

Cancelling (PATCH ``state: cancelled`` or a ``cancelProductOrder``) is the
buyer's or the operator's; a completed order's product is terminated and
its credential revoked with it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncConnection

from marketplace.domain.money import Money, vat_minor
from marketplace.domain.ordering import (
    BUYER,
    ORDER_TRANSITIONS,
    SELLER,
    CancelProductOrderCreate,
    OrderItemIn,
    OrderState,
    ProductOrderCreate,
    ProductOrderPatch,
    first_charge,
    is_restricted,
    money,
    plan_from_body,
)
from marketplace.domain.pricing import PriceType, PricingPlan
from marketplace.domain.rating import Charge
from marketplace.domain.tmf import Query
from marketplace.errors import NotYours, ResourceNotFound
from marketplace.payments import Buyer, InvoiceInstructions, PaymentProvider
from marketplace.services.callers import Caller
from marketplace.services.inventory import (
    Context,
    Inventory,
    iso,
    may_see,
    party,
    visible_page,
    write,
)
from marketplace.store import resources as store
from marketplace.store.resources import Resource
from servicekit.errors import Conflict, InvalidRequest

__all__ = ["CANCEL", "CANCEL_PATH", "ORDER", "ORDERING_PATH", "Orderable", "Orders", "amount_due"]

_log = structlog.get_logger("marketplace.ordering")

ORDER = "productOrder"
CANCEL = "cancelProductOrder"
ORDERING_PATH = "/tmf-api/productOrderingManagement/v4/productOrder"
CANCEL_PATH = "/tmf-api/productOrderingManagement/v4/cancelProductOrder"
#: How long a card checkout may stay unpaid before the order fails.
CARD_CHECKOUT = timedelta(days=1)
_LAUNCHED = "launched"


@dataclass(frozen=True)
class Orderable:
    """What an order item names, checked: the offering (version), its plan and specification."""

    offering: Resource
    plan_row: Resource
    plan: PricingPlan
    specification: Resource | None


def amount_due(order: Resource) -> tuple[int, str]:
    """What the order costs up front, including VAT: (minor units, currency)."""
    price = order.body["orderTotalPrice"][0]["price"]["taxIncludedAmount"]
    paid = Money.model_validate(price)
    return paid.minor, paid.unit.value


def _ref(resource: Resource, referred: str, name: str | None = None) -> dict[str, Any]:
    return {"id": resource.id, "href": resource.body.get("href"), "name": name or resource.name,
            "version": resource.version, "@referredType": referred}


def _price(plan: PricingPlan, plan_ref: dict[str, Any], name: str, *,
           charge: Charge | None = None, net: int = 0) -> dict[str, Any]:
    """A TMF ``OrderPrice`` of ``plan``: the charge's amounts, else ``net`` plus its VAT."""
    if charge is not None:
        price = charge.tmf_price()
    else:
        vat = vat_minor(net, plan.vat_rate)
        rate = plan.vat_rate
        price = {"dutyFreeAmount": money(net, plan), "taxIncludedAmount": money(net + vat, plan),
                 "taxRate": int(rate) if rate == rate.to_integral_value() else float(rate)}
    body: dict[str, Any] = {"@type": "OrderPrice", "name": name,
                            "priceType": plan.price_type.value, "price": price,
                            "productOfferingPrice": plan_ref}
    if plan.price_type is PriceType.RECURRING and plan.recurring_charge_period_type:
        body["recurringChargePeriod"] = plan.recurring_charge_period_type.value
        body["recurringChargePeriodLength"] = plan.recurring_charge_period_length
    if plan.unit_of_measure is not None:
        body["unitOfMeasure"] = f"{plan.unit_of_measure.amount} {plan.unit_of_measure.units}"
    return body


def _note(author: str, text: str, now: datetime, n: int) -> dict[str, Any]:
    return {"id": str(n), "author": author, "date": iso(now), "text": text, "@type": "Note"}


@dataclass
class Orders:
    """TMF622 product orders and cancellation requests."""

    context: Context
    inventory: Inventory
    provider: PaymentProvider

    # --- placing ------------------------------------------------------------------------

    async def place(self, who: Caller, order: ProductOrderCreate) -> dict[str, Any]:
        """Check and store a new order; see the module docstring for what happens next."""
        buyer = self._buyer(who.require(), order)
        async with self.context.engine.connect() as conn:
            found = await self._orderable(conn, who, buyer, order.item)
        restricted = is_restricted(found.specification.body if found.specification else None,
                                   found.plan_row.body)
        self._check_purpose(order, found.plan, restricted)
        now = self.context.now()
        order_id = str(uuid.uuid4())
        charge = first_charge(found.plan, order_id=order_id, provider=found.offering.owner,
                              start=now)
        body = self._body(order_id, order, buyer, found, charge, now)
        due = charge.gross_minor if charge is not None else 0
        target = OrderState.HELD if restricted else (
            OrderState.IN_PROGRESS if due else OrderState.COMPLETED)
        ORDER_TRANSITIONS.check(None, OrderState.ACKNOWLEDGED)
        ORDER_TRANSITIONS.check(OrderState.ACKNOWLEDGED, target)
        if target is OrderState.IN_PROGRESS:
            body.update(await self.start_payment(body, who, due, found.plan.currency.value, now))
        first = OrderState.ACKNOWLEDGED if target is OrderState.COMPLETED else target
        body["state"] = first.value
        body["productOrderItem"][0]["state"] = first.value
        async with self.context.engine.begin() as conn:
            resource = await store.insert(conn, Resource(
                kind=ORDER, id=order_id, version="1", state=first.value, owner=buyer,
                name=found.offering.name, created_at=now, last_update=now, body=body,
                parent=found.offering.id, private=True))
            if target is OrderState.COMPLETED:
                resource = await self.complete(conn, resource, now)
        self.context.wake()
        _log.info("order_placed", order=order_id, buyer=buyer, state=resource.state,
                  offering=found.offering.id, plan=found.plan_row.id)
        return resource.body

    def _buyer(self, who: Caller, order: ProductOrderCreate) -> str:
        named = order.named_buyer()
        if who.operator:
            if not named or not named.startswith("did:"):
                raise InvalidRequest("the operator orders for a buyer: name its DID in "
                                     "relatedParty with role Buyer", code="buyer-required")
            return named
        if named is not None and named != who.did:
            raise NotYours("a member orders as itself", code="buyer-not-caller")
        return who.did

    async def _orderable(self, conn: AsyncConnection, who: Caller, buyer: str,
                         item: OrderItemIn) -> Orderable:
        ref = item.product_offering
        offering = await store.get(conn, "productOffering", ref.id, ref.version)
        if offering is None or (offering.private and not who.operator
                                and offering.owner != buyer):
            raise ResourceNotFound("productOffering", ref.id)
        if offering.state.lower() != _LAUNCHED:
            raise InvalidRequest(f"offering {ref.id} is {offering.state}, not launched",
                                 code="offering-not-launched")
        plan_ref = item.item_price[0].product_offering_price
        listed = {p.get("id") for p in offering.body.get("productOfferingPrice") or []
                  if isinstance(p, dict)}
        plan_row = await store.get(conn, "productOfferingPrice", plan_ref.id, plan_ref.version)
        if plan_row is None or (plan_row.id not in listed and plan_row.parent != offering.id):
            raise InvalidRequest(f"{plan_ref.id} is not a price of offering {ref.id}",
                                 code="plan-not-of-offering")
        spec_ref = offering.body.get("productSpecification") or {}
        spec = None
        if isinstance(spec_ref, dict) and spec_ref.get("id"):
            spec = await store.get(conn, "productSpecification", str(spec_ref["id"]),
                                   spec_ref.get("version"))
        return Orderable(offering, plan_row, plan_from_body(plan_row.body), spec)

    @staticmethod
    def _check_purpose(order: ProductOrderCreate, plan: PricingPlan, restricted: bool) -> None:
        if restricted and not order.purpose:
            raise InvalidRequest("this product needs the provider's approval: state your "
                                 "purpose", code="purpose-required")
        if order.purpose and plan.purpose and order.purpose not in plan.purpose:
            raise InvalidRequest("the plan allows only the purposes " + ", ".join(plan.purpose),
                                 code="purpose-not-offered")

    def _body(self, order_id: str, order: ProductOrderCreate, buyer: str, found: Orderable,
              charge: Charge | None, now: datetime) -> dict[str, Any]:
        plan, offering = found.plan, found.offering
        plan_ref = _ref(found.plan_row, "ProductOfferingPrice", plan.name)
        item: dict[str, Any] = {
            "id": order.item.id, "action": "add", "quantity": 1, "@type": "ProductOrderItem",
            "productOffering": _ref(offering, "ProductOffering"),
            "itemPrice": [_price(plan, plan_ref, plan.name, net=plan.price.minor)]}
        if found.specification is not None:
            item["product"] = {"@type": "ProductRefOrValue", "productSpecification": _ref(
                found.specification, "ProductSpecification")}
        extra = order.model_dump(mode="json", by_alias=True, exclude_none=True, exclude={
            "product_order_item", "related_party", "note", "type"})
        return {
            **extra, "id": order_id, "href": self.context.href(ORDERING_PATH, order_id),
            "@type": "ProductOrder", "orderDate": iso(now), "lastUpdate": iso(now),
            "productOrderItem": [item],
            "orderTotalPrice": [_price(plan, plan_ref, "Due now", charge=charge)],
            "relatedParty": [
                {"id": buyer, "role": BUYER, "@referredType": "Organization"},
                {"id": offering.owner, "role": SELLER, "@referredType": "Organization"}],
            "seller": {"id": offering.owner, "@referredType": "Organization"},
            "note": [_note(buyer, n.text, now, i + 1) for i, n in enumerate(order.note)],
        }

    async def start_payment(self, body: dict[str, Any], who: Caller, due: int, currency: str,
                            now: datetime) -> dict[str, Any]:
        """Start paying order ``body`` with the provider: the order's payment members."""
        buyer = body["relatedParty"][0]["id"]
        name = who.name if who.member and who.did == buyer else buyer
        item = body["productOrderItem"][0]
        description = f"{item['productOffering']['name']}: {item['itemPrice'][0]['name']}"
        start = await self.provider.start(body["id"], due, currency,
                                          Buyer(party_id=buyer, name=name), description[:200])
        instructions = start.next
        if isinstance(instructions, InvoiceInstructions):
            due_at = datetime.combine(instructions.due_date + timedelta(days=1), time(), UTC)
            text = (f"Pay {Decimal(due).scaleb(-2)} {currency} by invoice: KID "
                    f"{instructions.kid}, due {instructions.due_date.isoformat()}"
                    + (f", account {instructions.account_number}"
                       if instructions.account_number else "") + ".")
        else:
            due_at = now + CARD_CHECKOUT
            text = f"Pay {Decimal(due).scaleb(-2)} {currency} by card before {iso(due_at)}."
        notes = list(body.get("note") or [])
        notes.append(_note("marketplace", text, now, len(notes) + 1))
        return {"payment": [{"id": start.provider_payment_id, "name": start.provider,
                             "@type": "PaymentRef", "@referredType": "Payment"}],
                "paymentInstructions": instructions.model_dump(mode="json"),
                "paymentDueDate": iso(due_at), "note": notes}

    # --- moving -------------------------------------------------------------------------

    async def move(self, conn: AsyncConnection, order: Resource, target: OrderState,
                   now: datetime, **changes: Any) -> Resource:
        """Move ``order`` to ``target`` (checked by the table; compare-and-set)."""
        ORDER_TRANSITIONS.check(OrderState(order.state), target)
        items = [{**order.body["productOrderItem"][0], **changes.pop("item", {}),
                  "state": target.value}]
        return await write(conn, order, now, state=target.value, productOrderItem=items,
                           **changes)

    async def complete(self, conn: AsyncConnection, order: Resource,
                       now: datetime) -> Resource:
        """Complete ``order``: its product, the purchase credential, the order ``completed``."""
        ORDER_TRANSITIONS.check(OrderState(order.state), OrderState.COMPLETED)
        ref = order.body["productOrderItem"][0]["itemPrice"][0]["productOfferingPrice"]
        plan_row = await store.get(conn, "productOfferingPrice", ref["id"], ref.get("version"))
        if plan_row is None:
            raise Conflict(f"the plan {ref['id']} of order {order.id} is gone",
                           code="plan-missing")
        product = await self.inventory.create(conn, order, plan_from_body(plan_row.body), now)
        item = order.body["productOrderItem"][0]
        realised = {**(item.get("product") or {}), "id": product.id,
                    "href": product.body["href"], "@type": "ProductRefOrValue"}
        _log.info("order_completed", order=order.id, product=product.id)
        return await self.move(conn, order, OrderState.COMPLETED, now,
                               completionDate=iso(now), item={"product": realised})

    async def cancel_in(self, conn: AsyncConnection, order: Resource, now: datetime,
                        reason: str) -> Resource:
        """Cancel ``order``; a completed one's product is terminated and credential revoked."""
        was = order.state
        moved = await self.move(conn, order, OrderState.CANCELLED, now,
                                cancellationDate=iso(now), cancellationReason=reason)
        if was == OrderState.COMPLETED:
            await self.inventory.terminate(conn, order.id, now, reason="cancelled")
        _log.info("order_cancelled", order=order.id, was=was)
        return moved

    # --- reading and changing -----------------------------------------------------------

    async def find(self, who: Caller, query: Query) -> tuple[list[dict[str, Any]], int]:
        """Orders the caller may see (its own; ``role=seller``: those for its offerings)."""
        return await visible_page(self.context, ORDER, who, query)

    async def get(self, who: Caller, order_id: str) -> dict[str, Any]:
        """One order (404 unless the caller is its buyer, its seller or the operator)."""
        who.require()
        async with self.context.engine.connect() as conn:
            return (await self.visible(conn, who, order_id)).body

    async def visible(self, conn: AsyncConnection, who: Caller, order_id: str) -> Resource:
        """The order, if the caller may see it; else 404."""
        found = await store.get(conn, ORDER, order_id)
        if found is None or not may_see(who, found):
            raise ResourceNotFound(ORDER, order_id)
        return found

    async def patch(self, who: Caller, order_id: str, patch: ProductOrderPatch
                    ) -> dict[str, Any]:
        """Approve (``inProgress``/``completed``: the seller), reject (``rejected``: the
        seller), cancel (``cancelled``: the buyer), or add notes and a description."""
        who.require()
        if patch.state in (OrderState.IN_PROGRESS, OrderState.COMPLETED):
            return await self._approve(who, order_id, patch)
        now = self.context.now()
        async with self.context.engine.begin() as conn:
            order = await self.visible(conn, who, order_id)
            is_buyer = who.operator or who.did == order.owner
            is_seller = who.operator or who.did == party(order, SELLER)
            changes = self._edits(order, patch, who, now, is_buyer)
            if patch.state is OrderState.CANCELLED:
                if not is_buyer:
                    raise NotYours("only the buyer or the operator cancels an order")
                saved = await self.cancel_in(conn, order, now, patch.cancellation_reason
                                             or "cancelled by the buyer")
                if changes:
                    saved = await write(conn, saved, now, **changes)
            elif patch.state is OrderState.REJECTED:
                if not is_seller:
                    raise NotYours("only the provider or the operator rejects an order")
                saved = await self.move(conn, order, OrderState.REJECTED, now, **changes)
            elif patch.state is not None:
                raise Conflict(f"an order is not moved to {patch.state} by PATCH",
                               code="state-not-patchable")
            else:
                saved = await write(conn, order, now, **changes)
        return saved.body

    @staticmethod
    def _edits(order: Resource, patch: ProductOrderPatch, who: Caller, now: datetime,
               is_buyer: bool) -> dict[str, Any]:
        changes: dict[str, Any] = {}
        if patch.description is not None:
            if not is_buyer:
                raise NotYours("only the buyer or the operator describes an order")
            changes["description"] = patch.description
        if patch.note:
            notes = list(order.body.get("note") or [])
            author = who.did or "operator"
            for note in patch.note:
                notes.append(_note(author, note.text, now, len(notes) + 1))
            changes["note"] = notes
        return changes

    async def _approve(self, who: Caller, order_id: str, patch: ProductOrderPatch
                       ) -> dict[str, Any]:
        async with self.context.engine.connect() as conn:
            order = await self.visible(conn, who, order_id)
        if not (who.operator or who.did == party(order, SELLER)):
            raise NotYours("only the offering's provider or the operator approves an order")
        due, currency = amount_due(order)
        target = OrderState.IN_PROGRESS if due else OrderState.COMPLETED
        ORDER_TRANSITIONS.check(OrderState(order.state), target)
        if order.state != OrderState.HELD:
            raise Conflict(f"order {order_id} is {order.state}, not held",
                           code="order-not-held")
        now = self.context.now()
        changes = self._edits(order, patch, who, now, who.operator)
        if due:
            payment = await self.start_payment(order.body, who, due, currency, now)
            if "note" in changes:
                payment["note"] = [*changes.pop("note"), *payment["note"][len(
                    order.body.get("note") or []):]]
            changes.update(payment)
        async with self.context.engine.begin() as conn:
            if due:
                saved = await self.move(conn, order, target, now, **changes)
            else:
                saved = await self.complete(conn, order, now)
        self.context.wake()
        _log.info("order_approved", order=order_id, state=saved.state)
        return saved.body

    async def delete(self, who: Caller, order_id: str) -> None:
        """Delete an order that is over (rejected, failed, cancelled): its buyer or the operator."""
        who.require()
        async with self.context.engine.begin() as conn:
            order = await self.visible(conn, who, order_id)
            if not (who.operator or who.did == order.owner):
                raise NotYours("only the buyer or the operator deletes an order")
            if not ORDER_TRANSITIONS.is_terminal(OrderState(order.state)):
                raise Conflict(f"order {order_id} is {order.state}: cancel it first",
                               code="order-not-deletable")
            await store.delete(conn, ORDER, order_id)

    # --- cancelProductOrder -------------------------------------------------------------

    async def request_cancellation(self, who: Caller, request: CancelProductOrderCreate
                                   ) -> dict[str, Any]:
        """Cancel an order now, recorded as a ``cancelProductOrder`` (state ``done``)."""
        who.require()
        now = self.context.now()
        cancel_id = str(uuid.uuid4())
        reason = request.cancellation_reason or "cancelled on request"
        async with self.context.engine.begin() as conn:
            order = await self.visible(conn, who, request.product_order.id)
            if not (who.operator or who.did == order.owner):
                raise NotYours("only the buyer or the operator cancels an order")
            await self.cancel_in(conn, order, now, reason)
            body: dict[str, Any] = {
                "id": cancel_id, "href": self.context.href(CANCEL_PATH, cancel_id),
                "@type": "CancelProductOrder", "state": "done", "cancellationReason": reason,
                "effectiveCancellationDate": iso(now), "lastUpdate": iso(now),
                "productOrder": {"id": order.id, "href": order.body.get("href"),
                                 "@referredType": "ProductOrder"}}
            if request.requested_cancellation_date is not None:
                body["requestedCancellationDate"] = iso(request.requested_cancellation_date)
            await store.insert(conn, Resource(
                kind=CANCEL, id=cancel_id, version="1", state="done", owner=order.owner,
                name=order.name, created_at=now, last_update=now, body=body, parent=order.id,
                private=True))
        return body

    async def find_cancellations(self, who: Caller, query: Query
                                 ) -> tuple[list[dict[str, Any]], int]:
        """The caller's cancellation requests (the operator: all)."""
        return await visible_page(self.context, CANCEL, who, query)

    async def get_cancellation(self, who: Caller, cancel_id: str) -> dict[str, Any]:
        """One cancellation request (its buyer's or the operator's)."""
        who.require()
        async with self.context.engine.connect() as conn:
            found = await store.get(conn, CANCEL, cancel_id)
        if found is None or not (who.operator or who.did == found.owner):
            raise ResourceNotFound(CANCEL, cancel_id)
        return found.body
