"""OpenID for VC Issuance 1.0: offer, token, nonce and credential endpoints.

The pre-authorized code flow: the operator's approval creates an offer; the
wallet fetches it (by reference), exchanges the code (plus the transaction
code) for an access token, gets a ``c_nonce``, and sends a key proof
(``openid4vci-proof+jwt``) signed by the participant's DID to collect the
credential. Errors use the OAuth shape (``{"error", "error_description"}``)
that wallets act on, not problem+json.
"""

from __future__ import annotations

import secrets
import time
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from identity.errors import VerificationError
from identity.key_proof import verify_key_proof
from servicekit.auth import bearer_token
from servicekit.errors import DataspaceError
from servicekit.openapi import operation
from servicekit.web import ERROR_RENDERER, json_response, read_json
from trust_anchor.errors import OAuthError, OAuthUnauthorized
from trust_anchor.routes.views import credential_offer, offer_uri
from trust_anchor.state import ISSUER, RESOLVER, TA_SETTINGS
from trust_anchor.store import credentials as credential_store
from trust_anchor.store import offers as offer_store
from trust_anchor.store.app_db import engine_of

__all__ = ["pending_offer", "setup"]

PRE_AUTHORIZED_GRANT = "urn:ietf:params:oauth:grant-type:pre-authorized_code"
_NO_STORE = {"Cache-Control": "no-store"}
_NONCE_TTL = 300.0


class TokenResponse(BaseModel):
    """RFC 6749 access token response."""

    access_token: str
    token_type: str = "Bearer"  # noqa: S105 - the OAuth token type, not a secret
    expires_in: int


class NonceResponse(BaseModel):
    """The OID4VCI nonce endpoint's answer."""

    c_nonce: str


class Proof(BaseModel):
    """A single key proof."""

    model_config = ConfigDict(extra="allow")
    proof_type: str
    jwt: str | None = None


class CredentialRequest(BaseModel):
    """OID4VCI 1.0 credential request (one proof; ``proofs.jwt`` with one entry is accepted)."""

    model_config = ConfigDict(extra="allow")
    credential_configuration_id: str | None = None
    credential_identifier: str | None = None
    proof: Proof | None = None
    proofs: dict[str, list[str]] | None = None


class CredentialResponse(BaseModel):
    """OID4VCI 1.0 credential response."""

    credentials: list[dict[str, str]] = Field(description="[{credential: <vc+jwt>}]")


def _render_oauth(request: web.Request, error: DataspaceError) -> web.Response:
    if isinstance(error, OAuthError | OAuthUnauthorized):
        headers = dict(_NO_STORE)
        if error.status == 401:
            headers["WWW-Authenticate"] = f'Bearer error="{error.code}"'
        return json_response({"error": error.code, "error_description": error.detail},
                             status=error.status, headers=headers)
    from servicekit.web import problem_response

    return problem_response(error, instance=request.path)


async def pending_offer(
    request: web.Request, participant_id: str
) -> tuple[str, dict[str, Any]] | None:
    """(offer URI, offer) of a participant's uncollected offer, if any."""
    async with engine_of(request).connect() as conn:
        offer = await offer_store.pending_offer_of(conn, participant_id, time.time())
    if offer is None or offer.code_used_at is not None:
        return None
    base = request.config_dict[TA_SETTINGS].base_url
    code = request.config_dict[ISSUER].offer_code(offer.id)
    return offer_uri(base, offer.id), credential_offer(
        base, offer.configuration_id, code, offer.has_tx_code
    )


@operation("A credential offer, by reference", tags=["oid4vci"],
           responses={200: {"type": "object"}})
async def get_offer(request: web.Request) -> web.Response:
    """The offer ``offer_id`` (the URI itself is the bearer of access to it)."""
    offer_id = request.match_info["offer_id"]
    async with engine_of(request).connect() as conn:
        offer = await offer_store.offer_by_id(conn, offer_id)
    if offer is None or offer.code_used_at is not None or offer.expires_at < time.time():
        raise OAuthError("invalid_request", "no such offer, or it was used or has expired")
    base = request.config_dict[TA_SETTINGS].base_url
    code = request.config_dict[ISSUER].offer_code(offer.id)
    return json_response(credential_offer(base, offer.configuration_id, code, offer.has_tx_code),
                         headers=_NO_STORE)


@operation("Exchange a pre-authorized code for an access token", tags=["oid4vci"],
           request_content_type="application/x-www-form-urlencoded",
           request={"type": "object", "properties": {
               "grant_type": {"const": PRE_AUTHORIZED_GRANT},
               "pre-authorized_code": {"type": "string"},
               "tx_code": {"type": "string"}}},
           responses={200: TokenResponse})
