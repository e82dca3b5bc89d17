"""Public registries: the participant list and the EBSI Trusted Issuers Registry v4."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

from aiohttp import web
from pydantic import BaseModel

from servicekit.openapi import operation
from servicekit.paging import page_size
from servicekit.web import json_response
from trust_anchor.domain.registry import attribute_of
from trust_anchor.routes import services, settings
from trust_anchor.routes.views import ParticipantView
from trust_anchor.services.registry import MEMBERS

__all__ = ["routes"]

routes = web.RouteTableDef()

_MAX_PAGE = 100
_BAD_SIZE = "invalid-page-size"


class ParticipantList(BaseModel):
    """A page of participants."""

    items: list[ParticipantView]
    next: str | None


@routes.get("/participants")
@operation("The participants of the data space, with status and roles", tags=["registry"],
           parameters=[{"name": "limit", "in": "query", "schema": {"type": "integer"}},
                       {"name": "after", "in": "query", "schema": {"type": "string"}}],
           responses={200: ParticipantList})
async def list_participants(request: web.Request) -> web.Response:
    """Members (active, suspended or revoked); applications in review are not listed."""
    limit = page_size(request, maximum=_MAX_PAGE, code=_BAD_SIZE)
    page, next_after = await services(request).registry.participants(
        MEMBERS, after=request.query.get("after"), limit=limit)
    base = settings(request).base_url
    next_url = (f"{base}/participants?{urlencode({'limit': limit, 'after': next_after})}"
                if next_after is not None else None)
    return json_response(ParticipantList(items=[ParticipantView.of(p) for p in page],
                                         next=next_url))


@routes.get("/participants/{did}")
@operation("One participant by DID", tags=["registry"], responses={200: ParticipantView})
async def get_participant(request: web.Request) -> web.Response:
    """The participant with that DID (members only)."""
    participant = await services(request).registry.member(request.match_info["did"])
    return json_response(ParticipantView.of(participant))


@routes.get("/v4/issuers")
@operation("List trusted issuers (EBSI TIR v4)", tags=["registry"],
           parameters=[{"name": "page[size]", "in": "query", "schema": {"type": "integer"}},
                       {"name": "page[after]", "in": "query", "schema": {"type": "string"}}],
           responses={200: {"type": "object"}})
async def list_issuers(request: web.Request) -> web.Response:
    """Keyset-paged issuer DIDs with links, as EBSI's TIR v4 lists them."""
    size = page_size(request, "page[size]", default=10, maximum=_MAX_PAGE, code=_BAD_SIZE)
    after = request.query.get("page[after]")
    page = await services(request).registry.issuers(after=after, limit=size)
    base = f"{settings(request).base_url}/v4/issuers"

    def link(after_did: str | None) -> str:
        query: dict[str, Any] = {"page[size]": size}
        if after_did is not None:
            query["page[after]"] = after_did
        return f"{base}?{urlencode(query)}"

    links: dict[str, str | None] = {
        "first": link(None),
        "self": link(after),
        "next": link(page.next_after) if page.next_after is not None else None,
    }
    body = {
        "self": link(after),
        "items": [{"did": r.did, "href": f"{base}/{quote(r.did, safe=':')}"}
                  for r in page.items],
        "total": page.total,
        "pageSize": size,
        "links": {k: v for k, v in links.items() if v is not None},
    }
    return json_response(body)


@routes.get("/v4/issuers/{did}")
@operation("One trusted issuer and its attributes (EBSI TIR v4)", tags=["registry"],
           responses={200: {"type": "object"}})
async def get_issuer(request: web.Request) -> web.Response:
    """``{did, attributes: [{hash, body, issuerType, tao, rootTao}]}``."""
    record = await services(request).registry.entry(request.match_info["did"])
    return json_response({"did": record.did, "attributes": [attribute_of(record)]})
