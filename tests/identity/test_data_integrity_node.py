"""``eddsa-rdfc-2022`` against Digital Bazaar's implementation under Node.

``@digitalbazaar/vc`` with ``@digitalbazaar/data-integrity`` and
``@digitalbazaar/eddsa-rdfc-2022-cryptosuite`` (JSON-LD and RDFC-1.0 from
``jsonld``/``rdf-canonize``): what we sign they verify, what they sign we
verify, and a tampered credential fails on both sides. The npm dependencies
are installed on first use (``npm ci`` from the committed lock file).
Without Node.js and npm these tests are skipped with the reason, except in
CI, where they fail (see ``tests/machine.py``).
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from identity import CredentialFormat, CredentialVerifier, KeyPair, Signer
from identity.data_integrity import UNDEFINED_TERMS_V2_CONTEXT, issue_data_integrity
from identity.jsonld import canonicalize
from identity.vc import build_credential
from tests.identity.conftest import refusal
from tests.nodejs import NODE_SCRIPTS, run_script

SCRIPT = NODE_SCRIPTS / "data-integrity.mjs"

pytestmark = pytest.mark.node


def run(node: str, command: str, payload: dict[str, Any]) -> dict[str, Any]:
    return run_script(node, SCRIPT, command, payload)


def credential(issuer: str) -> dict[str, Any]:
    now = datetime.now(UTC).replace(microsecond=0)  # Node checks against the real clock
    return build_credential(
        issuer=issuer,
        subject={
            "id": "did:example:company",
            "memberOf": "dataspace",
            "legalName": "Halden kommune – «data» \t\u0001",
            "address": {"locality": "Halden", "country": "NO"},
            "roles": ["provider", "consumer"],
        },
        types=["MembershipCredential"],
        id="urn:uuid:4f0d3c1e-6b8a-4a55-9d0e-2f7c1f1a9b00",
        valid_from=now - timedelta(minutes=5),
        valid_until=now + timedelta(days=30),
        contexts=[UNDEFINED_TERMS_V2_CONTEXT],
    )


@pytest.fixture
def real_time_verifier(resolver: Any) -> CredentialVerifier:
    return CredentialVerifier(resolver)


def test_digital_bazaar_verifies_ours_and_rejects_it_tampered(node: str) -> None:
    issuer = Signer.for_did_key(KeyPair.generate())
    signed = issue_data_integrity(credential(issuer.did), issuer)
    assert run(node, "verify", {"credential": signed}) == {"verified": True}
    tampered = copy.deepcopy(signed)
    tampered["credentialSubject"]["address"]["country"] = "SE"
    answer = run(node, "verify", {"credential": tampered})
    assert answer["verified"] is False
    assert "signature" in answer["error"].lower()


async def test_we_verify_digital_bazaars_and_reject_it_tampered(
    node: str, real_time_verifier: CredentialVerifier
) -> None:
    theirs = run(node, "sign", {"credential": credential("did:example:replaced")})
    signed = theirs["credential"]
    assert signed["proof"]["cryptosuite"] == "eddsa-rdfc-2022"
    assert signed["proof"]["verificationMethod"].startswith(theirs["did"] + "#")
    result = await real_time_verifier.verify(signed)
    assert result.format is CredentialFormat.LDP_VC
    assert result.issuer == theirs["did"]
    assert result.claims["legalName"] == "Halden kommune – «data» \t\u0001"
    tampered = copy.deepcopy(signed)
    tampered["credentialSubject"]["roles"].append("admin")
    assert await refusal(real_time_verifier.verify(tampered)) == "proof-invalid"


def test_canonical_forms_agree_with_rdf_canonize(node: str) -> None:
    nested = credential("did:example:issuer")
    nested["credentialSubject"]["members"] = [{"name": "b\b"}, {"name": "a\f"}, {"name": "c\x7f"}]
    for document in (nested, {**nested, "credentialSubject": [{"name": "x"}, {"name": "x"}]}):
        assert canonicalize(document) == run(node, "canonize", {"document": document})["nquads"]
