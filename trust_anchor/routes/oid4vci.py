"""OpenID for VC Issuance 1.0: offer, token, nonce and credential endpoints.

The pre-authorized code flow: the operator's approval creates an offer; the
wallet fetches it (by reference), exchanges the code (plus the transaction
code) for an access token, gets a ``c_nonce``, and sends a key proof
(``openid4vci-proof+jwt``) signed by the participant's DID to collect the
credential. Errors use the OAuth shape (``{"error", "error_description"}``)
that wallets act on, not problem+json.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web
from pydantic import BaseModel, Field

from servicekit.auth import bearer_token
from servicekit.errors import DataspaceError
from servicekit.openapi import operation
from servicekit.web import json_response, problem_response, read_json
from trust_anchor.domain.oid4vci import PRE_AUTHORIZED_GRANT, CredentialRequest
from trust_anchor.errors import OAuthError, OAuthUnauthorized
from trust_anchor.routes import services

__all__ = ["render_oauth", "routes"]

#: Mounted under ``/oid4vci`` (a sub-application with :func:`render_oauth`).
routes = web.RouteTableDef()
_NO_STORE = {"Cache-Control": "no-store"}


class TokenResponse(BaseModel):
    """RFC 6749 access token response."""

    access_token: str
    token_type: str = "Bearer"  # noqa: S105 - the OAuth token type, not a secret
    expires_in: int


class NonceResponse(BaseModel):
    """The OID4VCI nonce endpoint's answer."""

    c_nonce: str


class CredentialResponse(BaseModel):
    """OID4VCI 1.0 credential response."""

    credentials: list[dict[str, str]] = Field(description="[{credential: <vc+jwt>}]")


def render_oauth(request: web.Request, error: DataspaceError) -> web.Response:
    """OAuth errors in the OAuth shape (``{"error", "error_description"}``); others as
    problem+json."""
    if isinstance(error, OAuthError | OAuthUnauthorized):
        headers = dict(_NO_STORE)
        if error.status == 401:
            headers["WWW-Authenticate"] = f'Bearer error="{error.code}"'
        return json_response({"error": error.code, "error_description": error.detail},
                             status=error.status, headers=headers)
    return problem_response(error, instance=request.path)


@routes.get("/offers/{offer_id}")
@operation("A credential offer, by reference", tags=["oid4vci"],
           responses={200: {"type": "object"}})
async def get_offer(request: web.Request) -> web.Response:
    """The offer ``offer_id`` (the URI itself is the bearer of access to it)."""
    offer = await services(request).oid4vci.offer(request.match_info["offer_id"])
    return json_response(offer, headers=_NO_STORE)


@routes.post("/token")
@operation("Exchange a pre-authorized code for an access token", tags=["oid4vci"],
           request_content_type="application/x-www-form-urlencoded",
           request={"type": "object", "properties": {
               "grant_type": {"const": PRE_AUTHORIZED_GRANT},
               "pre-authorized_code": {"type": "string"},
               "tx_code": {"type": "string"}}},
           responses={200: TokenResponse})
async def token(request: web.Request) -> web.Response:
    """The token endpoint (pre-authorized code grant only)."""
    access_token, ttl = await services(request).oid4vci.token(await _token_form(request))
    return json_response(TokenResponse(access_token=access_token, expires_in=ttl),
                         headers=_NO_STORE)


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


@routes.post("/nonce")
@operation("Get a fresh c_nonce for a key proof", tags=["oid4vci"],
           responses={200: NonceResponse})
async def nonce(request: web.Request) -> web.Response:
    """The nonce endpoint."""
    value = await services(request).oid4vci.nonce()
    return json_response(NonceResponse(c_nonce=value), headers=_NO_STORE)


@routes.post("/credential")
@operation("Collect a credential with an access token and a key proof", tags=["oid4vci"],
           request=CredentialRequest, responses={200: CredentialResponse}, security="bearer")
async def credential(request: web.Request) -> web.Response:
    """The credential endpoint."""
    oid4vci = services(request).oid4vci
    offer = await oid4vci.offer_for_token(bearer_token(request))
    token = await oid4vci.collect(offer, await _credential_request(request))
    return json_response(CredentialResponse(credentials=[{"credential": token}]),
                         headers=_NO_STORE)


async def _credential_request(request: web.Request) -> CredentialRequest:
    """The credential request body; anything else is ``invalid_credential_request``."""
    try:
        return CredentialRequest.model_validate(await read_json(request))
    except DataspaceError:
        raise OAuthError("invalid_credential_request", "the body is not JSON") from None
    except ValueError as exc:
        raise OAuthError("invalid_credential_request", str(exc).splitlines()[0]) from None
