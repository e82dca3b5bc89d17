"""The operator's admin API: review applications, manage the registry."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from servicekit.errors import InvalidRequest
from servicekit.openapi import operation
from servicekit.web import json_response, parse_body
from trust_anchor.domain.participants import ApplicationState
from trust_anchor.errors import ParticipantNotFound
from trust_anchor.registry import IssuerType, attribute_of
from trust_anchor.routes import operator_only
from trust_anchor.routes.views import ApplicationView, credential_offer, offer_uri
from trust_anchor.state import ONBOARDING, REGISTRY, TA_SETTINGS
from trust_anchor.store import participants as participant_store
from trust_anchor.store import registry as registry_store
from trust_anchor.store.app_db import engine_of

__all__ = ["setup"]

_ACTOR = "operator"


class Decision(BaseModel):
    """Why the operator decides as they do (kept in the audit trail).

    Optional for approve and reinstate (the trail then says "approved" or
    "reinstated").
    """

    model_config = ConfigDict(extra="forbid")
    reason: str | None = Field(default=None, max_length=2000)


class ReasonedDecision(BaseModel):
    """Why the operator rejects, suspends or revokes: required, the participant is told."""

    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=2000, pattern=r"\S")


#: The transitions that need a reason (400 without one).
_REASON_REQUIRED = frozenset({"reject", "suspend", "revoke"})


class ApplicationPage(BaseModel):
    """A page of applications."""

    items: list[ApplicationView]
    next_after: str | None


class ApprovalResult(BaseModel):
    """An approval and how the participant collects its credential."""

    application: ApplicationView
    credential_id: str
    credential_offer_uri: str
    credential_offer: dict[str, Any]
    tx_code: str | None = Field(description="Give this to the participant out of band.")


class IssuerUpdate(BaseModel):
    """Accredit an issuer for credential types."""

    model_config = ConfigDict(extra="forbid")
    issuerType: IssuerType
    credentialTypes: list[str] = Field(min_length=1, max_length=50)


async def _decision(request: web.Request, *, required: bool = False) -> str | None:
    model: type[Decision] | type[ReasonedDecision] = ReasonedDecision if required else Decision
    if not request.can_read_body:
        # No body: a required reason is missing (400 through the error middleware).
        parsed: Decision | ReasonedDecision = model.model_validate({})
    elif required:
        parsed = await parse_body(request, ReasonedDecision)
    else:
        parsed = await parse_body(request, Decision)
    return parsed.reason


@operation("List applications (operator)", tags=["admin"], security="bearer",
           parameters=[{"name": "state", "in": "query", "schema": {"type": "string"}},
                       {"name": "after", "in": "query", "schema": {"type": "string"}},
                       {"name": "limit", "in": "query", "schema": {"type": "integer"}}],
           responses={200: ApplicationPage})
@operator_only
async def list_applications(request: web.Request) -> web.Response:
    """Applications and members, oldest first, optionally of some states."""
    states = []
    for raw in request.query.getall("state", []):
        try:
            states.append(ApplicationState(raw))
        except ValueError:
            raise InvalidRequest(f"unknown state {raw!r}", code="invalid-state") from None
    limit_raw = request.query.get("limit", "50")
    if not limit_raw.isdigit() or not 1 <= int(limit_raw) <= 200:
        raise InvalidRequest("limit must be 1 to 200", code="invalid-page-size")
    limit = int(limit_raw)
    async with engine_of(request).connect() as conn:
        rows = await participant_store.list_participants(
            conn, states=states or None, after=request.query.get("after"), limit=limit + 1
        )
    page = rows[:limit]
    return json_response(ApplicationPage(
        items=[ApplicationView.of_application(p) for p in page],
        next_after=page[-1].id if len(rows) > limit and page else None,
    ))


@operation("One application with its audit trail (operator)", tags=["admin"],
           security="bearer", responses={200: ApplicationView})
@operator_only
async def get_application(request: web.Request) -> web.Response:
    """The application and every transition it went through."""
    participant_id = request.match_info["application_id"]
    async with engine_of(request).connect() as conn:
        participant = await participant_store.get_participant(conn, participant_id)
        audit = await participant_store.audit_trail(conn, participant_id)
    return json_response(ApplicationView.of_application(participant, audit))


@operation("Approve an application and issue its membership credential (operator)",
           tags=["admin"], security="bearer", request=Decision, responses={200: ApprovalResult})
@operator_only
async def approve(request: web.Request) -> web.Response:
    """SUBMITTED → APPROVED → ACTIVE, with a credential offer to collect."""
    reason = await _decision(request)
    approved = await request.config_dict[ONBOARDING].approve(
        request.match_info["application_id"], actor=_ACTOR, reason=reason
    )
    base = request.config_dict[TA_SETTINGS].base_url
    async with engine_of(request).connect() as conn:
        audit = await participant_store.audit_trail(conn, approved.participant.id)
    return json_response(ApprovalResult(
        application=ApplicationView.of_application(approved.participant, audit),
        credential_id=approved.credential_id,
        credential_offer_uri=offer_uri(base, approved.offer_id),
        credential_offer=credential_offer(base, approved.configuration_id,
                                          approved.pre_authorized_code,
                                          approved.tx_code is not None),
        tx_code=approved.tx_code,
    ))


def _transition(name: str) -> Any:
    required = name in _REASON_REQUIRED
    model = ReasonedDecision if required else Decision

    @operation(f"{name.capitalize()} a participant (operator)", tags=["admin"],
               security="bearer", request=model, responses={200: ApplicationView})
    @operator_only
    async def handler(request: web.Request) -> web.Response:
        reason = await _decision(request, required=required)
        participant_id = request.match_info["application_id"]
        participant = await getattr(request.config_dict[ONBOARDING], name)(
            participant_id, actor=_ACTOR, reason=reason
        )
        async with engine_of(request).connect() as conn:
            audit = await participant_store.audit_trail(conn, participant.id)
        return json_response(ApplicationView.of_application(participant, audit))

    handler.__name__ = name
    handler.__doc__ = f"{name.capitalize()} a participant; the transition is audited."
    return handler


@operation("Accredit an issuer in the trusted-issuers registry (operator)", tags=["admin"],
           security="bearer", request=IssuerUpdate, responses={200: {"type": "object"}})
@operator_only
async def put_issuer(request: web.Request) -> web.Response:
    """Create or replace the registry entry of a DID as TAO or TI for some types."""
    body = await parse_body(request, IssuerUpdate)
    if body.issuerType not in (IssuerType.TAO, IssuerType.TI):
        raise InvalidRequest("the operator accredits TAO or TI issuers",
                             code="issuer-type-invalid")
    did = request.match_info["did"]
    if not did.startswith("did:"):
        raise InvalidRequest("the path must name a DID", code="did-malformed")
    async with engine_of(request).begin() as conn:
        record = await request.config_dict[REGISTRY].put(conn, did, body.issuerType,
                                                         body.credentialTypes)
    return json_response({"did": record.did, "attributes": [attribute_of(record)]})


@operation("Revoke an issuer's accreditation (operator)", tags=["admin"], security="bearer",
           responses={200: {"type": "object"}})
@operator_only
async def revoke_issuer(request: web.Request) -> web.Response:
    """Mark the issuer ``Revoked``: relying parties stop trusting what it issues."""
    did = request.match_info["did"]
    registry = request.config_dict[REGISTRY]
    async with engine_of(request).begin() as conn:
        record = await registry_store.get_issuer(conn, did)
        if record is None:
            raise ParticipantNotFound(f"{did} is not in the registry")
        if record.issuer_type == IssuerType.ROOT_TAO:
            raise InvalidRequest("the RootTAO cannot be revoked", code="root-tao-reserved")
        record = await registry.put(conn, did, IssuerType.REVOKED, record.credential_types)
    return json_response({"did": record.did, "attributes": [attribute_of(record)]})


def setup(app: web.Application) -> None:
    """Register the routes."""
    app.router.add_get("/admin/applications", list_applications)
    app.router.add_get("/admin/applications/{application_id}", get_application)
    app.router.add_post("/admin/applications/{application_id}/approve", approve)
    for name in ("reject", "suspend", "reinstate", "revoke"):
        app.router.add_post(f"/admin/applications/{{application_id}}/{name}", _transition(name))
    app.router.add_put("/admin/issuers/{did}", put_issuer)
    app.router.add_delete("/admin/issuers/{did}", revoke_issuer)
