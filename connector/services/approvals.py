"""What the owner sees of contract requests, and who decided them.

A request waiting for the owner is shown with everything needed to decide
it: the dataset and its owner, the requester (DID, and the legal name of
its verified MembershipCredential when it presented one), the purposes the
requested terms allow, and the credentials the requester presented (what
this connector saw and verified). A decision (approve or reject) is stored
with the negotiation's move and shown with the negotiation.
"""

from __future__ import annotations

from typing import Any

from connector.core import ControlPlane
from connector.domain.negotiation import Negotiation
from connector.domain.requests import negotiation_view, requester
from connector.store import catalog as catalog_store
from connector.store import decisions as store

__all__ = ["APPROVED", "REJECTED", "ApprovalViews", "presented"]

APPROVED = "approved"
REJECTED = "rejected"


def presented(negotiation: Negotiation) -> dict[str, Any]:
    """The credentials the requester presented, as verified (types, claims, standing)."""
    caller = negotiation.caller or {}
    return {
        "method": caller.get("method"),
        "types": sorted(str(t) for t in caller.get("credentialTypes") or ()),
        "claims": caller.get("claims") or {},
        "standing": caller.get("standing") or [],
    }


class ApprovalViews:
    """Negotiations as the owner's console shows them."""

    def __init__(self, plane: ControlPlane) -> None:
        self.plane = plane

    async def views(self, negotiations: list[Negotiation], *,
                    details: bool = False) -> list[dict[str, Any]]:
        """Each negotiation with its ``decision`` (or null); with ``details``, its ``request``."""
        ids = [n.id for n in negotiations]
        async with self.plane.read() as conn:
            decided = await store.decisions_for(conn, ids)
            owners = (await catalog_store.dataset_owners(
                conn, [n.dataset_id for n in negotiations if n.dataset_id])) if details else {}
        out = []
        for negotiation in negotiations:
            view = negotiation_view(negotiation) | {"decision": decided.get(negotiation.id)}
            if details:
                who = requester(negotiation)
                view["request"] = {
                    "dataset_id": negotiation.dataset_id,
                    "dataset_owner": owners.get(negotiation.dataset_id or ""),
                    "requester_did": who["id"],
                    "requester_legal_name": who["legal_name"],
                    "purposes": who["purposes"],
                    "credentials": presented(negotiation),
                }
            out.append(view)
        return out

    async def view(self, negotiation: Negotiation) -> dict[str, Any]:
        """One negotiation with its decision and request details."""
        return (await self.views([negotiation], details=True))[0]