async def token(request: web.Request) -> web.Response:
    """The token endpoint (pre-authorized code grant only)."""
    form = await _token_form(request)
    if form.get("grant_type") != PRE_AUTHORIZED_GRANT:
        raise OAuthError("unsupported_grant_type", "only the pre-authorized code grant is offered")
    code = form.get("pre-authorized_code")
    if not isinstance(code, str) or not code:
        raise OAuthError("invalid_request", "pre-authorized_code is required")
    tx_code = form.get("tx_code") or form.get("user_pin")
    settings = request.config_dict[TA_SETTINGS]
    access_token = secrets.token_urlsafe(32)
    now = time.time()
    async with engine_of(request).begin() as conn:
        offer = await offer_store.redeem_code(
            conn, code, tx_code if isinstance(tx_code, str) else None,
            access_token=access_token,
            access_token_expires_at=now + settings.access_token_ttl_seconds,
            now=now,
        )
    if offer is None:
        raise OAuthError("invalid_grant",
                         "the code is unknown, used or expired, or the transaction code is wrong")
    return json_response(
        TokenResponse(access_token=access_token, expires_in=settings.access_token_ttl_seconds),
        headers=_NO_STORE,
    )


async def _token_form(request: web.Request) -> dict[str, Any]:
    """The token request's parameters: a form (RFC 6749 section 4.1.3), or JSON.

    Any other body (multipart, text, a form that is not UTF-8) is an OAuth
    ``invalid_request``, never a server error.
    """
    if request.content_type == "application/json":
        data: Any = await read_json(request)
        if not isinstance(data, dict):
            raise OAuthError("invalid_request", "the token request is a form")
        return data
    if request.content_type != "application/x-www-form-urlencoded":
        raise OAuthError("invalid_request",
                         "the token request is an application/x-www-form-urlencoded form")
    raw = await request.read()
    try:
        return dict(parse_qsl(raw.decode("utf-8"), keep_blank_values=True, max_num_fields=20))
    except (UnicodeDecodeError, ValueError):
        raise OAuthError("invalid_request", "the token request is not a UTF-8 form") from None


@operation("Get a fresh c_nonce for a key proof", tags=["oid4vci"],
           responses={200: NonceResponse})
async def nonce(request: web.Request) -> web.Response:
    """The nonce endpoint."""
    value = secrets.token_urlsafe(24)
    async with engine_of(request).begin() as conn:
        await offer_store.save_nonce(conn, value, time.time() + _NONCE_TTL)
    return json_response(NonceResponse(c_nonce=value), headers=_NO_STORE)


@operation("Collect a credential with an access token and a key proof", tags=["oid4vci"],
           request=CredentialRequest, responses={200: CredentialResponse}, security="bearer")
async def credential(request: web.Request) -> web.Response:
    """The credential endpoint."""
    access_token = bearer_token(request)
    if access_token is None:
        raise OAuthUnauthorized("invalid_token", "an access token is required")
    engine = engine_of(request)
    async with engine.connect() as conn:
        offer = await offer_store.offer_by_access_token(conn, access_token, time.time())
    if offer is None:
        raise OAuthUnauthorized("invalid_token", "the access token is unknown or expired")
    try:
        body = CredentialRequest.model_validate(await read_json(request))
    except DataspaceError:
        raise OAuthError("invalid_credential_request", "the body is not JSON") from None
    except ValueError as exc:
        raise OAuthError("invalid_credential_request", str(exc).splitlines()[0]) from None
    requested = body.credential_configuration_id or body.credential_identifier
    if requested != offer.configuration_id:
        raise OAuthError("unknown_credential_configuration",
                         f"this token is for {offer.configuration_id}")
    proofs = [body.proof.jwt] if body.proof and body.proof.proof_type == "jwt" else []
    if body.proofs is not None:
        proofs = list(body.proofs.get("jwt", []))
    if len(proofs) != 1 or not isinstance(proofs[0], str):
        raise OAuthError("invalid_proof", "exactly one jwt key proof is required")
    settings = request.config_dict[TA_SETTINGS]
    try:
        proof = await verify_key_proof(proofs[0], request.config_dict[RESOLVER],
                                       audience=settings.base_url)
    except VerificationError as exc:
        raise OAuthError("invalid_proof", f"{exc.code}: {exc.detail}") from None
    async with engine.begin() as conn:
        if proof.nonce is None or not await offer_store.consume_nonce(conn, proof.nonce,
                                                                      time.time()):
            raise OAuthError("invalid_nonce", "the proof's nonce is unknown, used or expired")
        issued = await credential_store.get_credential(conn, offer.credential_id)
        if proof.holder != issued.subject_did:
            raise OAuthError("invalid_proof",
                             "the proof's key does not belong to the credential's subject DID")
        await offer_store.mark_delivered(conn, offer.id, time.time())
    return json_response(CredentialResponse(credentials=[{"credential": issued.token}]),
                         headers=_NO_STORE)


def setup(app: web.Application) -> None:
    """Mount the OID4VCI endpoints under ``/oid4vci`` with OAuth error bodies."""
    sub = web.Application()
    sub[ERROR_RENDERER] = _render_oauth
    sub.router.add_get("/offers/{offer_id}", get_offer)
    sub.router.add_post("/token", token)
    sub.router.add_post("/nonce", nonce)
    sub.router.add_post("/credential", credential)
    app.add_subapp("/oid4vci", sub)
