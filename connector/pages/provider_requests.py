"""The provider's requests, agreements and transfers pages.

Approving and rejecting apply the owner rule of
:mod:`connector.services.approval_rule` (the same check as the API's
``approve``/``reject`` routes) and record the signed-in person as the
approver; the moves are the negotiation, agreement and transfer services'
(``POST /api/v1/negotiations/{id}/approve|reject``,
``/api/v1/agreements/{id}/terminate``, ``/api/v1/transfers/{id}/<move>``).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from connector.domain.negotiation import NegotiationAction, Role
from connector.domain.transfer import TransferAction, TransferState
from connector.pages.provider_common import (
    APPROVERS,
    MANAGERS,
    decider_of,
    explained,
    plane,
    pretty,
    routes,
    services,
)
from connector.services.approval_rule import check_decider, may_decide
from connector.services.approvals import APPROVED, REJECTED
from connector.services.audit import AuditFilter
from servicekit.console.web import form, page, redirect, render, signed_in
from servicekit.errors import Conflict, DataspaceError, InvalidRequest

__all__ = ["MOVES"]

#: The transfer moves the page offers: path -> (action, what the notice says).
MOVES: dict[str, tuple[TransferAction, str]] = {
    "suspend": (TransferAction.SUSPEND, "suspended"),
    "resume": (TransferAction.START, "resumed"),
    "terminate": (TransferAction.TERMINATE, "terminated"),
}


async def _waiting(request: web.Request) -> list[dict[str, Any]]:
    svc = services(request)
    found = await svc.negotiations.find(limit=200, offset=0, awaiting="owner",
                                        role=Role.PROVIDER)
    views = await svc.approvals.views(found, details=True)
    decider = decider_of(signed_in(request))
    titles = {d.id: d.title for d in await svc.catalog.list_datasets(after=None, limit=500)}
    for view in views:
        view["may_decide"] = may_decide(decider, view["request"]["dataset_owner"])
        view["dataset_title"] = titles.get(view["dataset_id"] or "", view["dataset_id"])
        view["words"] = explained(view.get("offer"), assigner=plane(request).did)
    return views


@routes.get("/requests")
@page("GET", "/requests", "Contract requests waiting for the data owner's decision")
async def requests_page(request: web.Request) -> web.StreamResponse:
    """Who asks (legal name, DID), for what purposes, with which credentials."""
    return await render(request, "provider/requests.html",
                        {"items": await _waiting(request), "error": "", "failed": ""})


async def _decide(request: web.Request, decision: str) -> web.StreamResponse:
    principal = signed_in(request)
    negotiation_id = request.match_info["negotiation_id"]
    await check_decider(plane(request), negotiation_id, decider_of(principal))
    fields = await form(request)
    reason = fields.get("reason", "").strip()
    if len(reason) > 2000:
        raise InvalidRequest("the reason is at most 2,000 characters", code="reason-too-long")
    if decision == REJECTED and not reason:
        return await render(request, "provider/requests.html", {
            "items": await _waiting(request), "failed": negotiation_id,
            "error": "Say why you reject the request: the requester is told the reason."},
            status=400)
    svc = services(request)
    if decision == APPROVED:
        reason = reason or APPROVED
        negotiation = await svc.negotiations.act(
            negotiation_id, NegotiationAction.AGREE, reason=reason,
            decision={"decision": APPROVED, "approver": principal.subject, "reason": reason})
        notice = ("Approved: the agreement was sent to the requester. It is listed under "
                  "Agreements once they confirm it.")
    else:
        negotiation = await svc.negotiations.act(
            negotiation_id, NegotiationAction.TERMINATE, code="rejected-by-owner",
            reason=reason,
            decision={"decision": REJECTED, "approver": principal.subject, "reason": reason})
        notice = "Rejected: the requester was told why. Nothing else is needed."
    return redirect(request, "/requests", notice=f"{notice} ({negotiation.dataset_id})")


@routes.post("/requests/{negotiation_id}/approve")
@page("POST", "/requests/{negotiation_id}/approve", "Approve a request (the dataset's owner)",
      roles=APPROVERS)
async def approve(request: web.Request) -> web.StreamResponse:
    """The agreement is sent; the signed-in data owner is recorded as the approver."""
    return await _decide(request, APPROVED)


@routes.post("/requests/{negotiation_id}/reject")
@page("POST", "/requests/{negotiation_id}/reject", "Reject a request, saying why",
      roles=APPROVERS)
async def reject(request: web.Request) -> web.StreamResponse:
    """A reason is required (400 without one, nothing changes)."""
    return await _decide(request, REJECTED)


@routes.get("/agreements")
@page("GET", "/agreements", "The agreements this connector granted and holds")
async def agreements(request: web.Request) -> web.StreamResponse:
    """Newest first, with the policy's summary."""
    items = await services(request).negotiations.agreements(limit=200, offset=0)
    rows = [{"a": a, "words": explained(a.policy)} for a in items]
    return await render(request, "provider/agreements.html", {"rows": rows})


