"""Usage (TMF635 v4): provider connectors report what buyers used; each report is rated once.

A report (:meth:`UsageService.report`) is accepted only when

1. it is a TMF635 ``Usage`` naming the provider, the buyer, the agreement and
   the data product bought (:class:`~marketplace.domain.usage.UsageReport`);
2. ``X-Usage-Signature`` is a ``usage+jwt`` over the same document, signed by
   a key of the **provider's** DID (the ``relatedParty`` of role ``provider``);
   a report signed by anyone else, or a document that differs from what was
   signed, is refused (401) and changes nothing;
3. the marketplace sold it: the buyer holds a TMF637 product of that data
   product (``productSpecification``, else ``productOffering``: the purchase
   credential's ``product`` claim) whose seller is that provider, in a state
   that is billed (``active``, ``suspended``, ``terminated`` after the use),
   and, when the report names the plan (``planId``), on that plan —
   else 403 ``usage-not-sold``. Without ``planId``, a product on a usage
   plan is preferred;
4. its ``id`` is new: the same bucket re-sent is 409 ``usage-exists`` (the
   connector reads 409 as "already have it").

It is then rated on the product's plan (:func:`~marketplace.domain.rating.rate_usage`,
after what the product already used in the plan's quota period), stored as
a ``usage`` resource (owner: the provider; parent: the product) with its
``ratedProductUsage``, and its charge is stored under the charge's stable id
(a second charge for the same report cannot exist). A product on a plan that
is not a usage plan records the report (``guided``) without a charge. The
steps run in one transaction that first takes the product's write lock, so
concurrent reports on one product see each other's units.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import structlog
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncConnection

from identity.resolver import DidResolver
from identity.signed import verify_signed_jwt
from marketplace.domain.bill_views import rated_usage
from marketplace.domain.ordering import SELLER, plan_from_body
from marketplace.domain.pricing import PriceType, PricingPlan
from marketplace.domain.rating import Charge, period_containing, rate_usage, usage_quantity
from marketplace.domain.tmf import Query
from marketplace.domain.usage import USAGE_TYPE, UsageFacts, UsageReport, UsageStatus
from marketplace.errors import ResourceNotFound
from marketplace.services.callers import Caller
from marketplace.services.inventory import INVENTORY_PATH, PRODUCT, Context, iso, parse_iso, party
from marketplace.store import billing as charges
from marketplace.store import resources as store
from marketplace.store.resources import Resource, Scope
from servicekit.errors import Conflict, Forbidden, InvalidToken, ValidationFailed
from servicekit.web import pydantic_errors

__all__ = ["BILLED_STATES", "USAGE", "USAGE_PATH", "UsageNotSold", "UsageService"]

_log = structlog.get_logger("marketplace.usage")

USAGE = "usage"
USAGE_PATH = "/tmf-api/usageManagement/v4/usage"
#: Product states whose usage is billed (usage reaches us after the fact: a product
#: terminated since is still billed for what was used before its end).
BILLED_STATES = frozenset({"active", "suspended", "terminated"})


class UsageNotSold(Forbidden, code="usage-not-sold"):
    """The usage names no product the marketplace sold to that buyer from that provider."""


@dataclass(frozen=True)
class _Sold:
    product: Resource
    plan: PricingPlan


def _product_of(body: dict[str, Any]) -> str:
    """The data product a TMF637 product is of: what the purchase credential's claim names."""
    spec = body.get("productSpecification") or {}
    offering = body.get("productOffering") or {}
    return str(spec.get("id") or offering.get("id") or "")


def _seller(product: Resource) -> str:
    return party(product, SELLER) or str((product.body.get("seller") or {}).get("id", ""))


def _started(product: Resource) -> datetime:
    if product.body.get("startDate"):
        return parse_iso(product.body["startDate"])
    created = product.created_at  # SQLite hands back naive UTC
    return created if created.tzinfo is not None else created.replace(tzinfo=UTC)


def _covers(product: Resource, facts: UsageFacts) -> bool:
    body = product.body
    start = _started(product)
    if facts.period_end <= start:
        return False
    if product.state == "terminated" and body.get("terminationDate"):
        return facts.period_start < parse_iso(body["terminationDate"])
    return product.state in BILLED_STATES


