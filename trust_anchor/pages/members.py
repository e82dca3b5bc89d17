"""Members: search by name or DID, filter by status and role; one member with its history
and credentials, and the forms to suspend, reinstate or revoke it (they post to the
decisions of :mod:`trust_anchor.pages.applications`)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from servicekit.console.web import page, render
from servicekit.errors import InvalidRequest
from trust_anchor.domain.participants import ApplicationState, Role
from trust_anchor.pages import STAFF, STATE_LABELS, services
from trust_anchor.pages.views import record_context
from trust_anchor.services.registry import MEMBERS

__all__ = ["routes"]

routes = web.RouteTableDef()

_PAGE_SIZE = 50
_MAX_TEXT = 200


def _filters(request: web.Request) -> tuple[dict[str, str], dict[str, Any]]:
    """The filters as typed (to show them again) and as the service takes them."""
    typed = {"q": request.query.get("q", "").strip(), "status": request.query.get("status", ""),
             "role": request.query.get("role", "")}
    if len(typed["q"]) > _MAX_TEXT:
        raise InvalidRequest(f"the search is at most {_MAX_TEXT} characters",
                             code="invalid-query")
    states: list[ApplicationState] = list(MEMBERS)
    if typed["status"]:
        if typed["status"] not in {str(s) for s in MEMBERS}:
            raise InvalidRequest("status is active, suspended or revoked",
                                 code="invalid-status")
        states = [ApplicationState(typed["status"])]
    role = None
    if typed["role"]:
        if typed["role"] not in {str(r) for r in Role}:
            raise InvalidRequest(f"role is one of {', '.join(Role)}", code="invalid-role")
        role = Role(typed["role"])
    return typed, {"text": typed["q"] or None, "states": states, "role": role}


@routes.get("/operator/members")
@page("GET", "/members", "Members: search and filters", roles=STAFF)
async def members(request: web.Request) -> web.StreamResponse:
    """Members whose legal name or DID contains the search, of one status and role."""
    context: dict[str, Any] = {
        "status_options": [("", "Any status")] + [(str(s), STATE_LABELS[s]) for s in MEMBERS],
        "role_options": [("", "Any role")] + [(str(r), str(r).capitalize()) for r in Role],
        "items": [], "next": None}
    try:
        typed, wanted = _filters(request)
    except InvalidRequest as error:
        typed = {key: request.query.get(key, "")[:_MAX_TEXT] for key in ("q", "status", "role")}
        return await render(request, "operator/members.html",
                            {**context, "filters": typed, "error": error.detail}, status=400)
    items, next_after = await services(request).registry.members(
        **wanted, after=request.query.get("after") or None, limit=_PAGE_SIZE)
    following = {**{k: v for k, v in typed.items() if v}, "after": next_after}
    return await render(request, "operator/members.html", {
        **context, "filters": typed, "items": items,
        "next": f"?{urlencode(following)}" if next_after else None})


@routes.get("/operator/members/view")
@page("GET", "/members/view", "One member: history, credentials, actions", roles=STAFF)
async def member(request: web.Request) -> web.StreamResponse:
    """The member named by ``?did=``: its record, every event of its applications, its
    credentials and their status, and the forms to suspend, reinstate or revoke it."""
    did = request.query.get("did", "")
    if not did.startswith("did:"):
        raise InvalidRequest("name the member's DID: ?did=did:...", code="did-malformed")
    found = services(request)
    reviewed = await found.onboarding.member_reviewed(did)
    context = await record_context(request, reviewed.participant.id)
    context["history"] = await found.onboarding.history(did)
    return await render(request, "operator/record.html", {**context, "view": "member"})
