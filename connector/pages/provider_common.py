"""What the provider's pages share: their route table, who may do what, the services.

Every page calls the same services the management API's handlers call
(:class:`connector.keys.Services`), never the store.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from connector.core import ControlPlane
from connector.keys import CONTROL_PLANE, SERVICES, Services
from connector.services.approval_rule import Decider
from policies import explain
from servicekit.console.accounts import Principal

__all__ = [
    "APPROVERS",
    "AUDITORS",
    "LEVELS",
    "MANAGERS",
    "decider_of",
    "explained",
    "plane",
    "pretty",
    "routes",
    "services",
]

#: The provider's pages (the modules ``provider_*`` add theirs).
routes = web.RouteTableDef()

#: Who keeps datasets (admins pass every role check).
MANAGERS = ("data_owner", "data_steward", "domain_lead")
#: Who decides requests (and only for their own datasets, see approval_rule).
APPROVERS = ("data_owner",)
#: Who reads the audit log (as the menu shows it).
AUDITORS = ("data_owner", "legal_adviser")

#: The traffic light: access level -> (badge class, label, what it means).
LEVELS: dict[str, tuple[str, str, str]] = {
    "PUBLIC": ("green", "Green", "open: anyone may use it under the licence"),
    "RESTRICTED": ("yellow", "Yellow",
                   "members of the data space, after the owner's approval or a purchase"),
    "NON_PUBLIC": ("red", "Red", "not offered: internal only"),
}


def services(request: web.Request) -> Services:
    """The connector's services (the same the API handlers call)."""
    return request.config_dict[SERVICES]


def plane(request: web.Request) -> ControlPlane:
    """The control plane (for the owner rule)."""
    return request.config_dict[CONTROL_PLANE]




def decider_of(principal: Principal) -> Decider:
    """The signed-in person as the owner rule sees them."""
    email = principal.subject if principal.kind == "person" else None
    return Decider(email=email, roles=principal.roles)


def explained(policy: dict[str, Any] | None, *, assigner: str | None = None
              ) -> dict[str, Any] | None:
    """A policy in plain words for a template: summary, lines and colour.

    A stored offer body is only its rules: it is explained as the Offer the
    catalog shows (its own id and type, ``assigner`` as the one offering it).
    """
    if not policy:
        return None
    document = {"@id": "urn:policy:shown", "@type": "Offer", **policy}
    if assigner is not None:
        document.setdefault("assigner", assigner)
    explanation = explain(document)
    return {"summary": explanation.summary, "lines": list(explanation.lines),
            "colour": explanation.colour}


def pretty(document: Any) -> str:
    """JSON for a ``<pre>``."""
    return json.dumps(document, indent=2, ensure_ascii=False, sort_keys=False)
