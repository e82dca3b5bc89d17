"""The operator console of the trust anchor: the web pages under ``/operator``.

The operator's staff review applications (:mod:`trust_anchor.pages.applications`),
keep the members (:mod:`trust_anchor.pages.members`) and the trusted-issuers
registry, and read the credential types and status lists
(:mod:`trust_anchor.pages.registry`). A member organisation signs in with its
MembershipCredential and its home page shows only its own record
(:mod:`trust_anchor.pages.home`; the check in :mod:`trust_anchor.pages.signin`).
Sign-in, sessions, people and API tokens are servicekit's console; this module
says the roles and the menu.

Every page calls the same services as the admin API; the signed-in person's email
is the ``actor`` the audit trail names.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

from aiohttp import web

from servicekit.auth import ApiKeyVerifier
from servicekit.console.config import ConsoleConfig, NavItem, Role
from servicekit.console.install import install_console
from servicekit.console.web import signed_in
from trust_anchor.keys import API_KEYS, SERVICES, Services
from trust_anchor.settings import TrustAnchorSettings

__all__ = ["BADGES", "MEMBER", "ROLES", "STAFF", "STATE_LABELS", "WRITERS", "actor",
           "console_config", "install", "member_path", "services"]

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"

_ALL = frozenset({"read", "manage", "approve"})

#: The member role: an organisation signed in with its credential (its own data only).
MEMBER = "member"

#: Who may do what in the operator console.
ROLES = (
    Role("admin", "Operator administrator",
         "Everything, including people and their roles.", _ALL),
    Role("operator", "Operator",
         "Approves and rejects applications; suspends, reinstates and revokes members; "
         "accredits issuers.", _ALL),
    Role("viewer", "Viewer", "Reads everything, changes nothing.", frozenset({"read"})),
    Role(MEMBER, "Member organisation",
         "An organisation signed in with its membership credential: sees its own record "
         "only (not for personal accounts).", frozenset(), for_people=False),
)

#: The roles of the operator's staff (pages about every participant).
STAFF = ("operator", "viewer")
#: The roles that change things.
WRITERS = ("operator",)

_STAFF = frozenset({"admin", *STAFF})

#: A state's badge colour (the badge's text says the state: colour is never the only signal).
BADGES = {
    "submitted": "warn", "approved": "warn", "active": "ok", "suspended": "warn",
    "rejected": "bad", "revoked": "bad", "expired": "warn",
}

#: What the pages call each state.
STATE_LABELS = {
    "submitted": "Waiting for review", "approved": "Approved", "active": "Active",
    "suspended": "Suspended", "rejected": "Rejected", "revoked": "Revoked",
}


def member_path(did: str) -> str:
    """The member page of ``did`` (a DID has colons and slashes: it goes in the query)."""
    return f"/members/view?did={quote(did, safe='')}"


def _member_roles(org: dict[str, Any], request: web.Request) -> tuple[str, ...]:
    """An organisation whose membership credential verified (and that is an active member
    here, see :mod:`trust_anchor.pages.signin`) is a member: its own record, read-only."""
    return (MEMBER,) if org.get("did") else ()


def console_config(settings: TrustAnchorSettings) -> ConsoleConfig:
    """The operator console: under ``/operator``, the JSON API under ``/admin``."""
    return ConsoleConfig(
        title=f"{settings.operator_name} · trust anchor",
        prefix="/operator",
        home="/",
        api_prefix="/admin",
        templates=TEMPLATES,
        roles=ROLES,
        nav=(
            NavItem("Overview", "/", _STAFF),
            NavItem("Applications", "/applications", _STAFF),
            NavItem("Members", "/members", _STAFF),
            NavItem("Issuers", "/issuers", _STAFF),
            NavItem("Credential types", "/credential-types", _STAFF),
            NavItem("Status lists", "/status-lists", _STAFF),
            NavItem("People", "/people", frozenset({"admin"})),
        ),
        organisation_roles=_member_roles,
        globals={"badges": BADGES, "labels": STATE_LABELS, "member_path": member_path},
    )


def _verifier(request: web.Request) -> ApiKeyVerifier:
    return request.config_dict[API_KEYS]


def services(request: web.Request) -> Services:
    """The services behind the pages (the same the admin API calls)."""
    return request.config_dict[SERVICES]


def actor(request: web.Request) -> str:
    """Who the audit trail names for a step taken on this page: the person's email."""
    return signed_in(request).subject


def install(app: web.Application, settings: TrustAnchorSettings) -> None:
    """Put the console and its pages on ``app``."""
    from trust_anchor.pages import applications, home, members, registry

    install_console(app, console_config(settings), _verifier)
    for module in (home, applications, members, registry):
        app.add_routes(module.routes)
