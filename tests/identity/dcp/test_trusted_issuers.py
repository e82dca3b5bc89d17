"""TrustedIssuers against the real trust anchor, and against a registry that misbehaves.

The misbehaving registry is a fake of an outer HTTP service: it serves what
the real one never would (tampered hashes, forged chains, errors).
"""

from __future__ import annotations

import base64
import hashlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from identity import (
    CredentialVerifier,
    DidResolver,
    KeyPair,
    Signer,
    build_credential,
    issue_vc_jwt,
)
from identity.trusted_issuers import TrustedIssuers
from servicekit.errors import UpstreamError
from servicekit.http import create_client_session
from tests.conftest import free_port
from tests.fakes import FakeClock

from .conftest import World


async def test_the_root_is_trusted_for_what_its_root_tao_entry_lists(world: World) -> None:
    trusted = world.trusted
    assert await trusted.is_trusted(world.ta.did, "MembershipCredential")
    decision = await trusted.check(world.ta.did, "UnlistedCredential")
    assert (decision.trusted, decision.reason) == (False, "type-not-accredited")
    entry = await trusted.entry(world.ta.did)
    assert entry.roles == {"RootTAO"}
    assert not entry.revoked
    assert entry.ignored == ()


async def test_an_accredited_issuer_is_trusted_for_its_types_only(world: World) -> None:
    marketplace = Signer.for_did_key(KeyPair.generate())
    await world.accredit(marketplace.did, ["DataProductPurchase"])
    assert await world.trusted.is_trusted(marketplace.did, "DataProductPurchase")
    assert not await world.trusted.is_trusted(marketplace.did, "MembershipCredential")


async def test_answers_are_cached_for_the_ttl_both_ways(world: World) -> None:
    issuer = Signer.for_did_key(KeyPair.generate())
    assert (await world.trusted.check(issuer.did, "X")).reason == "not-registered"
    await world.accredit(issuer.did, ["X"])
    assert not await world.trusted.is_trusted(issuer.did, "X"), "the 404 is cached"
    world.clock.advance(61)
    assert await world.trusted.is_trusted(issuer.did, "X")
    await world.revoke_issuer(issuer.did)
    assert await world.trusted.is_trusted(issuer.did, "X"), "the positive answer is cached"
    world.clock.advance(61)
    assert (await world.trusted.check(issuer.did, "X")).reason == "revoked"


# --- a registry that misbehaves ----------------------------------------------------------


@dataclass
class FakeRegistry:
    server: TestServer
    entries: dict[str, tuple[int, Any]] = field(default_factory=dict)
    hits: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.port}"

    def put(self, did: str, *attributes: dict[str, Any]) -> None:
        self.entries[did] = (200, {"did": did, "attributes": list(attributes)})


REGISTRY = web.AppKey("registry", FakeRegistry)


async def _issuer(request: web.Request) -> web.Response:
    registry = request.app[REGISTRY]
    did = request.match_info["did"]
    registry.hits.append(did)
    status, body = registry.entries.get(did, (404, {"code": "not-found"}))
    if isinstance(body, bytes):
        return web.Response(status=status, body=body)
    return web.json_response(body, status=status)


@pytest.fixture
async def registry() -> AsyncIterator[FakeRegistry]:
    app = web.Application()
    app.router.add_get("/v4/issuers/{did}", _issuer)
    server = TestServer(app, host="127.0.0.1", port=free_port())
    state = FakeRegistry(server)
    app[REGISTRY] = state
    await server.start_server()
    yield state
    await server.close()


@dataclass
class Setup:
    registry: FakeRegistry
    root: Signer
    trusted: TrustedIssuers
    clock: FakeClock


@pytest.fixture
async def setup(registry: FakeRegistry) -> AsyncIterator[Setup]:
    clock = FakeClock(time.time())
    root = Signer.for_did_key(KeyPair.generate())
    async with create_client_session(guarded=True, allow_loopback=True) as session:
        resolver = DidResolver(session=session, allow_loopback=True, clock=clock)
        verifier = CredentialVerifier(resolver, clock=clock)
        yield Setup(registry, root, TrustedIssuers(session, registry.url, verifier, root.did,
                                                   ttl=60), clock)


def attribute(accreditor: Signer, did: str, issuer_type: str, types: list[str], *,
              root: str | None = None, listed_type: str | None = None,
              tamper: bool = False) -> dict[str, Any]:
    token = issue_vc_jwt(build_credential(
        issuer=accreditor.did,
        subject={"id": did, "issuerType": issuer_type, "accreditedFor": [{"types": types}]},
        types=["VerifiableAccreditation"]), accreditor).encode()
    digest = hashlib.sha256(token).hexdigest()
    if tamper:
        digest = hashlib.sha256(token + b"x").hexdigest()
    return {"hash": digest, "body": base64.b64encode(token).decode(),
            "issuerType": listed_type or issuer_type, "tao": accreditor.did,
            "rootTao": root or accreditor.did}


def new_did() -> Signer:
    return Signer.for_did_key(KeyPair.generate())


