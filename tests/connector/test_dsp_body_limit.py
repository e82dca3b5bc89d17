"""A body over the size limit is refused before a DCP caller's services are queried.

A connector in the ``dcp`` auth mode (real trust anchor on loopback) is
sent DSP requests signed by a caller whose did:web and Credential Service
are a small server on loopback that counts what it is asked. A 20 MiB body,
declared or chunked, gets 413 ``payload-too-large`` and the caller's server
is asked nothing; the same caller with a small body is looked up (so the
count would show the work had it been done).
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest_asyncio
from aiohttp import web
from aiohttp.test_utils import TestServer

from connector.settings import AuthSettings
from identity import KeyPair, Signer, build_did_document, did_web_from_url, service_entry
from identity.dcp import DcpTokenProvider
from tests.conftest import Database, free_port
from tests.connector.harness import RunningConnector, start_connector
from tests.factories import connector_settings
from tests.trust_anchor.conftest import TrustAnchor
from tests.trust_anchor.conftest import trust_anchor as trust_anchor

BIG = 20 << 20
CATALOG_REQUEST = {"@context": ["https://w3id.org/dspace/2025/1/context.jsonld"],
                   "@type": "CatalogRequestMessage", "filter": []}


class Caller:
    """A participant's did:web and Credential Service on loopback, counting requests."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.signer = Signer.for_did(KeyPair.generate(), did_web_from_url(self.url))
        self.requests: list[str] = []

    async def did_document(self, request: web.Request) -> web.Response:
        self.requests.append(request.path)
        return web.json_response(build_did_document(
            self.signer.did, [self.signer.key.public_jwk],
            services=[service_entry(self.signer.did, "CredentialService", self.url)],
            key_ids=[self.signer.kid.split("#", 1)[1]]))

    async def query(self, request: web.Request) -> web.Response:
        self.requests.append(request.path)
        return web.json_response({"@context": ["https://w3id.org/dspace-dcp/v1.0/dcp.jsonld"],
                                  "type": "PresentationResponseMessage", "presentation": []})

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/.well-known/did.json", self.did_document)
        app.router.add_post("/presentations/query", self.query)
        return app


@pytest_asyncio.fixture
async def caller() -> AsyncIterator[Caller]:
    """The calling participant's services, on loopback."""
    who = Caller()
    server = TestServer(who.app(), host="127.0.0.1", port=who.port)
    await server.start_server()
    yield who
    await server.close()


@pytest_asyncio.fixture
async def provider(trust_anchor: TrustAnchor, database: Database,
                   tmp_path: Path) -> AsyncIterator[RunningConnector]:  # fmt: skip
    """A connector that authenticates DSP callers with DCP."""
    running = await start_connector(connector_settings(
        "provider", tmp_path, database, did=None, did_method="web",
        trust_anchor_url=trust_anchor.url, auth=AuthSettings(mode="dcp")))
    yield running
    await running.stop()


async def _post(http: aiohttp.ClientSession, url: str, caller: Caller, audience: str,
                data: Any) -> tuple[int, dict[str, Any]]:  # fmt: skip
    token = await DcpTokenProvider(caller.signer).token_for(audience)
    async with http.post(url, data=data, headers={
            "Authorization": token, "Content-Type": "application/json"}) as response:
        return response.status, await response.json(content_type=None)


async def _chunks(size: int) -> AsyncIterator[bytes]:
    block = b" " * (1 << 20)
    for _ in range(size // len(block)):
        yield block


async def test_a_20_mib_body_is_refused_before_the_callers_services_are_asked(
    provider: RunningConnector, caller: Caller
) -> None:
    audience = provider.info["did"]
    dsp = provider.dsp_url
    async with aiohttp.ClientSession() as http:
        for path in ("/catalog/request", "/negotiations/request"):
            status, body = await _post(http, dsp + path, caller, audience,
                                       io.BytesIO(b" " * BIG))
            assert status == 413, body
            assert body["code"] == "payload-too-large"
            status, body = await _post(http, dsp + path, caller, audience, _chunks(BIG))
            assert status == 413, body
            assert body["code"] == "payload-too-large"
        assert caller.requests == []
        # the same caller with a body within the limit is looked up as usual
        status, _ = await _post(http, dsp + "/catalog/request", caller, audience,
                                aiohttp.JsonPayload(CATALOG_REQUEST))
        assert status in (401, 403)
    assert "/.well-known/did.json" in caller.requests
