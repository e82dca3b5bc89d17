"""The product catalog (TMF620): register data products, offer them on plans, browse them.

Who may do what (:class:`~marketplace.services.callers.Caller`):

* a **member** registers and changes its own products, offerings and plans
  (the owner is its DID) and sees its own in any state;
* the **operator** may act on any resource (what it creates itself is owned
  by ``""``, except a product, which names its ``providerDid``);
* anyone, **anonymous** too, sees launched offerings that are not private,
  the products and plans those offerings name, and launched catalogs and
  categories. What a caller may not see answers 404, as if it did not exist.

A product's datasets are checked against the provider's DSP catalog
(:class:`DatasetCatalog`) before it is stored. Lifecycle moves are checked
with :data:`~marketplace.domain.catalog.LIFECYCLE` and written as a
compare-and-set on the row's ``last_update``. The rules of each kind, and
versioning, are in :mod:`marketplace.services.catalog_rules`.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Protocol

import structlog
from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from marketplace.domain.catalog import (
    CREATE_STATES,
    LIFECYCLE,
    MODELS,
    Kind,
    LifecycleStatus,
    OfferingIn,
    SpecificationIn,
    check_writable,
    merge_patch,
)
from marketplace.domain.tmf import Filter, Query
from marketplace.errors import NotYours, ResourceNotFound
from marketplace.services.callers import Caller
from marketplace.services.catalog_rules import (
    BASE_TYPES,
    SERVER_FIELDS,
    OfferingTerms,
    Rules,
    visible_ids,
)
from marketplace.services.search import Search
from marketplace.store import resources as store
from marketplace.store.resources import Resource, Scope
from servicekit.clock import Clock, datetime_from_epoch, system_clock
from servicekit.errors import InvalidRequest, ValidationFailed
from servicekit.web import pydantic_errors

__all__ = ["API_PATH", "CatalogService", "DatasetCatalog", "OfferingTerms"]

_log = structlog.get_logger("marketplace.catalog")

#: Where TMF620 is served (below the base URL).
API_PATH = "/tmf-api/productCatalogManagement/v4"
_LAUNCHED = frozenset({LifecycleStatus.LAUNCHED.value})


class DatasetCatalog(Protocol):
    """Which datasets a provider's DSP catalog lacks (asked with the marketplace's credentials)."""

    async def missing(self, dsp_address: str, provider_did: str,
                      dataset_ids: Sequence[str]) -> list[str]:
        """The ids among ``dataset_ids`` the catalog at ``dsp_address`` does not offer."""
        ...


def _validated(kind: Kind, body: Mapping[str, Any]) -> BaseModel:
    raw = dict(body)
    base = raw.pop("@baseType", BASE_TYPES[kind])
    if base != BASE_TYPES[kind]:
        raise InvalidRequest(f"@baseType must be {BASE_TYPES[kind]}", code="type-invalid")
    try:
        return MODELS[kind].model_validate(raw)
    except PydanticValidationError as exc:
        raise ValidationFailed("the body does not match the TMF620 schema",
                               errors=pydantic_errors(exc)) from None


def _editable(body: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k not in SERVER_FIELDS}


@dataclass
class CatalogService:
    """TMF620 product catalog use cases (see the module docstring)."""

    engine: AsyncEngine
    #: The marketplace's base URL (hrefs are absolute).
    base_url: str
    #: The provider catalogs products are checked against (None: not checked, logged).
    datasets: DatasetCatalog | None = None
    clock: Clock = system_clock
    #: The search index, kept current in the transaction of every change.
    search: Search | None = None

    @property
    def _rules(self) -> Rules:
        return Rules(self.base_url.rstrip("/") + API_PATH, self.clock)

    def _now(self) -> datetime:
        return datetime_from_epoch(self.clock())

    # --- reading -----------------------------------------------------------------------

    async def list(self, who: Caller, kind: Kind, query: Query) -> tuple[list[dict[str, Any]], int]:
        """A page of the current versions of ``kind`` the caller may see, and the total."""
        async with self.engine.connect() as conn:
            exact = _exact_version(query)
            if exact is not None:
                found = await self._visible(conn, who, kind, *exact)
                return ([found.body] if found else []), int(found is not None)
            if who.operator or kind not in (Kind.SPECIFICATION, Kind.PRICE):
                scope = Scope() if who.operator else Scope(viewer=who.did or None,
                                                           public_states=_LAUNCHED)
                rows, total = await store.find(conn, kind, query, scope)
                return [r.body for r in rows], total
            ids = await visible_ids(conn, kind, who.did)
            if not ids:
                return [], 0
            narrowed = replace(query, filters=(*query.filters,
                                               Filter(("id",), "eq", tuple(sorted(ids)))))
            rows, total = await store.find(conn, kind, narrowed)
            return [r.body for r in rows], total

    async def get(self, who: Caller, kind: Kind, resource_id: str,
                  version: str | None = None) -> dict[str, Any]:
        """One resource (its current version, or ``version``), if the caller may see it."""
        async with self.engine.connect() as conn:
            found = await self._visible(conn, who, kind, resource_id, version)
        if found is None:
            raise ResourceNotFound(kind, resource_id)
        return found.body

    async def mine(self, who: Caller, kind: Kind, *,
                   limit: int = 100) -> Sequence[dict[str, Any]]:
        """The current versions of ``kind`` the caller owns (the operator: everyone's)."""
        who = who.require()
        scope = Scope() if who.operator else Scope(owner=who.did)
        async with self.engine.connect() as conn:
            rows, _ = await store.find(conn, kind, Query(limit=limit), scope)
        return [r.body for r in rows]

    async def _visible(self, conn: AsyncConnection, who: Caller, kind: Kind, resource_id: str,
                       version: str | None = None) -> Resource | None:
        row = await store.get(conn, kind, resource_id, version)
        if row is None or who.operator or (who.did and row.owner == who.did):
            return row
        if kind is Kind.SPECIFICATION:
            seen = await self._rules.offered(conn, Filter(("productSpecification", "id"), "eq",
                                                          (resource_id,)))
            return row if seen else None
        if kind is Kind.PRICE:
            parent = await store.get(conn, Kind.OFFERING, row.parent) if row.parent else None
            return row if parent is not None and _public(parent) else None
        return row if _public(row) else None

    async def terms(self, who: Caller, offering_id: str, version: str | None = None,
                    conn: AsyncConnection | None = None) -> OfferingTerms:
        """An offering (current or ``version``) with its product and plans, as ``who`` sees it.

        For orders: 404 ``resource-not-found`` when the caller may not see it
        (another provider's private offering); :attr:`OfferingTerms.orderable`
        says whether a new order may be placed on it.
        """
        if conn is None:
            async with self.engine.connect() as own:
                return await self.terms(who, offering_id, version, own)
        row = await self._visible(conn, who, Kind.OFFERING, offering_id, version)
        if row is None:
            raise ResourceNotFound(Kind.OFFERING, offering_id)
        return await self._rules.terms(conn, row)

    # --- changing ----------------------------------------------------------------------

    async def create(self, who: Caller, kind: Kind, body: Mapping[str, Any]) -> dict[str, Any]:
        """Store a new resource owned by the caller; 201 with the body as served."""
        who = who.require()
        check_writable(body)
        model = _validated(kind, body)
        state = getattr(model, "lifecycle_status", None)
        if isinstance(state, LifecycleStatus) and state not in CREATE_STATES:
            LIFECYCLE.check(None, state)
        owner = who.did
        if isinstance(model, SpecificationIn):
            owner = self._provider(who, model)
            await self._check_datasets(model)
        async with self.engine.begin() as conn:
            if isinstance(model, OfferingIn) and who.operator:
                owner = await self._rules.specification_owner(conn, model)
            row = await self._rules.create(conn, kind, str(uuid.uuid4()), owner, model)
            await self._reindex(conn, kind, row.id)
        _log.info("catalog_item_created", kind=kind.value, id=row.id, owner=owner)
        return row.body

    async def patch(self, who: Caller, kind: Kind, resource_id: str,
                    patch: Any) -> dict[str, Any]:
        """Apply a JSON merge patch; a launched offering's new terms make a new version."""
        who = who.require()
        if not isinstance(patch, dict):
            raise InvalidRequest("a merge patch is a JSON object", code="patch-invalid")
        check_writable(patch)
        async with self.engine.connect() as conn:
            row = await self._mine(conn, who, kind, resource_id)
        model = _validated(kind, merge_patch(_editable(row.body), patch))
        if isinstance(model, SpecificationIn):
            if self._provider(who, model) != row.owner:
                raise NotYours("a product's providerDid is its owner and does not change")
            if any(key in patch for key in ("dspAddress", "providerDid", "datasetIds")):
                await self._check_datasets(model)
        async with self.engine.begin() as conn:
            updated = await self._rules.update(conn, row, model)
            await self._reindex(conn, kind, row.id)
        _log.info("catalog_item_changed", kind=kind.value, id=row.id, version=updated.version,
                  state=updated.state)
        return updated.body

    async def delete(self, who: Caller, kind: Kind, resource_id: str) -> None:
        """Delete a resource that nothing depends on (409 when something does)."""
        who = who.require()
        async with self.engine.begin() as conn:
            row = await self._mine(conn, who, kind, resource_id)
            await self._rules.delete(conn, row)
            await self._reindex(conn, kind, row.id)
        _log.info("catalog_item_deleted", kind=kind.value, id=resource_id)

    async def _reindex(self, conn: AsyncConnection, kind: Kind, resource_id: str) -> None:
        if self.search is not None:
            await self.search.sync_related(conn, kind.value, resource_id)

    async def _mine(self, conn: AsyncConnection, who: Caller, kind: Kind,
                    resource_id: str) -> Resource:
        row = await self._visible(conn, who, kind, resource_id)
        if row is None:
            raise ResourceNotFound(kind, resource_id)
        if not who.operator and row.owner != who.did:
            raise NotYours(f"this {kind} belongs to another party")
        return row

    @staticmethod
    def _provider(who: Caller, model: SpecificationIn) -> str:
        if who.member:
            if model.provider_did not in (None, who.did):
                raise NotYours("members register their own products: providerDid is yours")
            model.provider_did = who.did
        elif model.provider_did is None:
            raise InvalidRequest("the operator names the product's providerDid",
                                 code="provider-did-missing")
        return model.provider_did

    async def _check_datasets(self, model: SpecificationIn) -> None:
        if self.datasets is None:
            _log.warning("dataset_check_skipped", provider=model.provider_did,
                         datasets=len(model.dataset_ids))
            return
        missing = await self.datasets.missing(model.dsp_address, model.provider_did or "",
                                              model.dataset_ids)
        if missing:
            raise InvalidRequest(
                f"the provider's catalog at {model.dsp_address} lacks {', '.join(missing)}",
                code="dataset-unknown", extra={"missing": missing})


def _public(row: Resource) -> bool:
    return not row.private and row.state == LifecycleStatus.LAUNCHED


def _exact_version(query: Query) -> tuple[str, str] | None:
    """``(id, version)`` when a list asks for one version of one resource (``?id=&version=``)."""
    wanted = {f.path: f.values for f in query.filters if f.operator == "eq"}
    ids, versions = wanted.get(("id",)), wanted.get(("version",))
    if ids and versions and len(ids) == 1 and len(versions) == 1 and len(query.filters) == 2:
        return ids[0], versions[0]
    return None
