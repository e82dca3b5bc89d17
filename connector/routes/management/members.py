"""Management, consumer side: the data space's members and the providers' usage receipts."""

from __future__ import annotations

from aiohttp import web

from connector.routes.management.common import admin, services
from connector.services.members import ROLES
from servicekit.errors import InvalidRequest
from servicekit.openapi import operation, query_strings
from servicekit.paging import PAGING, paging
from servicekit.web import json_response

__all__ = ["routes"]

routes = web.RouteTableDef()

_MEMBERS = {"type": "object", "properties": {"items": {"type": "array", "items": {
    "type": "object", "properties": {
        "did": {"type": "string"}, "legal_name": {"type": "string"},
        "organisation_number": {"type": "string"}, "country": {"type": "string"},
        "roles": {"type": "array", "items": {"type": "string"}},
        "status": {"type": "string"}, "member_since": {"type": ["string", "null"]},
        "dsp_endpoint": {"type": ["string", "null"],
                         "description": "When the registry lists one."}}}}}}
_RECEIPT = {"type": "object", "properties": {
    "id": {"type": "string"}, "transfer_id": {"type": "string"},
    "agreement_id": {"type": ["string", "null"]}, "dataset_id": {"type": ["string", "null"]},
    "provider_id": {"type": "string"}, "receipt": {"type": "string", "description": "JWS"},
    "content": {"type": "object", "description": "usage {requests, bytes, failures, "
                "refusals}, audit {seq, hash}, ids"},
    "verified": {"type": "boolean"}, "problem": {"type": ["string", "null"]},
    "received_at": {"type": "number"}}}


@routes.get("/api/v1/members")
@admin
@operation("The data space's active members (the trust anchor's participant registry)",
           tags=["members"], responses={200: _MEMBERS}, security="bearer",
           parameters=query_strings("role", role="provider or consumer"))
async def members(request: web.Request) -> web.Response:
    """Each with DID, legal name, roles, and its DSP endpoint when the registry has one."""
    role = request.query.get("role")
    if role is not None and role not in ROLES:
        raise InvalidRequest("role is provider or consumer", code="filter-invalid")
    return json_response({"items": await services(request).members.members(role=role)})


@routes.get("/api/v1/receipts")
@admin
@operation("Signed usage receipts providers gave us for our transfers", tags=["receipts"],
           responses={200: {"type": "object", "properties": {
               "items": {"type": "array", "items": _RECEIPT}}}}, security="bearer",
           parameters=[*query_strings("transfer_id"), *PAGING])
async def list_receipts(request: web.Request) -> web.Response:
    """Newest first."""
    limit, offset = paging(request)
    items = await services(request).receipts.find(
        transfer_id=request.query.get("transfer_id"), limit=limit, offset=offset)
    return json_response({"items": items})


@routes.post("/api/v1/transfers/{transfer_id}/receipt")
@admin
@operation("Consumer: fetch the provider's signed usage receipt for a transfer and keep it",
           tags=["receipts"], responses={201: _RECEIPT}, security="bearer",
           description="Stored verified or not (problem says why not).")
async def fetch_receipt(request: web.Request) -> web.Response:
    """Asks the provider's data plane with the transfer's access token."""
    receipt = await services(request).receipts.fetch(request.match_info["transfer_id"])
    return json_response(receipt, status=201)
