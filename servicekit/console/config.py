"""What a service tells the shared console about itself: its roles, menu and prefix."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from pydantic import BaseModel, Field

__all__ = [
    "SCOPES",
    "ConsoleConfig",
    "ConsoleSettings",
    "NavItem",
    "OrganisationSignIn",
    "Role",
]

#: What an API token may be allowed to do.
SCOPES = ("read", "manage", "approve")


class ConsoleSettings(BaseModel):
    """The console's settings (``<PREFIX>CONSOLE__<FIELD>`` in the environment)."""

    session_hours: float = Field(default=12, gt=0, description="A session ends after this.")
    idle_minutes: float = Field(default=120, gt=0,
                                description="A session unused for this long ends.")
    lockout_attempts: int = Field(default=5, ge=1,
                                  description="Failed sign-ins (or TOTP codes) before a lock.")
    lockout_minutes: float = Field(default=15, gt=0, description="How long a lock lasts.")
    link_hours: float = Field(default=24, gt=0,
                              description="How long invitation and sign-in links work.")
    reset_minutes: float = Field(default=30, gt=0,
                                 description="How long a password-reset link works.")
    password_time_cost: int = Field(default=3, ge=1, description="argon2id iterations.")
    password_memory_kib: int = Field(default=65536, ge=8, description="argon2id memory (KiB).")
    smtp_url: str | None = Field(
        default=None, repr=False,
        description="smtp://user:password@host:port (smtps:// for TLS) for invitation and "
                    "reset mail; without it (and in --dev) mail is written to the log.")
    mail_from: str = "dataspace@localhost"
    organisation_recheck_seconds: float = Field(
        default=60, ge=0,
        description="How often an organisation's session checks its credential again "
                    "(revoked or suspended: the session ends).")
    secure_cookies: bool | None = Field(
        default=None, description="Secure cookies; by default when the base URL is https.")


@dataclass(frozen=True)
class Role:
    """A role people can hold, and the API-token scopes it allows."""

    name: str
    label: str
    description: str
    scopes: frozenset[str] = frozenset({"read"})
    #: False for a role only organisations get (signed in with their credential):
    #: no person's account may hold it.
    for_people: bool = True


@dataclass(frozen=True)
class NavItem:
    """A menu entry, shown to people with one of ``roles`` (everyone signed in if empty)."""

    label: str
    path: str
    roles: frozenset[str] = frozenset()


class OrganisationSignIn(Protocol):
    """Signing in with the organisation's credential (OpenID4VP), provided by the service.

    servicekit does not know credentials; the service passes an object built
    on ``identity.oid4vp`` that speaks this shape.
    """

    async def start(self, *, request_uri_base: str, response_uri: str) -> Any:
        """Create a request: ``.state``, ``.authorization_url``, ``.expires_at``."""

    def authorization_url(self, state: str, *, request_uri_base: str) -> str:
        """The ``openid4vp://`` link of the request ``state``."""

    async def request_object(self, state: str) -> str:
        """The signed request object for ``state``."""

    async def accept(self, form: Mapping[str, str]) -> Any:
        """Verify a wallet's direct_post response: ``.did``, ``.legal_name``, ``.roles``."""

    async def outcome(self, state: str) -> Any:
        """The request's record: ``.status`` and ``.result``, or None."""

    async def still_valid(self, organisation: dict[str, Any]) -> bool:
        """Whether a signed-in organisation's credential still holds."""


@dataclass(frozen=True)
class ConsoleConfig:
    """A service's console: where it lives and who may do what."""

    #: The name shown in the header ("Halden kommune · connector").
    title: str
    #: Where the pages live: "" (the root), "/operator", "/portal".
    prefix: str
    roles: tuple[Role, ...]
    nav: tuple[NavItem, ...] = ()
    #: The page after sign-in, relative to the prefix.
    home: str = "/"
    #: Where the service's JSON API for accounts and tokens lives ("/api/v1", "/admin").
    api_prefix: str = "/admin"
    #: The service's own templates (they extend ``console/base.html``).
    templates: Path | None = None
    #: The console roles an organisation signed in with its credential gets, from what
    #: its credential says (``did``, ``legal_name``, ``roles``) and the request (to reach
    #: the service's state); none refuses it.
    organisation_roles: Callable[[dict[str, Any], Any], tuple[str, ...]] = \
        lambda org, request: ()
    #: May an organisation sign in at all (the marketplace portal, the operator console
    #: for members), and may people have personal accounts here.
    organisation_signin: bool = True
    #: Extra template globals.
    globals: dict[str, Any] = field(default_factory=dict)
    #: Called with (request) before every page, e.g. to add service values to the context.
    context: Callable[[Any], Awaitable[dict[str, Any]]] | None = None

    def url(self, path: str = "/") -> str:
        """``path`` under the prefix."""
        if path == "/" and self.prefix:
            return self.prefix
        return f"{self.prefix}{path}"

    def role(self, name: str) -> Role | None:
        """The role called ``name``."""
        return next((role for role in self.roles if role.name == name), None)

    def people_roles(self) -> tuple[Role, ...]:
        """The roles a person's account may hold (what the people page offers)."""
        return tuple(role for role in self.roles if role.for_people)

    def scopes_for(self, roles: tuple[str, ...] | frozenset[str]) -> frozenset[str]:
        """The API-token scopes these roles allow together."""
        allowed: set[str] = set()
        for name in roles:
            role = self.role(name)
            if role is not None:
                allowed |= role.scopes
        return frozenset(allowed)
