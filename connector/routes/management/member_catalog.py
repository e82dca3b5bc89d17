"""Management, consumer side: a member's catalog, found by its DID in the registry."""

from __future__ import annotations

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from connector.routes.management.common import admin
from connector.services.member_catalogs import MEMBER_CATALOGS
from servicekit.openapi import operation
from servicekit.web import json_response, parse_body

__all__ = ["MemberCatalogQuery", "routes"]

routes = web.RouteTableDef()


class MemberCatalogQuery(BaseModel):
    """Fetch an active member's catalog over DSP."""

    model_config = ConfigDict(extra="forbid")

    did: str = Field(pattern=r"^did:", max_length=500)
    continuation: str | None = Field(default=None, pattern=r"^https?://", max_length=4000,
                                     description="The 'next' URL of a previous page.")


@routes.post("/api/v1/members/catalog")
@admin
@operation("A member's catalog (its DSP endpoint from the registry or its DID document)",
           tags=["members"], request=MemberCatalogQuery, responses={200: {
               "type": "object", "properties": {
                   "member": {"type": "object"}, "address": {"type": "string"},
                   "catalog": {"type": "object"}, "next": {"type": ["string", "null"]}}}},
           security="bearer")
async def member_catalog(request: web.Request) -> web.Response:
    """404 ``member-not-found`` for a DID the registry does not list as active."""
    data = await parse_body(request, MemberCatalogQuery)
    found = await request.config_dict[MEMBER_CATALOGS].catalog(
        data.did, continuation=data.continuation)
    return json_response(found)
