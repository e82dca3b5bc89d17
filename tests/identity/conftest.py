"""Fixtures for the identity tests: a fake clock, keys, a resolver and a did:web host.

The did:web host is a real aiohttp server on 127.0.0.1 that serves whatever
documents a test puts in it and records every request it receives.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass, field
from typing import Any

import orjson
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from identity import (
    CredentialVerifier,
    DidResolver,
    KeyPair,
    Signer,
    VerificationError,
    build_did_document,
    did_web_from_url,
)
from tests.fakes import FakeClock


async def refusal(pending: Awaitable[object]) -> str:
    """The code of the :class:`VerificationError` ``pending`` raises (the test fails if none)."""
    with pytest.raises(VerificationError) as err:
        await pending
    return err.value.code


@dataclass
class Host:
    """A loopback HTTP host serving documents by path and recording requests."""

    server: TestServer
    documents: dict[str, Any] = field(default_factory=dict)
    hits: list[str] = field(default_factory=list)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.port}"

    def did(self, path: str = "") -> str:
        return did_web_from_url(self.base_url + path)

    def publish(self, path: str, document: Any) -> None:
        """Serve ``document`` (JSON object, str or bytes) at ``path``."""
        self.documents[path] = document

    def publish_did(
        self,
        keys: list[KeyPair],
        *,
        path: str = "",
        relationships: tuple[str, ...] = (
            "authentication",
            "assertionMethod",
            "capabilityInvocation",
        ),
        services: tuple[dict[str, Any], ...] = (),
    ) -> str:
        """Publish a DID document for ``keys`` and return the DID."""
        did = self.did(path)
        document = build_did_document(
            did, [k.public_jwk for k in keys], relationships=relationships, services=services
        )
        self.publish(f"{path}/did.json" if path else "/.well-known/did.json", document)
        return did


HOST = web.AppKey("host", Host)


async def _serve(request: web.Request) -> web.StreamResponse:
    host = request.app[HOST]
    host.hits.append(request.path)
    document = host.documents.get(request.path)
    if document is None:
        return web.Response(status=404)
    if callable(document):
        result: web.StreamResponse = await document(request)
        return result
    if isinstance(document, str):
        document = document.encode()
    body = document if isinstance(document, bytes) else orjson.dumps(document)
    return web.Response(body=body, content_type="application/json")


@pytest.fixture
async def host() -> AsyncIterator[Host]:
    app = web.Application()
    app.router.add_route("GET", "/{tail:.*}", _serve)
    server = TestServer(app, host="127.0.0.1")
    state = Host(server)
    app[HOST] = state
    await server.start_server()
    try:
        yield state
    finally:
        await server.close()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def resolver(clock: FakeClock) -> AsyncIterator[DidResolver]:
    async with DidResolver(allow_loopback=True, clock=clock) as resolver:
        yield resolver


@pytest.fixture
def verifier(resolver: DidResolver, clock: FakeClock) -> CredentialVerifier:
    return CredentialVerifier(resolver, clock=clock)


@pytest.fixture
def issuer() -> Signer:
    return Signer.for_did_key(KeyPair.generate())


@pytest.fixture
def holder() -> Signer:
    return Signer.for_did_key(KeyPair.generate("p256"))
