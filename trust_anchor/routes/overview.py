"""The operator's overviews: the trusted issuers with their types, the credential types
with their counts, the status lists."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime

from aiohttp import web
from pydantic import BaseModel, Field

from servicekit.openapi import operation
from servicekit.paging import page_size
from servicekit.web import json_response
from trust_anchor.routes import operator_only, services

__all__ = ["routes"]

routes = web.RouteTableDef()

_BAD_SIZE = "invalid-page-size"
_PAGING = [{"name": "after", "in": "query", "schema": {"type": "string"}},
           {"name": "limit", "in": "query",
            "schema": {"type": "integer", "minimum": 1, "maximum": 200}}]


class Summary(BaseModel):
    """How many participants are in each state, and how many issuers are registered."""

    participants: dict[str, int] = Field(description="Every state with its count.")
    issuers: int


class IssuerEntry(BaseModel):
    """A trusted-issuers registry entry with the types it is accredited for."""

    did: str
    issuer_type: str = Field(description="RootTAO, TAO, TI or Revoked.")
    credential_types: list[str]
    tao: str
    root_tao: str
    created_at: datetime
    updated_at: datetime


class IssuerPage(BaseModel):
    """A page of the trusted-issuers registry, ordered by DID."""

    items: list[IssuerEntry]
    total: int
    next_after: str | None


class CredentialTypeEntry(BaseModel):
    """A credential type and how many of it the trust anchor issued, by status."""

    type: str
    configured: bool = Field(description="False for a type only the VC-API issued.")
    schema_url: str | None
    validity_days: int | None
    on_approval: bool
    issued_by: list[str]
    roles: list[str]
    issued: int
    active: int
    suspended: int
    revoked: int
    expired: int


class CredentialTypeList(BaseModel):
    """The credential types: configured ones first."""

    items: list[CredentialTypeEntry]


class StatusListEntry(BaseModel):
    """A Bitstring status list: how big, how much of it is handed out and set."""

    id: str
    purpose: str = Field(description="revocation or suspension.")
    size: int = Field(description="Entries (bits) in the list.")
    used: int = Field(description="Indexes handed out to credentials.")
    set_bits: int = Field(description="Entries set: credentials revoked or suspended.")
    version: int
    updated_at: datetime
    url: str


class StatusListPage(BaseModel):
    """A page of status lists, ordered by id."""

    items: list[StatusListEntry]
    next_after: str | None


@routes.get("/admin/summary")
@operation("How many applications wait, members are active, suspended or revoked, and "
           "issuers are registered (operator)", tags=["admin"], security="bearer",
           responses={200: Summary})
@operator_only
async def summary(request: web.Request) -> web.Response:
    """The figures of the operator console's home page."""
    registry = services(request).registry
    counts = await registry.counts()
    issuers = await registry.issuers(after=None, limit=1)
    return json_response(Summary(participants={str(k): v for k, v in counts.items()},
                                 issuers=issuers.total))


@routes.get("/admin/issuers")
@operation("The trusted-issuers registry with each issuer's types (operator)",
           tags=["admin"], security="bearer", parameters=_PAGING,
           responses={200: IssuerPage})
@operator_only
async def list_issuers(request: web.Request) -> web.Response:
    """Every registry entry (revoked ones too), keyset-paged by DID."""
    limit = page_size(request, maximum=200, code=_BAD_SIZE)
    page = await services(request).registry.issuers(after=request.query.get("after"),
                                                    limit=limit)
    return json_response(IssuerPage(
        items=[IssuerEntry(did=r.did, issuer_type=r.issuer_type,
                           credential_types=r.credential_types, tao=r.tao,
                           root_tao=r.root_tao, created_at=r.created_at,
                           updated_at=r.updated_at) for r in page.items],
        total=page.total, next_after=page.next_after))


@routes.get("/admin/credential-types")
@operation("The credential types with their schemas and counts (operator)", tags=["admin"],
           security="bearer", responses={200: CredentialTypeList},
           description="Each configured type with its JSON Schema URL and how many were "
                       "issued, and are active, suspended, revoked or expired; then any other "
                       "type the VC-API issued.")
@operator_only
async def list_credential_types(request: web.Request) -> web.Response:
    """The configured types, then the others issued."""
    uses = await services(request).issuance.overview.credential_types()
    return json_response(CredentialTypeList(
        items=[CredentialTypeEntry(**asdict(u)) for u in uses]))


@routes.get("/admin/status-lists")
@operation("The status lists: purpose, size, indexes used, bits set (operator)",
           tags=["admin"], security="bearer", parameters=_PAGING,
           responses={200: StatusListPage})
@operator_only
async def list_status_lists(request: web.Request) -> web.Response:
    """The revocation and suspension lists, keyset-paged by id."""
    limit = page_size(request, maximum=200, code=_BAD_SIZE)
    items, next_after = await services(request).issuance.overview.status_lists(
        after=request.query.get("after"), limit=limit)
    return json_response(StatusListPage(
        items=[StatusListEntry(**asdict(i)) for i in items], next_after=next_after))
