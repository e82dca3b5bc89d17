"""The catalog's rules inside one transaction: references, plans, life cycle and versions.

:class:`Rules` is what :class:`~marketplace.services.catalog.CatalogService`
runs once it knows who asks and what the body says:

* references must name stored resources (``reference-unknown``); an
  offering names its owner's product and plans (``not-yours``), and a plan
  hangs on one offering (the row's ``parent``; ``price-in-use`` otherwise);
* every lifecycle move is checked with :data:`LIFECYCLE`; launching needs a
  product and at least one plan (``offering-incomplete``);
* a launched offering whose commercial terms change, or one of whose plans
  changes, gets a new version (and the plan too), the older ones stay as
  they were; a retired or obsolete offering's terms and plans do not change
  (``offering-retired``);
* what something depends on is not deleted (``*-in-use``), nor is an offering
  that was ever launched (``offering-launched``: retire it).

Every write is a compare-and-set on the row's ``last_update``
(``resource-changed`` when another writer came first).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncConnection

from marketplace.domain.catalog import (
    COMMERCIAL,
    DEVELOPMENT,
    LIFECYCLE,
    CatalogIn,
    CategoryIn,
    Kind,
    LifecycleStatus,
    OfferingIn,
    next_version,
)
from marketplace.domain.pricing import PricingPlan
from marketplace.domain.tmf import Filter, Query
from marketplace.errors import NotYours
from marketplace.store import resources as store
from marketplace.store.resources import Resource, Scope
from servicekit.clock import Clock, datetime_from_epoch
from servicekit.errors import Conflict, InvalidRequest

__all__ = ["BASE_TYPES", "SERVER_FIELDS", "OfferingTerms", "Rules", "visible_ids"]

#: ``@baseType`` of each kind (the server sets it).
BASE_TYPES: dict[Kind, str] = {
    Kind.SPECIFICATION: "ProductSpecification",
    Kind.OFFERING: "ProductOffering",
    Kind.PRICE: "ProductOfferingPrice",
    Kind.CATALOG: "Catalog",
    Kind.CATEGORY: "Category",
}
#: Members of a served body that only the server writes.
SERVER_FIELDS = frozenset({"id", "href", "lastUpdate", "version", "@baseType"})
_MANY = 10_000
_PUBLIC = Scope(public_states=frozenset({LifecycleStatus.LAUNCHED.value}))
_ENDED = frozenset({LifecycleStatus.RETIRED.value, LifecycleStatus.OBSOLETE.value})


@dataclass(frozen=True)
class OfferingTerms:
    """One version of an offering, with its product and plans: what an order is made on."""

    offering: dict[str, Any]
    #: The provider's DID (the offering's owner).
    provider: str
    #: Whether this is the offering's newest version.
    current: bool
    specification: dict[str, Any] | None
    #: The plans of this version, by ``ProductOfferingPrice`` id.
    plans: dict[str, PricingPlan] = field(default_factory=dict)

    @property
    def id(self) -> str:
        """The offering's id."""
        return str(self.offering["id"])

    @property
    def version(self) -> str:
        """This version (``"1.0"``...)."""
        return str(self.offering["version"])

    @property
    def state(self) -> LifecycleStatus:
        """This version's ``lifecycleStatus``."""
        return LifecycleStatus(self.offering["lifecycleStatus"])

    @property
    def orderable(self) -> bool:
        """A new order may be placed: the newest version, launched and sellable."""
        return (self.current and self.state is LifecycleStatus.LAUNCHED
                and bool(self.offering.get("isSellable", True)))

    def plan(self, plan_id: str) -> PricingPlan:
        """The plan ``plan_id`` of this version (400 ``plan-unknown`` if it has none such)."""
        if plan_id not in self.plans:
            raise InvalidRequest(f"offering {self.id} version {self.version} has no plan "
                                 f"{plan_id!r}", code="plan-unknown")
        return self.plans[plan_id]


