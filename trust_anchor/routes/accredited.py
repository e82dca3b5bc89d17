"""Issuance on request of an accredited issuer (e.g. a marketplace's purchases).

An accredited issuer (``TI`` or ``TAO`` in the registry for the type) asks the
trust anchor to issue a configured credential type to an active participant.
It authenticates with a self-issued ID token from its DID to the trust
anchor's DID; the credential is issued and signed by the trust anchor, with
status entries like every other credential.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from identity.errors import VerificationError
from identity.vc import envelope_credential
from servicekit.auth import bearer_token
from servicekit.errors import Forbidden, InvalidRequest, Unauthorized
from servicekit.openapi import operation
from servicekit.web import json_response, parse_body
from trust_anchor.domain.participants import ApplicationState
from trust_anchor.registry import IssuerType
from trust_anchor.state import ISSUER, SELF_ISSUED_VERIFIER, TA_SETTINGS
from trust_anchor.store import participants as participant_store
from trust_anchor.store import registry as registry_store
from trust_anchor.store.app_db import engine_of

__all__ = ["setup"]


class AccreditedRequest(BaseModel):
    """What an accredited issuer asks the trust anchor to issue."""

    model_config = ConfigDict(extra="forbid")
    credential_type: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9]{1,63}$")
    subject_did: str = Field(max_length=500)
    claims: dict[str, Any] = Field(default_factory=dict)
    validity_days: int | None = Field(default=None, ge=1, le=3650)


class AccreditedIssued(BaseModel):
    """The issued credential."""

    id: str
    credential: str
    verifiableCredential: dict[str, Any]


@operation("Issue a credential on request of an accredited issuer", tags=["issuance"],
           request=AccreditedRequest, responses={201: AccreditedIssued}, security="bearer")
async def issue_for_accredited(request: web.Request) -> web.Response:
    """The caller's self-issued token names it; the registry says what it may request."""
    token = bearer_token(request)
    if token is None:
        raise Unauthorized("a self-issued ID token is required", code="token-required")
    try:
        caller = await request.config_dict[SELF_ISSUED_VERIFIER].verify(token)
    except VerificationError as exc:
        raise Unauthorized(f"the caller's token does not verify: {exc.detail}",
                           code=exc.code) from None
    body = await parse_body(request, AccreditedRequest)
    settings = request.config_dict[TA_SETTINGS]
    config = next((c for c in settings.credential_types if c.type == body.credential_type), None)
    if config is None:
        raise InvalidRequest(f"{body.credential_type} is not a configured credential type",
                             code="credential-type-unknown")
    if "id" in body.claims:
        raise InvalidRequest("claims must not set the subject id", code="claims-invalid")
    engine = engine_of(request)
    async with engine.begin() as conn:
        accreditation = await registry_store.get_issuer(conn, caller.issuer)
        if (accreditation is None
                or accreditation.issuer_type not in (IssuerType.TI, IssuerType.TAO)
                or body.credential_type not in accreditation.credential_types):
            raise Forbidden(f"{caller.issuer} is not accredited for {body.credential_type}",
                            code="not-accredited")
        subject = await participant_store.participant_by_did(conn, body.subject_did)
        if subject.state is not ApplicationState.ACTIVE:
            raise Forbidden(f"{body.subject_did} is not an active participant",
                            code="subject-not-active")
        issued = await request.config_dict[ISSUER].issue(
            conn,
            subject_did=subject.did,
            credential_type=body.credential_type,
            claims={**body.claims, "requestedBy": caller.issuer},
            validity=timedelta(days=body.validity_days or config.validity_days),
            participant_id=subject.id,
        )
    return json_response(
        AccreditedIssued(id=issued.id, credential=issued.token,
                         verifiableCredential=envelope_credential(issued.token)),
        status=201,
        headers={"Location": f"/credentials/{issued.id}"},
    )


def setup(app: web.Application) -> None:
    """Register the routes."""
    app.router.add_post("/accredited/credentials", issue_for_accredited)
