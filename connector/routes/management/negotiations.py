"""Management: negotiations (both roles), the owner's moves, agreements, remote catalogs."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from connector.domain.catalog import ID_PATTERN
from connector.domain.negotiation import NegotiationAction, NegotiationState, Role
from connector.domain.requests import REQUESTER_SCHEMA
from connector.keys import API_KEYS, CONTROL_PLANE
from connector.routes.management.common import admin, services
from connector.services.approval_rule import Decider, check_decider
from connector.services.approvals import APPROVED, REJECTED
from servicekit.auth import require_api_key
from servicekit.console.keys import API_CALLER
from servicekit.errors import InvalidRequest
from servicekit.openapi import operation, query_strings
from servicekit.paging import PAGING, paging
from servicekit.web import json_response, parse_body, read_json

__all__ = ["routes"]

routes = web.RouteTableDef()
_OBJ = {"type": "object"}
_LIST = {"type": "object", "properties": {"items": {"type": "array"}}}
#: A negotiation as shown here: the record plus its verified counter-party.
_DECISION = {"type": ["object", "null"], "description": "The owner's decision, if any.",
             "properties": {"decision": {"enum": ["approved", "rejected"]},
                            "approver": {"type": ["string", "null"]},
                            "reason": {"type": ["string", "null"]},
                            "decided_at": {"type": "number"}}}
_REQUEST = {"type": "object", "description": "What the owner decides on (with awaiting=owner "
            "and on one negotiation): dataset_id, dataset_owner, requester_did, "
            "requester_legal_name, purposes, credentials {method, types, claims, standing}."}
_NEGOTIATION = {"type": "object", "properties": {"counterparty": REQUESTER_SCHEMA,
                                                 "decision": _DECISION, "request": _REQUEST}}
_NEGOTIATIONS = {"type": "object", "properties": {"items": {"type": "array",
                                                            "items": _NEGOTIATION}}}
_URL = r"^https?://"


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NegotiationStart(_In):
    """Ask a provider for a contract (we are the consumer)."""

    counterparty_address: str = Field(pattern=_URL, max_length=2000,
                                      description="The provider's DSP base URL.")
    counterparty_id: str | None = Field(
        default=None, max_length=500,
        description="The provider's participant id; read from its catalog when left out.")
    dataset_id: str | None = Field(default=None, pattern=ID_PATTERN)
    offer_id: str | None = Field(default=None, max_length=255)
    offer: dict[str, Any] | None = Field(
        default=None, description="The offer as the catalog shows it; looked up when left out.")


class CounterOffer(_In):
    """New terms: an ODRL policy body (permission / prohibition / obligation)."""

    policy: dict[str, Any]


class Termination(_In):
    """Why the owner ends the negotiation."""

    code: str | None = Field(default=None, max_length=100)
    reason: str | None = Field(default=None, max_length=2000)


_APPROVER = Field(default=None, min_length=1, max_length=320, pattern=r"^\S(.*\S)?$",
                  description="Who decides (e.g. the data owner's e-mail); stored with the "
                  "decision and shown on the negotiation.")


class Approval(_In):
    """Why the owner approves (stored with the decision; "approved" by default), and who."""

    reason: str | None = Field(default=None, max_length=2000)
    approver: str | None = _APPROVER


class Rejection(_In):
    """Why the owner rejects: required, the requester is told (the termination's reason)."""

    reason: str = Field(min_length=1, max_length=2000, pattern=r"\S")
    code: str = Field(default="rejected-by-owner", max_length=100)
    approver: str | None = _APPROVER


class CatalogQuery(_In):
    """Fetch a provider's catalog over DSP."""

    counterparty_address: str = Field(pattern=_URL, max_length=2000)
    counterparty_id: str | None = Field(default=None, max_length=500)
    continuation: str | None = Field(default=None, pattern=_URL, max_length=4000,
                                     description="The 'next' URL of a previous page.")


class DatasetQuery(_In):
    """Fetch one dataset of a provider over DSP."""

    counterparty_address: str = Field(pattern=_URL, max_length=2000)
    counterparty_id: str | None = Field(default=None, max_length=500)
    dataset_id: str = Field(pattern=ID_PATTERN)


def _filters(request: web.Request) -> dict[str, Any]:
    filters: dict[str, Any] = {}
    role = request.query.get("role")
    if role is not None:
        try:
            filters["role"] = Role(role)
        except ValueError:
            raise InvalidRequest("role is provider or consumer", code="filter-invalid") from None
    state = request.query.get("state")
    if state is not None:
        if state not in NegotiationState.__members__:
            raise InvalidRequest(f"unknown state {state}", code="filter-invalid")
        filters["states"] = [state]
    if "awaiting" in request.query:
        if request.query["awaiting"] != "owner":
            raise InvalidRequest("awaiting is 'owner'", code="filter-invalid")
        filters["awaiting"] = request.query["awaiting"]
    return filters


@routes.get("/api/v1/negotiations")
@admin
@operation("List negotiations", tags=["negotiations"], responses={200: _NEGOTIATIONS},
           security="bearer", parameters=[
               *query_strings("role", "state", "awaiting",
                              awaiting="'owner': waiting for approval"),
               *PAGING])
async def list_negotiations(request: web.Request) -> web.Response:
    """Newest first; ``awaiting=owner`` lists those waiting for the owner."""
    limit, offset = paging(request)
    filters = _filters(request)
    items = await services(request).negotiations.find(limit=limit, offset=offset, **filters)
    views = await services(request).approvals.views(items, details="awaiting" in filters)
    return json_response({"items": views})


@routes.post("/api/v1/negotiations")
@admin
@operation("Negotiate a contract with a provider (consumer side)", tags=["negotiations"],
           request=NegotiationStart, responses={201: _OBJ}, security="bearer")
async def start_negotiation(request: web.Request) -> web.Response:
    """Give the offer as the catalog shows it, or the dataset (and offer) id to look up."""
    data = await parse_body(request, NegotiationStart)
    negotiations = services(request).negotiations
    if data.offer is not None:
        if data.counterparty_id is None:
            raise InvalidRequest("with an offer, give counterparty_id too",
                                 code="counterparty-id-missing")
        negotiation = await negotiations.start(
            counterparty_address=data.counterparty_address,
            counterparty_id=data.counterparty_id, offer=data.offer, dataset_id=data.dataset_id)
    else:
        if data.dataset_id is None:
            raise InvalidRequest("give an offer or a dataset_id", code="offer-missing")
        negotiation = await negotiations.start_from_catalog(
            services(request).client, counterparty_address=data.counterparty_address,
            counterparty_id=data.counterparty_id, dataset_id=data.dataset_id,
            offer_id=data.offer_id)
    return json_response(negotiation.model_dump(mode="json"), status=201)


@routes.get("/api/v1/negotiations/{negotiation_id}")
@admin
@operation("Get a negotiation", tags=["negotiations"], responses={200: _NEGOTIATION},
           security="bearer")
async def get_negotiation(request: web.Request) -> web.Response:
    """State, offer, agreement id, whose move it is."""
    negotiation = await services(request).negotiations.get(request.match_info["negotiation_id"])
    return json_response(await services(request).approvals.view(negotiation))


#: Approve and reject: the admin key, or an API token with the ``approve`` scope.
approver = require_api_key(lambda request: request.config_dict[API_KEYS], scope="approve")


async def _decider(request: web.Request, named: str | None) -> str | None:
    """Apply the owner rule to the caller; who the decision is recorded as.

    A token decides as its account (its e-mail is the approver); the admin
    key records the ``approver`` it names.
    """
    caller = request[API_CALLER]
    decider = Decider(email=caller.email, roles=caller.roles,
                      admin_key=caller.kind == "api-key")
    await check_decider(request.config_dict[CONTROL_PLANE], request.match_info["negotiation_id"],
                        decider)
    return named if decider.admin_key else caller.email


async def _act(request: web.Request, action: NegotiationAction, **params: Any) -> web.Response:
    negotiation = await services(request).negotiations.act(
        request.match_info["negotiation_id"], action, **params)
    return json_response(await services(request).approvals.view(negotiation))


async def _counter(request: web.Request, action: NegotiationAction) -> web.Response:
    """Counter with the policy in the body (checked as a DSP offer first)."""
    data = await parse_body(request, CounterOffer)
    services(request).catalog.check_policy(data.policy)
    return await _act(request, action, policy=data.policy)


@routes.post("/api/v1/negotiations/{negotiation_id}/approve")
@approver
@operation("Provider: approve the request (send the agreement)", tags=["negotiations"],
           request=Approval, responses={200: _NEGOTIATION, 403: "Not the dataset's owner"},
           security="bearer",
           description="The admin key, or a token with the approve scope of the dataset's "
           "data owner (or an administrator): 403 not-dataset-owner otherwise.")
async def approve(request: web.Request) -> web.Response:
    """For a REQUESTED or ACCEPTED negotiation waiting for the owner."""
    data = await parse_body(request, Approval) if request.can_read_body else Approval()
    who = await _decider(request, data.approver)
    reason = data.reason or APPROVED
    return await _act(request, NegotiationAction.AGREE, reason=reason, decision={
        "decision": APPROVED, "approver": who, "reason": reason})


@routes.post("/api/v1/negotiations/{negotiation_id}/reject")
@approver
@operation("Provider: reject the request (terminate it, telling the requester why)",
           tags=["negotiations"], request=Rejection,
           responses={200: _NEGOTIATION, 403: "Not the dataset's owner"}, security="bearer",
           description="The same owner rule as approving.")
async def reject(request: web.Request) -> web.Response:
    """A reason is required (400 without one); it is sent in the termination message."""
    data = Rejection.model_validate(await read_json(request) if request.can_read_body else {})
    who = await _decider(request, data.approver)
    return await _act(request, NegotiationAction.TERMINATE, code=data.code, reason=data.reason,
                      decision={"decision": REJECTED, "approver": who, "reason": data.reason})


@routes.post("/api/v1/negotiations/{negotiation_id}/counter-offer")
@admin
@operation("Provider: counter-offer other terms", tags=["negotiations"], request=CounterOffer,
           responses={200: _OBJ}, security="bearer")
async def counter_offer(request: web.Request) -> web.Response:
    """Sends a ContractOfferMessage with the new policy."""
    return await _counter(request, NegotiationAction.OFFER)


@routes.post("/api/v1/negotiations/{negotiation_id}/accept")
@admin
@operation("Consumer: accept the provider's offer", tags=["negotiations"],
           responses={200: _OBJ}, security="bearer")
async def accept(request: web.Request) -> web.Response:
    """For an OFFERED negotiation waiting for the owner."""
    return await _act(request, NegotiationAction.ACCEPT)


@routes.post("/api/v1/negotiations/{negotiation_id}/counter-request")
@admin
@operation("Consumer: counter-request other terms", tags=["negotiations"],
           request=CounterOffer, responses={200: _OBJ}, security="bearer")
async def counter_request(request: web.Request) -> web.Response:
    """Sends a ContractRequestMessage with the new policy."""
    return await _counter(request, NegotiationAction.REQUEST)


@routes.post("/api/v1/negotiations/{negotiation_id}/terminate")
@admin
@operation("Terminate a negotiation (either role)", tags=["negotiations"],
           request=Termination, responses={200: _OBJ}, security="bearer")
async def terminate(request: web.Request) -> web.Response:
    """Sends a ContractNegotiationTerminationMessage."""
    data = await parse_body(request, Termination) if request.can_read_body else Termination()
    return await _act(request, NegotiationAction.TERMINATE, code=data.code, reason=data.reason)


@routes.get("/api/v1/agreements")
@admin
@operation("List agreements", tags=["agreements"], responses={200: _LIST}, security="bearer",
           parameters=[*query_strings("role"), *PAGING])
async def list_agreements(request: web.Request) -> web.Response:
    """Agreements we granted (provider) and hold (consumer)."""
    limit, offset = paging(request)
    items = await services(request).negotiations.agreements(
        role=_filters(request).get("role"), limit=limit, offset=offset)
    return json_response({"items": [a.model_dump(mode="json") for a in items]})


@routes.get("/api/v1/agreements/{agreement_id}")
@admin
@operation("Get an agreement", tags=["agreements"], responses={200: _OBJ}, security="bearer")
async def get_agreement(request: web.Request) -> web.Response:
    """The ODRL Agreement and who holds it."""
    agreement = await services(request).negotiations.agreement(
        request.match_info["agreement_id"])
    return json_response(agreement.model_dump(mode="json"))


@routes.post("/api/v1/catalog/request")
@admin
@operation("Fetch a provider's catalog over DSP (one page)", tags=["remote-catalog"],
           request=CatalogQuery, responses={200: _OBJ}, security="bearer")
async def remote_catalog(request: web.Request) -> web.Response:
    """The catalog page and the URL of the next one (``next``), if any."""
    data = await parse_body(request, CatalogQuery)
    catalog, next_url = await services(request).client.catalog(
        data.counterparty_address, audience=data.counterparty_id or data.counterparty_address,
        continuation=data.continuation)
    return json_response({"catalog": catalog, "next": next_url})


@routes.post("/api/v1/catalog/dataset")
@admin
@operation("Fetch one dataset of a provider over DSP", tags=["remote-catalog"],
           request=DatasetQuery, responses={200: _OBJ}, security="bearer")
async def remote_dataset(request: web.Request) -> web.Response:
    """The dataset with the offers we may request."""
    data = await parse_body(request, DatasetQuery)
    dataset = await services(request).client.dataset(
        data.counterparty_address, data.dataset_id,
        audience=data.counterparty_id or data.counterparty_address)
    return json_response(dataset)
