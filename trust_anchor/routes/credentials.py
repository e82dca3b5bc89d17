"""W3C VC-API: issue (operator only), verify credentials, verify presentations.

``POST /credentials/issue`` secures the credential as ``options.proofFormat``
says: ``vc+jwt`` (default; an ``EnvelopedVerifiableCredential``) or
``eddsa-rdfc-2022`` (the credential with a Data Integrity ``proof``, signed
with the trust anchor's Ed25519 key). Both carry the same status entries and
are recorded the same way. Verification takes either form.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from identity.errors import VerificationError
from identity.vc import VerifiedCredential, envelope_credential
from servicekit.errors import InvalidRequest
from servicekit.openapi import operation
from servicekit.web import json_response, parse_body
from trust_anchor.issuance import VC_JWT
from trust_anchor.routes import operator_only
from trust_anchor.state import (
    CREDENTIAL_VERIFIER,
    IDENTITY,
    ISSUER,
    PRESENTATION_VERIFIER,
    TA_SETTINGS,
)
from trust_anchor.store.app_db import engine_of

__all__ = ["setup"]


class IssueOptions(BaseModel):
    """VC-API issue options: how long the credential is valid and how it is secured."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)
    validity_days: int | None = Field(default=None, ge=1, le=3650)
    proof_format: Literal["vc+jwt", "eddsa-rdfc-2022"] = Field(
        default="vc+jwt",
        alias="proofFormat",
        description="vc+jwt: an enveloped VC-JOSE credential; eddsa-rdfc-2022: Data Integrity",
    )


class IssueRequest(BaseModel):
    """VC-API ``POST /credentials/issue`` body."""

    model_config = ConfigDict(extra="forbid")
    credential: dict[str, Any]
    options: IssueOptions = Field(default_factory=IssueOptions)


class VerifyCredentialRequest(BaseModel):
    """VC-API ``POST /credentials/verify`` body."""

    model_config = ConfigDict(extra="forbid")
    verifiableCredential: dict[str, Any] | str
    options: dict[str, Any] = Field(default_factory=dict)


class VerifyPresentationRequest(BaseModel):
    """VC-API ``POST /presentations/verify`` body."""

    model_config = ConfigDict(extra="forbid")
    verifiablePresentation: dict[str, Any] | str
    options: dict[str, Any] = Field(default_factory=dict)


class VerificationResult(BaseModel):
    """What was checked and what was found."""

    verified: bool
    checks: list[str]
    warnings: list[str] = Field(default_factory=list)
    errors: list[dict[str, str]] = Field(default_factory=list)
    credential: dict[str, Any] | None = None
    holder: str | None = None


def _failure(exc: VerificationError) -> web.Response:
    body = VerificationResult(verified=False, checks=[],
                              errors=[{"code": exc.code, "message": exc.detail}])
    return json_response(body, status=400)


def _summary(credential: VerifiedCredential) -> dict[str, Any]:
    return {
        "id": credential.id,
        "issuer": credential.issuer,
        "type": list(credential.types),
        "credentialSubject": dict(credential.claims),
        "validFrom": credential.valid_from.isoformat() if credential.valid_from else None,
        "validUntil": credential.valid_until.isoformat() if credential.valid_until else None,
        "format": str(credential.format),
    }


@operation("Issue a VC 2.0 credential as an enveloped vc+jwt or with an eddsa-rdfc-2022 "
           "Data Integrity proof (operator only)",
           tags=["vc-api"], request=IssueRequest, responses={201: {"type": "object"}},
           security="bearer")
@operator_only
async def issue(request: web.Request) -> web.Response:
    """Sign ``credential`` as the trust anchor, adding status entries."""
    body = await parse_body(request, IssueRequest)
    credential = body.credential
    subject = credential.get("credentialSubject")
    if not isinstance(subject, dict) or not isinstance(subject.get("id"), str):
        raise InvalidRequest("credentialSubject.id (the holder DID) is required",
                             code="subject-required")
    types = [t for t in credential.get("type", []) if t != "VerifiableCredential"]
    if not isinstance(credential.get("type"), list) or len(types) != 1:
        raise InvalidRequest("type must be [VerifiableCredential, <one type>]",
                             code="credential-type-invalid")
    issuer = credential.get("issuer")
    did = request.config_dict[IDENTITY].did
    if issuer not in (None, did, {"id": did}):
        raise InvalidRequest("this service issues only as its own DID", code="issuer-mismatch")
    claims = {k: v for k, v in subject.items() if k != "id"}
    settings = request.config_dict[TA_SETTINGS]
    days = body.options.validity_days or settings.credential_types[0].validity_days
    async with engine_of(request).begin() as conn:
        issued = await request.config_dict[ISSUER].issue(
            conn, subject_did=subject["id"], credential_type=types[0], claims=claims,
            validity=timedelta(days=days), proof_format=body.options.proof_format,
        )
    if body.options.proof_format == VC_JWT:
        secured: dict[str, Any] = envelope_credential(issued.token)
    else:
        secured = json.loads(issued.token)
    return json_response({"verifiableCredential": secured}, status=201)


@operation("Verify a credential (vc+jwt, enveloped, VC 1.1 JWT or Data Integrity)",
           tags=["vc-api"], request=VerifyCredentialRequest,
           responses={200: VerificationResult, 400: VerificationResult})
async def verify_credential(request: web.Request) -> web.Response:
    """Check proof, issuer binding, validity period and status."""
    body = await parse_body(request, VerifyCredentialRequest)
    try:
        verified = await request.config_dict[CREDENTIAL_VERIFIER].verify(
            body.verifiableCredential
        )
    except VerificationError as exc:
        return _failure(exc)
    return json_response(VerificationResult(
        verified=True, checks=["proof", "issuer", "validity", "status"],
        credential=_summary(verified),
    ))


@operation("Verify a presentation and the credentials in it", tags=["vc-api"],
           request=VerifyPresentationRequest,
           responses={200: VerificationResult, 400: VerificationResult})
async def verify_presentation(request: web.Request) -> web.Response:
    """Check the holder's signature, ``challenge`` (nonce), ``domain`` (audience), subjects."""
    body = await parse_body(request, VerifyPresentationRequest)
    challenge = body.options.get("challenge")
    domain = body.options.get("domain")
    try:
        verified = await request.config_dict[PRESENTATION_VERIFIER].verify(
            body.verifiablePresentation,
            audience=domain if isinstance(domain, str) else None,
            nonce=challenge if isinstance(challenge, str) else None,
        )
    except VerificationError as exc:
        return _failure(exc)
    return json_response(VerificationResult(
        verified=True, checks=["proof", "audience", "nonce", "subject-binding", "credentials"],
        holder=verified.holder,
    ))


def setup(app: web.Application) -> None:
    """Register the routes."""
    app.router.add_post("/credentials/issue", issue)
    app.router.add_post("/credentials/verify", verify_credential)
    app.router.add_post("/presentations/verify", verify_presentation)
