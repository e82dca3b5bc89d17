"""What several pages show: a participant's record, history, offer and credentials."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from servicekit.console.accounts import qr_svg
from servicekit.console.web import principal_of
from trust_anchor.domain.participants import ApplicationState, AuditEvent
from trust_anchor.pages import WRITERS, services

__all__ = ["member_context", "record_context"]

async def record_context(request: web.Request, participant_id: str) -> dict[str, Any]:
    """A participant with its whole history, its newest offer (URI, QR code and transaction
    code while it waits to be collected) and its credentials, as the operator sees them."""
    found = services(request)
    reviewed = await found.onboarding.reviewed(participant_id)
    offer = await found.oid4vci.offer_status(participant_id)
    return {
        "p": reviewed.participant,
        "history": reviewed.audit,
        "offer": offer,
        "offer_qr": qr_svg(offer.credential_offer_uri)
        if offer is not None and offer.credential_offer_uri else None,
        "credentials": await found.issuance.overview.credentials_of(participant_id),
        "can_act": _can_act(request),
        "moves": _moves(reviewed.participant.state),
    }


def _can_act(request: web.Request) -> bool:
    principal = principal_of(request)
    return principal is not None and principal.kind == "person" and principal.has(*WRITERS)


def _moves(state: ApplicationState) -> list[str]:
    """The operator's next steps from ``state``."""
    return {
        ApplicationState.SUBMITTED: ["approve", "reject"],
        ApplicationState.APPROVED: ["revoke"],
        ApplicationState.ACTIVE: ["suspend", "revoke"],
        ApplicationState.SUSPENDED: ["reinstate", "revoke"],
    }.get(state, [])


def _as_member_sees(event: AuditEvent, did: str) -> dict[str, Any]:
    """An event without the operator's staff names: the member sees "the operator"."""
    who = "your organisation" if event.actor == did else "the operator"
    return {"action": str(event.action), "at": event.at, "reason": event.reason, "who": who}


async def member_context(request: web.Request, did: str) -> dict[str, Any]:
    """A member organisation's own record: its application, history and credentials."""
    found = services(request)
    reviewed = await found.onboarding.member_reviewed(did)
    return {
        "p": reviewed.participant,
        "history": [_as_member_sees(e, did) for e in reviewed.audit],
        "credentials": await found.issuance.overview.credentials_of(reviewed.participant.id),
    }
