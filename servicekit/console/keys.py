"""The console's typed application and request keys (a light module: no heavy imports)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiohttp import web

if TYPE_CHECKING:
    from servicekit.console.accounts import Console, Principal
    from servicekit.console.config import ConsoleConfig

__all__ = ["API_CALLER", "CONSOLE", "CONSOLE_CONFIG", "ORGANISATION_SIGNIN", "PRINCIPAL",
           "ApiCaller"]


@dataclass(frozen=True)
class ApiCaller:
    """Who called an API route: the admin key, or an API token of an account."""

    kind: str  # api-key | token
    scopes: frozenset[str]
    account_id: str | None = None
    email: str | None = None
    roles: frozenset[str] = frozenset()
    token_id: str | None = None

    @property
    def actor(self) -> str:
        """How audit records name this caller."""
        return self.email or "api-key"


#: The console's use cases (set by the service once its database is open).
CONSOLE: web.AppKey[Console] = web.AppKey("console", "Console")  # type: ignore[arg-type]
#: What the service said about its console.
CONSOLE_CONFIG: web.AppKey[ConsoleConfig] = web.AppKey("console_config",
                                                       "ConsoleConfig")  # type: ignore[arg-type]
#: Signing in with the organisation's credential (an ``OrganisationSignIn``), if offered.
ORGANISATION_SIGNIN: web.AppKey[Any] = web.AppKey("console_organisation_signin", object)
#: Who is signed in to the page being served (None when nobody is).
PRINCIPAL: web.RequestKey[Principal | None] = web.RequestKey(
    "console_principal", "Principal | None")  # type: ignore[arg-type]
#: Who called an API route (the admin key or an API token).
API_CALLER = web.RequestKey("api_caller", ApiCaller)
