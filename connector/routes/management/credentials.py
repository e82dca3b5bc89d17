"""Management: our own verifiable credentials, and becoming a member of the data space."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from connector.routes.management.common import admin, delete_route, services
from connector.services.membership import MembershipApply, MembershipCollect
from servicekit.openapi import operation, query_strings
from servicekit.paging import PAGING, paging
from servicekit.web import json_response, parse_body

__all__ = ["routes"]

routes = web.RouteTableDef()
_OBJ = {"type": "object"}
_LIST = {"type": "object", "properties": {"items": {"type": "array"}}}
_TAGS = ["credentials"]


class CredentialIn(BaseModel):
    """A credential about this connector, e.g. collected elsewhere."""

    model_config = ConfigDict(extra="forbid")

    credential: str | dict[str, Any] = Field(
        description="A vc+jwt / VC 1.1 JWT, or a JSON credential (Data Integrity or "
        "EnvelopedVerifiableCredential).")


@routes.get("/api/v1/credentials")
@admin
@operation("List our credentials (without the credentials themselves)", tags=_TAGS,
           responses={200: _LIST}, security="bearer",
           parameters=[*query_strings("type"), *PAGING])
async def list_credentials(request: web.Request) -> web.Response:
    """Types, issuer, subject claims, expiry and where each came from, oldest first."""
    limit, offset = paging(request)
    items = await services(request).holder.find(
        credential_type=request.query.get("type") or None, limit=limit, offset=offset)
    return json_response({"items": [item.summary() for item in items]})


@routes.post("/api/v1/credentials")
@admin
@operation("Add a credential about us (verified before it is stored)", tags=_TAGS,
           request=CredentialIn, responses={201: _OBJ}, security="bearer")
async def add_credential(request: web.Request) -> web.Response:
    """Signature, validity, status and subject (our DID) are checked; 400 otherwise.

    Our Credential Service presents it to verifiers our access tokens name.
    """
    data = await parse_body(request, CredentialIn)
    record = await services(request).holder.add(data.credential)
    return json_response(record.summary(), status=201)


@routes.get("/api/v1/credentials/{credential_id}")
@admin
@operation("Get one of our credentials, with the credential itself", tags=_TAGS,
           responses={200: _OBJ}, security="bearer")
async def get_credential(request: web.Request) -> web.Response:
    """The summary and ``raw`` (the JWT or JSON as stored)."""
    record = await services(request).holder.get(request.match_info["credential_id"])
    return json_response(record.model_dump())


delete_route(routes, "/api/v1/credentials/{credential_id}", "Remove one of our credentials",
             tags=_TAGS, remove=lambda s: s.holder.delete,
             description="It is presented to nobody from now on.")


@routes.get("/api/v1/membership")
@admin
@operation("Our membership: the application at the trust anchor and our credentials",
           tags=["membership"], responses={200: _OBJ}, security="bearer")
async def membership(request: web.Request) -> web.Response:
    """``status`` is ``none`` before applying, then the trust anchor's state
    (``submitted``, ``active``, ``suspended``, ``revoked``, ``rejected``)."""
    return json_response(await services(request).membership.status())


@routes.post("/api/v1/membership/apply")
@admin
@operation("Apply for membership at the trust anchor with our own DID", tags=["membership"],
           request=MembershipApply, responses={201: _OBJ, 409: "An application stands"},
           security="bearer")
async def apply(request: web.Request) -> web.Response:
    """Gets a challenge, signs it with our key (proof of DID control), submits.

    The operator then approves and hands over a transaction code for
    ``/api/v1/membership/collect``.
    """
    data = await parse_body(request, MembershipApply)
    return json_response(await services(request).membership.apply(data), status=201)


@routes.post("/api/v1/membership/collect")
@admin
@operation("Collect our approved MembershipCredential (OpenID4VCI or DCP issuance)",
           tags=["membership"], request=MembershipCollect,
           responses={201: _OBJ, 202: "Requested over DCP; delivered to our Credential "
                      "Service", 409: "Nothing to collect yet"}, security="bearer")
async def collect(request: web.Request) -> web.Response:
    """OpenID4VCI (default): the offer of our application, the operator's ``tx_code``, a key
    proof by our key; the credential is verified and stored (201). ``via: dcp``: a DCP
    credential request; the trust anchor delivers it to our Credential Service (202)."""
    data = await parse_body(request, MembershipCollect)
    result = await services(request).membership.collect(data)
    return json_response(result, status=202 if data.via == "dcp" else 201)
