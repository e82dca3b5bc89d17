"""Membership: who a caller is to the marketplace, and the marketplace's own membership.

``GET /me`` tells any caller how the marketplace sees it (a member by its
DCP token: DID, legal name, roles; the operator by its key; or anonymous).
``/membership`` is the operator's view of the marketplace's own
application and MembershipCredential at the trust anchor.
"""

from __future__ import annotations

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from marketplace.routes import caller, services
from marketplace.services.membership import Membership
from servicekit.errors import Conflict, Forbidden
from servicekit.openapi import operation
from servicekit.web import json_response, parse_body

__all__ = ["routes"]

routes = web.RouteTableDef()
_VIEW = {"type": "object", "description": "Our application, DCP request and credential."}


class Collect(BaseModel):
    """How to fetch the approved MembershipCredential."""

    model_config = ConfigDict(extra="forbid")

    tx_code: str | None = Field(default=None, min_length=1, max_length=64,
                                description="The transaction code the trust anchor's operator "
                                "handed over: collect over OpenID4VCI. Without it the "
                                "credential is requested over DCP issuance.")


class Me(BaseModel):
    """The caller as the marketplace sees it."""

    kind: str = Field(description="member, operator or anonymous")
    did: str | None = None
    legal_name: str | None = None
    roles: list[str] = Field(default_factory=list)


@routes.get("/me")
@operation("Who the marketplace takes the caller for (DCP member, operator, anonymous)",
           tags=["membership"], security="bearer", responses={200: Me})
async def me(request: web.Request) -> web.Response:
    """A member's DCP token is verified (401/403 when it does not hold)."""
    who = await caller(request)
    if not who.member:
        return json_response(Me(kind=who.kind))
    roles = who.claims.get("roles")
    return json_response(Me(kind="member", did=who.did, legal_name=who.name,
                            roles=[str(r) for r in roles] if isinstance(roles, list) else []))


async def _operator(request: web.Request) -> None:
    if not (await caller(request)).require().operator:
        raise Forbidden("only the marketplace's operator may do this", code="operator-only")


def _membership(request: web.Request) -> Membership:
    membership = services(request).membership
    if membership is None:
        raise Conflict("no trust anchor is configured (--trust-anchor)",
                       code="trust-anchor-not-configured")
    return membership


@routes.get("/membership")
@operation("The marketplace's own membership: application, request, credential (operator)",
           tags=["membership"], security="bearer", responses={200: _VIEW})
async def membership_status(request: web.Request) -> web.Response:
    """Our application as the trust anchor reports it now, and our MembershipCredential."""
    await _operator(request)
    return json_response(await _membership(request).status())


@routes.post("/membership/collect")
@operation("Collect the marketplace's MembershipCredential now (operator)",
           tags=["membership"], security="bearer", request=Collect, responses={200: _VIEW})
async def membership_collect(request: web.Request) -> web.Response:
    """Over OpenID4VCI with a transaction code, else a DCP credential request."""
    await _operator(request)
    body = await parse_body(request, Collect)
    membership = _membership(request)
    if body.tx_code is not None:
        return json_response(await membership.collect(body.tx_code))
    holder_pid = await membership.request_over_dcp()
    return json_response({"via": "dcp", "holder_pid": holder_pid})
