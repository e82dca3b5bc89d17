"""A data space for marketplace tests: a real trust anchor, the marketplace as a member, members.

::

    async with member_space(tmp_path, database) as space:
        space.trust_anchor                    # TrustAnchor (tests/trust_anchor/conftest.py)
        space.marketplace                     # Marketplace, running and onboarded (its DID
                                              # is accredited for DataProductPurchase)
        halden = await space.member("halden", roles=["provider"])
        status, body, headers = await halden.call("GET", "/tmf-api/...")   # a DCP call
        await halden.headers()                # {"Authorization": "Bearer <DCP token>"}
        provider = await space.connector("trondheim")   # a real connector, onboarded
        await space.revoke(halden)            # the operator revokes the membership

A :meth:`MemberSpace.member` is a party with a did:web on loopback served by
a small holder server (its DID document and a DCP Credential Service built on
:class:`identity.dcp.DcpHolder`), onboarded through the trust anchor's real
flow: challenge, application, the operator's approval, OpenID4VCI collection
of its MembershipCredential. Its DCP calls carry a self-issued token
addressed to the marketplace's DID with an access token for the
MembershipCredential, as a connector's would. :meth:`MemberSpace.connector`
is a real connector (``dcp`` auth mode) onboarded the same way, for tests that
need a provider's DSP catalog; it is a :class:`Member` too.

Status lists, the registry and verified callers are re-read every second
(``REFRESH``), so a revocation shows within a test.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer

from connector.settings import AuthSettings, DcpSettings
from identity.dcp import DcpHolder, DcpTokenProvider, StoredCredential
from identity.did_document import build_did_document
from identity.did_web import did_web_from_url
from identity.keys import KeyPair
from identity.oid4vci_client import collect_credential
from identity.onboarding import TrustAnchorClient
from identity.replay import InMemoryReplayStore
from identity.resolver import DidResolver
from identity.signer import Signer
from servicekit.http import create_client_session
from tests.conftest import Database, drop_schema, free_port
from tests.connector.harness import RunningConnector, start_connector
from tests.factories import connector_settings, marketplace_settings, trust_anchor_settings
from tests.marketplace.conftest import Marketplace, serving
from tests.trust_anchor.conftest import TrustAnchor
from tests.trust_anchor.conftest import serving as serving_trust_anchor

__all__ = ["MARKETPLACE_NAME", "REFRESH", "Member", "MemberSpace", "member_space"]

MEMBERSHIP = "MembershipCredential"
#: How often status lists, the registry and verified callers are re-read here (seconds).
REFRESH = 1.0
#: The marketplace operator's legal name in the member space.
MARKETPLACE_NAME = "Dataspace Marketplace AS"
_LEGAL_NAMES = {"halden": "Halden kommune", "trondheim": "Trondheim kommune",
                "bodo": "Bodø kommune", "analyse": "Analyse AS"}


@dataclass
class Member:
    """An onboarded member that calls the marketplace with DCP."""

    name: str
    legal_name: str
    roles: list[str]
    did: str
    application_id: str
    marketplace: Marketplace
    #: Builds ``Bearer <self-issued token>`` for an audience DID and credential types.
    authorize: Callable[[str, list[str]], Awaitable[str]] = field(repr=False)
    #: The real connector behind this member (``MemberSpace.connector``), else None.
    connector: RunningConnector | None = None

    async def headers(self, audience: str | None = None,
                      scopes: tuple[str, ...] = (MEMBERSHIP,)) -> dict[str, str]:
        """``Authorization`` for one call to ``audience`` (default: the marketplace)."""
        token = await self.authorize(audience or self.marketplace.did, list(scopes))
        return {"Authorization": token}

    async def call(self, method: str, path: str, body: Any = None, *,
                   headers: dict[str, str] | None = None
                   ) -> tuple[int, Any, dict[str, str]]:
        """``method path`` on the marketplace as this member: (status, JSON or text, headers)."""
        return await self.marketplace.call(method, path, body,
                                           headers={**await self.headers(), **(headers or {})})


class _HolderServer:
    """A member's did:web document and DCP Credential Service on loopback."""

    def __init__(self, session: aiohttp.ClientSession,
                 extra: Callable[[str], tuple[list[dict[str, Any]], list[web.RouteDef]]] | None
                 = None) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.did = did_web_from_url(self.base_url)
        key = KeyPair.generate()
        self.signer = Signer.for_did(key, self.did)
        services, routes = extra(self.base_url) if extra is not None else ([], [])
        self.document = build_did_document(
            self.did, [key.public_jwk], key_ids=[self.signer.kid.split("#", 1)[1]],
            services=[{"id": "#credential-service", "type": "CredentialService",
                       "serviceEndpoint": f"{self.base_url}/dcp"}, *services])
        self.resolver = DidResolver(session=session, allow_loopback=True)
        self.holder = DcpHolder(self.signer, self.resolver, InMemoryReplayStore())
        self.credentials: list[StoredCredential] = []
        self.tokens = DcpTokenProvider(self.signer)
        app = web.Application()
        app.router.add_get("/.well-known/did.json", self._document)
        app.router.add_post("/dcp/presentations/query", self._query)
        app.router.add_routes(routes)
        self.server = TestServer(app, host="127.0.0.1", port=self.port)

    async def _document(self, request: web.Request) -> web.Response:
        return web.json_response(self.document, content_type="application/did+json")

    async def _query(self, request: web.Request) -> web.Response:
        answer = await self.holder.answer_query(request.headers.get("Authorization"),
                                                await request.json(), self.credentials)
        return web.json_response(answer)

    async def authorize(self, audience: str, scopes: list[str]) -> str:
        return await self.tokens.token_for(audience, scopes)

    async def close(self) -> None:
        await self.server.close()
        await self.resolver.close()


