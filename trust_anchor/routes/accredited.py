"""Issuance on request of an accredited issuer (e.g. a marketplace's purchases).

An accredited issuer (``TI`` or ``TAO`` in the registry for the type) asks the
trust anchor to issue a configured credential type to an active participant.
It authenticates with a self-issued ID token from its DID to the trust
anchor's DID; the credential is issued and signed by the trust anchor, with
status entries like every other credential.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from identity.vc import envelope_credential
from servicekit.auth import bearer_token
from servicekit.openapi import operation
from servicekit.web import json_response, parse_body
from trust_anchor.routes import services

__all__ = ["routes"]

routes = web.RouteTableDef()


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


@routes.post("/accredited/credentials")
@operation("Issue a credential on request of an accredited issuer", tags=["issuance"],
           request=AccreditedRequest, responses={201: AccreditedIssued}, security="bearer")
async def issue_for_accredited(request: web.Request) -> web.Response:
    """The caller's self-issued token names it; the registry says what it may request."""
    issuance = services(request).issuance
    caller = await issuance.caller(bearer_token(request))
    body = await parse_body(request, AccreditedRequest)
    issued = await issuance.for_accredited(
        caller, credential_type=body.credential_type, subject_did=body.subject_did,
        claims=body.claims, validity_days=body.validity_days)
    return json_response(
        AccreditedIssued(id=issued.id, credential=issued.token,
                         verifiableCredential=envelope_credential(issued.token)),
        status=201,
        headers={"Location": f"/credentials/{issued.id}"},
    )
