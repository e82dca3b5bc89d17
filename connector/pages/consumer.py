"""The consumer's pages of the connector console: members, their catalogs, my requests.

A company (or another municipality) finds a provider among the data space's
members (the trust anchor's registry), opens its catalog over DSP, reads each
offer in plain words with its traffic light, and requests one for a stated
purpose; it follows the request until the provider agrees (or says why not)
and starts a transfer. Downloads and receipts are in
:mod:`connector.pages.consumer_downloads`, the wallet in :mod:`connector.pages.wallet`.
Every action calls the service the management API calls.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from connector.domain.catalog import ID_PATTERN
from connector.domain.negotiation import Negotiation, NegotiationAction, NegotiationState, Role
from connector.pages import OWN_DID
from connector.pages import consumer_downloads as _downloads  # noqa: F401 (its pages)
from connector.pages import wallet as _wallet  # noqa: F401 (its pages)
from connector.pages.consumer_common import (
    offer_view,
    provider_names,
    purpose_label,
    routes,
    services,
)
from connector.services.member_catalogs import MEMBER_CATALOGS
from servicekit.console.web import form, may, page, redirect, render
from servicekit.errors import DataspaceError, InvalidRequest

__all__ = ["REQUESTERS", "routes"]

#: Who may request data, start transfers and download (the roles with the manage scope).
REQUESTERS = ("data_owner", "data_steward", "domain_lead")
_S = NegotiationState
_MAX_PURPOSE = 300


# --- members --------------------------------------------------------------------------------


@routes.get("/members")
@page("GET", "/members", "Members of the data space who provide data")
async def members(request: web.Request) -> web.StreamResponse:
    """The providers in the trust anchor's registry, searchable by name or DID."""
    query = request.query.get("q", "").strip()[:200]
    error = None
    found: list[dict[str, Any]] = []
    try:
        found = await services(request).members.members(role="provider")
    except DataspaceError as exc:
        error = f"The data space's member list cannot be read now: {exc.detail}"
    if query:
        words = query.lower()
        found = [m for m in found if words in str(m.get("legal_name") or "").lower()
                 or words in str(m.get("did") or "").lower()]
    return await render(request, "consumer/members.html", {
        "members": found, "q": query, "error": error,
        "own_did": request.config_dict.get(OWN_DID, "")})


# --- a member's catalog, and requesting an offer ------------------------------------------


def _datasets(catalog: dict[str, Any]) -> list[dict[str, Any]]:
    raw = catalog.get("dataset") or []
    items = raw if isinstance(raw, list) else [raw]
    shown = []
    for item in items:
        if not isinstance(item, dict):
            continue
        dataset_id = str(item.get("@id") or "")
        keywords = item.get("dcat:keyword") or item.get("keyword") or []
        offers = item.get("hasPolicy") or []
        shown.append({
            "id": dataset_id,
            "title": str(item.get("dct:title") or item.get("title") or dataset_id),
            "description": str(item.get("dct:description") or item.get("description") or ""),
            "keywords": [str(k) for k in keywords] if isinstance(keywords, list) else [],
            "offers": [offer_view(o, dataset_id) for o in
                       (offers if isinstance(offers, list) else [offers]) if isinstance(o, dict)],
        })
    return shown


async def _catalog_page(request: web.Request, did: str, *, error: str | None = None,
                        typed: dict[str, str] | None = None, status: int = 200
                        ) -> web.StreamResponse:
    continuation = request.query.get("next")
    found = await request.config_dict[MEMBER_CATALOGS].catalog(did, continuation=continuation)
    return await render(request, "consumer/catalog.html", {
        "member": found["member"], "datasets": _datasets(found["catalog"]),
        "next": found["next"], "error": error, "typed": typed or {},
        "may_request": _may_request(request)}, status=status)


def _may_request(request: web.Request) -> bool:
    return may(request, *REQUESTERS)


def _did_of(request: web.Request, value: str | None) -> str:
    did = (value or "").strip()
    if not did.startswith("did:") or len(did) > 500:
        raise InvalidRequest("choose a member: the link names no DID", code="did-invalid")
    return did


@routes.get("/members/catalog")
@page("GET", "/members/catalog", "A member's catalog, each offer in plain words")
async def catalog(request: web.Request) -> web.StreamResponse:
    """``?did=<the member's DID>`` (and ``next`` for the following page)."""
    return await _catalog_page(request, _did_of(request, request.query.get("did")))


@routes.post("/members/catalog/request")
@page("POST", "/members/catalog/request", "Request an offer for a stated purpose",
      roles=REQUESTERS)
async def request_offer(request: web.Request) -> web.StreamResponse:
    """Sends the contract request (as ``POST /api/v1/negotiations`` with the offer)."""
    fields = await form(request)
    did = _did_of(request, fields.get("did"))
    dataset_id = fields.get("dataset_id", "").strip()
    offer_id = fields.get("offer_id", "").strip()
    purpose = fields.get("purpose", "").strip()
    typed = {"dataset_id": dataset_id, "offer_id": offer_id, "purpose": purpose}
    catalogs = request.config_dict[MEMBER_CATALOGS]
    member = await catalogs.member(did)
    address = await catalogs.dsp_address(member)
    import re

    if not re.fullmatch(ID_PATTERN, dataset_id) or not offer_id:
        return await _catalog_page(request, did, error="Choose an offer of a dataset to request.",
                                   typed=typed, status=400)
    dataset = await services(request).client.dataset(address, dataset_id, audience=did)
    offers = [o for o in dataset.get("hasPolicy") or [] if isinstance(o, dict)]
    chosen = next((o for o in offers if o.get("@id") == offer_id), None)
    if chosen is None:
        return await _catalog_page(request, did, typed=typed, status=400,
                                   error="The provider no longer offers this; reload the list.")
    allowed = [p for p, _ in offer_view(chosen, dataset_id)["purposes"]]
    if not purpose or len(purpose) > _MAX_PURPOSE or (allowed and purpose not in allowed):
        hint = ("Choose one of the purposes the offer allows." if allowed else
                f"Say what you will use the data for (at most {_MAX_PURPOSE} characters).")
        return await _catalog_page(request, did, typed=typed, status=400,
                                   error=f"State the purpose of your request. {hint}")
    negotiation = await services(request).negotiations.start(
        counterparty_address=address, counterparty_id=did,
        offer=chosen | {"target": dataset_id}, dataset_id=dataset_id)
    shown = purpose_label(purpose) if allowed else purpose
    light = offer_view(chosen, dataset_id)["colour"]
    then = ("The dataset's owner approves each request: this page shows when they have."
            if light == "yellow" else "This page shows when the provider has agreed.")
    return redirect(request, f"/negotiations/{negotiation.id}",
                    notice=f"Request sent to {member.get('legal_name') or did} for the purpose "
                    f"“{shown}”. {then} You state the purpose again with each download.")


