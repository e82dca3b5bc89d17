"""A member's catalog, found by its DID: where its DSP endpoint is, then its catalog over DSP.

The trust anchor's registry names members by DID. Their DSP endpoint is the
registry's ``dsp_endpoint`` when it lists one; otherwise the member's DID
document's ``DataService`` (its ``/.well-known/dspace-version``), whose DSP
2025-1 entry gives the path. The catalog is then requested with our own DSP
client (:class:`~connector.services.delivery.DspClient`), as
``POST /api/v1/catalog/request`` does.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urljoin

import aiohttp
import orjson
from aiohttp import web

from connector.core import ControlPlane
from connector.protocol.messages import DSP_VERSION
from connector.services.delivery import DspClient
from connector.services.members import MembersService
from identity.errors import VerificationError
from identity.resolver import DidResolver
from servicekit.errors import InvalidRequest, NotFound, UpstreamError
from servicekit.http import check_address

__all__ = ["MEMBER_CATALOGS", "MemberCatalogs"]

_MAX_VERSIONS = 64 * 1024


class MemberCatalogs:
    """Members' DSP endpoints and catalogs (see the module docstring)."""

    def __init__(self, plane: ControlPlane, client: DspClient, members: MembersService,
                 resolver: DidResolver) -> None:
        self.plane = plane
        self.client = client
        self.members = members
        self.resolver = resolver

    async def member(self, did: str) -> dict[str, Any]:
        """The active member ``did`` as the registry lists it (404 ``member-not-found``)."""
        if not did.startswith("did:") or len(did) > 500:
            raise InvalidRequest("did must be a DID", code="did-invalid")
        found = await self.members.member(did)
        if found is None:
            raise NotFound(f"{did} is not an active member of the data space",
                           code="member-not-found")
        return found

    async def dsp_address(self, member: dict[str, Any]) -> str:
        """The member's DSP endpoint (502 ``dsp-address-unknown`` when it names none)."""
        listed = member.get("dsp_endpoint")
        if isinstance(listed, str) and listed:
            return listed.rstrip("/")
        did = str(member["did"])
        try:
            document = await self.resolver.resolve(did)
        except VerificationError as exc:
            raise UpstreamError(f"{did}'s DID document could not be read: {exc.detail}",
                                code="dsp-address-unknown") from None
        for service in document.services_of_type("DataService"):
            endpoint = service.get("serviceEndpoint")
            if not isinstance(endpoint, str):
                continue
            await check_address(self.plane.http, endpoint, code="dsp-address",
                                name="DataService")
            for entry in await self._versions(endpoint):
                if isinstance(entry, dict) and entry.get("version") == DSP_VERSION and \
                        isinstance(entry.get("path"), str):
                    return urljoin(endpoint, str(entry["path"])).rstrip("/")
        raise UpstreamError(f"{did} names no DSP {DSP_VERSION} endpoint",
                            code="dsp-address-unknown")

    async def _versions(self, endpoint: str) -> list[Any]:
        try:
            async with self.plane.http.get(endpoint, allow_redirects=False,
                                           headers={"Accept": "application/json"}) as resp:
                raw = await resp.content.read(_MAX_VERSIONS)
                status = resp.status
            payload = orjson.loads(raw) if status == 200 else None
        except (aiohttp.ClientError, TimeoutError, orjson.JSONDecodeError):
            return []
        versions = payload.get("protocolVersions") if isinstance(payload, dict) else None
        return versions if isinstance(versions, list) else []

    async def catalog(self, did: str, *, continuation: str | None = None) -> dict[str, Any]:
        """``{"member", "address", "catalog", "next"}``: one page of the member's catalog."""
        member = await self.member(did)
        address = await self.dsp_address(member)
        catalog, next_url = await self.client.catalog(address, audience=did,
                                                      continuation=continuation)
        return {"member": member, "address": address, "catalog": catalog, "next": next_url}


#: The members' catalogs, on the management app (set with the control plane).
MEMBER_CATALOGS = web.AppKey("connector_member_catalogs", MemberCatalogs)
