"""The VC-API against the VC 2.0 data-model corpus: issue and verify, both proof forms.

For every rule in ``vc_corpus.CASES``: the valid credential is issued (201)
and the result verifies (200); the invalid one is refused at issue (422
problem+json with the rule's code and JSON pointer) and, signed by an issuer
of our own so that only the data model is wrong, at verify (400
``verified: false`` with the same code and pointer).
"""

from __future__ import annotations

import copy
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from identity.data_integrity import add_proof
from identity.jose import decode_jws
from identity.keys import KeyPair
from identity.signer import Signer
from identity.vc import envelope_credential
from servicekit.app import DB_ENGINE
from tests.conftest import Database, free_port
from tests.factories import trust_anchor_settings
from tests.trust_anchor.conftest import TrustAnchor, serving
from tests.trust_anchor.vc_corpus import (
    CASES,
    DEGREE_SCHEMA,
    GOOD_SRI,
    V2,
    Case,
    base_credential,
)
from trust_anchor.store.tables import issued_credentials, status_lists

DI = "eddsa-rdfc-2022"
FORMATS = ["vc+jwt", DI]


@pytest.fixture
async def anchor(tmp_path: Path, database: Database) -> AsyncIterator[TrustAnchor]:
    """A trust anchor holding the corpus's JSON Schema."""
    schemas = tmp_path / "schemas"
    schemas.mkdir()
    (schemas / "degree.json").write_text(json.dumps(DEGREE_SCHEMA))
    settings = trust_anchor_settings(tmp_path, database, free_port(),
                                     vc_api_schema_dir=schemas)
    async with serving(settings) as running:
        yield running


async def issue(ta: TrustAnchor, credential: dict[str, Any], proof_format: str
                ) -> tuple[int, dict[str, Any]]:
    status, answer = await ta.post("/credentials/issue", {
        "credential": credential, "options": {"proofFormat": proof_format}}, admin=True)
    return status, answer


async def verify(ta: TrustAnchor, credential: Any) -> tuple[int, dict[str, Any]]:
    async with ta.http.post(ta.url + "/credentials/verify",
                            json={"verifiableCredential": credential}) as response:
        answer: dict[str, Any] = await response.json(content_type=None)
        if response.status == 400:
            assert response.content_type == "application/problem+json"
        return response.status, answer


def sign_ourselves(credential: dict[str, Any], signer: Signer, proof_format: str) -> Any:
    """Secure ``credential`` without any data-model check (the JWS or the proof as such)."""
    if proof_format == "vc+jwt":
        return envelope_credential(signer.sign_jwt(credential, typ="vc+jwt"))
    return add_proof(credential, signer.key, verification_method=signer.kid)


@pytest.mark.parametrize("proof_format", FORMATS)
@pytest.mark.parametrize("case", CASES, ids=[c.rule for c in CASES])
async def test_issue_refuses_what_breaks_a_rule_and_secures_what_keeps_it(
    anchor: TrustAnchor, case: Case, proof_format: str
) -> None:
    valid = case.credential("valid", anchor.did)
    status, answer = await issue(anchor, valid, proof_format)
    assert status == 201, answer
    secured = answer["verifiableCredential"]
    status, result = await verify(anchor, secured)
    assert status == 200, result
    assert result["verified"] is True
    status, problem = await issue(anchor, case.credential("invalid", anchor.did), proof_format)
    assert status == 422, problem
    assert (problem["code"], problem["pointer"]) == (case.code, case.pointer), problem


@pytest.mark.parametrize("proof_format", FORMATS)
@pytest.mark.parametrize("case", CASES, ids=[c.rule for c in CASES])
async def test_verify_refuses_a_signed_credential_that_breaks_a_rule(
    anchor: TrustAnchor, case: Case, proof_format: str
) -> None:
    signer = Signer.for_did_key(KeyPair.generate())
    valid = case.credential("valid", signer.did)
    status, result = await verify(anchor, sign_ourselves(valid, signer, proof_format))
    assert status == 200, result
    invalid = case.credential("invalid", signer.did)
    if proof_format == DI:
        # Our signer refuses JSON-LD it could not canonicalize: sign the valid
        # credential, then break it (the data model is checked before the proof).
        secured = sign_ourselves(valid, signer, DI)
        invalid = {**invalid, "proof": secured["proof"]}
        secured = invalid
    else:
        secured = sign_ourselves(invalid, signer, proof_format)
    status, result = await verify(anchor, secured)
    assert status == 400, result
    assert result["verified"] is False
    error = result["errors"][0]
    assert (error["code"], error.get("pointer")) == (case.code, case.pointer), result
    assert (result["code"], result["pointer"]) == (case.code, case.pointer)


FULL: dict[str, Any] = {
    "@context": [V2, "https://www.w3.org/ns/credentials/examples/v2"],
    "id": "urn:uuid:7a6f4f3e-4e1b-4d0a-9b7f-3f0c2a1d5e6b",
    "type": ["VerifiableCredential", "ExampleDegreeCredential", "ExampleAlumniCredential"],
    "name": [{"@value": "Bachelorgrad", "@language": "nb"}, "Bachelor degree"],
    "description": "A degree, issued as given",
    "validFrom": "2024-01-01T00:00:00+01:00",
    "validUntil": "2099-01-01T00:00:00Z",
    "credentialSubject": [{"degree": "BSc"}, {"id": "did:example:alice", "degree": "MSc"}],
    "credentialSchema": {"id": "https://schemas.example.org/degree-list.json",
                         "type": "JsonSchema"},
    "credentialStatus": {"id": "https://status.example.org/1#4", "type": "ExampleStatusEntry"},
    "termsOfUse": {"type": "ExampleTermsOfUse", "id": "https://example.org/tou"},
    "evidence": [{"type": ["ExampleEvidence"], "id": "https://example.org/evidence/1"}],
    "refreshService": {"type": "ExampleRefreshService", "id": "https://example.org/refresh"},
    "relatedResource": [{"id": "https://example.org/logo.png",
                         "digestSRI": GOOD_SRI}],
}