# --- my requests ------------------------------------------------------------------------------


def _status(negotiation: Negotiation, colour: str | None) -> tuple[str, str]:
    """What a negotiation's state means for the requester, and its badge kind."""
    state = negotiation.state
    if state is _S.REQUESTED:
        return (("Waiting for the owner's approval at the provider", "warn")
                if colour == "yellow" else ("Waiting for the provider to agree", "warn"))
    if state is _S.OFFERED:
        return "The provider offers other terms: accept them or withdraw", "warn"
    if state is _S.ACCEPTED:
        return "Waiting for the provider's agreement", "warn"
    if state in (_S.AGREED, _S.VERIFIED):
        return "Agreed; being confirmed", "warn"
    if state is _S.FINALIZED:
        return "Agreed: you may start a transfer", "ok"
    return "Refused or ended", "bad"


def _row(negotiation: Negotiation, names: dict[str, str]) -> dict[str, Any]:
    offer = offer_view(negotiation.offer or {}, negotiation.dataset_id) \
        if negotiation.offer else None
    status, kind = _status(negotiation, offer["colour"] if offer else None)
    return {"n": negotiation, "offer": offer, "status": status, "kind": kind,
            "provider": names.get(negotiation.counterparty_id, negotiation.counterparty_id)}


@routes.get("/negotiations")
@page("GET", "/negotiations", "My requests for other members' data")
async def negotiations(request: web.Request) -> web.StreamResponse:
    """Newest first, each with what it waits for."""
    found = await services(request).negotiations.find(role=Role.CONSUMER, limit=200, offset=0)
    names = await provider_names(request) if found else {}
    return await render(request, "consumer/negotiations.html",
                        {"rows": [_row(n, names) for n in found]})


async def _mine(request: web.Request) -> Negotiation:
    negotiation = await services(request).negotiations.get(request.match_info["negotiation_id"])
    if negotiation.role is not Role.CONSUMER:
        from servicekit.errors import NotFound

        raise NotFound("no request of ours with this id (the provider's side is under "
                       "Requests)", code="negotiation-not-found")
    return negotiation


@routes.get("/negotiations/{negotiation_id}")
@page("GET", "/negotiations/{negotiation_id}", "One of my requests")
async def negotiation(request: web.Request) -> web.StreamResponse:
    """State, the terms in plain words, the refusal's reason, the transfers once agreed."""
    found = await _mine(request)
    names = await provider_names(request)
    transfers = await services(request).transfers.find(
        agreement_id=found.agreement_id, limit=50, offset=0) if found.agreement_id else []
    return await render(request, "consumer/negotiation.html", {
        **_row(found, names), "transfers": transfers, "may_request": _may_request(request)})


@routes.post("/negotiations/{negotiation_id}/transfer")
@page("POST", "/negotiations/{negotiation_id}/transfer", "Start a transfer (pull)",
      roles=REQUESTERS)
async def start_transfer(request: web.Request) -> web.StreamResponse:
    """As ``POST /api/v1/transfers`` with the agreement."""
    found = await _mine(request)
    if found.state is not _S.FINALIZED or not found.agreement_id:
        raise InvalidRequest("a transfer starts once the request is agreed",
                             code="not-agreed")
    transfer = await services(request).transfers.start(agreement_id=found.agreement_id)
    return redirect(request, "/downloads", notice=f"Transfer {transfer.id} requested. Once the "
                    "provider has started it, download the data below.")


@routes.post("/negotiations/{negotiation_id}/accept")
@page("POST", "/negotiations/{negotiation_id}/accept", "Accept the provider's other terms",
      roles=REQUESTERS)
async def accept(request: web.Request) -> web.StreamResponse:
    """As ``POST /api/v1/negotiations/{id}/accept``."""
    found = await _mine(request)
    await services(request).negotiations.act(found.id, NegotiationAction.ACCEPT)
    return redirect(request, f"/negotiations/{found.id}",
                    notice="You accepted the provider's terms; it now sends the agreement.")


@routes.post("/negotiations/{negotiation_id}/withdraw")
@page("POST", "/negotiations/{negotiation_id}/withdraw", "Withdraw my request",
      roles=REQUESTERS)
async def withdraw(request: web.Request) -> web.StreamResponse:
    """As ``POST /api/v1/negotiations/{id}/terminate``."""
    found = await _mine(request)
    await services(request).negotiations.act(found.id, NegotiationAction.TERMINATE,
                                             code="withdrawn", reason="withdrawn by the requester")
    return redirect(request, f"/negotiations/{found.id}",
                    notice="Your request was withdrawn; the provider is told.")
