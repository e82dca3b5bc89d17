"""The operator's view of the members: search and filter them, one member, its history."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime

from aiohttp import web
from pydantic import BaseModel, Field

from servicekit.errors import InvalidRequest
from servicekit.openapi import operation
from servicekit.paging import page_size
from servicekit.web import json_response
from trust_anchor.domain.participants import ApplicationState, AuditEvent, Role
from trust_anchor.routes import operator_only, services
from trust_anchor.routes.admin import operator_view
from trust_anchor.routes.views import ApplicationView, OperatorApplicationView
from trust_anchor.services.registry import MEMBERS

__all__ = ["routes"]

routes = web.RouteTableDef()

_MAX_TEXT = 200


class MemberPage(BaseModel):
    """A page of members."""

    items: list[ApplicationView]
    next_after: str | None


class CredentialEntry(BaseModel):
    """A credential issued to the participant and its status now."""

    id: str
    credential_type: str
    issued_at: datetime
    valid_until: datetime | None
    status: str = Field(description="active, suspended, revoked or expired.")


class CredentialList(BaseModel):
    """The credentials issued to a DID's live application, oldest first."""

    did: str
    items: list[CredentialEntry]


class History(BaseModel):
    """Every event of every application of a DID, oldest first."""

    did: str
    items: list[AuditEvent]


def _statuses(request: web.Request) -> list[ApplicationState]:
    allowed = {str(s): s for s in MEMBERS}
    statuses = []
    for raw in request.query.getall("status", []):
        if raw not in allowed:
            raise InvalidRequest(f"status must be one of {', '.join(allowed)}, not {raw!r}",
                                 code="invalid-status")
        statuses.append(allowed[raw])
    return statuses


def _role(request: web.Request) -> Role | None:
    raw = request.query.get("role")
    if raw is None:
        return None
    try:
        return Role(raw)
    except ValueError:
        raise InvalidRequest(f"role must be one of {', '.join(Role)}, not {raw!r}",
                             code="invalid-role") from None


def _text(request: web.Request) -> str | None:
    text = request.query.get("q", "").strip()
    if len(text) > _MAX_TEXT:
        raise InvalidRequest(f"q is at most {_MAX_TEXT} characters", code="invalid-query")
    return text or None


@routes.get("/admin/participants")
@operation("Search and filter the members (operator)", tags=["admin"], security="bearer",
           parameters=[
               {"name": "q", "in": "query", "schema": {"type": "string", "maxLength": _MAX_TEXT},
                "description": "Part of the legal name or the DID (case ignored)."},
               {"name": "status", "in": "query",
                "schema": {"type": "string", "enum": [str(s) for s in MEMBERS]},
                "description": "Repeatable; all member states when absent."},
               {"name": "role", "in": "query",
                "schema": {"type": "string", "enum": [str(r) for r in Role]}},
               {"name": "after", "in": "query", "schema": {"type": "string"}},
               {"name": "limit", "in": "query",
                "schema": {"type": "integer", "minimum": 1, "maximum": 200}}],
           responses={200: MemberPage})
@operator_only
async def list_members(request: web.Request) -> web.Response:
    """Members (active, suspended, revoked) in the order they applied, keyset-paged."""
    statuses = _statuses(request)
    role = _role(request)
    text = _text(request)
    limit = page_size(request, maximum=200, code="invalid-page-size")
    page, next_after = await services(request).registry.members(
        text=text, states=statuses or MEMBERS, role=role, after=request.query.get("after"),
        limit=limit)
    return json_response(MemberPage(items=[ApplicationView.of_application(p) for p in page],
                                    next_after=next_after))


@routes.get("/admin/participants/{did}")
@operation("One participant by DID, with its history and credential offer (operator)",
           tags=["admin"], security="bearer", responses={200: OperatorApplicationView})
@operator_only
async def get_member(request: web.Request) -> web.Response:
    """The live (not rejected) application or membership of the DID."""
    reviewed = await services(request).onboarding.member_reviewed(request.match_info["did"])
    return json_response(await operator_view(request, reviewed.participant.id))


@routes.get("/admin/participants/{did}/history")
@operation("Everything that happened to a DID's applications (operator)", tags=["admin"],
           security="bearer", responses={200: History},
           description="Applied, approved (with the offer), credential issued and collected, "
                       "rejected, suspended, reinstated, revoked: each with who, when and why; "
                       "a rejected application and a later one both appear.")
@operator_only
async def member_history(request: web.Request) -> web.Response:
    """The audit trail of every application of the DID, oldest first."""
    did = request.match_info["did"]
    return json_response(History(did=did, items=await services(request).onboarding.history(did)))


@routes.get("/admin/participants/{did}/credentials")
@operation("The credentials issued to a participant, with their status (operator)",
           tags=["admin"], security="bearer", responses={200: CredentialList})
@operator_only
async def member_credentials(request: web.Request) -> web.Response:
    """Every credential issued to the DID's live application, and whether it is active,
    suspended, revoked or expired."""
    did = request.match_info["did"]
    found = services(request)
    reviewed = await found.onboarding.member_reviewed(did)
    states = await found.issuance.overview.credentials_of(reviewed.participant.id)
    return json_response(CredentialList(
        did=did, items=[CredentialEntry(**asdict(s)) for s in states]))