@dataclass
class MemberSpace:
    """The trust anchor, the onboarded marketplace, and a way to add members."""

    trust_anchor: TrustAnchor
    marketplace: Marketplace
    tmp_path: Path
    database: Database
    http: aiohttp.ClientSession
    stack: AsyncExitStack
    members: dict[str, Member] = field(default_factory=dict)

    def store(self) -> Database:
        """A fresh database beside the marketplace's (each service keeps its own tables)."""
        return _other_store(self.database, self.tmp_path, self.stack)

    async def ta(self, method: str, path: str, body: Any = None) -> Any:
        """Call the trust anchor's admin API (2xx expected)."""
        async with self.http.request(method, self.trust_anchor.url + path, json=body,
                                     headers=self.trust_anchor.admin) as response:
            assert response.status < 300, (path, response.status, await response.text())
            return await response.json()

    async def approve(self, application_id: str) -> dict[str, Any]:
        """The trust anchor's operator approves an application; the approval (tx_code...)."""
        approved: dict[str, Any] = await self.ta(
            "POST", f"/admin/applications/{application_id}/approve",
            {"reason": "registry extract checked"})
        return approved

    async def revoke(self, member: Member) -> None:
        """The operator revokes ``member``'s membership (its credential's status bit flips)."""
        await self.ta("POST", f"/admin/applications/{member.application_id}/revoke",
                      {"reason": "left the data space"})

    async def member(self, name: str, *, roles: list[str] | None = None,
                     legal_name: str | None = None,
                     extra: Callable[[str], tuple[list[dict[str, Any]], list[web.RouteDef]]]
                     | None = None) -> Member:
        """A new party with a did:web and a Credential Service, onboarded at the trust anchor.

        ``extra(base_url)`` may add DID document services and routes to its server
        (e.g. another vendor's DSP endpoint).
        """
        holder = _HolderServer(self.http, extra)
        await holder.server.start_server()
        self.stack.push_async_callback(holder.close)
        legal = legal_name or _LEGAL_NAMES.get(name, f"{name.capitalize()} AS")
        client = TrustAnchorClient(self.http, self.trust_anchor.url, self.trust_anchor.did)
        applied = await client.apply(holder.signer, _application(legal, roles or ["consumer"]))
        approved = await self.approve(applied.id)
        credential = await collect_credential(self.http, approved["credential_offer_uri"],
                                              holder.signer, tx_code=approved["tx_code"])
        holder.credentials.append(StoredCredential.from_credential(credential))
        member = Member(name=name, legal_name=legal, roles=list(roles or ["consumer"]),
                        did=holder.did, application_id=applied.id, marketplace=self.marketplace,
                        authorize=holder.authorize)
        self.members[name] = member
        return member

    async def connector(self, name: str, *, roles: list[str] | None = None,
                        legal_name: str | None = None, **overrides: Any) -> Member:
        """A real connector (``dcp`` auth), onboarded over its management API and OpenID4VCI."""
        values: dict[str, Any] = {
            "did": None, "did_method": "web", "trust_anchor_url": self.trust_anchor.url,
            "auth": AuthSettings(dcp=DcpSettings(status_list_ttl=REFRESH,
                                                 registry_ttl=REFRESH)),
            "jobs": {"poll_seconds": 0.2, "max_attempts": 2, "base_backoff_seconds": 0.05},
        }
        values.update(overrides)
        running = await start_connector(connector_settings(name, self.tmp_path, self.store(),
                                                           **values))
        self.stack.push_async_callback(running.stop)
        legal = legal_name or _LEGAL_NAMES.get(name, f"{name.capitalize()} AS")
        applied = await running.api(self.http, "POST", "/api/v1/membership/apply", expect=201,
                                    json=_application(legal, roles or ["provider"]))
        approved = await self.approve(applied["application_id"])
        await running.api(self.http, "POST", "/api/v1/membership/collect", expect=201,
                          json={"tx_code": approved["tx_code"]})

        async def authorize(audience: str, scopes: list[str]) -> str:
            return await running.plane.auth.tokens.token_for(audience, scopes)

        member = Member(name=name, legal_name=legal, roles=list(roles or ["provider"]),
                        did=running.plane.did, application_id=applied["application_id"],
                        marketplace=self.marketplace, authorize=authorize, connector=running)
        self.members[name] = member
        return member


