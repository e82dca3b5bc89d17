"""Management: datasets, policies and offers (the provider side's catalog)."""

from __future__ import annotations

from aiohttp import web

from connector.domain.catalog import DatasetIn, OfferIn, PolicyIn
from connector.routes.management.common import admin, delete_route, services
from servicekit.openapi import operation, query_strings
from servicekit.paging import PAGING, paging
from servicekit.web import json_response, parse_body

__all__ = ["routes"]

routes = web.RouteTableDef()
_OBJ = {"type": "object"}
_LIST = {"type": "object", "properties": {"items": {"type": "array"}}}


@routes.post("/api/v1/datasets")
@admin
@operation("Register a dataset (and offer it unless NON_PUBLIC)", tags=["datasets"],
           request=DatasetIn, responses={201: _OBJ}, security="bearer")
async def add_dataset(request: web.Request) -> web.Response:
    """The backend is kept private: it is never in a catalog or in answers here."""
    data = await parse_body(request, DatasetIn)
    dataset, offer = await services(request).catalog.add_dataset(data)
    return json_response({"dataset": dataset.public_view(),
                          "offer": offer.model_dump(mode="json") if offer else None}, status=201)


@routes.get("/api/v1/datasets")
@admin
@operation("List datasets by id", tags=["datasets"], responses={200: _LIST}, security="bearer",
           parameters=[*query_strings("after"), PAGING[0]])
async def list_datasets(request: web.Request) -> web.Response:
    """Keyset paging: pass the last id as ``after``."""
    limit, _offset = paging(request)
    items = await services(request).catalog.list_datasets(after=request.query.get("after"),
                                                         limit=limit)
    return json_response({"items": [d.public_view() for d in items]})


@routes.get("/api/v1/datasets/{dataset_id}")
@admin
@operation("Get a dataset", tags=["datasets"], responses={200: _OBJ}, security="bearer")
async def get_dataset(request: web.Request) -> web.Response:
    """The dataset (backend type only)."""
    dataset = await services(request).catalog.get_dataset(request.match_info["dataset_id"])
    return json_response(dataset.public_view())


delete_route(routes, "/api/v1/datasets/{dataset_id}", "Delete a dataset and its offers",
             tags=["datasets"], remove=lambda s: s.catalog.delete_dataset,
             description="Running negotiations and agreements keep their copies.")


@routes.post("/api/v1/policies")
@admin
@operation("Store an ODRL policy", tags=["policies"], request=PolicyIn, responses={201: _OBJ},
           security="bearer")
async def add_policy(request: web.Request) -> web.Response:
    """Validated as ODRL (policies engine) and as a DSP offer."""
    policy = await services(request).catalog.add_policy(await parse_body(request, PolicyIn))
    return json_response(policy.model_dump(mode="json"), status=201)


@routes.get("/api/v1/policies")
@admin
@operation("List policies", tags=["policies"], responses={200: _LIST}, security="bearer",
           parameters=PAGING)
async def list_policies(request: web.Request) -> web.Response:
    """Policies by id."""
    limit, offset = paging(request)
    items = await services(request).catalog.list_policies(limit=limit, offset=offset)
    return json_response({"items": [p.model_dump(mode="json") for p in items]})


@routes.get("/api/v1/policies/{policy_id}")
@admin
@operation("Get a policy", tags=["policies"], responses={200: _OBJ}, security="bearer")
async def get_policy(request: web.Request) -> web.Response:
    """One policy."""
    policy = await services(request).catalog.get_policy(request.match_info["policy_id"])
    return json_response(policy.model_dump(mode="json"))


delete_route(routes, "/api/v1/policies/{policy_id}", "Delete a policy no offer uses",
             tags=["policies"], remove=lambda s: s.catalog.delete_policy,
             description="409 while an offer uses it.")


@routes.post("/api/v1/offers")
@admin
@operation("Offer a dataset under a policy", tags=["offers"], request=OfferIn,
           responses={201: _OBJ}, security="bearer")
async def add_offer(request: web.Request) -> web.Response:
    """An optional access policy decides who sees the offer at all."""
    offer = await services(request).catalog.add_offer(await parse_body(request, OfferIn))
    return json_response(offer.model_dump(mode="json"), status=201)


@routes.get("/api/v1/offers")
@admin
@operation("List offers", tags=["offers"], responses={200: _LIST}, security="bearer",
           parameters=[*query_strings("dataset_id"), *PAGING])
async def list_offers(request: web.Request) -> web.Response:
    """Offers, optionally of one dataset."""
    limit, offset = paging(request)
    items = await services(request).catalog.list_offers(
        dataset_id=request.query.get("dataset_id"), limit=limit, offset=offset)
    return json_response({"items": [o.model_dump(mode="json") for o in items]})


delete_route(routes, "/api/v1/offers/{offer_id}", "Withdraw an offer", tags=["offers"],
             remove=lambda s: s.catalog.delete_offer,
             description="New requests for it are refused; running negotiations keep their copy.")