async def _uses(request: web.Request, *, cap: int = 10_000, agreement_id: str | None = None,
                transfer_id: str | None = None) -> int | None:
    """How many calls the data plane permitted under an agreement or a transfer,
    counted up to ``cap``; None when this connector meters nothing."""
    try:
        total = 0
        before = None
        while True:
            items, before = await services(request).audit.page(
                AuditFilter(decision="permit", agreement_id=agreement_id,
                            transfer_id=transfer_id), before=before, limit=500)
            total += len(items)
            if before is None or total >= cap:
                return total
    except Conflict:
        return None


@routes.get("/agreements/{agreement_id}")
@page("GET", "/agreements/{agreement_id}", "An agreement: its policy in plain words, its uses")
async def agreement_page(request: web.Request) -> web.StreamResponse:
    """The policy, the transfers under it and how often it was used; terminate it."""
    agreement_id = request.match_info["agreement_id"]
    svc = services(request)
    agreement = await svc.negotiations.agreement(agreement_id)
    transfers = await svc.transfers.find(limit=100, offset=0, agreement_id=agreement_id)
    return await render(request, "provider/agreement.html", {
        "a": agreement, "words": explained(agreement.policy), "odrl": pretty(agreement.policy),
        "transfers": transfers, "uses": await _uses(request, agreement_id=agreement_id),
        "error": ""})


@routes.post("/agreements/{agreement_id}/terminate")
@page("POST", "/agreements/{agreement_id}/terminate", "Terminate an agreement, saying why",
      roles=MANAGERS)
async def terminate_agreement(request: web.Request) -> web.StreamResponse:
    """Its live transfers end and new ones are refused; the reason is required."""
    agreement_id = request.match_info["agreement_id"]
    reason = (await form(request)).get("reason", "").strip()
    if not reason or len(reason) > 2000:
        svc = services(request)
        agreement = await svc.negotiations.agreement(agreement_id)
        return await render(request, "provider/agreement.html", {
            "a": agreement, "words": explained(agreement.policy),
            "odrl": pretty(agreement.policy),
            "transfers": await svc.transfers.find(limit=100, offset=0,
                                                  agreement_id=agreement_id),
            "uses": await _uses(request, agreement_id=agreement_id),
            "error": "Say why the agreement ends (at most 2,000 characters): the other "
                     "side is told."}, status=400)
    _agreement, ended = await services(request).agreements.terminate(
        agreement_id, code="agreement-terminated", reason=reason)
    return redirect(request, f"/agreements/{agreement_id}",
                    notice=f"Terminated the agreement; {len(ended)} live transfer(s) ended. "
                    "New transfers under it are refused.")


@routes.get("/transfers")
@page("GET", "/transfers", "Transfers: state and usage; suspend, resume or terminate")
async def transfers(request: web.Request) -> web.StreamResponse:
    """Newest first (both roles)."""
    items = await services(request).transfers.find(limit=200, offset=0)
    uses = {t.id: await _uses(request, transfer_id=t.id, cap=1000) for t in items[:50]
            if t.role is Role.PROVIDER}
    return await render(request, "provider/transfers.html", {
        "items": items, "uses": uses, "started": TransferState.STARTED,
        "suspended": TransferState.SUSPENDED,
        "final": (TransferState.COMPLETED, TransferState.TERMINATED)})


@routes.post("/transfers/{transfer_id}/{move}")
@page("POST", "/transfers/{transfer_id}/{move}", "Suspend, resume or terminate a transfer",
      roles=MANAGERS)
async def move_transfer(request: web.Request) -> web.StreamResponse:
    """``move`` is suspend, resume or terminate; the peer is told."""
    move = request.match_info["move"]
    if move not in MOVES:
        raise InvalidRequest("the move is suspend, resume or terminate", code="move-unknown")
    action, done = MOVES[move]
    reason = (await form(request)).get("reason", "").strip() or None
    try:
        await services(request).transfers.act(request.match_info["transfer_id"], action,
                                              code=f"{move}d-by-owner" if reason else None,
                                              reason=reason)
    except DataspaceError as error:
        if error.status != 409:
            raise
        return redirect(request, "/transfers", notice=f"Not {done}: {error.detail}")
    return redirect(request, "/transfers", notice=f"The transfer was {done}; the other side "
                    "was told.")