@dataclass
class UsageService:
    """TMF635 usage: report (provider connectors), list and read."""

    context: Context
    resolver: DidResolver

    async def report(self, document: Any, signature: str | None) -> dict[str, Any]:
        """Verify, rate and store one signed usage report; the stored ``Usage``."""
        if not signature:
            raise InvalidToken("a usage report needs X-Usage-Signature (a usage+jwt)",
                               code="usage-signature-missing")
        try:
            report = UsageReport.model_validate(document)
        except ValidationError as exc:
            raise ValidationFailed("the body is not a TMF635 Usage",
                                   errors=pydantic_errors(exc)) from None
        facts = report.facts()
        claims = await verify_signed_jwt(signature, self.resolver, typ={USAGE_TYPE},
                                         issuer=facts.provider)
        if claims != document:
            raise InvalidToken("the signature covers another document",
                               code="usage-signature-mismatch")
        engine = self.context.engine
        async with engine.connect() as conn:
            sold = await self._sold(conn, facts)
        async with engine.begin() as conn:
            await charges.lock_resource(conn, PRODUCT, sold.product.id)
            if await store.get(conn, USAGE, facts.id) is not None:
                raise Conflict(f"usage {facts.id} was received already", code="usage-exists")
            now = self.context.now()
            charge = await self._rate(conn, sold, facts, now)
            body = self._body(document, sold, charge, now)
            await store.insert(conn, Resource(
                kind=USAGE, id=facts.id, version="1", state=body["status"],
                owner=facts.provider, parent=sold.product.id,
                name=str(document.get("description") or facts.id), private=True,
                created_at=now, last_update=now, body=body))
        _log.info("usage_rated", usage=facts.id, product=sold.product.id,
                  requests=facts.requests, charge=charge.id if charge else None,
                  net_minor=charge.net_minor if charge else 0)
        return body

    async def _sold(self, conn: AsyncConnection, facts: UsageFacts) -> _Sold:
        """The product the marketplace sold that this usage is of (403 when there is none).

        A buyer may hold several products of one data product from one provider
        (a monthly and a pay-per-use plan, say): a report naming the plan
        (``planId``) is of the product on that plan; one that does not (an older
        connector, an offer without the plan) is of one on a usage plan, else
        of any (recorded, not charged).
        """
        products, _ = await store.find(conn, PRODUCT, Query(limit=500), Scope(owner=facts.consumer))
        found: list[_Sold] = []
        for product in products:
            if (_product_of(product.body) != facts.product_id
                    or _seller(product) != facts.provider or not _covers(product, facts)):
                continue
            prices = product.body.get("productPrice") or []
            ref = prices[0].get("productOfferingPrice") if prices else None
            if not ref or (facts.plan_id is not None and ref.get("id") != facts.plan_id):
                continue
            row = await store.get(conn, "productOfferingPrice", ref["id"], ref.get("version"))
            if row is not None:
                found.append(_Sold(product, plan_from_body(row.body)))
        metered = [sold for sold in found if sold.plan.price_type is PriceType.USAGE]
        if metered or found:
            return (metered or found)[0]
        plan = f" on plan {facts.plan_id!r}" if facts.plan_id is not None else ""
        raise UsageNotSold(
            f"{facts.consumer} bought no product {facts.product_id!r}{plan} of "
            f"{facts.provider} here: the marketplace bills only the agreements it sold",
            extra={"agreement": facts.agreement_id})

    async def _rate(self, conn: AsyncConnection, sold: _Sold, facts: UsageFacts,
                    now: datetime) -> Charge | None:
        plan, product = sold.plan, sold.product
        if plan.price_type is not PriceType.USAGE:
            return None
        anchor = _started(product)
        _, start, end = period_containing(plan, anchor, max(facts.period_start, anchor))
        quantity = usage_quantity(plan, requests=facts.requests, bytes_=facts.bytes)
        used = await charges.used_in_period(conn, product.id, start)
        charge = rate_usage(plan, quantity, used, source=facts.id, provider=facts.provider,
                            period=(start, end))
        await charges.insert_charge(conn, charge, buyer=product.owner, product=product.id,
                                    period_start=start, used_at=facts.period_end, now=now)
        return charge

    def _body(self, document: dict[str, Any], sold: _Sold, charge: Charge | None,
              now: datetime) -> dict[str, Any]:
        product = {"id": sold.product.id,
                   "href": self.context.href(INVENTORY_PATH, sold.product.id)}
        status = UsageStatus.RATED if charge is not None else UsageStatus.GUIDED
        return {**document, "href": self.context.href(USAGE_PATH, str(document["id"])),
                "@type": "Usage", "status": status.value, "lastUpdate": iso(now),
                "ratedProductUsage": rated_usage(charge, product=product, rated_at=now)}

    # --- reading ------------------------------------------------------------------------

    async def find(self, who: Caller, query: Query) -> tuple[list[dict[str, Any]], int]:
        """Usage reports: the operator sees all, a provider the ones it reported."""
        who.require()
        scope = Scope() if who.operator else Scope(owner=who.did)
        async with self.context.engine.connect() as conn:
            page, total = await store.find(conn, USAGE, query, scope)
        return [r.body for r in page], total

    async def get(self, who: Caller, usage_id: str) -> dict[str, Any]:
        """One report: for the operator, the provider that reported it and the buyer."""
        who.require()
        async with self.context.engine.connect() as conn:
            found = await store.get(conn, USAGE, usage_id)
        parties = {p.get("id") for p in (found.body.get("relatedParty") or [])} if found else set()
        if found is None or not (who.operator or who.did in parties):
            raise ResourceNotFound(USAGE, usage_id)
        return found.body
