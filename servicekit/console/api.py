"""The console's JSON API: people's accounts and API tokens for scripts (the pages' actions),
and the two OpenID4VP endpoints a wallet calls (the request object and direct_post).

Accounts live under the service's admin API prefix (``/admin/accounts`` on the trust
anchor, ``/api/v1/accounts`` on a connector). Managing accounts needs the admin API
key or a token of an admin with the ``manage`` scope.
"""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web
from pydantic import BaseModel, Field

from servicekit.auth import ApiKeyVerifier, require_api_key
from servicekit.console.accounts import Console
from servicekit.console.config import SCOPES, ConsoleConfig
from servicekit.console.errors import RoleRequired
from servicekit.console.keys import API_CALLER, CONSOLE, ApiCaller
from servicekit.console.web import base_url, organisation_signin
from servicekit.errors import DataspaceError, InvalidRequest
from servicekit.openapi import operation
from servicekit.web import json_response, parse_body

__all__ = ["api_routes", "wallet_routes"]


class NewAccount(BaseModel):
    """An account to create (it gets a one-time sign-in link)."""

    email: str = Field(min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")
    name: str = Field(min_length=1, max_length=200)
    roles: list[str] = Field(min_length=1)


class AccountChange(BaseModel):
    """New roles, or access on or off."""

    roles: list[str] | None = None
    enabled: bool | None = None


class NewToken(BaseModel):
    """An API token to create."""

    name: str = Field(min_length=1, max_length=200)
    scopes: list[str] = Field(min_length=1)
    days: float | None = Field(default=90, gt=0, le=3660)
    account_id: str | None = Field(
        default=None, description="Whose token (admin key only; a token makes its own).")


_ACCOUNT = {"type": "object", "properties": {
    "id": {"type": "string"}, "email": {"type": "string"}, "name": {"type": "string"},
    "roles": {"type": "array", "items": {"type": "string"}}, "status": {"type": "string"},
    "totp": {"type": "boolean"}, "locked": {"type": "boolean"},
    "created_at": {"type": "number"}}}


def _console(request: web.Request) -> Console:
    return request.config_dict[CONSOLE]


def _caller(request: web.Request) -> ApiCaller:
    return request[API_CALLER]


def _admin_only(request: web.Request) -> None:
    caller = _caller(request)
    if caller.kind != "api-key" and "admin" not in caller.roles:
        raise RoleRequired("managing accounts needs the admin role")


def api_routes(config: ConsoleConfig, verifier: Callable[[web.Request], ApiKeyVerifier]
               ) -> web.RouteTableDef:
    """Accounts and tokens under ``config.api_prefix``."""
    routes = web.RouteTableDef()
    a = config.api_prefix
    guard = require_api_key(verifier)

    @routes.get(f"{a}/accounts")
    @guard
    @operation("The people with accounts in this service's console", tags=["accounts"],
               security="bearer", responses={200: {"type": "array", "items": _ACCOUNT}})
    async def list_accounts(request: web.Request) -> web.Response:
        """Every account, by email (no secrets)."""
        return json_response([acc.public() for acc in await _console(request).store.accounts()])

    @routes.post(f"{a}/accounts")
    @guard
    @operation("Create an account; answers a one-time sign-in link", tags=["accounts"],
               security="bearer", request=NewAccount,
               responses={201: {"type": "object"}, 400: "Bad input", 409: "Email taken"})
    async def create_account(request: web.Request) -> web.Response:
        """The bootstrap path: the admin key creates the first admin, who opens the link."""
        _admin_only(request)
        body = await parse_body(request, NewAccount)
        console = _console(request)
        account = await console.create_account(body.email, body.name, body.roles)
        link = await console.new_link(account.id, "signin", base_url(request))
        return json_response({"account": account.public(), "signin_link": link}, status=201)

    @routes.patch(f"{a}/accounts/{{account_id}}")
    @guard
    @operation("Change an account's roles, or turn its access off or on", tags=["accounts"],
               security="bearer", request=AccountChange,
               responses={200: _ACCOUNT, 400: "Bad input", 404: "No such account"})
    async def change_account(request: web.Request) -> web.Response:
        """Roles apply at once (the account's sessions end)."""
        _admin_only(request)
        body = await parse_body(request, AccountChange)
        console = _console(request)
        account_id = request.match_info["account_id"]
        if body.roles is None and body.enabled is None:
            raise InvalidRequest("give roles or enabled", code="change-empty")
        if body.roles is not None:
            await console.set_roles(account_id, body.roles)
        if body.enabled is not None:
            await console.set_status(account_id, enabled=body.enabled)
        return json_response((await console.account(account_id)).public())

    @routes.post(f"{a}/accounts/{{account_id}}/signin-link")
    @guard
    @operation("A one-time sign-in link for an account", tags=["accounts"], security="bearer",
               responses={201: {"type": "object"}, 404: "No such account"})
    async def signin_link(request: web.Request) -> web.Response:
        """For a person who lost access: the link works once, for a day by default."""
        _admin_only(request)
        console = _console(request)
        account = await console.account(request.match_info["account_id"])
        link = await console.new_link(account.id, "signin", base_url(request))
        return json_response({"account": account.public(), "signin_link": link}, status=201)

    @routes.get(f"{a}/tokens")
    @guard
    @operation("API tokens (an admin sees all; a token sees its account's)", tags=["accounts"],
               security="bearer", responses={200: {"type": "array"}})
    async def list_tokens(request: web.Request) -> web.Response:
        """Named tokens with their scopes, expiry and last use (never the token itself)."""
        caller = _caller(request)
        account_id = None if caller.kind == "api-key" or "admin" in caller.roles \
            else caller.account_id
        tokens = await _console(request).store.tokens(account_id)
        return json_response([{**t.public(), "account_id": t.account_id} for t in tokens])

    @routes.post(f"{a}/tokens")
    @guard
    @operation("Create an API token (shown once)", tags=["accounts"], security="bearer",
               request=NewToken, responses={201: {"type": "object"}, 400: "Bad input",
                                            403: "Scopes beyond the account's roles"})
    async def create_token(request: web.Request) -> web.Response:
        """Scopes: read, manage, approve, within what the account's roles allow."""
        body = await parse_body(request, NewToken)
        caller = _caller(request)
        account_id = body.account_id if caller.kind == "api-key" else caller.account_id
        if account_id is None:
            raise InvalidRequest("with the admin key, name the account_id", code="token-invalid")
        unknown = [s for s in body.scopes if s not in SCOPES]
        if unknown:
            raise InvalidRequest(f"unknown scope {unknown[0]!r}", code="token-invalid")
        token, stored = await _console(request).create_token(account_id, body.name,
                                                             body.scopes, body.days)
        return json_response({**stored.public(), "token": token}, status=201)

    @routes.delete(f"{a}/tokens/{{token_id}}")
    @guard
    @operation("Revoke an API token", tags=["accounts"], security="bearer",
               responses={204: None, 404: "No such token"})
    async def revoke_token(request: web.Request) -> web.Response:
        """It stops working at once."""
        caller = _caller(request)
        owner = None if caller.kind == "api-key" or "admin" in caller.roles \
            else caller.account_id
        await _console(request).revoke_token(request.match_info["token_id"], account_id=owner)
        return web.Response(status=204)

    return routes


def wallet_routes(config: ConsoleConfig) -> web.RouteTableDef:
    """The two endpoints of OpenID4VP a wallet calls, under the console's prefix."""
    routes = web.RouteTableDef()
    p = config.prefix

    @routes.get(f"{p}/oid4vp/request/{{state}}")
    @operation("OpenID4VP: the signed request object (request_uri)", tags=["oid4vp"],
               response_content_type="application/oauth-authz-req+jwt",
               responses={200: "The request object (a JWT)", 404: "Unknown or expired"})
    async def request_object(request: web.Request) -> web.Response:
        """Signed with the service's key; its client_id is the service's DID."""
        verifier = organisation_signin(request)
        jwt = await verifier.request_object(request.match_info["state"])
        return web.Response(text=jwt, content_type="application/oauth-authz-req+jwt",
                            headers={"Cache-Control": "no-store"})

    @routes.post(f"{p}/oid4vp/response")
    @operation("OpenID4VP: the wallet's response (direct_post)", tags=["oid4vp"],
               request={"type": "object", "required": ["vp_token", "state"],
                        "properties": {"vp_token": {"type": "string"},
                                       "state": {"type": "string"}}},
               request_content_type="application/x-www-form-urlencoded",
               responses={200: {"type": "object"}, 400: {"type": "object"}})
    async def response(request: web.Request) -> web.Response:
        """Verify the presentation; answer where the browser continues (``redirect_uri``)."""
        verifier = organisation_signin(request)
        if request.content_type != "application/x-www-form-urlencoded":
            return _oauth_error("invalid_request", "the response is a form (direct_post)")
        data = await request.post()
        fields = {k: str(v) for k, v in data.items() if isinstance(v, str)}
        try:
            await verifier.accept(fields)
        except DataspaceError as error:
            return _oauth_error("invalid_request" if error.status < 500 else "server_error",
                                f"{error.code}: {error.detail}")
        return json_response({"redirect_uri":
                              f"{base_url(request)}{p}/signin/organisation/{fields['state']}"})

    return routes


def _oauth_error(error: str, description: str) -> web.Response:
    return json_response({"error": error, "error_description": description}, status=400)
