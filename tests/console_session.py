"""Signing in to a service's console through its real pages, as a browser would (no JS).

``ConsoleSession`` wraps an aiohttp client with its own cookie jar: it reads the
CSRF token from each page's form and posts forms like a browser. The first admin
is made the way an operator makes one: the admin API key creates the account
and answers a one-time link; opening the link lets the person choose a password.
"""

from __future__ import annotations

import re
from typing import Any

import aiohttp

__all__ = ["ConsoleSession", "csrf_of", "first_admin"]

_CSRF = re.compile(r'name="csrf_token" value="([^"]*)"')
PASSWORD = "a long and memorable passphrase"


def csrf_of(page: str) -> str:
    """The CSRF token of the first form on ``page``."""
    found = _CSRF.search(page)
    assert found, "the page has no form with a csrf_token"
    return found.group(1)


class ConsoleSession:
    """One browser: a cookie jar, a base URL and the console's prefix."""

    def __init__(self, base_url: str, prefix: str = "") -> None:
        self.base_url = base_url.rstrip("/")
        self.prefix = prefix
        self.http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True),
                                          headers={"Accept": "text/html"})

    async def close(self) -> None:
        """Close the browser."""
        await self.http.close()

    async def __aenter__(self) -> ConsoleSession:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.close()

    def url(self, path: str) -> str:
        """``path`` (under the prefix unless absolute) as a full URL."""
        if path.startswith("http"):
            return path
        if self.prefix and not path.startswith(self.prefix):
            path = self.prefix + (path if path != "/" else "")
        return self.base_url + path

    async def get(self, path: str, **kwargs: Any) -> tuple[int, str]:
        """GET a page (following redirects): status and HTML."""
        async with self.http.get(self.url(path), **kwargs) as resp:
            return resp.status, await resp.text()

    async def submit(self, page: str, action: str, fields: dict[str, Any] | None = None, *,
                     follow: bool = True) -> tuple[int, str, str]:
        """POST the form at ``action`` with ``fields`` and the CSRF token read from ``page``
        (a path: it is fetched first): status, HTML and the final URL."""
        if not page.lstrip().startswith("<"):
            _status, page = await self.get(page)
        data = {"csrf_token": csrf_of(page), **(fields or {})}
        async with self.http.post(self.url(action), data=data,
                                  allow_redirects=follow) as resp:
            return resp.status, await resp.text(), str(resp.url)

    async def use_link(self, link: str, password: str = PASSWORD) -> str:
        """Open a one-time link, press its button, choose ``password``: the home page."""
        status, page = await self.get(link)
        assert status == 200, page
        path = link[len(self.base_url):] if link.startswith(self.base_url) else link
        status, page, url = await self.submit(page, path)
        if "/account/password" in url:
            status, page, url = await self.submit(page, "/account/password",
                                                  {"password": password, "confirm": password})
        assert status == 200, page
        return page

    async def sign_in(self, email: str, password: str = PASSWORD) -> tuple[int, str, str]:
        """Sign in with email and password on the sign-in page."""
        return await self.submit("/signin", "/signin", {"email": email, "password": password})


async def first_admin(http: aiohttp.ClientSession, api_url: str, admin_key: str, *,
                      email: str = "admin@example.org", name: str = "Admin",
                      roles: tuple[str, ...] = ("admin",)) -> dict[str, Any]:
    """Create an account with the admin API key (``api_url`` is ``<base><api prefix>``):
    ``{"account": ..., "signin_link": ...}``."""
    async with http.post(f"{api_url}/accounts", json={"email": email, "name": name,
                                                      "roles": list(roles)},
                         headers={"Authorization": f"Bearer {admin_key}"}) as resp:
        body: dict[str, Any] = await resp.json()
        assert resp.status == 201, body
        return body
