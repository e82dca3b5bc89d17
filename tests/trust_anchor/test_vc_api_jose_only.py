"""The VC-API with what only a ``vc+jwt`` can secure (``vc_corpus.JOSE_CASES``).

A language value with a base direction (``@direction``) is valid VC 2.0 data:
issued as a ``vc+jwt`` it is signed as written and verifies; asked for as
Data Integrity it is refused before anything is signed or recorded, because
RDF canonicalization would drop the direction from what the proof covers.
"""

from __future__ import annotations

import pytest

from tests.trust_anchor.conftest import TrustAnchor
from tests.trust_anchor.vc_corpus import JOSE_CASES, Case


@pytest.mark.parametrize("case", JOSE_CASES, ids=[c.rule for c in JOSE_CASES])
async def test_issue_as_vc_jwt_and_verify_refuse_data_integrity(
    trust_anchor: TrustAnchor, case: Case
) -> None:
    valid = case.credential("valid", trust_anchor.did)
    status, answer = await trust_anchor.post("/credentials/issue", {
        "credential": valid, "options": {"proofFormat": "vc+jwt"}}, admin=True)
    assert status == 201, answer
    status, result = await trust_anchor.post("/credentials/verify", {
        "verifiableCredential": answer["verifiableCredential"]})
    assert (status, result["verified"]) == (200, True), result

    status, problem = await trust_anchor.post("/credentials/issue", {
        "credential": case.credential("invalid", trust_anchor.did),
        "options": {"proofFormat": "vc+jwt"}}, admin=True)
    assert (status, problem["code"], problem["pointer"]) == (422, case.code, case.pointer)

    status, problem = await trust_anchor.post("/credentials/issue", {
        "credential": valid, "options": {"proofFormat": "eddsa-rdfc-2022"}}, admin=True)
    assert (status, problem["code"]) == (400, "credential-invalid"), problem
    assert "would not be signed" in problem["detail"]
