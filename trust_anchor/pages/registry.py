"""The trusted-issuers registry (accredit a DID for credential types, revoke it), the
credential types with their counts, and the status lists."""

from __future__ import annotations

import re
from typing import Any, cast
from urllib.parse import urlencode

from aiohttp import web

from servicekit.app import SETTINGS
from servicekit.console.web import form, page, redirect, render
from servicekit.errors import InvalidRequest, NotFound
from trust_anchor.domain.registry import IssuerType
from trust_anchor.pages import STAFF, WRITERS, services
from trust_anchor.settings import TrustAnchorSettings

__all__ = ["routes"]

routes = web.RouteTableDef()

_PAGE_SIZE = 100
#: A credential type's name (as the admin API takes it).
_TYPE = re.compile(r"^[A-Za-z][A-Za-z0-9]{0,99}$")
_MAX_DID = 500


def _types(request: web.Request) -> list[str]:
    """The configured credential types (the ones an issuer can be accredited for)."""
    settings = cast(TrustAnchorSettings, request.config_dict[SETTINGS])
    return [c.type for c in settings.credential_types]


async def _issuers_page(request: web.Request, *, status: int = 200,
                        **extra: Any) -> web.StreamResponse:
    after = request.query.get("after") or None
    page_ = await services(request).registry.issuers(after=after, limit=_PAGE_SIZE)
    return await render(request, "operator/issuers.html", {
        "items": page_.items, "total": page_.total, "types": _types(request),
        "issuer_types": [str(IssuerType.TI), str(IssuerType.TAO)],
        "next": f"?{urlencode({'after': page_.next_after})}" if page_.next_after else None,
        "form": {}, "error": "", **extra}, status=status)


@routes.get("/operator/issuers")
@page("GET", "/issuers", "The trusted-issuers registry", roles=STAFF)
async def issuers(request: web.Request) -> web.StreamResponse:
    """Every registry entry with its type and credential types; the accreditation form."""
    return await _issuers_page(request)


@routes.post("/operator/issuers")
@page("POST", "/issuers", "Accredit an issuer for credential types", roles=WRITERS)
async def accredit(request: web.Request) -> web.StreamResponse:
    """Create or replace the DID's entry as a TI or TAO for the chosen types."""
    fields = await form(request)
    did = fields.get("did", "").strip()
    chosen = [t for t in fields.get("types", "").split(",") if t]
    try:
        if not did.startswith("did:") or len(did) > _MAX_DID or any(c.isspace() for c in did):
            raise InvalidRequest("give the issuer's DID (did:web:… or did:key:…)",
                                 code="did-malformed")
        if not chosen or not all(_TYPE.match(t) for t in chosen):
            raise InvalidRequest("choose at least one credential type",
                                 code="credential-types-required")
        try:
            issuer_type = IssuerType(fields.get("issuer_type", ""))
        except ValueError:
            raise InvalidRequest("the issuer type is TI or TAO",
                                 code="issuer-type-invalid") from None
        record = await services(request).registry.accredit(did, issuer_type, chosen)
    except InvalidRequest as error:
        return await _issuers_page(request, status=400, error=error.detail, form=fields)
    return redirect(request, "/issuers", notice=(
        f"{record.did} is accredited as {record.issuer_type} for "
        f"{', '.join(record.credential_types)}. Relying parties trust it within their "
        "registry refresh."))


@routes.post("/operator/issuers/revoke")
@page("POST", "/issuers/revoke", "Revoke an issuer's accreditation", roles=WRITERS)
async def revoke(request: web.Request) -> web.StreamResponse:
    """Mark the issuer Revoked: relying parties stop trusting what it issues."""
    fields = await form(request)
    try:
        record = await services(request).registry.revoke(fields.get("did", ""))
    except (InvalidRequest, NotFound) as error:
        return await _issuers_page(request, status=error.status, error=error.detail)
    return redirect(request, "/issuers", notice=(
        f"{record.did} is revoked: relying parties stop trusting what it issues once "
        "their registry cache refreshes. Accredit it again to restore it."))


@routes.get("/operator/credential-types")
@page("GET", "/credential-types", "Credential types and how many were issued", roles=STAFF)
async def credential_types(request: web.Request) -> web.StreamResponse:
    """Each type with its schema, validity, who issues it and its counts by status."""
    return await render(request, "operator/credential_types.html", {
        "items": await services(request).issuance.overview.credential_types()})


@routes.get("/operator/status-lists")
@page("GET", "/status-lists", "The status lists", roles=STAFF)
async def status_lists(request: web.Request) -> web.StreamResponse:
    """Each revocation and suspension list: size, indexes handed out, bits set."""
    items, next_after = await services(request).issuance.overview.status_lists(
        after=request.query.get("after") or None, limit=_PAGE_SIZE)
    return await render(request, "operator/status_lists.html", {
        "items": items,
        "next": f"?{urlencode({'after': next_after})}" if next_after else None})