async def visible_ids(conn: AsyncConnection, kind: Kind, viewer: str) -> set[str]:
    """Products or plans a non-operator sees: named by public offerings, or the viewer's own."""
    offerings, _ = await store.find(conn, Kind.OFFERING, Query(limit=_MANY), _PUBLIC)
    ids: set[str] = set()
    for offering in offerings:
        if kind is Kind.SPECIFICATION:
            spec = offering.body.get("productSpecification") or {}
            ids.update([spec["id"]] if "id" in spec else [])
        else:
            ids.update(p["id"] for p in offering.body.get("productOfferingPrice") or [])
    if viewer:
        own, _ = await store.find(conn, kind, Query(limit=_MANY), Scope(owner=viewer))
        ids.update(r.id for r in own)
    return ids


def _changed() -> Conflict:
    return Conflict("the resource changed meanwhile; read it again", code="resource-changed")


def _unknown(kind: Kind, ref_id: str) -> InvalidRequest:
    return InvalidRequest(f"no {kind} {ref_id!r}", code="reference-unknown",
                          extra={"reference": ref_id})


def _terms_key(body: Mapping[str, Any]) -> dict[str, Any]:
    """An offering's commercial terms, with references compared by id and version."""
    key = {k: body.get(k) for k in COMMERCIAL}
    key["productOfferingPrice"] = [(p["id"], p.get("version"))
                                   for p in body.get("productOfferingPrice") or []]
    key["productSpecification"] = (body.get("productSpecification") or {}).get("id")
    return key


def _private(row: Resource, body: Mapping[str, Any]) -> bool:
    """An offering says whether it is private; a plan follows its offering."""
    return bool(body.get("isPrivate", False)) if row.kind == Kind.OFFERING else row.private


def _major(version: str) -> int:
    head = version.split(".", 1)[0]
    return int(head) if head.isdigit() else 1


