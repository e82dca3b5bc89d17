"""What the consumer's pages share: their route table, the services, offers in plain words."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiohttp import web

from connector.domain.policy import required_purposes
from connector.keys import SERVICES, Services
from policies.explain import explain
from servicekit.errors import DataspaceError

__all__ = ["LIGHTS", "offer_view", "provider_names", "purposes_of", "routes", "services"]

#: The consumer's pages (connector.pages.consumer registers the modules that fill it).
routes = web.RouteTableDef()

#: The traffic light of an offer: its badge text and class (the text says it, not the colour).
LIGHTS = {
    "green": ("Green: open to use", "ok"),
    "yellow": ("Yellow: the owner approves each request", "warn"),
    None: ("Own terms: read them below", ""),
}


def services(request: web.Request) -> Services:
    """The services the management API calls too."""
    return request.config_dict[SERVICES]


def purposes_of(offer_id: str, policy: Mapping[str, Any], target: str | None) -> list[str]:
    """The purposes an offer (or agreement) allows; empty when it does not constrain them."""
    return sorted(required_purposes(offer_id, policy, target=target))


def purpose_label(purpose: str) -> str:
    """A purpose IRI as words ("https://w3id.org/dpv#AcademicResearch" -> "Academic research")."""
    tail = purpose.rsplit("#", 1)[-1].rsplit("/", 1)[-1] or purpose
    words = "".join(f" {c.lower()}" if c.isupper() and i else c for i, c in enumerate(tail))
    return words[:1].upper() + words[1:]


def offer_view(offer: Mapping[str, Any], target: str | None) -> dict[str, Any]:
    """An offer as a page shows it: id, plain words, traffic light, the purposes it allows."""
    offer_id = str(offer.get("@id") or "")
    body = {k: v for k, v in offer.items() if k != "@context"}
    explained = explain(body)
    label, kind = LIGHTS.get(explained.colour, LIGHTS[None])
    purposes = purposes_of(offer_id or "urn:offer", body, target)
    return {"id": offer_id, "summary": explained.summary, "lines": list(explained.lines),
            "colour": explained.colour, "light": label, "light_kind": kind,
            "purposes": [(p, purpose_label(p)) for p in purposes]}


async def provider_names(request: web.Request) -> dict[str, str]:
    """The members' legal names by DID (empty when the registry cannot be read)."""
    try:
        listed = await services(request).members.members(role=None)
    except DataspaceError:
        return {}
    return {str(m["did"]): str(m["legal_name"]) for m in listed if m.get("legal_name")}
