"""A verifier and a wallet of "sign in with the organisation's credential", on loopback.

The verifier is :class:`identity.oid4vp.Oid4vpVerifier` behind a tiny aiohttp
app (``GET /oid4vp/requests/{state}``: the request object; ``POST
/oid4vp/response``: the wallet's ``direct_post``), checking presentations
against the real trust anchor of the DCP ``world`` fixture (its
trusted-issuers registry and status lists). Organisations are onboarded there
through the real flow and so hold a real MembershipCredential.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import orjson
from aiohttp import web
from aiohttp.test_utils import TestServer

from identity.did_document import build_did_document
from identity.holder_store import CredentialRecord
from identity.jose import decode_jws
from identity.keys import KeyPair
from identity.oid4vp import MembershipCheck, MemoryPendingStore, Oid4vpVerifier
from identity.service_identity import ServiceIdentity
from identity.signer import Signer
from identity.vp import PresentationVerifier
from servicekit.web import error_middleware
from tests.conftest import free_port
from tests.identity.dcp.conftest import World
from tests.trust_anchor.conftest import Applicant

__all__ = ["Site", "credential_record", "did_key_identity", "onboarded", "site"]


def did_key_identity(key: KeyPair | None = None) -> ServiceIdentity:
    """A :class:`ServiceIdentity` with a did:key (the verifier's or an organisation's)."""
    signer = Signer.for_did_key(key or KeyPair.generate())
    document = build_did_document(signer.did, [signer.key.public_jwk],
                                  key_ids=[signer.kid.split("#", 1)[1]])
    return ServiceIdentity(signer=signer, did=signer.did, document=document)


def credential_record(credential: str, *, record_id: str = "c1",
                      created_at: float = 0.0) -> CredentialRecord:
    """How a connector's holder store keeps a ``vc+jwt`` it received."""
    claims = decode_jws(credential).claims()
    subject = claims["credentialSubject"]
    return CredentialRecord(
        id=record_id, credential_id=claims.get("id"),
        types=[t for t in claims["type"] if t != "VerifiableCredential"],
        issuer=claims["issuer"] if isinstance(claims["issuer"], str) else claims["issuer"]["id"],
        subject=subject.get("id"), format="vc+jwt", raw=credential, claims=subject,
        source="oid4vci", created_at=created_at)


async def onboarded(world: World, **applicant: str) -> tuple[ServiceIdentity, CredentialRecord]:
    """An organisation onboarded at the trust anchor: its identity and MembershipCredential."""
    identity = did_key_identity()
    credential = await world.onboard(Applicant(identity.signer, **applicant))
    return identity, credential_record(credential)


@dataclass
class Site:
    """The verifier's two endpoints on loopback."""

    verifier: Oid4vpVerifier
    server: TestServer
    #: Rewrites the request object before it is served (to test the wallet's checks).
    tamper: Callable[[str], str] | None = None
    answers: list[int] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.port}"

    async def start(self) -> str:
        """A new request's ``openid4vp://`` URL."""
        started = await self.verifier.start(request_uri_base=self.url + "/oid4vp/requests",
                                            response_uri=self.url + "/oid4vp/response")
        return started.authorization_url


SITE = web.AppKey("site", Site)


async def _request_object(request: web.Request) -> web.Response:
    site = request.app[SITE]
    token = await site.verifier.request_object(request.match_info["state"])
    if site.tamper is not None:
        token = site.tamper(token)
    return web.Response(text=token, content_type="application/oauth-authz-req+jwt")


async def _response(request: web.Request) -> web.Response:
    form = await request.post()
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    signed_in = await request.app[SITE].verifier.accept(fields)
    return web.Response(body=orjson.dumps({"signed_in": signed_in.did}),
                        content_type="application/json")


@asynccontextmanager
async def site(world: World, *, ttl_seconds: int = 300) -> AsyncIterator[Site]:
    """The verifier (a did:key, the world's clock and trust anchor) serving on loopback."""
    check = MembershipCheck(PresentationVerifier(world.credentials), world.trusted)
    verifier = Oid4vpVerifier(identity=did_key_identity(), check=check,
                              store=MemoryPendingStore(), clock=world.clock,
                              ttl_seconds=ttl_seconds)
    app = web.Application(middlewares=[error_middleware])
    server = TestServer(app, host="127.0.0.1", port=free_port())
    running = Site(verifier, server)
    app[SITE] = running
    app.router.add_get("/oid4vp/requests/{state}", _request_object)
    app.router.add_post("/oid4vp/response", _response)
    await server.start_server()
    try:
        yield running
    finally:
        await server.close()
