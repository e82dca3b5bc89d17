"""Applying to join: challenge, application, and following it."""

from __future__ import annotations

from datetime import UTC, datetime

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from servicekit.auth import bearer_token
from servicekit.openapi import operation
from servicekit.web import json_response, parse_body
from trust_anchor.domain.participants import Application, ApplicationState
from trust_anchor.keys import API_KEYS, IDENTITY
from trust_anchor.routes import services
from trust_anchor.routes.views import ApplicationView

__all__ = ["routes"]

routes = web.RouteTableDef()


class ChallengeRequest(BaseModel):
    """Ask for a challenge to sign with the applying DID's key."""

    model_config = ConfigDict(extra="forbid")
    did: str = Field(pattern=r"^did:(web|key):[A-Za-z0-9._:%\-]+$", max_length=500)


class ChallengeResponse(BaseModel):
    """The challenge, who to address the proof to, and until when it is valid."""

    challenge: str
    audience: str
    expires_at: datetime


class ApplicationRequest(Application):
    """An application with its proof of DID control.

    ``proof`` is a self-issued ID token (JWT) from the applying DID: ``iss`` =
    ``sub`` = the DID, ``aud`` = the trust anchor's DID, ``nonce`` = the
    challenge, signed with a key in the DID document's ``authentication`` or
    ``capabilityInvocation``.
    """

    proof: str = Field(min_length=20, max_length=16384)


class ApplicationCreated(BaseModel):
    """The stored application and the secret to follow it with."""

    id: str
    state: ApplicationState
    status_token: str = Field(description="Present as `Authorization: Bearer` to read the "
                                          "application; shown once.")
    location: str


@routes.post("/applications/challenge")
@operation("Get a challenge that proves control of the applying DID", tags=["onboarding"],
           request=ChallengeRequest, responses={201: ChallengeResponse})
async def challenge(request: web.Request) -> web.Response:
    """Hand out a single-use challenge for a DID."""
    body = await parse_body(request, ChallengeRequest)
    nonce, expires_at = await services(request).onboarding.challenge(body.did)
    return json_response(
        ChallengeResponse(challenge=nonce, audience=request.config_dict[IDENTITY].did,
                          expires_at=datetime.fromtimestamp(expires_at, UTC)),
        status=201,
    )


@routes.post("/applications")
@operation("Apply to join the data space", tags=["onboarding"], request=ApplicationRequest,
           responses={201: ApplicationCreated})
async def apply(request: web.Request) -> web.Response:
    """Store an application after checking the proof of DID control."""
    body = await parse_body(request, ApplicationRequest)
    application = Application.model_validate(body.model_dump(exclude={"proof"}))
    applied = await services(request).onboarding.apply(application, body.proof)
    location = f"/applications/{applied.participant.id}"
    return json_response(
        ApplicationCreated(id=applied.participant.id, state=applied.participant.state,
                           status_token=applied.status_token, location=location),
        status=201,
        headers={"Location": location},
    )


@routes.get("/applications/{application_id}")
@operation("Follow an application (applicant's status token or operator key)",
           tags=["onboarding"], responses={200: ApplicationView})
async def get_application(request: web.Request) -> web.Response:
    """The application, its audit trail, and the credential offer once approved."""
    token = bearer_token(request)
    found = services(request)
    reviewed = await found.onboarding.followed(
        request.match_info["application_id"], token,
        operator=request.config_dict[API_KEYS].verify(token))
    view = ApplicationView.of_application(reviewed.participant, reviewed.audit)
    offer = await found.oid4vci.pending_offer(view.id)
    if offer is not None:
        view.credential_offer_uri, view.credential_offer = offer
    return json_response(view)
