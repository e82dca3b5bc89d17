"""OpenID4VP 1.0 interop: a wallet built on npm ``@openid4vc/openid4vp`` signs in at our verifier.

The wallet (``tests/interop/oid4vp/wallet.mjs``) runs under Node as a
subprocess. The library parses our ``openid4vp://`` URL, fetches our request
object from its ``request_uri``, checks it (``typ``, the
``decentralized_identifier`` client id against the signing DID URL, the
request's claims) and verifies its signature through a callback given the
public JWK that our resolver finds for the ``kid`` (Python resolves our DID);
it then builds the authorization response and posts it (``direct_post``) to
our response URI. The presentation in it is made by our holder code, with the
request's nonce and client id. Without Node.js and npm these tests are skipped
with the reason, except in CI, where they fail (see ``tests/machine.py``).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from identity.encoding import b64url_encode
from identity.jose import decode_jws
from identity.keys import public_jwk_from_key
from identity.oid4vp import StartedRequest
from identity.vp_issue import issue_jwt_vp_11
from tests.identity.dcp.conftest import World
from tests.identity.dcp.conftest import trust_anchor as trust_anchor
from tests.identity.dcp.conftest import world as world
from tests.identity.test_oid4vp_support import Site, onboarded, site
from tests.nodejs import INTEROP, node_with

WALLET_DIR = INTEROP / "oid4vp"
WALLET = WALLET_DIR / "wallet.mjs"

pytestmark = pytest.mark.node


@pytest.fixture(scope="session")
def node() -> str:
    """``node``, with the wallet's npm dependencies installed from the lock file."""
    return node_with(WALLET_DIR, "@openid4vc/openid4vp/package.json")


async def run_wallet(node: str, payload: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """Run the Node wallet (asynchronously: our verifier answers from this loop)."""
    process = await asyncio.create_subprocess_exec(
        node, str(WALLET), stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE)
    try:
        stdout, stderr = await asyncio.wait_for(
            process.communicate(json.dumps(payload).encode()), timeout=60)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert stdout, f"the wallet printed nothing; stderr: {stderr.decode()[-2000:]}"
    assert process.returncode is not None
    answer: dict[str, Any] = json.loads(stdout)
    return process.returncode, answer


async def _verifier_jwk(world: World, running: Site) -> dict[str, Any]:
    """The public JWK of our verifier's signing key, as our resolver finds it for the kid."""
    method = await world.resolver.verification_method(
        running.verifier.identity.signer.kid, "authentication")
    return dict(public_jwk_from_key(method.public_key))


async def _started(running: Site) -> StartedRequest:
    return await running.verifier.start(request_uri_base=running.url + "/oid4vp/requests",
                                        response_uri=running.url + "/oid4vp/response")


async def test_the_library_wallet_signs_an_organisation_in(world: World, node: str) -> None:
    async with site(world) as running:
        identity, record = await onboarded(world)
        started = await _started(running)
        vp = issue_jwt_vp_11(identity.signer, [str(record.raw)],
                             audience=running.verifier.client_id, nonce=started.nonce,
                             clock=world.clock)
        code, answer = await run_wallet(node, {
            "authorization_url": started.authorization_url,
            "verifier_jwk": await _verifier_jwk(world, running),
            "vp_token": {"membership": [vp]},
            "allow_insecure_urls": True,
        })
        assert code == 0, answer
        assert answer["client"] == {
            "prefix": "decentralized_identifier", "identifier": running.verifier.identity.did,
            "did_url": running.verifier.identity.signer.kid}
        assert answer["version"] == 100  # the library took the request for OpenID4VP 1.0 final
        assert answer["verified"] == [{"method": "did", "ok": True,
                                       "didUrl": running.verifier.identity.signer.kid}]
        assert answer["request"]["nonce"] == started.nonce
        assert answer["dcql"]["credentials"][0]["format"] == "jwt_vc_json"
        assert answer["response_fields"] == ["state", "vp_token"]
        assert (answer["status"], answer["body"]) == (200, {"signed_in": identity.did})
        outcome = await running.verifier.outcome(started.state)
        assert outcome is not None
        assert outcome.status == "done"
        assert outcome.result is not None
        assert outcome.result["legal_name"] == "Halden kommune"


async def test_the_library_wallet_refuses_a_tampered_request_object(
    world: World, node: str,
) -> None:
    async with site(world) as running:
        def tamper(token: str) -> str:
            header, _payload, signature = token.split(".")
            claims = decode_jws(token).claims()
            claims["response_uri"] = "http://127.0.0.1:9/collect"
            body = json.dumps(claims, separators=(",", ":")).encode()
            return ".".join([header, b64url_encode(body), signature])

        running.tamper = tamper
        started = await _started(running)
        code, answer = await run_wallet(node, {
            "authorization_url": started.authorization_url,
            "verifier_jwk": await _verifier_jwk(world, running),
            "vp_token": {"membership": ["not-sent"]},
            "allow_insecure_urls": True,
        })
        assert code == 1
        assert answer["error"]["stage"] == "resolve", answer
        assert answer["verified"] == [{"method": "did", "ok": False,
                                       "didUrl": running.verifier.identity.signer.kid}]
        outcome = await running.verifier.outcome(started.state)
        assert outcome is not None
        assert outcome.status == "pending"


