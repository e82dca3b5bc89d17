"""The data space's members, as the trust anchor's participant registry lists them.

Read from the trust anchor this connector is configured with
(``trust_anchor_url``), page by page (``GET /participants``, following
``next``), so a consumer's console can pick a provider.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlsplit

from connector.trust import Trust
from identity.onboarding import TrustAnchorClient
from servicekit.errors import Conflict, NotFound, UpstreamError

__all__ = ["MAX_PAGES", "ROLES", "MembersService", "member_view"]

ROLES = ("provider", "consumer")
#: How many registry pages one answer reads at most (100 members each).
MAX_PAGES = 50


def member_view(item: dict[str, Any]) -> dict[str, Any]:
    """A registry entry as the console shows it (the DSP endpoint when the registry has one)."""
    return {
        "did": item.get("did"),
        "legal_name": item.get("legal_name"),
        "organisation_number": item.get("organisation_number"),
        "country": item.get("country"),
        "roles": list(item.get("roles") or ()),
        "status": item.get("status"),
        "member_since": item.get("member_since"),
        "dsp_endpoint": item.get("dsp_endpoint") or item.get("dsp_url"),
    }


class MembersService:
    """The participant registry, read through the trust anchor."""

    def __init__(self, trust: Trust) -> None:
        self.trust = trust

    def _client(self) -> TrustAnchorClient:
        if self.trust.trust_anchor_url is None:
            raise Conflict("no trust anchor is configured (--trust-anchor)",
                           code="trust-anchor-not-configured")
        return TrustAnchorClient(self.trust.session, self.trust.trust_anchor_url.rstrip("/"),
                                 self.trust.trust_anchor_did or "")

    async def member(self, did: str) -> dict[str, Any] | None:
        """The active member ``did`` (one registry look-up), or None when it is not one."""
        try:
            item = await self._client().call("GET", f"/participants/{quote(did, safe='')}")
        except NotFound:
            return None
        if not isinstance(item, dict):
            raise UpstreamError("the trust anchor's participant is not one",
                                code="trust-anchor-refused")
        found = member_view(item)
        return found if found["status"] in (None, "active") else None

    async def members(self, *, role: str | None) -> list[dict[str, Any]]:
        """Active members (with ``role`` if given), in the registry's order."""
        client = self._client()
        path: str | None = "/participants?limit=100"
        found: list[dict[str, Any]] = []
        for _ in range(MAX_PAGES):
            if path is None:
                break
            page = await client.call("GET", path)
            if not isinstance(page, dict) or not isinstance(page.get("items"), list):
                raise UpstreamError("the trust anchor's participant list is not one",
                                    code="trust-anchor-refused")
            found.extend(member_view(i) for i in page["items"] if isinstance(i, dict))
            next_url = page.get("next")
            path = None
            if isinstance(next_url, str) and next_url:
                parts = urlsplit(next_url)
                path = parts.path + (f"?{parts.query}" if parts.query else "")
        return [m for m in found if m["status"] in (None, "active")
                and (role is None or role in m["roles"])]