async def test_a_body_that_does_not_match_its_hash_does_not_count(setup: Setup) -> None:
    issuer = new_did()
    setup.registry.put(issuer.did, attribute(setup.root, issuer.did, "TI", ["X"], tamper=True))
    decision = await setup.trusted.check(issuer.did, "X")
    assert (decision.trusted, decision.reason) == (False, "no-valid-accreditation")
    assert (await setup.trusted.entry(issuer.did)).ignored == ("hash-mismatch",)


async def test_only_the_root_and_its_taos_accredit(setup: Setup) -> None:
    root, registry = setup.root, setup.registry
    tao, ti, stranger, victim = new_did(), new_did(), new_did(), new_did()
    registry.put(root.did, attribute(root, root.did, "RootTAO", ["MembershipCredential"]))
    registry.put(tao.did, attribute(root, tao.did, "TAO", ["X", "Y"], root=root.did))
    registry.put(ti.did, attribute(tao, ti.did, "TI", ["Y", "Z"], root=root.did))
    registry.put(victim.did, attribute(stranger, victim.did, "TI", ["X"], root=root.did))
    # A TI of a TAO is trusted within the TAO's own types only.
    assert await setup.trusted.is_trusted(ti.did, "Y")
    assert not await setup.trusted.is_trusted(ti.did, "Z")
    assert await setup.trusted.is_trusted(tao.did, "X")
    # Signed by someone who is not a TAO: ignored.
    assert not await setup.trusted.is_trusted(victim.did, "X")
    assert (await setup.trusted.entry(victim.did)).ignored == ("accreditor-not-tao",)


async def test_root_tao_counts_only_for_the_root(setup: Setup) -> None:
    impostor = new_did()
    setup.registry.put(impostor.did,
                       attribute(impostor, impostor.did, "RootTAO", ["X"], root=setup.root.did))
    assert not await setup.trusted.is_trusted(impostor.did, "X")
    other_root = new_did()
    issuer = new_did()
    setup.registry.put(issuer.did, attribute(other_root, issuer.did, "TI", ["X"]))
    assert (await setup.trusted.entry(issuer.did)).ignored == ("other-root",)


async def test_a_listed_type_that_disagrees_with_the_signed_one_does_not_count(
    setup: Setup,
) -> None:
    issuer = new_did()
    setup.registry.put(issuer.did,
                       attribute(setup.root, issuer.did, "TI", ["X"], listed_type="TAO"))
    assert (await setup.trusted.entry(issuer.did)).ignored == ("accreditation-mismatch",)


async def test_revoked_in_the_listing_is_revoked_even_unsigned(setup: Setup) -> None:
    issuer = new_did()
    setup.registry.put(
        issuer.did,
        attribute(setup.root, issuer.did, "TI", ["X"]),
        {"hash": "00", "body": "", "issuerType": "Revoked"},
    )
    assert (await setup.trusted.check(issuer.did, "X")).reason == "revoked"


async def test_a_cycle_of_accreditors_ends(setup: Setup) -> None:
    a, b = new_did(), new_did()
    setup.registry.put(a.did, attribute(b, a.did, "TAO", ["X"], root=setup.root.did))
    setup.registry.put(b.did, attribute(a, b.did, "TAO", ["X"], root=setup.root.did))
    assert not await setup.trusted.is_trusted(a.did, "X")


@pytest.mark.parametrize(("status", "body", "code"), [
    (500, {"code": "internal-error"}, "registry-unavailable"),
    (200, b"<html>", "registry-response-invalid"),
    (200, {"did": "did:key:someone-else", "attributes": []}, "registry-response-invalid"),
])
async def test_a_failing_registry_fails_closed_and_is_not_cached(
    setup: Setup, status: int, body: Any, code: str
) -> None:
    issuer = new_did()
    setup.registry.entries[issuer.did] = (status, body)
    with pytest.raises(UpstreamError) as caught:
        await setup.trusted.is_trusted(issuer.did, "X")
    assert caught.value.code == code
    setup.registry.put(issuer.did, attribute(setup.root, issuer.did, "TI", ["X"]))
    assert await setup.trusted.is_trusted(issuer.did, "X")


async def test_an_unreachable_registry_fails_closed(setup: Setup) -> None:
    await setup.registry.server.close()
    with pytest.raises(UpstreamError) as caught:
        await setup.trusted.is_trusted(new_did().did, "X")
    assert caught.value.code == "registry-unavailable"


async def test_the_did_travels_as_one_encoded_path_segment(setup: Setup) -> None:
    did = "did:web:example.com%3A8443:a:b"
    await setup.trusted.check(did, "X")
    assert setup.registry.hits == [did]


async def test_concurrent_checks_share_one_fetch(setup: Setup) -> None:
    import asyncio

    issuer = new_did()
    setup.registry.put(issuer.did, attribute(setup.root, issuer.did, "TI", ["X"]))
    results = await asyncio.gather(*[setup.trusted.is_trusted(issuer.did, "X")
                                     for _ in range(5)])
    assert results == [True] * 5
    assert setup.registry.hits == [issuer.did]
