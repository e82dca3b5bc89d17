"""Inventory (TMF637 v4): the products buyers hold, their renewals and their end.

A completed order creates its product here (:meth:`Inventory.create`, in the
order's transaction) and has the purchase credential issued
(:meth:`~marketplace.services.purchases.Purchases.issue`, same transaction).
Cancelling, non-payment and the end of a period that does not renew
terminate it and revoke the credential.

Renewal (:data:`RENEW_JOB`, every :data:`SWEEP_SECONDS`): an active product
whose ``terminationDate`` has passed is renewed when its plan is recurring
and ``autoRenew`` holds (one more period: ``terminationDate`` moves on,
``renewals`` counts it, a credential for the new period is issued, and each
:data:`RenewalHook` is called in the same transaction: billing charges the
period there); otherwise it is terminated and its credential revoked.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from marketplace.domain.inventory import PRODUCT_TRANSITIONS, ProductPatch, ProductStatus
from marketplace.domain.ordering import SELLER, plan_from_body, plan_validity
from marketplace.domain.pricing import PriceType, PricingPlan
from marketplace.domain.tmf import Filter, Query
from marketplace.errors import NotYours, ResourceNotFound
from marketplace.services.callers import Caller
from marketplace.services.purchases import Purchases
from marketplace.store import resources as store
from marketplace.store.resources import Resource, Scope
from servicekit.clock import Clock, datetime_from_epoch, system_clock
from servicekit.errors import Conflict
from servicekit.jobs import Job, JobHandler, enqueue

__all__ = [
    "INVENTORY_PATH",
    "OPEN_ENDED",
    "PRODUCT",
    "RENEW_JOB",
    "SWEEP_SECONDS",
    "Context",
    "Inventory",
    "Renewal",
    "RenewalHook",
    "iso",
    "may_see",
    "parse_iso",
    "party",
    "schedule",
    "start_periodic",
    "visible_page",
    "write",
]

_log = structlog.get_logger("marketplace.inventory")

PRODUCT = "product"
INVENTORY_PATH = "/tmf-api/productInventory/v4/product"
#: The periodic job that renews or ends products whose period is over.
RENEW_JOB = "product-renewals"
#: How often the periodic jobs (renewals, the due-date sweep) run.
SWEEP_SECONDS = 300.0
#: How long the credential of a product without an end date is valid (re-issued on renewal).
OPEN_ENDED = timedelta(days=365)


def iso(moment: datetime) -> str:
    """``moment`` as TMF writes date-times: ISO 8601, UTC, ``Z``."""
    return moment.isoformat().replace("+00:00", "Z")


def parse_iso(text: str) -> datetime:
    """An ISO 8601 date-time written by :func:`iso`."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@dataclass(frozen=True)
class Renewal:
    """One product renewed for one more period: what billing charges."""

    product_id: str
    order_id: str
    buyer: str
    seller: str
    plan: PricingPlan
    #: The subscription's start (the anchor of its periods) and the period's index (1 = second).
    started: datetime
    period: int
    period_start: datetime
    period_end: datetime


#: Called in the renewal's transaction (billing rates and records the period's charge).
RenewalHook = Callable[[AsyncConnection, Renewal], Awaitable[None]]


@dataclass(frozen=True)
class Context:
    """What the ordering and inventory use cases share: the store, our URL, the clock."""

    engine: AsyncEngine
    base_url: str
    clock: Clock = system_clock
    wake: Callable[[], None] = lambda: None

    def now(self) -> datetime:
        """The current time (UTC)."""
        return datetime_from_epoch(self.clock())

    def href(self, path: str, resource_id: str) -> str:
        """The absolute href of a resource under ``path``."""
        return f"{self.base_url}{path}/{resource_id}"


