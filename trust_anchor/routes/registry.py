"""Public registries: the participant list and the EBSI Trusted Issuers Registry v4."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

from aiohttp import web
from pydantic import BaseModel

from servicekit.errors import InvalidRequest, NotFound
from servicekit.openapi import operation
from servicekit.web import json_response
from trust_anchor.domain.participants import ApplicationState
from trust_anchor.errors import ParticipantNotFound
from trust_anchor.registry import attribute_of
from trust_anchor.routes.views import ParticipantView
from trust_anchor.state import TA_SETTINGS
from trust_anchor.store import participants as participant_store
from trust_anchor.store import registry as registry_store
from trust_anchor.store.app_db import engine_of

__all__ = ["setup"]

_MEMBERS = [ApplicationState.ACTIVE, ApplicationState.SUSPENDED, ApplicationState.REVOKED]
_MAX_PAGE = 100


class ParticipantList(BaseModel):
    """A page of participants."""

    items: list[ParticipantView]
    next: str | None


def _page_size(request: web.Request, name: str, default: int = 10) -> int:
    raw = request.query.get(name, str(default))
    if not raw.isdigit() or not 1 <= int(raw) <= _MAX_PAGE:
        raise InvalidRequest(f"{name} must be an integer from 1 to {_MAX_PAGE}",
                             code="invalid-page-size")
    return int(raw)


@operation("The participants of the data space, with status and roles", tags=["registry"],
           parameters=[{"name": "limit", "in": "query", "schema": {"type": "integer"}},
                       {"name": "after", "in": "query", "schema": {"type": "string"}}],
           responses={200: ParticipantList})
async def list_participants(request: web.Request) -> web.Response:
    """Members (active, suspended or revoked); applications in review are not listed."""
    limit = _page_size(request, "limit", 50)
    after = request.query.get("after")
    async with engine_of(request).connect() as conn:
        rows = await participant_store.list_participants(
            conn, states=_MEMBERS, after=after, limit=limit + 1
        )
    page = rows[:limit]
    more = len(rows) > limit
    base = request.config_dict[TA_SETTINGS].base_url
    next_url = (
        f"{base}/participants?{urlencode({'limit': limit, 'after': page[-1].id})}"
        if more and page else None
    )
    return json_response(ParticipantList(items=[ParticipantView.of(p) for p in page],
                                         next=next_url))


@operation("One participant by DID", tags=["registry"], responses={200: ParticipantView})
async def get_participant(request: web.Request) -> web.Response:
    """The participant with that DID (members only)."""
    did = request.match_info["did"]
    async with engine_of(request).connect() as conn:
        participant = await participant_store.participant_by_did(conn, did)
    if participant.state not in _MEMBERS:
        raise ParticipantNotFound(f"{did} is not a member")
    return json_response(ParticipantView.of(participant))


@operation("List trusted issuers (EBSI TIR v4)", tags=["registry"],
           parameters=[{"name": "page[size]", "in": "query", "schema": {"type": "integer"}},
                       {"name": "page[after]", "in": "query", "schema": {"type": "string"}}],
           responses={200: {"type": "object"}})
async def list_issuers(request: web.Request) -> web.Response:
    """Keyset-paged issuer DIDs with links, as EBSI's TIR v4 lists them."""
    size = _page_size(request, "page[size]")
    after = request.query.get("page[after]")
    async with engine_of(request).connect() as conn:
        rows = await registry_store.list_issuers(conn, after=after, limit=size + 1)
        total = await registry_store.count_issuers(conn)
    page = rows[:size]
    base = f"{request.config_dict[TA_SETTINGS].base_url}/v4/issuers"

    def link(after_did: str | None) -> str:
        query: dict[str, Any] = {"page[size]": size}
        if after_did is not None:
            query["page[after]"] = after_did
        return f"{base}?{urlencode(query)}"

    links: dict[str, str | None] = {
        "first": link(None),
        "self": link(after),
        "next": link(page[-1].did) if len(rows) > size and page else None,
    }
    body = {
        "self": link(after),
        "items": [{"did": r.did, "href": f"{base}/{quote(r.did, safe=':')}"} for r in page],
        "total": total,
        "pageSize": size,
        "links": {k: v for k, v in links.items() if v is not None},
    }
    return json_response(body)


@operation("One trusted issuer and its attributes (EBSI TIR v4)", tags=["registry"],
           responses={200: {"type": "object"}})
async def get_issuer(request: web.Request) -> web.Response:
    """``{did, attributes: [{hash, body, issuerType, tao, rootTao}]}``."""
    did = request.match_info["did"]
    async with engine_of(request).connect() as conn:
        record = await registry_store.get_issuer(conn, did)
    if record is None:
        raise NotFound(f"{did} is not in the trusted-issuers registry", code="issuer-not-found")
    return json_response({"did": record.did, "attributes": [attribute_of(record)]})


def setup(app: web.Application) -> None:
    """Register the routes."""
    app.router.add_get("/participants", list_participants)
    app.router.add_get("/participants/{did}", get_participant)
    app.router.add_get("/v4/issuers", list_issuers)
    app.router.add_get("/v4/issuers/{did}", get_issuer)
