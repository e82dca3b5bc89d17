"""What the portal's tests share: a cookie-keeping browser-like client and the wallet side.

:class:`PortalClient` talks to ``/portal`` as a browser does (cookies, the
``Accept`` header, the forms' CSRF token, no automatic redirects).
:func:`wallet_of` reads a real connector's identity and MembershipCredential (the
connector is the organisation's wallet), and :func:`answer` answers a sign-in
request with them through :mod:`identity.oid4vp`'s wallet functions.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Any

import aiohttp

from identity.holder_store import CredentialRecord
from identity.oid4vp import build_vp_token, resolve_request, select_credentials, submit
from identity.resolver import DidResolver
from identity.service_identity import ServiceIdentity
from tests.identity.test_oid4vp_support import credential_record
from tests.marketplace.members import Member
from tests.pages import BROWSER_ACCEPT

__all__ = ["PortalClient", "Wallet", "answer", "csrf_of", "wallet_of"]

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_AUTHORIZATION = re.compile(r'<a href="([^"]+)" id="authorization-url">')


def csrf_of(page: str) -> str:
    """The CSRF token of the page's first form."""
    found = _CSRF.search(page)
    assert found, "no form with a CSRF token on the page"
    return found.group(1)


@dataclass
class PortalClient:
    """A browser on the portal: its own cookie jar, HTML accepted, redirects not followed."""

    base: str
    http: aiohttp.ClientSession

    @classmethod
    def open(cls, base: str) -> PortalClient:
        """A fresh browser (no cookies) on the marketplace at ``base``."""
        return cls(base, aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True),
                                               headers={"Accept": BROWSER_ACCEPT}))

    async def close(self) -> None:
        """Close the browser."""
        await self.http.close()

    async def get(self, path: str) -> tuple[int, str, dict[str, str]]:
        """``GET path``: (status, body, headers)."""
        async with self.http.get(self.base + path, allow_redirects=False) as response:
            return response.status, await response.text(), dict(response.headers)

    async def post(self, path: str, fields: dict[str, str] | None = None, *,
                   csrf: str | None = "") -> tuple[int, str, dict[str, str]]:
        """``POST path`` as a form; ``csrf``: the token of the page the form is on;
        None sends none."""
        data = dict(fields or {})
        if csrf is not None:
            data["csrf_token"] = csrf
        async with self.http.post(self.base + path, data=data, allow_redirects=False) as response:
            return response.status, await response.text(), dict(response.headers)

    async def sign_in_request(self) -> tuple[str, str]:
        """Start "sign in with the organisation's credential": (state path, openid4vp URL)."""
        status, page, _ = await self.get("/portal/signin")
        assert status == 200, page
        status, _, headers = await self.post("/portal/signin/organisation", csrf=csrf_of(page))
        assert status == 303, status
        waiting = headers["Location"]
        status, page, _ = await self.get(waiting)
        assert status == 200, page
        found = _AUTHORIZATION.search(page)
        assert found, page
        return waiting, html.unescape(found.group(1))

    async def finish_sign_in(self, waiting: str) -> tuple[int, str, dict[str, str]]:
        """Press Continue on the request's page."""
        _, page, _ = await self.get(waiting)
        return await self.post(waiting, csrf=csrf_of(page))


@dataclass
class Wallet:
    """An organisation's identity and MembershipCredential, as its connector holds them."""

    identity: ServiceIdentity
    membership: CredentialRecord


async def wallet_of(member: Member, http: aiohttp.ClientSession) -> Wallet:
    """The wallet of a member that is a real connector."""
    running = member.connector
    assert running is not None
    listed = await running.api(http, "GET", "/api/v1/credentials?type=MembershipCredential")
    record = await running.api(http, "GET", f"/api/v1/credentials/{listed['items'][0]['id']}")
    plane = running.plane
    identity = ServiceIdentity(signer=plane.signer, did=plane.did,
                               document=dict(plane.did_document or {}))
    return Wallet(identity, credential_record(str(record["raw"])))


async def answer(http: aiohttp.ClientSession, url: str, identity: ServiceIdentity,
                 credentials: list[CredentialRecord]) -> tuple[Any, dict[str, list[str]]]:
    """Answer the request at ``url`` with ``credentials``: (the request read, the vp_token sent).

    Raises what :func:`identity.oid4vp.submit` raises when the portal refuses.
    """
    resolver = DidResolver(session=http, allow_loopback=True)
    try:
        request = await resolve_request(http, url, resolver, allow_loopback=True)
    finally:
        await resolver.close()
    token = build_vp_token(request, select_credentials(request, credentials), identity)
    await submit(http, request, token)
    return request, token
