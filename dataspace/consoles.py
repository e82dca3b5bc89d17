"""Each service's web console and its accounts API, for `dataspace up` and `dataspace console`.

Every service with pages has the shared console (:mod:`servicekit.console`): people sign
in at its ``console_url``; its JSON API makes their accounts and one-time sign-in links
(``POST {api}/accounts``, ``POST {api}/accounts/{id}/signin-link``) and API tokens
(``POST {api}/tokens``) with the service's admin API key. Where they are:

=================  =========================  ===========================
service            console                    accounts API
=================  =========================  ===========================
trust anchor       ``<base_url>/operator``    ``<base_url>/admin``
marketplace        ``<base_url>/portal``      ``<base_url>/admin``
connector          ``<management_url>/``      ``<management_url>/api/v1``
=================  =========================  ===========================

A one-time link is a secret: it is printed, never written to ``dataspace.json``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dataspace.client import CONNECTOR_ROLES, ApiClient, ApiError
from servicekit.errors import InvalidRequest, NotFound

__all__ = [
    "CONSOLE_ROLES",
    "AccountLink",
    "ConsoleAdmin",
    "ConsoleSite",
    "ConsoleUnavailable",
    "console_site",
    "console_url",
]

#: Per service role: the service.json URL the console is on, its path, the API prefix.
_PLACES: dict[str, tuple[str, str, str]] = {
    "trust-anchor": ("base_url", "/operator", "/admin"),
    "marketplace": ("base_url", "/portal", "/admin"),
    **{role: ("management_url", "/", "/api/v1") for role in CONNECTOR_ROLES},
}
#: The service roles (in service.json) of the services that have a console.
CONSOLE_ROLES: tuple[str, ...] = tuple(_PLACES)


class ConsoleUnavailable(NotFound, code="console-unavailable"):
    """The service answers, but not the console's accounts API (an older version)."""


@dataclass(frozen=True)
class ConsoleSite:
    """Where one service's console and accounts API are, and the key that manages them."""

    name: str
    role: str
    console_url: str
    #: The URL the API prefix is below (the management URL for a connector).
    api_base: str
    api_prefix: str
    api_key: str


def console_site(info: dict[str, Any]) -> ConsoleSite | None:
    """The console of the service whose ``service.json`` is ``info`` (None: it has none)."""
    place = _PLACES.get(str(info.get("role")))
    if place is None or not info.get(place[0]):
        return None
    base = str(info[place[0]]).rstrip("/")
    return ConsoleSite(name=str(info.get("name", "")), role=str(info["role"]),
                       console_url=str(info.get("console_url") or base + place[1]),
                       api_base=base, api_prefix=place[2],
                       api_key=str(info.get("admin_api_key", "")))


def console_url(info: dict[str, Any]) -> str | None:
    """Where people sign in to the service whose ``service.json`` is ``info``."""
    site = console_site(info)
    return site.console_url if site is not None else None


@dataclass(frozen=True)
class AccountLink:
    """An account and a fresh one-time sign-in link for it."""

    account: dict[str, Any]
    signin_link: str
    #: True when the account was made now, False when it was there already.
    created: bool


class ConsoleAdmin:
    """Manages a service's console accounts through its JSON API, with the admin API key."""

    def __init__(self, site: ConsoleSite, *, grace: float = 0.0) -> None:
        self.site = site
        self._client = ApiClient(site.api_base, api_key=site.api_key, unreachable_grace=grace)

    async def __aenter__(self) -> ConsoleAdmin:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._client.close()

    async def _call(self, method: str, path: str, body: Any = None) -> Any:
        try:
            return await self._client.request(method, self.site.api_prefix + path,
                                              json_body=body)
        except ApiError as error:
            if error.http_status in (404, 405) and path == "/accounts":
                raise ConsoleUnavailable(
                    f"{self.site.name} has no console accounts API at "
                    f"{self.site.api_base}{self.site.api_prefix}/accounts yet "
                    f"(it answered {error.http_status})") from None
            raise

    async def accounts(self) -> list[dict[str, Any]]:
        """Every account of the console (no secrets)."""
        found: list[dict[str, Any]] = await self._call("GET", "/accounts")
        return found

    async def find(self, email: str) -> dict[str, Any] | None:
        """The account of ``email`` (compared without case), or None."""
        wanted = email.strip().lower()
        return next((a for a in await self.accounts()
                     if str(a.get("email", "")).lower() == wanted), None)

    async def link(self, email: str, name: str | None = None,
                   roles: list[str] | tuple[str, ...] = ()) -> AccountLink:
        """A one-time sign-in link for ``email``: the account is made first if it is missing
        (then ``name`` and ``roles`` are needed); an existing account keeps its roles."""
        account = await self.find(email)
        if account is None:
            if not roles:
                raise InvalidRequest(f"{self.site.name} has no account for {email}; give its "
                                     "roles (--role) to make one", code="account-roles-missing")
            try:
                made = await self._call("POST", "/accounts", {
                    "email": email.strip(), "name": (name or email.split("@")[0]).strip(),
                    "roles": list(roles)})
            except ApiError as error:
                if error.http_status != 409:
                    raise
                account = await self.find(email)  # made meanwhile by someone else
                if account is None:
                    raise
            else:
                return AccountLink(made["account"], made["signin_link"], created=True)
        fresh = await self._call("POST", f"/accounts/{account['id']}/signin-link")
        return AccountLink(fresh.get("account", account), fresh["signin_link"], created=False)

    async def token(self, email: str, name: str, scopes: list[str] | tuple[str, ...],
                    days: float | None = 90) -> dict[str, Any]:
        """A new API token of the account of ``email`` (the answer holds it, shown once)."""
        account = await self.find(email)
        if account is None:
            raise InvalidRequest(f"{self.site.name} has no account for {email}; make one "
                                 "with `dataspace console link` first", code="account-unknown")
        made: dict[str, Any] = await self._call("POST", "/tokens", {
            "account_id": account["id"], "name": name, "scopes": list(scopes), "days": days})
        return {**made, "account": account}

