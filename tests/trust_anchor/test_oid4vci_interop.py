"""OID4VCI 1.0 interop: a wallet built on npm ``@openid4vc/openid4vci`` collects our credential.

The wallet (``tests/interop/oid4vci/wallet.mjs``) runs under Node as a
subprocess against a real trust anchor on loopback. Only its Ed25519 signer is
ours; offer resolution, metadata discovery, the token request, the nonce, the
key proof and the credential request are the library's own code. The npm
dependencies are installed on first use (``npm ci`` from the committed lock
file). Without Node.js and npm these tests are skipped with the reason,
except in CI, where they fail (see ``tests/machine.py``).
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from identity.resolver import DidResolver
from identity.status_check import StatusListChecker
from identity.vc_verify import CredentialVerifier
from servicekit.http import create_client_session
from tests.nodejs import node_with
from tests.trust_anchor.conftest import Applicant, TrustAnchor, apply, new_applicant

WALLET_DIR = Path(__file__).resolve().parents[1] / "interop" / "oid4vci"
WALLET = WALLET_DIR / "wallet.mjs"
LIBRARY = WALLET_DIR / "node_modules" / "@openid4vc" / "openid4vci" / "package.json"

pytestmark = pytest.mark.node


@pytest.fixture(scope="session")
def node() -> str:
    """``node``, with the wallet's npm dependencies installed from the lock file."""
    return node_with(WALLET_DIR, "@openid4vc/openid4vci/package.json")


async def run_wallet(node: str, applicant: Applicant, offer_uri: str,
                     tx_code: str | None) -> tuple[int, dict[str, Any]]:
    """Run the Node wallet; (exit code, its JSON answer).

    Asynchronous on purpose: the trust anchor answers from this same event loop.
    """
    payload = {
        "offer_uri": offer_uri,
        "tx_code": tx_code,
        "private_jwk": applicant.signer.key.export_private_jwk(),
        "kid": applicant.signer.kid,
        "allow_insecure_urls": True,  # the trust anchor is on http://127.0.0.1
    }
    process = await asyncio.create_subprocess_exec(
        node, str(WALLET),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        stdout, stderr = await asyncio.wait_for(
            process.communicate(json.dumps(payload).encode()), timeout=60)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert stdout, f"the wallet printed nothing; stderr: {stderr.decode()[-2000:]}"
    answer: dict[str, Any] = json.loads(stdout)
    assert process.returncode is not None
    return process.returncode, answer


async def approved_applicant(ta: TrustAnchor) -> tuple[Applicant, str, dict[str, Any]]:
    """Apply and have the operator approve over HTTP: (applicant, application id, approval)."""
    applicant = new_applicant()
    status, created = await apply(ta, applicant)
    assert status == 201, created
    status, approved = await ta.post(f"/admin/applications/{created['id']}/approve",
                                     {"reason": "registry extract checked"}, admin=True)
    assert status == 200, approved
    assert approved["tx_code"], "the interop tests expect a transaction code"
    return applicant, created["id"], approved


def _paths(answer: dict[str, Any]) -> list[str]:
    return [f"{t['method']} {t['url'].split('/', 3)[-1]}" for t in answer["trace"]]


@pytest.mark.parametrize("by", ["reference", "value"])
async def test_the_openid4vc_wallet_collects_a_membership_credential_that_verifies(
    trust_anchor: TrustAnchor, node: str, by: str,
) -> None:
    applicant, application_id, approved = await approved_applicant(trust_anchor)
    offer_id = approved["credential_offer_uri"].rsplit("%2F", 1)[-1]
    calls = [
        "GET .well-known/openid-credential-issuer",
        "GET .well-known/oauth-authorization-server",
        "POST oid4vci/token",
        "POST oid4vci/nonce",
        "POST oid4vci/credential",
    ]
    if by == "reference":
        offer = approved["credential_offer_uri"]
        calls.insert(0, f"GET oid4vci/offers/{offer_id}")
    else:  # the library URL-decodes an offer by value twice: the code must survive that
        offer = "openid-credential-offer://?credential_offer=" + quote(
            json.dumps(approved["credential_offer"]), safe="")
    started = time.monotonic()
    code, answer = await run_wallet(node, applicant, offer, approved["tx_code"])
    assert code == 0, answer.get("error")
    assert time.monotonic() - started < 30

    # The library took the 1.0 path (credential_configuration_id, not format) ...
    assert answer["version"] == "V1"
    assert answer["configuration_id"] == "MembershipCredential"
    assert _paths(answer) == calls
    token_request, credential_request = answer["trace"][-3], answer["trace"][-1]
    # The library repeats tx_code as user_pin and adds resource (RFC 8707): both accepted.
    assert token_request["fields"] == [
        "grant_type", "pre-authorized_code", "resource", "tx_code", "user_pin"]
    assert credential_request["fields"] == ["credential_configuration_id", "proofs"]
    assert answer["proof_header"] == {"alg": "EdDSA", "kid": applicant.signer.kid,
                                      "typ": "openid4vci-proof+jwt"}
    assert all(t["status"] == 200 for t in answer["trace"])
    assert all(t["content_type"].startswith("application/json") for t in answer["trace"])

    # ... and what it received is our MembershipCredential for the holder's DID.
    [credential] = answer["credentials"]
    async with create_client_session(guarded=True, allow_loopback=True) as session:
        resolver = DidResolver(session=session, allow_loopback=True)
        checker = StatusListChecker(session=session, allow_loopback=True, ttl=60)
        verified = await CredentialVerifier(resolver, status_checker=checker).verify(credential)
    assert verified.issuer == trust_anchor.did
    assert verified.subject_id == applicant.did
    assert verified.has_type("MembershipCredential")
    assert {s["statusPurpose"] for s in verified.status} == {"revocation", "suspension"}

    # The offer is spent: the same wallet cannot collect a second time.
    code, again = await run_wallet(node, applicant, offer, approved["tx_code"])
    assert code == 1
    assert again["error"]["stage"] == ("resolve-offer" if by == "reference" else "token")
    if by == "value":
        assert again["error"]["oauth_error"] == "invalid_grant"
    assert "credentials" not in again
    status, view = await trust_anchor.get(f"/admin/applications/{application_id}", admin=True)
    assert view["status"] == "active"


async def test_a_wrong_transaction_code_gets_the_wallet_an_error_and_no_credential(
    trust_anchor: TrustAnchor, node: str,
) -> None:
    applicant, _, approved = await approved_applicant(trust_anchor)
    wrong = f"{(int(approved['tx_code']) + 1) % 1_000_000:06d}"
    code, answer = await run_wallet(node, applicant, approved["credential_offer_uri"], wrong)

    assert code == 1
    assert "credentials" not in answer
    assert answer["error"]["stage"] == "token"
    assert answer["error"]["oauth_error"] == "invalid_grant"
    token_call = answer["trace"][-1]
    assert (token_call["method"], token_call["status"]) == ("POST", 400)
    assert token_call["url"].endswith("/oid4vci/token")
    assert not any(t["url"].endswith("/oid4vci/credential") for t in answer["trace"])
    # Nothing was delivered and the code was not burnt: the offer is still there
    # and the right transaction code still collects the credential.
    offer_url = answer["trace"][0]["url"]
    async with trust_anchor.http.get(offer_url) as response:
        assert response.status == 200
    code, answer = await run_wallet(node, applicant, approved["credential_offer_uri"],
                                    approved["tx_code"])
    assert code == 0, answer.get("error")
    assert len(answer["credentials"]) == 1