def payload(secured: dict[str, Any]) -> dict[str, Any]:
    if secured.get("type") == "EnvelopedVerifiableCredential":
        return dict(decode_jws(secured["id"].split(",", 1)[1]).claims())
    return {k: v for k, v in secured.items() if k != "proof"}


@pytest.mark.parametrize("proof_format", FORMATS)
async def test_the_callers_credential_is_secured_as_given(
    anchor: TrustAnchor, proof_format: str
) -> None:
    given = copy.deepcopy(FULL)
    given["issuer"] = {"id": anchor.did, "name": "Data space operator"}
    status, answer = await issue(anchor, given, proof_format)
    assert status == 201, answer
    issued = payload(answer["verifiableCredential"])
    ours = issued["credentialStatus"][1:]
    assert issued["credentialStatus"][0] == FULL["credentialStatus"]
    assert sorted(entry["statusPurpose"] for entry in ours) == ["revocation", "suspension"]
    assert {k: v for k, v in issued.items() if k != "credentialStatus"} == {
        k: v for k, v in given.items() if k != "credentialStatus"}
    status, result = await verify(anchor, answer["verifiableCredential"])
    assert status == 200, result


async def test_the_issuer_is_added_only_when_absent(anchor: TrustAnchor) -> None:
    status, answer = await issue(anchor, base_credential(), DI)
    assert status == 201, answer
    assert answer["verifiableCredential"]["issuer"] == anchor.did
    assert answer["verifiableCredential"]["@context"] == base_credential()["@context"]


async def test_the_trust_anchors_own_schemas_are_held_and_nothing_is_stored_on_refusal(
    anchor: TrustAnchor,
) -> None:
    holder = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"
    schema_url = f"{anchor.url}/schemas/MembershipCredential.json"
    credential = {
        "@context": [V2, "https://www.w3.org/ns/credentials/undefined-terms/v2"],
        "type": ["VerifiableCredential", "MembershipCredential"],
        "credentialSchema": {"id": schema_url, "type": "JsonSchema"},
        "credentialSubject": {"id": holder, "legalName": "Halden kommune",
                              "organisationNumber": "959 159 092", "country": "NO",
                              "roles": ["consumer"], "memberSince": "2025-01-01T00:00:00Z"},
    }
    for proof_format in FORMATS:
        status, answer = await issue(anchor, credential, proof_format)
        assert status == 201, answer
    before = await stored(anchor)
    assert len(before[0]) == 2
    wrong = copy.deepcopy(credential)
    wrong["credentialSubject"]["country"] = "Norway"
    status, problem = await issue(anchor, wrong, DI)
    assert (status, problem["code"]) == (422, "schema-mismatch")
    assert problem["pointer"] == "/credentialSubject/country"
    assert await stored(anchor) == before


async def stored(ta: TrustAnchor) -> tuple[list[str], list[tuple[str, int]]]:
    """The recorded credentials and the status lists' allocation counters."""
    async with ta.server.app[DB_ENGINE].connect() as conn:
        credentials = (await conn.execute(sa.select(issued_credentials.c.id))).scalars()
        lists = await conn.execute(sa.select(status_lists.c.id, status_lists.c.allocated))
        return sorted(credentials), sorted((row.id, row.allocated) for row in lists)


async def test_settings_choose_the_format_and_narrow_the_types(
    tmp_path: Path, database: Database
) -> None:
    settings = trust_anchor_settings(tmp_path, database, free_port(), vc_api_proof_format=DI,
                                     vc_api_types=["ExampleDegreeCredential"])
    async with serving(settings) as ta:
        body = {"credential": base_credential()}
        status, answer = await ta.post("/credentials/issue", body, admin=True)
        assert status == 201, answer
        assert answer["verifiableCredential"]["proof"]["cryptosuite"] == DI  # the setting
        status, answer = await ta.post("/credentials/issue", body, admin=True,
                                       headers={"Accept": "application/vc+jwt"})
        assert answer["verifiableCredential"]["type"] == "EnvelopedVerifiableCredential"
        body["options"] = {"proofFormat": DI}  # options win over Accept
        status, answer = await ta.post("/credentials/issue", body, admin=True,
                                       headers={"Accept": "application/vc+jwt"})
        assert "proof" in answer["verifiableCredential"]
        other = base_credential()
        other["type"].append("ExampleAlumniCredential")
        status, answer = await ta.post("/credentials/issue", {"credential": other},
                                       admin=True)
        assert (status, answer["code"], answer["pointer"]) == (
            403, "credential-type-not-allowed", "/type")
        only_vc = {**base_credential(), "type": ["VerifiableCredential"]}
        status, answer = await ta.post("/credentials/issue", {"credential": only_vc},
                                       admin=True)
        assert status == 201, answer
