"""Applications: the queue by state, one application with everything about it, and the
operator's decisions (approve, reject; suspend, reinstate, revoke for members).

Every decision calls :class:`~trust_anchor.services.onboarding.Onboarding` as the admin
API does, with the signed-in person's email as the actor. A decision that needs a
reason and has none is shown again with the error (400) and nothing is stored.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from servicekit.console.web import form, page, redirect, render
from servicekit.errors import InvalidRequest
from trust_anchor.domain.participants import ApplicationState
from trust_anchor.pages import STAFF, WRITERS, actor, member_path, services
from trust_anchor.pages.views import record_context

__all__ = ["ACTIONS", "routes"]

routes = web.RouteTableDef()

_PAGE_SIZE = 50
_MAX_REASON = 2000

#: The decisions, what the notice says after each, and what to do next.
ACTIONS = {
    "approve": "Approved, and the membership credential issued. Give the organisation the "
               "credential offer and, separately, the transaction code shown below.",
    "reject": "Application rejected. The applicant sees the reason when it follows its "
              "application.",
    "suspend": "Member suspended: its credentials are suspended in the status lists. "
               "Reinstate it when the matter is settled.",
    "reinstate": "Member reinstated: its credentials are valid again.",
    "revoke": "Membership revoked for good: its credentials are revoked in the status lists.",
}
_REASON_REQUIRED = frozenset({"reject", "suspend", "revoke"})


def _states(raw: str) -> list[ApplicationState]:
    if raw == "all":
        return []
    try:
        return [ApplicationState(raw)]
    except ValueError:
        raise InvalidRequest(f"state must be all or one of {', '.join(ApplicationState)}",
                             code="invalid-state") from None


@routes.get("/operator/applications")
@page("GET", "/applications", "Applications by state", roles=STAFF)
async def applications(request: web.Request) -> web.StreamResponse:
    """The applications in one state (waiting for review by default), in the order they
    applied, a page at a time."""
    state = request.query.get("state", "submitted")
    after = request.query.get("after") or None
    items, next_after = await services(request).registry.participants(
        _states(state), after=after, limit=_PAGE_SIZE)
    return await render(request, "operator/applications.html", {
        "items": items, "state": state,
        "next": f"?{urlencode({'state': state, 'after': next_after})}" if next_after else None,
    })


@routes.get("/operator/applications/{application_id}")
@page("GET", "/applications/{application_id}", "One application with its history",
      roles=STAFF)
async def application(request: web.Request) -> web.StreamResponse:
    """Legal name, DID, roles asked, evidence, contact; the audit trail; the decisions; after
    approval the credential offer and transaction code until the credential is collected."""
    context = await record_context(request, request.match_info["application_id"])
    return await render(request, "operator/record.html", {**context, "view": "application"})


async def _decide(request: web.Request, name: str) -> web.StreamResponse:
    participant_id = request.match_info["application_id"]
    fields = await form(request)
    reason = fields.get("reason", "").strip()
    back = fields.get("back", "application")
    try:
        if len(reason) > _MAX_REASON:
            raise InvalidRequest(f"the reason is at most {_MAX_REASON} characters",
                                 code="reason-too-long")
        if name in _REASON_REQUIRED and not reason:
            raise InvalidRequest(f"give a reason to {name} (it is kept in the audit trail "
                                 "and the participant is told it)", code="reason-required")
        participant = await getattr(services(request).onboarding, name)(
            participant_id, actor=actor(request), reason=reason or None)
    except InvalidRequest as error:
        context = await record_context(request, participant_id)
        return await render(request, "operator/record.html", {
            **context, "view": "member" if back == "member" else "application",
            "error": error.detail, "failed": name, "reason": reason}, status=400)
    did = participant.participant.did if name == "approve" else participant.did
    target = member_path(did) if back == "member" else f"/applications/{participant_id}"
    return redirect(request, target, notice=ACTIONS[name])


def _decision(name: str) -> Any:
    async def handler(request: web.Request) -> web.StreamResponse:
        return await _decide(request, name)

    handler.__name__ = name
    handler.__doc__ = f"{name.capitalize()} the participant (the reason goes in its audit trail)."
    return page("POST", f"/applications/{{application_id}}/{name}",
                f"{name.capitalize()} a participant", roles=WRITERS)(handler)


for _name in ACTIONS:
    routes.post(f"/operator/applications/{{application_id}}/{_name}")(_decision(_name))
