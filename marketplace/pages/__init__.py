"""The marketplace portal: the web pages at ``/portal`` (servicekit's shared console).

Who signs in and what they see:

- nobody: the shop (:mod:`marketplace.pages.shop`): search with facets, a product
  with its plans, prices and each plan's policy in plain words;
- a member organisation, with its MembershipCredential over OpenID4VP (role
  ``member``): ordering (:mod:`marketplace.pages.buyer`: orders, bills, usage) and
  selling (:mod:`marketplace.pages.seller`: products, orders to approve, payouts);
- the marketplace operator's staff, with personal accounts (``admin``, ``operator``,
  ``viewer``): every order, invoices to mark paid, billing runs and payouts, the
  members (:mod:`marketplace.pages.staff`).

Every page acts through the same services as the API, as the caller
:func:`caller_of` says: an organisation is the member of its DID, a person of the
staff is the operator.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aiohttp import web

from marketplace.keys import API_KEYS, SERVICES, Services
from marketplace.services.callers import ANONYMOUS, OPERATOR, Caller
from marketplace.settings import MarketplaceSettings
from servicekit.auth import ApiKeyVerifier
from servicekit.console.config import ConsoleConfig, NavItem, Role
from servicekit.console.install import install_console
from servicekit.console.web import principal_of

__all__ = ["MEMBER", "PREFIX", "ROLES", "STAFF", "caller_of", "console_config", "install",
           "services_of"]

#: Where the portal lives on the marketplace's port.
PREFIX = "/portal"
TEMPLATES = Path(__file__).resolve().parent.parent / "templates"

_ALL = frozenset({"read", "manage", "approve"})
#: The console role of a signed-in member organisation.
MEMBER = "member"

ROLES = (
    Role("admin", "Administrator", "Everything, including the staff's accounts and roles.", _ALL),
    Role("operator", "Operator",
         "Runs the shop: launches and retires offerings, marks invoices paid, runs billing, "
         "pays out.", _ALL),
    Role("viewer", "Viewer", "Reads every order, bill and payout; changes nothing.",
         frozenset({"read"})),
    Role(MEMBER, "Member organisation",
         "Signed in with its membership credential: buys and sells its own products.",
         frozenset(), for_people=False),
)
#: The staff's roles (a person with one of them acts as the marketplace's operator).
STAFF = frozenset({"admin", "operator", "viewer"})
_MEMBERS = frozenset({MEMBER})


def _member_roles(org: dict[str, Any], request: web.Request) -> tuple[str, ...]:
    """A valid member organisation (its credential was checked) buys and sells its own."""
    return (MEMBER,) if org.get("did") else ()


def console_config(settings: MarketplaceSettings) -> ConsoleConfig:
    """The portal: the shop is public, the rest needs signing in."""
    return ConsoleConfig(
        title=f"{settings.operator_name} · marketplace",
        prefix=PREFIX,
        home="/",
        api_prefix="/admin",
        templates=TEMPLATES,
        roles=ROLES,
        nav=(
            NavItem("Shop", "/"),
            NavItem("Orders", "/orders"),
            NavItem("Bills", "/bills"),
            NavItem("Usage", "/usage", _MEMBERS),
            NavItem("Sales", "/sales", _MEMBERS),
            NavItem("Billing", "/billing", STAFF),
            NavItem("Catalogue", "/catalogue", STAFF),
            NavItem("Members", "/members", STAFF),
            NavItem("People", "/people", frozenset({"admin"})),
        ),
        organisation_roles=_member_roles,
    )


def services_of(request: web.Request) -> Services:
    """The services the pages call (the API's)."""
    return request.config_dict[SERVICES]


def caller_of(request: web.Request) -> Caller:
    """Who the services take the page's visitor for.

    An organisation signed in with its credential is that member (its DID, its
    legal name and roles); a person of the staff is the operator; anyone else
    is anonymous.
    """
    principal = principal_of(request)
    if principal is None or principal.stage != "full":
        return ANONYMOUS
    if principal.kind == "organisation":
        org = principal.organisation or {}
        return Caller("member", principal.subject,
                      {"legalName": org.get("legal_name") or "",
                       "roles": list(org.get("roles") or [])})
    if principal.roles & STAFF:
        return OPERATOR
    return ANONYMOUS


def _verifier(request: web.Request) -> ApiKeyVerifier:
    return request.config_dict[API_KEYS]


def install(app: web.Application, settings: MarketplaceSettings) -> None:
    """Put the portal on ``app``: the shared console and the marketplace's pages."""
    from marketplace.pages import buyer, seller, shop, staff

    install_console(app, console_config(settings), _verifier)
    for module in (shop, buyer, seller, staff):
        app.add_routes(module.routes)
