"""The connector's console: the web pages on the management port (``/``).

The provider's side (:mod:`connector.pages.provider`: dashboard, datasets and their
policies, requests awaiting approval, agreements, transfers, the audit log,
membership) and the consumer's side (:mod:`connector.pages.consumer`: members,
their catalogs, requests, downloads and receipts, and the wallet that signs the
organisation in elsewhere). Sign-in, sessions and tokens are servicekit's console;
this module says the connector's roles and menu.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aiohttp import web

from connector.keys import API_KEYS
from connector.settings import ConnectorSettings
from servicekit.auth import ApiKeyVerifier
from servicekit.console.config import ConsoleConfig, NavItem, Role
from servicekit.console.install import install_console

__all__ = ["OWN_DID", "ROLES", "console_config", "install"]

#: The connector's own DID, on the management app (set once the identity is loaded).
OWN_DID = web.AppKey("console_own_did", str)

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"

_ALL = frozenset({"read", "manage", "approve"})

#: The municipal roles (the open-data practice): who may do what in the console.
ROLES = (
    Role("admin", "Administrator", "Everything, including people and their roles.", _ALL),
    Role("data_owner", "Data owner",
         "Answers for their datasets: publishes them and approves requests for them.", _ALL),
    Role("data_steward", "Data steward",
         "Keeps datasets, their descriptions and policies; cannot approve requests.",
         frozenset({"read", "manage"})),
    Role("domain_lead", "Domain lead",
         "Oversees a domain's datasets and agreements; requests data from others.",
         frozenset({"read", "manage"})),
    Role("legal_adviser", "Legal adviser",
         "Reads policies, agreements and the audit log to advise on them.",
         frozenset({"read"})),
    Role("viewer", "Viewer", "Reads everything, changes nothing.", frozenset({"read"})),
)

_MANAGERS = frozenset({"data_owner", "data_steward", "domain_lead"})


def _own_organisation(org: dict[str, Any], request: web.Request) -> tuple[str, ...]:
    """Only the connector's own organisation may sign in with its credential (as a viewer):
    other members have nothing to do in another's console."""
    own = request.config_dict.get(OWN_DID)
    return ("viewer",) if own and org.get("did") == own else ()


def console_config(settings: ConnectorSettings) -> ConsoleConfig:
    """The connector's console: at the root of the management port."""
    return ConsoleConfig(
        title=f"{settings.name} · connector",
        prefix="",
        home="/",
        api_prefix="/api/v1",
        templates=TEMPLATES,
        roles=ROLES,
        nav=(
            NavItem("Dashboard", "/"),
            NavItem("Datasets", "/datasets"),
            NavItem("Requests", "/requests"),
            NavItem("Agreements", "/agreements"),
            NavItem("Transfers", "/transfers"),
            NavItem("Members", "/members"),
            NavItem("My requests", "/negotiations"),
            NavItem("Downloads", "/downloads"),
            NavItem("Sign in elsewhere", "/wallet", frozenset({"admin", "data_owner"})),
            NavItem("Audit log", "/audit", frozenset({"admin", "data_owner", "legal_adviser"})),
            NavItem("Membership", "/membership"),
            NavItem("People", "/people", frozenset({"admin"})),
        ),
        organisation_roles=_own_organisation,
    )


def _verifier(request: web.Request) -> ApiKeyVerifier:
    return request.config_dict[API_KEYS]


def install(app: web.Application, settings: ConnectorSettings) -> None:
    """Put the console on the management ``app`` (the pages of both sides)."""
    from connector.pages import consumer, provider

    install_console(app, console_config(settings), _verifier)
    app.add_routes(provider.routes)
    app.add_routes(consumer.routes)