@dataclass(frozen=True)
class Rules:
    """The per-kind rules, run inside the caller's transaction."""

    #: ``<base URL>/tmf-api/productCatalogManagement/v4``.
    api_url: str
    clock: Clock

    def now(self) -> datetime:
        """The clock's time as an aware UTC datetime."""
        return datetime_from_epoch(self.clock())

    def href(self, kind: str, resource_id: str) -> str:
        """The absolute href of a resource."""
        return f"{self.api_url}/{kind}/{resource_id}"

    def _served(self, kind: str, resource_id: str, version: str, body: Mapping[str, Any],
                at: datetime) -> dict[str, Any]:
        return {"id": resource_id, "href": self.href(kind, resource_id),
                **{k: v for k, v in body.items() if k not in SERVER_FIELDS},
                "version": version, "lastUpdate": at.isoformat().replace("+00:00", "Z"),
                "@baseType": BASE_TYPES[Kind(kind)]}

    async def _ref(self, conn: AsyncConnection, kind: Kind, ref: Mapping[str, Any],
                   owner: str | None = None) -> tuple[dict[str, Any], Resource]:
        row = await store.get(conn, kind, str(ref["id"]))
        if row is None:
            raise _unknown(kind, str(ref["id"]))
        if owner is not None and row.owner not in (owner, ""):
            raise NotYours(f"{kind} {row.id} belongs to another party")
        normal = {"id": row.id, "href": self.href(kind, row.id), "name": row.name,
                  "@referredType": row.body.get("@type", BASE_TYPES[kind])}
        if kind in (Kind.OFFERING, Kind.PRICE):
            normal["version"] = row.version
        return normal, row

    async def _references(self, conn: AsyncConnection, model: BaseModel, body: dict[str, Any],
                          owner: str, resource_id: str) -> None:
        """Check the references of ``body`` and write them in their normal form."""
        lists: dict[str, Kind] = {"category": Kind.CATEGORY}
        if isinstance(model, OfferingIn):
            if model.product_specification is not None:
                body["productSpecification"], _ = await self._ref(
                    conn, Kind.SPECIFICATION, body["productSpecification"], owner)
            plans = []
            for ref in body.get("productOfferingPrice") or []:
                normal, row = await self._ref(conn, Kind.PRICE, ref, owner)
                if row.parent not in ("", resource_id):
                    raise Conflict(f"plan {row.id} belongs to another offering",
                                   code="price-in-use")
                plans.append(normal)
            body["productOfferingPrice"] = plans
        elif isinstance(model, CategoryIn):
            lists = {"productOffering": Kind.OFFERING, "subCategory": Kind.CATEGORY}
            if model.parent_id is not None:
                await self._ref(conn, Kind.CATEGORY, {"id": model.parent_id})
        elif not isinstance(model, CatalogIn):
            return
        for name, kind in lists.items():
            if name in body:
                body[name] = [(await self._ref(conn, kind, ref))[0] for ref in body[name]]

    async def specification_owner(self, conn: AsyncConnection, model: OfferingIn) -> str:
        """The owner of an offering the operator makes: its product's provider (else ``""``)."""
        if model.product_specification is None:
            return ""
        _, row = await self._ref(conn, Kind.SPECIFICATION, {"id": model.product_specification.id})
        return row.owner

    # --- create and update -------------------------------------------------------------

    async def create(self, conn: AsyncConnection, kind: Kind, resource_id: str, owner: str,
                     model: BaseModel) -> Resource:
        """Store a new resource (version ``1.0``)."""
        body = model.model_dump(mode="json", by_alias=True, exclude_none=True)
        await self._references(conn, model, body, owner, resource_id)
        at = self.now()
        row = Resource(kind=kind, id=resource_id, version="1.0",
                       state=str(body.get("lifecycleStatus", "")), owner=owner,
                       name=str(body["name"]), created_at=at, last_update=at,
                       body=self._served(kind, resource_id, "1.0", body, at),
                       private=bool(getattr(model, "is_private", False)))
        await store.insert(conn, row)
        await self._attach(conn, row)
        return row

    async def update(self, conn: AsyncConnection, row: Resource, model: BaseModel) -> Resource:
        """Write ``model`` over ``row``: in place, or as a new version (see the module docs)."""
        body = model.model_dump(mode="json", by_alias=True, exclude_none=True)
        await self._references(conn, model, body, row.owner, row.id)
        if row.kind == Kind.PRICE:
            return await self._update_plan(conn, row, body)
        old, new = LifecycleStatus(row.state), LifecycleStatus(body["lifecycleStatus"])
        if old is not new:
            LIFECYCLE.check(old, new)
        if row.kind != Kind.OFFERING:
            return await self._write(conn, row, body)
        commercial = _terms_key(body) != _terms_key(row.body)
        if commercial and old.value in _ENDED:
            raise Conflict(f"offering {row.id} is {old}: its terms and plans no longer change",
                           code="offering-retired")
        if new is LifecycleStatus.LAUNCHED and not (
                body.get("productSpecification") and body.get("productOfferingPrice")):
            raise Conflict("an offering is launched with its product and at least one plan",
                           code="offering-incomplete")
        if commercial and old is LifecycleStatus.LAUNCHED:
            updated = await self._new_version(conn, row, body)
        else:
            if old in DEVELOPMENT:
                await self._detach(conn, row, keep={p["id"] for p in body.get(
                    "productOfferingPrice") or []})
            updated = await self._write(conn, row, body)
        await self._attach(conn, updated)
        return updated

    async def _write(self, conn: AsyncConnection, row: Resource, body: dict[str, Any]
                     ) -> Resource:
        at = self.now()
        updated = await store.replace_body(
            conn, row, expected=row.last_update, last_update=at, name=str(body["name"]),
            state=str(body.get("lifecycleStatus", row.state)),
            private=_private(row, body), body=self._served(row.kind, row.id, row.version, body, at))
        if updated is None:
            raise _changed()
        return updated

    async def _new_version(self, conn: AsyncConnection, row: Resource, body: dict[str, Any]
                           ) -> Resource:
        at = self.now()
        if await store.replace_body(conn, row, expected=row.last_update, current=False,
                                    last_update=at) is None:
            raise _changed()
        latest = max(_major(r.version) for r in await store.versions(conn, row.kind, row.id))
        version = next_version(str(latest))
        created = Resource(
            kind=row.kind, id=row.id, version=version,
            state=str(body.get("lifecycleStatus", row.state)), owner=row.owner,
            name=str(body["name"]), created_at=at, last_update=at, parent=row.parent,
            private=_private(row, body),
            body=self._served(row.kind, row.id, version, body, at))
        return await store.insert(conn, created)

    async def _update_plan(self, conn: AsyncConnection, row: Resource, body: dict[str, Any]
                           ) -> Resource:
        offering = await store.get(conn, Kind.OFFERING, row.parent) if row.parent else None
        if offering is None or LifecycleStatus(offering.state) in DEVELOPMENT:
            return await self._write(conn, row, body)
        if offering.state in _ENDED:
            raise Conflict(f"offering {offering.id} is {offering.state}: its plans no longer "
                           "change", code="offering-retired")
        refs = offering.body.get("productOfferingPrice") or []
        if not any(p["id"] == row.id for p in refs):
            raise Conflict(f"plan {row.id} belongs to an older version of offering "
                           f"{offering.id}", code="price-superseded")
        plan = await self._new_version(conn, row, body)
        terms = {**offering.body, "productOfferingPrice": [
            {**p, "version": plan.version, "name": plan.name} if p["id"] == row.id else p
            for p in refs]}
        await self._new_version(conn, offering, terms)
        return plan

    async def _attach(self, conn: AsyncConnection, offering: Resource) -> None:
        """The offering's plans hang on it, with its owner and privacy."""
        if offering.kind != Kind.OFFERING:
            return
        for ref in offering.body.get("productOfferingPrice") or []:
            plan = await store.get(conn, Kind.PRICE, ref["id"])
            if plan is None:
                raise _unknown(Kind.PRICE, ref["id"])
            wanted = (offering.id, offering.owner, offering.private)
            if (plan.parent, plan.owner, plan.private) != wanted and await store.replace_body(
                    conn, plan, expected=plan.last_update, parent=offering.id,
                    owner=offering.owner, private=offering.private) is None:
                raise _changed()

    async def _detach(self, conn: AsyncConnection, offering: Resource, keep: set[str]) -> None:
        for ref in offering.body.get("productOfferingPrice") or []:
            plan = await store.get(conn, Kind.PRICE, ref["id"])
            if plan is not None and plan.id not in keep and plan.parent == offering.id and \
                    await store.replace_body(conn, plan, expected=plan.last_update,
                                             parent="") is None:
                raise _changed()

    # --- delete and read ---------------------------------------------------------------

    async def delete(self, conn: AsyncConnection, row: Resource) -> None:
        """Delete ``row`` (every version) unless something depends on it."""
        if row.kind == Kind.OFFERING:
            if LifecycleStatus(row.state) not in DEVELOPMENT or len(
                    await store.versions(conn, row.kind, row.id)) > 1:
                raise Conflict(f"offering {row.id} was launched; retire it instead",
                               code="offering-launched")
            await self._detach(conn, row, keep=set())
        elif row.kind == Kind.SPECIFICATION and await self.offered(
                conn, Filter(("productSpecification", "id"), "eq", (row.id,)), Scope()):
            raise Conflict(f"an offering names product {row.id}", code="specification-in-use")
        elif row.kind == Kind.PRICE and row.parent:
            offering = await store.get(conn, Kind.OFFERING, row.parent)
            ended = offering is not None and offering.state in _ENDED
            raise Conflict(f"plan {row.id} belongs to offering {row.parent}",
                           code="offering-retired" if ended else "price-in-use")
        await store.delete(conn, row.kind, row.id)

    async def offered(self, conn: AsyncConnection, where: Filter, scope: Scope = _PUBLIC
                      ) -> bool:
        """Whether a current offering in ``scope`` (default: public) matches ``where``."""
        _, total = await store.find(conn, Kind.OFFERING, Query(filters=(where,), limit=1), scope)
        return total > 0

    async def terms(self, conn: AsyncConnection, row: Resource) -> OfferingTerms:
        """The offering version ``row`` with its product and the plan versions it names."""
        spec_ref = row.body.get("productSpecification") or {}
        spec = await store.get(conn, Kind.SPECIFICATION, spec_ref["id"]) if spec_ref else None
        plans: dict[str, PricingPlan] = {}
        for ref in row.body.get("productOfferingPrice") or []:
            plan = await store.get(conn, Kind.PRICE, ref["id"], ref.get("version"))
            if plan is not None:
                plans[plan.id] = PricingPlan.model_validate(plan.body)
        return OfferingTerms(offering=row.body, provider=row.owner, current=row.current,
                             specification=spec.body if spec else None, plans=plans)
