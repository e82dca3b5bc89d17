"""The VC-API against Digital Bazaar's VC library under Node (``tests/interop/node/vc-api.mjs``).

What the trust anchor issues through ``/credentials/issue`` (eddsa-rdfc-2022),
and presentations our holders sign, verify with ``@digitalbazaar/vc``; what
that library issues and presents verifies at ``/credentials/verify`` and
``/presentations/verify`` (with its challenge and domain). The trust anchor
here adds no status entries (``TA_VC_API_STATUS=false``): checking them is
the status-list interop test's business.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from identity.keys import KeyPair
from identity.signer import Signer
from identity.vp_issue import issue_vp_data_integrity
from tests.conftest import Database, free_port
from tests.factories import trust_anchor_settings
from tests.nodejs import NODE_SCRIPTS, run_script
from tests.trust_anchor.conftest import TrustAnchor, serving
from tests.trust_anchor.vc_corpus import base_credential

SCRIPT = NODE_SCRIPTS / "vc-api.mjs"
DI = "eddsa-rdfc-2022"
DOMAIN = "https://verifier.example.org"

pytestmark = pytest.mark.node


async def run(node: str, command: str, payload: dict[str, Any]) -> dict[str, Any]:
    return await asyncio.to_thread(run_script, node, SCRIPT, command, payload)


@pytest.fixture
async def anchor(tmp_path: Path, database: Database) -> AsyncIterator[TrustAnchor]:
    settings = trust_anchor_settings(tmp_path, database, free_port(), vc_api_status=False)
    async with serving(settings) as running:
        yield running


async def issued(ta: TrustAnchor, subject: str | None = None) -> dict[str, Any]:
    credential = base_credential()
    credential["validFrom"] = "2025-01-01T00:00:00Z"
    if subject is not None:
        credential["credentialSubject"]["id"] = subject
    status, answer = await ta.post("/credentials/issue", {
        "credential": credential, "options": {"proofFormat": DI}}, admin=True)
    assert status == 201, answer
    secured: dict[str, Any] = answer["verifiableCredential"]
    assert "credentialStatus" not in secured
    return secured


async def did_documents(ta: TrustAnchor) -> dict[str, Any]:
    status, document = await ta.get("/.well-known/did.json")
    assert status == 200
    return {ta.did: document}


async def test_digital_bazaar_verifies_what_the_trust_anchor_issues(
    node: str, anchor: TrustAnchor
) -> None:
    secured = await issued(anchor)
    documents = await did_documents(anchor)
    answer = await run(node, "verify-credential", {"credential": secured, "documents": documents})
    assert answer == {"verified": True}
    tampered = copy.deepcopy(secured)
    tampered["credentialSubject"]["degree"] = "Doctor of Philosophy"
    answer = await run(node, "verify-credential", {"credential": tampered,
                                                   "documents": documents})
    assert answer["verified"] is False


async def test_digital_bazaar_verifies_our_holders_presentation(
    node: str, anchor: TrustAnchor
) -> None:
    holder = Signer.for_did_key(KeyPair.generate())
    secured = await issued(anchor, holder.did)
    presentation = issue_vp_data_integrity(holder, [secured], domain=DOMAIN, challenge="n-7")
    documents = await did_documents(anchor)
    answer = await run(node, "verify-presentation", {
        "presentation": presentation, "challenge": "n-7", "domain": DOMAIN,
        "documents": documents})
    assert answer == {"verified": True}
    answer = await run(node, "verify-presentation", {
        "presentation": presentation, "challenge": "n-8", "domain": DOMAIN,
        "documents": documents})
    assert answer["verified"] is False


async def test_we_verify_digital_bazaars_credentials_and_presentations(
    node: str, anchor: TrustAnchor
) -> None:
    theirs = await run(node, "issue", {"credential": {
        **base_credential(), "validFrom": "2025-01-01T00:00:00Z"}})
    credential = theirs["credential"]
    assert credential["proof"]["cryptosuite"] == DI
    status, answer = await anchor.post("/credentials/verify", {"verifiableCredential": credential})
    assert status == 200, answer
    assert answer["credential"]["issuer"] == theirs["did"]
    tampered = copy.deepcopy(credential)
    tampered["credentialSubject"]["degree"] = "Doctor of Philosophy"
    status, answer = await anchor.post("/credentials/verify", {"verifiableCredential": tampered})
    assert (status, answer["errors"][0]["code"]) == (400, "proof-invalid")

    presented = await run(node, "present", {"credentials": [credential], "challenge": "n-1",
                                            "domain": DOMAIN, "holder": True})
    presentation = presented["presentation"]
    assert presentation["proof"]["proofPurpose"] == "authentication"
    for options, expected in (
        ({"challenge": "n-1", "domain": DOMAIN}, 200),
        ({"challenge": "n-2", "domain": DOMAIN}, 400),
        ({"challenge": "n-1", "domain": "https://elsewhere.example.org"}, 400),
    ):
        status, answer = await anchor.post("/presentations/verify", {
            "verifiablePresentation": presentation, "options": options})
        assert status == expected, answer
    assert answer["errors"][0]["code"] == "domain-mismatch"
    status, answer = await anchor.post("/presentations/verify", {
        "verifiablePresentation": presentation, "options": {"challenge": "n-1"}})
    assert answer["holder"] == presented["did"]
    assert answer["credentials"][0]["issuer"] == theirs["did"]


async def test_presentations_signed_with_the_draft_eddsa_2022_suite_verify(
    node: str, anchor: TrustAnchor
) -> None:
    """The W3C VC 2.0 test suite signs its presentations with ``eddsa-2022``."""
    theirs = await run(node, "issue", {"cryptosuite": "eddsa-2022", "credential": {
        **base_credential(), "validFrom": "2025-01-01T00:00:00Z"}})
    assert theirs["credential"]["proof"]["cryptosuite"] == "eddsa-2022"
    presented = await run(node, "present", {
        "credentials": [theirs["credential"]], "challenge": "n-3", "domain": DOMAIN,
        "holder": True, "cryptosuite": "eddsa-2022"})
    options = {"challenge": "n-3", "domain": DOMAIN}
    status, answer = await anchor.post("/presentations/verify", {
        "verifiablePresentation": presented["presentation"], "options": options})
    assert status == 200, answer
    tampered = copy.deepcopy(presented["presentation"])
    tampered["verifiableCredential"][0]["credentialSubject"]["degree"] = "PhD"
    status, answer = await anchor.post("/presentations/verify", {
        "verifiablePresentation": tampered, "options": options})
    assert (status, answer["errors"][0]["code"]) == (400, "proof-invalid")
