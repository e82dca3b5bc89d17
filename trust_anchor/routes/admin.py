"""The operator's admin API: review applications, manage the registry.

Steps taken here are audited with the caller as actor: ``api-key`` for the
admin API key (it names no person), the owner's email for a console API token;
the operator console calls the same service methods with the signed-in
person's email as ``actor``.
"""

from __future__ import annotations

from typing import Annotated, Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from servicekit.console.keys import API_CALLER
from servicekit.errors import InvalidRequest
from servicekit.openapi import operation
from servicekit.paging import page_size
from servicekit.web import json_response, parse_body
from trust_anchor.domain.oid4vci import credential_offer, offer_uri
from trust_anchor.domain.participants import ApplicationState
from trust_anchor.domain.registry import IssuerType, attribute_of
from trust_anchor.routes import operator_only, services, settings
from trust_anchor.routes.views import ApplicationView, OperatorApplicationView

__all__ = ["operator_view", "routes"]

routes = web.RouteTableDef()

#: A credential type's name (as the settings' types are named).
TYPE_NAME = r"^[A-Za-z][A-Za-z0-9]{0,99}$"


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

    application: OperatorApplicationView
    credential_id: str
    credential_offer_uri: str
    credential_offer: dict[str, Any]
    tx_code: str | None = Field(description="Give this to the participant out of band.")


class IssuerUpdate(BaseModel):
    """Accredit an issuer for credential types."""

    model_config = ConfigDict(extra="forbid")
    issuerType: IssuerType
    credentialTypes: list[Annotated[str, Field(pattern=TYPE_NAME)]] = Field(
        min_length=1, max_length=50)


async def operator_view(request: web.Request, participant_id: str) -> OperatorApplicationView:
    """The participant ``participant_id`` with its history and newest offer."""
    found = services(request)
    reviewed = await found.onboarding.reviewed(participant_id)
    offer = await found.oid4vci.offer_status(participant_id)
    return OperatorApplicationView.of_reviewed(reviewed.participant, reviewed.audit, offer)


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


@routes.get("/admin/applications")
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
    limit = page_size(request, maximum=200, code="invalid-page-size")
    page, next_after = await services(request).registry.participants(
        states, after=request.query.get("after"), limit=limit)
    return json_response(ApplicationPage(
        items=[ApplicationView.of_application(p) for p in page], next_after=next_after))


@routes.get("/admin/applications/{application_id}")
@operation("One application with its history and credential offer (operator)",
           tags=["admin"], security="bearer", responses={200: OperatorApplicationView},
           description="`history` is every event with its actor, time and reason; `offer` "
                       "carries the offer URI and transaction code until the participant "
                       "collected the credential.")
@operator_only
async def get_application(request: web.Request) -> web.Response:
    """The application, everything that happened to it, and its offer."""
    return json_response(await operator_view(request, request.match_info["application_id"]))


@routes.post("/admin/applications/{application_id}/approve")
@operation("Approve an application and issue its membership credential (operator)",
           tags=["admin"], security="bearer", request=Decision, responses={200: ApprovalResult})
@operator_only
async def approve(request: web.Request) -> web.Response:
    """SUBMITTED → APPROVED → ACTIVE, with a credential offer to collect."""
    reason = await _decision(request)
    onboarding = services(request).onboarding
    approved = await onboarding.approve(request.match_info["application_id"],
                                        actor=request[API_CALLER].actor, reason=reason)
    base = settings(request).base_url
    return json_response(ApprovalResult(
        application=await operator_view(request, approved.participant.id),
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

    why = ("A non-blank `reason` is required; the participant is told it." if required
           else "The `reason` is optional.")

    @operation(f"{name.capitalize()} a participant (operator)", tags=["admin"],
               security="bearer", request=model, responses={200: OperatorApplicationView},
               description=f"{name.capitalize()} a participant; the transition is audited "
                           f"with its reason. {why}")
    @operator_only
    async def handler(request: web.Request) -> web.Response:
        reason = await _decision(request, required=required)
        participant = await getattr(services(request).onboarding, name)(
            request.match_info["application_id"], actor=request[API_CALLER].actor,
            reason=reason)
        return json_response(await operator_view(request, participant.id))

    handler.__name__ = name
    return handler


for _name in ("reject", "suspend", "reinstate", "revoke"):
    routes.post(f"/admin/applications/{{application_id}}/{_name}")(_transition(_name))


@routes.put("/admin/issuers/{did}")
@operation("Accredit an issuer in the trusted-issuers registry (operator)", tags=["admin"],
           security="bearer", request=IssuerUpdate, responses={200: {"type": "object"}})
@operator_only
async def put_issuer(request: web.Request) -> web.Response:
    """Create or replace the registry entry of a DID as TAO or TI for some types."""
    body = await parse_body(request, IssuerUpdate)
    record = await services(request).registry.accredit(
        request.match_info["did"], body.issuerType, body.credentialTypes)
    return json_response({"did": record.did, "attributes": [attribute_of(record)]})


@routes.delete("/admin/issuers/{did}")
@operation("Revoke an issuer's accreditation (operator)", tags=["admin"], security="bearer",
           responses={200: {"type": "object"}})
@operator_only
async def revoke_issuer(request: web.Request) -> web.Response:
    """Mark the issuer ``Revoked``: relying parties stop trusting what it issues."""
    record = await services(request).registry.revoke(request.match_info["did"])
    return json_response({"did": record.did, "attributes": [attribute_of(record)]})
