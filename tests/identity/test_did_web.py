"""did:web: URL mapping, document building and resolution against a real loopback server."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult

from identity import (
    DidResolutionError,
    DidResolver,
    KeyPair,
    build_did_web_document,
    did_web_base_url,
    did_web_document_url,
    did_web_from_url,
    service_entry,
)
from identity.did_document import parse_did_document
from servicekit.http import GuardedConnector, GuardedResolver
from tests.fakes import FakeClock

from .conftest import Host


@pytest.mark.parametrize(
    ("url", "did"),
    [
        ("http://127.0.0.1:8600", "did:web:127.0.0.1%3A8600"),
        ("https://example.com", "did:web:example.com"),
        ("https://Example.com/", "did:web:example.com"),
        ("https://example.com/user/alice", "did:web:example.com:user:alice"),
        ("https://example.com:3000/.well-known/did.json", "did:web:example.com%3A3000"),
        ("https://w3c-ccg.github.io/user/alice/did.json", "did:web:w3c-ccg.github.io:user:alice"),
    ],
)
def test_did_web_from_url(url: str, did: str) -> None:
    assert did_web_from_url(url) == did


@pytest.mark.parametrize(
    ("did", "url"),
    [
        ("did:web:w3c-ccg.github.io", "https://w3c-ccg.github.io/.well-known/did.json"),
        ("did:web:w3c-ccg.github.io:user:alice", "https://w3c-ccg.github.io/user/alice/did.json"),
        ("did:web:example.com%3A3000:user:alice", "https://example.com:3000/user/alice/did.json"),
        ("did:web:127.0.0.1%3A8600", "https://127.0.0.1:8600/.well-known/did.json"),
    ],
)
def test_document_url(did: str, url: str) -> None:
    assert did_web_document_url(did) == url


def test_plain_http_only_for_loopback_in_development() -> None:
    assert did_web_base_url("did:web:127.0.0.1%3A8600", allow_http_loopback=True) == (
        "http://127.0.0.1:8600"
    )
    assert did_web_base_url("did:web:localhost%3A8600", allow_http_loopback=True) == (
        "http://localhost:8600"
    )
    assert (
        did_web_base_url("did:web:example.com", allow_http_loopback=True) == "https://example.com"
    )
    assert did_web_base_url("did:web:127.0.0.1%3A8600") == "https://127.0.0.1:8600"


@pytest.mark.parametrize(
    "bad",
    ["ftp://example.com", "https://example.com/?q=1", "https://[::1]:8600", "https://u:p@x.org"],
)
def test_urls_that_have_no_did_web(bad: str) -> None:
    with pytest.raises(DidResolutionError) as err:
        did_web_from_url(bad)
    assert err.value.code == "did-malformed"


def test_document_for_our_service_lists_keys_relationships_and_services() -> None:
    signing, invoking = KeyPair.generate(), KeyPair.generate("p256")
    base = "https://ta.example.org"
    did = did_web_from_url(base)
    document = build_did_web_document(
        base,
        [signing.public_jwk, invoking.public_key],
        services=[
            service_entry(did, "CredentialService", base + "/api/credentials"),
            {"id": "#data", "type": "DataService", "serviceEndpoint": base + "/api/dsp"},
        ],
    )
    assert document["id"] == "did:web:ta.example.org"
    method_ids = [m["id"] for m in document["verificationMethod"]]
    assert method_ids == [f"{did}#{signing.kid}", f"{did}#{invoking.kid}"]
    assert all(
        m["type"] == "JsonWebKey2020" and "d" not in m["publicKeyJwk"]
        for m in document["verificationMethod"]
    )
    for relationship in ("authentication", "assertionMethod", "capabilityInvocation"):
        assert document[relationship] == method_ids
    assert [s["id"] for s in document["service"]] == [f"{did}#credentialService", f"{did}#data"]
    parsed = parse_did_document(document, expected_id=did)
    assert parsed.services_of_type("DataService")[0]["serviceEndpoint"] == base + "/api/dsp"
    assert parsed.method(f"#{signing.kid}", "assertionMethod").public_jwk == {
        k: v for k, v in signing.public_jwk.items() if k in ("kty", "crv", "x")
    }


async def test_resolve_bare_and_path_dids(host: Host, resolver: DidResolver) -> None:
    key = KeyPair.generate()
    did = host.publish_did([key])
    alice = host.publish_did([key], path="/users/alice")
    assert alice == did + ":users:alice"
    assert (await resolver.resolve(did)).id == did
    assert (await resolver.resolve(alice)).id == alice
    assert host.hits == ["/.well-known/did.json", "/users/alice/did.json"]
    method = await resolver.verification_method(f"{did}#{key.kid}", "assertionMethod")
    assert method.id == f"{did}#{key.kid}"


async def test_cache_ttl(host: Host, clock: FakeClock) -> None:
    did = host.publish_did([KeyPair.generate()])
    async with DidResolver(allow_loopback=True, clock=clock, cache_ttl=60) as resolver:
        await resolver.resolve(did)
        await resolver.resolve(did)
        assert len(host.hits) == 1
        clock.advance(61)
        await resolver.resolve(did)
        assert len(host.hits) == 2


async def test_concurrent_resolutions_share_one_fetch(host: Host, resolver: DidResolver) -> None:
    document = host.publish_did([KeyPair.generate()])
    stored = host.documents["/.well-known/did.json"]

    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(0.05)
        return web.json_response(stored)

    host.publish("/.well-known/did.json", slow)
    results = await asyncio.gather(*[resolver.resolve(document) for _ in range(5)])
    assert {r.id for r in results} == {document}
    assert len(host.hits) == 1


async def test_document_whose_id_differs_is_refused(host: Host, resolver: DidResolver) -> None:
    key = KeyPair.generate()
    did = host.did()
    host.publish_did([key])
    host.documents["/.well-known/did.json"]["id"] = "did:web:victim.example"
    with pytest.raises(DidResolutionError) as err:
        await resolver.resolve(did)
    assert err.value.code == "did-id-mismatch"


async def test_oversized_document_with_content_length(host: Host, resolver: DidResolver) -> None:
    host.publish("/.well-known/did.json", b"{" + b" " * (64 * 1024) + b"}")
    with pytest.raises(DidResolutionError) as err:
        await resolver.resolve(host.did())
    assert err.value.code == "did-document-too-large"


async def test_oversized_document_is_cut_off_while_reading(host: Host, clock: FakeClock) -> None:
    sent = []

    async def endless(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        await response.prepare(request)  # chunked: no Content-Length to check up front
        try:
            for _ in range(640):  # 10 MiB, slowly: reading it all would take 6 s
                await response.write(b" " * 16384)
                sent.append(16384)
                await asyncio.sleep(0.01)
        except (ConnectionResetError, aiohttp.ClientConnectionResetError):
            pass
        return response

    host.publish("/.well-known/did.json", endless)
    started = time.monotonic()
    async with DidResolver(allow_loopback=True, clock=clock, timeout=5) as resolver:
        with pytest.raises(DidResolutionError) as err:
            await resolver.resolve(host.did())
    assert err.value.code == "did-document-too-large"
    assert time.monotonic() - started < 2
    assert sum(sent) < 2 * 1024 * 1024


async def test_slow_host_times_out(host: Host, clock: FakeClock) -> None:
    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(1)
        return web.json_response({})

    host.publish("/.well-known/did.json", slow)
    async with DidResolver(allow_loopback=True, clock=clock, timeout=0.2) as resolver:
        started = time.monotonic()
        with pytest.raises(DidResolutionError) as err:
            await resolver.resolve(host.did())
    assert err.value.code == "did-resolution-failed"
    assert time.monotonic() - started < 0.9


@pytest.mark.parametrize("status", [302, 404, 500])
async def test_redirects_and_errors_fail(host: Host, resolver: DidResolver, status: int) -> None:
    async def answer(request: web.Request) -> web.Response:
        return web.Response(status=status, headers={"Location": "/elsewhere"})

    host.publish("/.well-known/did.json", answer)
    host.publish_did([KeyPair.generate()], path="/elsewhere")
    with pytest.raises(DidResolutionError) as err:
        await resolver.resolve(host.did())
    assert err.value.code == "did-resolution-failed"
    assert host.hits == ["/.well-known/did.json"]


async def test_not_json_and_not_a_document(host: Host, resolver: DidResolver) -> None:
    host.publish("/a/did.json", b"<html>")
    host.publish("/b/did.json", {"id": host.did("/b"), "verificationMethod": "nope"})
    for path, code in (("/a", "did-document-invalid"), ("/b", "did-document-invalid")):
        with pytest.raises(DidResolutionError) as err:
            await resolver.resolve(host.did(path))
        assert err.value.code == code


async def test_unsupported_methods(resolver: DidResolver) -> None:
    for did, code in (
        ("did:ion:abc", "did-method-not-supported"),
        ("did:web:a#b", "did-malformed"),
    ):
        with pytest.raises(DidResolutionError) as err:
            await resolver.resolve(did)
        assert err.value.code == code


async def test_loopback_is_refused_without_the_development_flag(
    host: Host, clock: FakeClock
) -> None:
    host.publish_did([KeyPair.generate()])
    async with DidResolver(clock=clock) as resolver:  # production: no loopback
        with pytest.raises(DidResolutionError) as err:
            await resolver.resolve(host.did())
    assert err.value.code == "did-address-refused"
    assert host.hits == []  # the server never saw a request


class MapResolver(AbstractResolver):
    """The DNS seam: names map to fixed addresses, every look-up is recorded."""

    def __init__(self, names: dict[str, str]) -> None:
        self.names = names
        self.lookups: list[str] = []

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        self.lookups.append(host)
        return [
            {
                "hostname": host,
                "host": self.names[host],
                "port": port,
                "family": socket.AF_INET,
                "proto": 0,
                "flags": socket.AI_NUMERICHOST,
            }
        ]

    async def close(self) -> None:
        return None


@pytest.fixture
async def mapped() -> AsyncIterator[tuple[MapResolver, aiohttp.ClientSession, list[Any]]]:
    names = MapResolver({"intranet.example": "10.0.0.1", "metadata.example": "169.254.169.254"})
    connections: list[Any] = []

    async def on_connection(session: Any, context: Any, params: Any) -> None:
        connections.append(params)

    trace = aiohttp.TraceConfig()
    trace.on_connection_create_end.append(on_connection)
    session = aiohttp.ClientSession(
        connector=GuardedConnector(resolver=GuardedResolver(inner=names)), trace_configs=[trace]
    )
    try:
        yield names, session, connections
    finally:
        await session.close()


@pytest.mark.parametrize("name", ["intranet.example", "metadata.example"])
async def test_host_resolving_to_a_private_address_is_refused_before_connecting(
    mapped: tuple[MapResolver, aiohttp.ClientSession, list[Any]], name: str, clock: FakeClock
) -> None:
    names, session, connections = mapped
    resolver = DidResolver(session=session, clock=clock)
    with pytest.raises(DidResolutionError) as err:
        await resolver.resolve(f"did:web:{name}")
    assert err.value.code == "did-address-refused"
    assert names.lookups == [name]  # the name was looked up ...
    assert connections == []  # ... and no connection was made


async def test_a_public_name_for_our_loopback_server_is_refused(
    host: Host, clock: FakeClock
) -> None:
    host.publish_did([KeyPair.generate()])
    names = MapResolver({"looks-public.example": "127.0.0.1"})
    session = aiohttp.ClientSession(
        connector=GuardedConnector(resolver=GuardedResolver(inner=names))
    )
    async with session:
        resolver = DidResolver(session=session, clock=clock)
        with pytest.raises(DidResolutionError) as err:
            await resolver.resolve(f"did:web:looks-public.example%3A{host.server.port}")
    assert err.value.code == "did-address-refused"
    assert host.hits == []


async def test_an_unguarded_session_is_not_accepted() -> None:
    async with aiohttp.ClientSession() as session:
        with pytest.raises(ValueError, match="guarded"):
            DidResolver(session=session)
