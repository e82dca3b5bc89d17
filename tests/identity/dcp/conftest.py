"""DCP over real HTTP on loopback: a trust anchor, members with credential services, a verifier.

A *member* is a participant with a did:web on 127.0.0.1 whose small aiohttp
app serves its DID document (with a ``CredentialService`` entry) and the DCP
holder endpoints, written with :class:`identity.dcp.DcpHolder`. It is
onboarded at a real trust anchor through the real flow (apply, approve,
OID4VCI) and so holds a real MembershipCredential. Every DCP message the
member receives or sends is recorded, and the tests check each against the
vendored schemas.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from identity import (
    CredentialVerifier,
    DidResolver,
    InMemoryReplayStore,
    KeyPair,
    PresentationVerifier,
    Signer,
    StatusListChecker,
    build_did_document,
    did_web_from_url,
    service_entry,
)
from identity.dcp import DcpHolder, DcpTokenProvider, DcpVerifier, StoredCredential
from identity.oid4vci_client import collect_credential
from identity.trusted_issuers import TrustedIssuers
from servicekit.http import create_client_session
from servicekit.web import error_middleware
from tests.conftest import free_port
from tests.fakes import FakeClock
from tests.trust_anchor.conftest import Applicant, TrustAnchor, apply
from tests.trust_anchor.conftest import trust_anchor as trust_anchor


@dataclass
class Member:
    """A participant with a did:web and its own credential service on loopback."""

    signer: Signer
    url: str
    holder: DcpHolder
    clock: FakeClock
    server: TestServer | None = None
    credentials: list[StoredCredential] = field(default_factory=list)
    queries: list[dict[str, Any]] = field(default_factory=list)
    answers: list[dict[str, Any]] = field(default_factory=list)
    delivered: list[dict[str, Any]] = field(default_factory=list)
    refusals: list[str] = field(default_factory=list)
    application_id: str | None = None

    @property
    def did(self) -> str:
        return self.signer.did

    @property
    def tokens(self) -> DcpTokenProvider:
        return DcpTokenProvider(self.signer, clock=self.clock)

    def document(self) -> dict[str, Any]:
        return build_did_document(
            self.did,
            [self.signer.key.public_jwk],
            services=[service_entry(self.did, "CredentialService", self.url)],
            key_ids=[self.signer.kid.split("#", 1)[1]],
        )


MEMBER = web.AppKey("member", Member)


async def _did_document(request: web.Request) -> web.Response:
    return web.json_response(request.app[MEMBER].document())


async def _query(request: web.Request) -> web.Response:
    member = request.app[MEMBER]
    body = await request.json()
    member.queries.append(body)
    try:
        answer = await member.holder.answer_query(
            request.headers.get("Authorization"), body, member.credentials
        )
    except Exception as exc:
        member.refusals.append(getattr(exc, "code", type(exc).__name__))
        raise
    member.answers.append(answer)
    return web.json_response(answer)


async def _store(request: web.Request) -> web.Response:
    member = request.app[MEMBER]
    body = await request.json()
    member.delivered.append(body)
    result = await member.holder.accept_credentials(request.headers.get("Authorization"), body)
    member.credentials.extend(result.credentials)
    return web.Response(status=200)


def member_app(member: Member) -> web.Application:
    app = web.Application(middlewares=[error_middleware])
    app[MEMBER] = member
    app.router.add_get("/.well-known/did.json", _did_document)
    app.router.add_post("/presentations/query", _query)
    app.router.add_post("/credentials", _store)
    return app


@dataclass
class World:
    """Everything a DCP test needs: the trust anchor, a verifier, and a way to add members."""

    ta: TrustAnchor
    clock: FakeClock
    session: aiohttp.ClientSession
    resolver: DidResolver
    checker: StatusListChecker
    credentials: CredentialVerifier
    trusted: TrustedIssuers
    verifier: DcpVerifier
    add_member: Callable[..., Awaitable[Member]]

    @property
    def verifier_did(self) -> str:
        return self.verifier.did

    async def admin(self, method: str, path: str, body: Any = None) -> Any:
        async with self.ta.http.request(method, self.ta.url + path, json=body,
                                        headers=self.ta.admin) as response:
            assert response.status == 200, await response.text()
            return await response.json()

    async def onboard(self, member: Member | Applicant) -> str:
        """Apply, approve and collect over OID4VCI; returns the MembershipCredential."""
        applicant = member if isinstance(member, Applicant) else Applicant(member.signer)
        status, created = await apply(self.ta, applicant)
        assert status == 201, created
        status, approved = await self.ta.post(
            f"/admin/applications/{created['id']}/approve", {"reason": "ok"}, admin=True)
        assert status == 200, approved
        credential = await collect_credential(self.ta.http, approved["credential_offer_uri"],
                                              applicant.signer, tx_code=approved["tx_code"])
        if isinstance(member, Member):
            member.application_id = created["id"]
        return credential

    async def accredit(self, did: str, types: list[str]) -> None:
        await self.admin("PUT", f"/admin/issuers/{quote(did, safe='')}",
                         {"issuerType": "TI", "credentialTypes": types})

    async def revoke_issuer(self, did: str) -> None:
        await self.admin("DELETE", f"/admin/issuers/{quote(did, safe='')}")


@pytest.fixture
async def world(trust_anchor: TrustAnchor) -> AsyncIterator[World]:
    clock = FakeClock(time.time())  # starts now: the trust anchor issues with real time
    servers: list[TestServer] = []
    async with create_client_session(guarded=True, allow_loopback=True) as session:
        resolver = DidResolver(session=session, allow_loopback=True, clock=clock)
        checker = StatusListChecker(session=session, allow_loopback=True, ttl=60, clock=clock)
        credentials = CredentialVerifier(resolver, clock=clock, status_checker=checker)
        trusted = TrustedIssuers(session, trust_anchor.url, credentials, trust_anchor.did, ttl=60)
        verifier = DcpVerifier(
            Signer.for_did_key(KeyPair.generate()),
            resolver,
            credentials,
            PresentationVerifier(credentials),
            trusted,
            InMemoryReplayStore(clock=clock),
            session,
            allow_loopback=True,
        )

        async def add_member(*, envelope: bool = False, onboard: bool = True) -> Member:
            port = free_port()
            url = f"http://127.0.0.1:{port}"
            signer = Signer.for_did(KeyPair.generate(), did_web_from_url(url))
            # The member shares the world's time, but not the verifier's caches.
            holder = DcpHolder(
                signer,
                DidResolver(session=session, allow_loopback=True),
                InMemoryReplayStore(),
                credential_verifier=CredentialVerifier(
                    DidResolver(session=session, allow_loopback=True)
                ),
                envelope=envelope,
                clock=clock,
            )
            member = Member(signer, url, holder, clock)
            member.server = TestServer(member_app(member), host="127.0.0.1", port=port)
            await member.server.start_server()
            servers.append(member.server)
            if onboard:
                credential = await world.onboard(member)
                member.credentials.append(StoredCredential.from_credential(credential))
            return member

        world = World(trust_anchor, clock, session, resolver, checker, credentials, trusted,
                      verifier, add_member)
        try:
            yield world
        finally:
            for server in servers:
                await server.close()
