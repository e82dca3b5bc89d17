"""W3C VC-API: issue (operator only), verify credentials, verify presentations.

``POST /credentials/issue`` secures the caller's VC 2.0 credential as given
(:mod:`trust_anchor.services.vc_api`): as ``vc+jwt`` (an
``EnvelopedVerifiableCredential``) or ``eddsa-rdfc-2022`` (the credential
with a Data Integrity ``proof``), as ``options.proofFormat``, the ``Accept``
header (``application/vc+jwt`` / ``application/vc``) or
``TA_VC_API_PROOF_FORMAT`` says. Verification takes either form, and
presentations as JWTs, enveloped or with an ``eddsa-rdfc-2022`` proof by the
holder. A credential that breaks the VC 2.0 data model is refused with a
stable code and the JSON pointer of the offending member: 422 problem+json
when issuing, 400 ``verified: false`` (also problem+json) when verifying.
"""

from __future__ import annotations

from typing import Any, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from identity.vc import VerifiedCredential
from servicekit.openapi import operation
from servicekit.web import json_response, parse_body
from trust_anchor.routes import operator_only, services

__all__ = ["routes"]

routes = web.RouteTableDef()


class IssueOptions(BaseModel):
    """VC-API issue options: how the credential is secured (and a default validity)."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)
    validity_days: int | None = Field(
        default=None, ge=1, le=3650,
        description="sets validUntil (from validFrom or now) when the credential has none")
    proof_format: Literal["vc+jwt", "eddsa-rdfc-2022"] | None = Field(
        default=None,
        alias="proofFormat",
        description="vc+jwt: an enveloped VC-JOSE credential; eddsa-rdfc-2022: Data "
                    "Integrity; default: the Accept header, then TA_VC_API_PROOF_FORMAT",
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
    credentials: list[dict[str, Any]] | None = None


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


@routes.post("/credentials/issue")
@operation("Issue a VC 2.0 credential as given, as an enveloped vc+jwt or with an "
           "eddsa-rdfc-2022 Data Integrity proof (operator only)",
           tags=["vc-api"], request=IssueRequest,
           responses={201: {"type": "object"},
                      422: "the credential breaks the VC 2.0 data model (problem+json with "
                           "code and pointer)",
                      403: "TA_VC_API_TYPES does not list one of its types"},
           security="bearer")
@operator_only
async def issue(request: web.Request) -> web.Response:
    """Check ``credential`` against the VC 2.0 data model and secure it as the trust anchor."""
    body = await parse_body(request, IssueRequest)
    secured = await services(request).vc_api.issue(
        body.credential, proof_format=body.options.proof_format,
        accept=request.headers.get("Accept"), validity_days=body.options.validity_days)
    return json_response({"verifiableCredential": secured}, status=201)


@routes.post("/credentials/verify")
@operation("Verify a credential (vc+jwt, enveloped, VC 1.1 JWT or Data Integrity)",
           tags=["vc-api"], request=VerifyCredentialRequest,
           responses={200: VerificationResult, 400: VerificationResult})
async def verify_credential(request: web.Request) -> web.Response:
    """Check proof, issuer binding, validity period and status."""
    body = await parse_body(request, VerifyCredentialRequest)
    verified = await services(request).vc_api.verify_credential(body.verifiableCredential)
    return json_response(VerificationResult(
        verified=True, checks=["data-model", "proof", "issuer", "validity", "status"],
        credential=_summary(verified),
    ))


@routes.post("/presentations/verify")
@operation("Verify a presentation and the credentials in it", tags=["vc-api"],
           request=VerifyPresentationRequest,
           responses={200: VerificationResult, 400: VerificationResult})
async def verify_presentation(request: web.Request) -> web.Response:
    """Check the holder's signature, ``challenge`` (nonce), ``domain`` (audience), credentials.

    Whether the credentials are about the holder is the relying party's
    question, not the data model's: it is answered in ``warnings``.
    """
    body = await parse_body(request, VerifyPresentationRequest)
    challenge = body.options.get("challenge")
    domain = body.options.get("domain")
    verified = await services(request).vc_api.verify_presentation(
        body.verifiablePresentation,
        domain=domain if isinstance(domain, str) else None,
        challenge=challenge if isinstance(challenge, str) else None,
    )
    checks = ["data-model", "proof", "credentials"]
    checks += (["domain"] if isinstance(domain, str) else []) + (
        ["challenge"] if isinstance(challenge, str) else [])
    unbound = [c.id or c.issuer for c in verified.credentials
               if verified.holder not in _subject_ids(c)]
    return json_response(VerificationResult(
        verified=True, checks=checks, holder=verified.holder,
        credentials=[_summary(c) for c in verified.credentials],
        warnings=[f"credential {name} is not about the holder" for name in unbound],
    ))


def _subject_ids(credential: VerifiedCredential) -> set[str]:
    subjects = credential.credential.get("credentialSubject")
    items = subjects if isinstance(subjects, list) else [subjects]
    return {s["id"] for s in items if isinstance(s, dict) and isinstance(s.get("id"), str)}