def _other_store(database: Database, tmp_path: Path, stack: AsyncExitStack) -> Database:
    """A fresh database of the same kind as ``database`` (removed when ``stack`` closes)."""
    if database.kind == "sqlite":
        return Database("sqlite", f"sqlite+aiosqlite:///{tmp_path / uuid.uuid4().hex}.sqlite3")
    schema = "t_" + uuid.uuid4().hex[:12]
    stack.push_async_callback(drop_schema, database.url, schema)
    return Database(database.kind, database.url, schema)


def _application(legal_name: str, roles: list[str]) -> dict[str, Any]:
    return {"legal_name": legal_name, "organisation_number": "912 345 678", "country": "NO",
            "contact": {"name": "Data team", "email": "data@example.no"}, "roles": roles}


async def _onboard_marketplace(space: MemberSpace, timeout: float = 20.0) -> None:
    """Approve the marketplace's own application; wait until it holds its credential."""
    deadline = time.monotonic() + timeout
    application_id = None
    while application_id is None:
        page = await space.ta("GET", "/admin/applications?state=submitted")
        application_id = next((a["id"] for a in page["items"]
                               if a["did"] == space.marketplace.did), None)
        assert application_id is not None or time.monotonic() < deadline, "it never applied"
        await asyncio.sleep(0.05)
    await space.approve(application_id)
    admin = space.marketplace.admin
    while True:
        status, body, _ = await space.marketplace.call("GET", "/membership", headers=admin)
        assert status == 200, body
        if body["credential"] is not None:
            return
        assert time.monotonic() < deadline, f"no MembershipCredential: {body}"
        await asyncio.sleep(0.1)


@asynccontextmanager
async def member_space(tmp_path: Path, database: Database, **marketplace: Any
                       ) -> AsyncIterator[MemberSpace]:
    """A trust anchor and the marketplace, onboarded as a member (see the module docstring).

    ``marketplace`` overrides the marketplace's settings (e.g. ``harvest_seconds``).
    """
    async with AsyncExitStack() as stack:
        ta = await stack.enter_async_context(serving_trust_anchor(trust_anchor_settings(
            tmp_path, _other_store(database, tmp_path, stack), free_port())))
        values: dict[str, Any] = {
            "trust_anchor_url": ta.url, "status_refresh_seconds": REFRESH,
            "member_cache_seconds": REFRESH, "harvest_seconds": 0,
            "membership": {"legal_name": MARKETPLACE_NAME, "organisation_number": "999 888 777",
                           "contact_email": "ops@marketplace.example", "poll_seconds": 0.1},
        }
        values.update(marketplace)
        running = await stack.enter_async_context(serving(
            marketplace_settings(tmp_path, database, free_port(), **values)))
        http = await stack.enter_async_context(
            create_client_session(guarded=True, allow_loopback=True))
        space = MemberSpace(ta, running, tmp_path, database, http, stack)
        await _onboard_marketplace(space)
        yield space