async def schedule(conn: AsyncConnection, kind: str, interval: float = SWEEP_SECONDS) -> None:
    """Enqueue the periodic job ``kind`` for its next slot (once, whichever replica asks).

    Slots are counted on the job runner's clock (the wall clock), not the
    injected one: the jobs judge what is due by the injected clock.
    """
    now = system_clock()
    slot = int(now // interval) + 1
    await enqueue(conn, kind, {"slot": slot}, delay=slot * interval - now, now=now,
                  dedupe_key=f"{kind}:{slot}")


async def start_periodic(engine: AsyncEngine, kinds: Sequence[str]) -> None:
    """Make sure each periodic job kind has its next run queued (at start-up)."""
    async with engine.begin() as conn:
        for kind in kinds:
            await schedule(conn, kind)


async def write(conn: AsyncConnection, resource: Resource, now: datetime, *,
                state: str | None = None, **changes: Any) -> Resource:
    """Save ``resource`` with a new body (``changes`` merged) and state, if unchanged since read.

    409 ``resource-changed`` when someone else wrote it first (compare-and-set
    on ``last_update``).
    """
    last = resource.last_update
    if last.tzinfo is None:  # SQLite hands back naive UTC
        last = last.replace(tzinfo=UTC)
    stamp = max(now, last + timedelta(microseconds=1))
    body = {**resource.body, **changes, "lastUpdate": iso(stamp)}
    if state is not None:
        body["state" if "state" in resource.body else "status"] = state
    saved = await store.replace_body(conn, resource, expected=resource.last_update, body=body,
                                     state=state or resource.state, last_update=stamp)
    if saved is None:
        raise Conflict(f"{resource.kind} {resource.id} changed meanwhile; read it again",
                       code="resource-changed")
    return saved


def party(resource: Resource, role: str) -> str:
    """The DID of the ``relatedParty`` with ``role``."""
    for item in resource.body.get("relatedParty") or []:
        if item.get("role") == role:
            return str(item.get("id", ""))
    return ""


def may_see(who: Caller, resource: Resource) -> bool:
    """The operator, the buyer (owner) and the seller see an order or a product."""
    return who.operator or (who.member and who.did in (resource.owner, party(resource, SELLER)))


async def visible_page(context: Context, kind: str, who: Caller,
                       query: Query) -> tuple[list[dict[str, Any]], int]:
    """A page of orders or products: the operator sees all, a member its own purchases
    (with ``role=seller``: what it sold)."""
    who.require()
    scope = Scope()
    filters = query.filters
    if not who.operator:
        if query.extra.get("role") == "seller":
            filters = (*filters, Filter(("seller", "id"), "eq", (who.did,)))
        else:
            scope = Scope(owner=who.did)
    async with context.engine.connect() as conn:
        page, total = await store.find(conn, kind, Query(
            filters=filters, fields=query.fields, sort=query.sort, limit=query.limit,
            offset=query.offset), scope)
    return [r.body for r in page], total


@dataclass
class Inventory:
    """TMF637 products: list, read, change, delete; create, terminate and renew them."""

    context: Context
    purchases: Purchases | None = None
    renewal_hooks: list[RenewalHook] = field(default_factory=list)

    def jobs(self) -> dict[str, JobHandler]:
        """The job kinds this runs: the periodic renewals."""
        return {RENEW_JOB: self.renew_job}

    # --- reading ------------------------------------------------------------------------

    async def find(self, who: Caller, query: Query) -> tuple[list[dict[str, Any]], int]:
        """Products the caller may see (see :func:`visible_page`)."""
        return await visible_page(self.context, PRODUCT, who, query)

    async def get(self, who: Caller, product_id: str) -> dict[str, Any]:
        """One product (404 unless the caller is its buyer, its seller or the operator)."""
        who.require()
        async with self.context.engine.connect() as conn:
            return (await self._visible(conn, who, product_id)).body

    async def _visible(self, conn: AsyncConnection, who: Caller, product_id: str) -> Resource:
        found = await store.get(conn, PRODUCT, product_id)
        if found is None or not may_see(who, found):
            raise ResourceNotFound(PRODUCT, product_id)
        return found

    # --- changing -----------------------------------------------------------------------

    async def patch(self, who: Caller, product_id: str, patch: ProductPatch) -> dict[str, Any]:
        """Change status (operator; the buyer may only terminate), ``autoRenew``, description."""
        who.require()
        async with self.context.engine.begin() as conn:
            product = await self._visible(conn, who, product_id)
            if not (who.operator or who.did == product.owner):
                raise NotYours("only the buyer or the operator changes a product")
            changes: dict[str, Any] = {}
            if patch.auto_renew is not None:
                changes["autoRenew"] = patch.auto_renew
            if patch.description is not None:
                changes["description"] = patch.description
            status = patch.status
            if status is not None and status.value != product.state:
                if not who.operator and status is not ProductStatus.TERMINATED:
                    raise NotYours("a buyer may only terminate its product",
                                   code="status-operator-only")
                PRODUCT_TRANSITIONS.check(ProductStatus(product.state), status)
                if status is ProductStatus.TERMINATED:
                    changes["terminationDate"] = iso(self.context.now())
                    await self.revoke(conn, product, "terminated")
            saved = await write(conn, product, self.context.now(),
                                state=status.value if status else None, **changes)
        return saved.body

    async def delete(self, who: Caller, product_id: str) -> None:
        """Delete a terminated product (the operator, or its buyer)."""
        who.require()
        async with self.context.engine.begin() as conn:
            product = await self._visible(conn, who, product_id)
            if not (who.operator or who.did == product.owner):
                raise NotYours("only the buyer or the operator deletes a product")
            if product.state != ProductStatus.TERMINATED:
                raise Conflict("only a terminated product may be deleted",
                               code="product-not-deletable")
            await store.delete(conn, PRODUCT, product_id)

    # --- what orders do (in the order's transaction) ------------------------------------

    async def create(self, conn: AsyncConnection, order: Resource, plan: PricingPlan,
                     now: datetime) -> Resource:
        """The active product of a completed order, and its purchase credential."""
        product_id = str(uuid.uuid4())
        item = order.body["productOrderItem"][0]
        until = plan_validity(plan, now)
        body: dict[str, Any] = {
            "id": product_id, "href": self.context.href(INVENTORY_PATH, product_id),
            "@type": "Product", "name": item["productOffering"].get("name") or product_id,
            "status": ProductStatus.ACTIVE.value, "isBundle": False, "isCustomerVisible": True,
            "orderDate": order.body.get("orderDate"), "startDate": iso(now),
            "productOffering": item["productOffering"],
            "productPrice": item["itemPrice"],
            "productOrderItem": [{"orderItemId": item["id"], "productOrderId": order.id,
                                  "productOrderHref": order.body.get("href"),
                                  "orderItemAction": "add",
                                  "@type": "RelatedProductOrderItem"}],
            "relatedParty": order.body.get("relatedParty", []),
            "seller": order.body.get("seller"),
            "autoRenew": bool(plan.auto_renew) if plan.price_type is PriceType.RECURRING
            else False,
            "renewals": 0, "lastUpdate": iso(now),
        }
        specification = (item.get("product") or {}).get("productSpecification")
        if specification:
            body["productSpecification"] = specification
        if order.body.get("purpose"):
            body["purpose"] = order.body["purpose"]
        if until is not None:
            body["terminationDate"] = iso(until)
        PRODUCT_TRANSITIONS.check(None, ProductStatus.ACTIVE)
        product = await store.insert(conn, Resource(
            kind=PRODUCT, id=product_id, version="1", state=ProductStatus.ACTIVE.value,
            owner=order.owner, name=body["name"], created_at=now, last_update=now, body=body,
            parent=order.id, private=True))
        await self.issue(conn, product, plan, until or now + OPEN_ENDED)
        return product

    async def issue(self, conn: AsyncConnection, product: Resource, plan: PricingPlan,
                    valid_until: datetime) -> None:
        """Have the buyer's purchase credential issued for ``product`` until ``valid_until``."""
        if self.purchases is None:
            return
        body = product.body
        offering = body["productOffering"]
        limits: dict[str, Any] = {}
        if plan.usage_limit is not None:
            limits["usageLimit"] = plan.usage_limit.model_dump(mode="json", by_alias=True)
        purposes = [body["purpose"]] if body.get("purpose") else list(plan.purpose)
        if purposes:
            limits["purpose"] = purposes
        spec = (body.get("productSpecification") or {}).get("id") or offering["id"]
        await self.purchases.issue(
            conn, buyer_did=product.owner, product_id=spec, offering_id=offering["id"],
            offering_version=offering.get("version") or "", plan_id=plan.id or "",
            valid_until=valid_until, limits=limits, order_id=product.parent)

    async def revoke(self, conn: AsyncConnection, product: Resource, reason: str) -> None:
        """Revoke the purchase credentials of ``product``'s order."""
        if self.purchases is not None:
            await self.purchases.revoke(conn, order_id=product.parent, reason=reason)

    async def terminate(self, conn: AsyncConnection, order_id: str, now: datetime,
                        reason: str) -> None:
        """Terminate the product of order ``order_id`` (if it has one) and revoke."""
        page, _ = await store.find(conn, PRODUCT, Query(limit=10), Scope(parent=order_id))
        for product in page:
            if product.state != ProductStatus.TERMINATED:
                PRODUCT_TRANSITIONS.check(ProductStatus(product.state), ProductStatus.TERMINATED)
                await write(conn, product, now, state=ProductStatus.TERMINATED.value,
                            terminationDate=iso(now))
        if page:
            await self.revoke(conn, page[0], reason)

    # --- renewals -----------------------------------------------------------------------

    async def renew_job(self, job: Job) -> None:
        """The periodic job: renew or end what is due, then schedule the next run."""
        await self.renew_due()
        async with self.context.engine.begin() as conn:
            await schedule(conn, RENEW_JOB)

    async def renew_due(self) -> tuple[int, int]:
        """Renew or terminate every product whose period is over; (renewed, terminated)."""
        now = self.context.now()
        due = Query(filters=(Filter(("status",), "eq", (ProductStatus.ACTIVE.value,
                                                        ProductStatus.SUSPENDED.value)),
                             Filter(("terminationDate",), "lte", (iso(now),))), limit=50)
        renewed = ended = 0
        while True:
            async with self.context.engine.begin() as conn:
                page, _ = await store.find(conn, PRODUCT, due)
                for product in page:
                    if await self._renew_or_end(conn, product, now):
                        renewed += 1
                    else:
                        ended += 1
            if len(page) < due.limit:
                break
        if renewed or ended:
            _log.info("products_renewed", renewed=renewed, terminated=ended)
            self.context.wake()
        return renewed, ended

    async def _renew_or_end(self, conn: AsyncConnection, product: Resource,
                            now: datetime) -> bool:
        plan = await self._plan(conn, product)
        body = product.body
        if (plan is None or plan.price_type is not PriceType.RECURRING
                or not body.get("autoRenew") or product.state != ProductStatus.ACTIVE):
            PRODUCT_TRANSITIONS.check(ProductStatus(product.state), ProductStatus.TERMINATED)
            await write(conn, product, now, state=ProductStatus.TERMINATED.value)
            await self.revoke(conn, product, "period ended")
            return False
        started = parse_iso(body["startDate"])
        period = int(body.get("renewals", 0)) + 1
        period_end = plan_validity(plan, started, period)
        assert period_end is not None  # a recurring plan's period always ends
        period_start = parse_iso(body["terminationDate"])
        saved = await write(conn, product, now, renewals=period,
                            terminationDate=iso(period_end))
        renewal = Renewal(product_id=product.id, order_id=product.parent, buyer=product.owner,
                          seller=(body.get("seller") or {}).get("id", ""), plan=plan,
                          started=started, period=period, period_start=period_start,
                          period_end=period_end)
        for hook in self.renewal_hooks:
            await hook(conn, renewal)
        await self.issue(conn, saved, plan, period_end)
        return True

    async def _plan(self, conn: AsyncConnection, product: Resource) -> PricingPlan | None:
        prices: Sequence[dict[str, Any]] = product.body.get("productPrice") or []
        ref = prices[0].get("productOfferingPrice") if prices else None
        if not ref:
            return None
        row = await store.get(conn, "productOfferingPrice", ref["id"], ref.get("version"))
        return plan_from_body(row.body) if row is not None else None

