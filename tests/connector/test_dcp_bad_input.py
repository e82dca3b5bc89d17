"""Bad input to the holder and membership endpoints: problem+json, and nothing stored changes.

One connector without a trust anchor (``fixed-token`` mode): its Credential
Service and its credential and membership management routes exist all the
same, and refuse what they cannot take.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import pytest_asyncio

from identity import KeyPair, Signer, build_credential, create_self_issued_token, issue_vc_jwt
from identity.dcp import credential_message, issue_access_token
from tests.connector.conftest import StoreFactory
from tests.connector.harness import RunningConnector, start_connector
from tests.factories import connector_settings

pytestmark = pytest.mark.asyncio(loop_scope="module")
DID = "did:web:holder.example"
ISSUER = Signer.for_did_key(KeyPair.generate())


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def cut(module_stores: StoreFactory,
              tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[RunningConnector]:
    running = await start_connector(connector_settings(
        "holder", tmp_path_factory.mktemp("holder"), module_stores(), did=DID))
    yield running
    await running.stop()


def _credential(subject: str = DID, **claims: Any) -> str:
    return issue_vc_jwt(build_credential(issuer=ISSUER.did, types=["MembershipCredential"],
                                         subject={"id": subject, **claims}), ISSUER)


async def _problem(http: aiohttp.ClientSession, method: str, url: str, *, status: int,
                   code: str, json: Any = None, data: bytes | None = None,
                   headers: dict[str, str] | None = None) -> dict[str, Any]:
    async with http.request(method, url, json=json, data=data, headers=headers) as resp:
        body = await resp.json()
        assert resp.status == status, body
        assert resp.content_type == "application/problem+json"
    assert body["code"] == code, body
    return dict(body)


async def _stored(cut: RunningConnector, http: aiohttp.ClientSession) -> list[dict[str, Any]]:
    return list((await cut.api(http, "GET", "/api/v1/credentials", expect=200))["items"])


async def test_adding_a_credential_refuses_what_is_not_ours_or_not_valid(
    cut: RunningConnector, http: aiohttp.ClientSession
) -> None:
    url = cut.management_url + "/api/v1/credentials"
    admin = cut.admin_headers
    before = await _stored(cut, http)
    await _problem(http, "POST", url, status=400, code="malformed-json", data=b"{nope",
                   headers=admin | {"Content-Type": "application/json"})
    await _problem(http, "POST", url, status=400, code="validation-failed", headers=admin,
                   json={"credential": _credential(), "extra": 1})
    await _problem(http, "POST", url, status=400, code="validation-failed", headers=admin,
                   json={"credential": 42})
    await _problem(http, "POST", url, status=400, code="credential-invalid", headers=admin,
                   json={"credential": "eyJhbGciOiJub25lIn0.e30."})
    tampered = _credential()[:-4] + "AAAA"
    await _problem(http, "POST", url, status=400, code="credential-invalid", headers=admin,
                   json={"credential": tampered})
    await _problem(http, "POST", url, status=400, code="credential-not-ours", headers=admin,
                   json={"credential": _credential("did:web:someone-else.example")})
    assert await _stored(cut, http) == before
    await _problem(http, "GET", url + "?limit=0", status=400, code="paging-invalid",
                   headers=admin)
    await _problem(http, "GET", url + "/nope", status=404, code="credential-not-found",
                   headers=admin)
    await _problem(http, "DELETE", url + "/nope", status=404, code="credential-not-found",
                   headers=admin)

    credential = _credential(legalName="Holder AS")
    added = await cut.api(http, "POST", "/api/v1/credentials", expect=201,
                          json={"credential": credential})
    same = await cut.api(http, "POST", "/api/v1/credentials", expect=201,
                         json={"credential": credential})
    other = await cut.api(http, "POST", "/api/v1/credentials", expect=201,
                          json={"credential": _credential(legalName="Other AS")})
    assert added["claims"]["legalName"] == "Holder AS"
    assert added["types"] == ["MembershipCredential"]
    assert same["id"] == added["id"]  # the same credential is stored once
    assert len(await _stored(cut, http)) == len(before) + 2
    full = await cut.api(http, "GET", f"/api/v1/credentials/{added['id']}", expect=200)
    assert full["raw"] == credential
    for record in (added, other):
        await cut.api(http, "DELETE", f"/api/v1/credentials/{record['id']}", expect=204)
    assert await _stored(cut, http) == before


async def test_membership_needs_valid_input_and_a_trust_anchor(
    cut: RunningConnector, http: aiohttp.ClientSession
) -> None:
    base = cut.management_url + "/api/v1/membership"
    admin = cut.admin_headers
    good = {"legal_name": "Holder AS", "organisation_number": "912 345 678", "country": "NO",
            "contact": {"name": "Kari", "email": "kari@example.no"}, "roles": ["consumer"]}
    for bad in ({**good, "country": "Norway"}, {**good, "roles": []},
                {**good, "roles": ["operator"]}, {**good, "contact": {"name": "K"}},
                {**good, "contact": {"name": "K", "email": "not-an-email"}},
                {**good, "organisation_number": "<script>"}, {**good, "did": "did:key:x"},
                {k: v for k, v in good.items() if k != "legal_name"}):
        await _problem(http, "POST", base + "/apply", status=400, code="validation-failed",
                       json=bad, headers=admin)
    await _problem(http, "POST", base + "/apply", status=409,
                   code="trust-anchor-not-configured", json=good, headers=admin)
    for bad_collect in ({"via": "carrier-pigeon"}, {"tx_code": ""}, {"tx_code": 123456},
                        {"tx_code": "1", "offer": "x"}):
        await _problem(http, "POST", base + "/collect", status=400, code="validation-failed",
                       json=bad_collect, headers=admin)
    await _problem(http, "POST", base + "/collect", status=409,
                   code="trust-anchor-not-configured", json={"tx_code": "123456"},
                   headers=admin)
    status = await cut.api(http, "GET", "/api/v1/membership", expect=200)
    assert status["status"] == "none"
    assert status["application_id"] is None
    assert status["did"] == DID


async def test_the_credential_service_refuses_unauthenticated_and_malformed_calls(
    cut: RunningConnector, http: aiohttp.ClientSession
) -> None:
    query = cut.base_url + "/dcp/presentations/query"
    store = cut.base_url + "/dcp/credentials"
    message = {"@context": ["https://w3id.org/dspace-dcp/v1.0/dcp.jsonld"],
               "type": "PresentationQueryMessage",
               "scope": ["org.eclipse.dspace.dcp.vc.type:MembershipCredential:read"]}
    await _problem(http, "POST", query, status=401, code="authorization-missing",
                   json=message)
    await _problem(http, "POST", query, status=401, code="authorization-missing",
                   json=message, headers={"Authorization": "Basic dXNlcjpwdw=="})
    await _problem(http, "POST", query, status=400, code="malformed-json", data=b"[",
                   headers={"Content-Type": "application/json"})
    stranger = Signer.for_did_key(KeyPair.generate())
    # A verifier's own token without the access token we would have given it.
    bare = create_self_issued_token(stranger, DID)
    await _problem(http, "POST", query, status=401, code="token-missing", json=message,
                   headers={"Authorization": f"Bearer {bare}"})
    # An access token we never issued.
    forged = issue_access_token(stranger, stranger.did, ["MembershipCredential"])
    token = create_self_issued_token(stranger, DID, token=forged)
    await _problem(http, "POST", query, status=401, code="access-token-invalid",
                   json=message, headers={"Authorization": f"Bearer {token}"})

    before = await _stored(cut, http)
    delivery = credential_message(
        issuer_pid="r-1", holder_pid="urn:uuid:never-asked", status="ISSUED",
        credentials=[{"credentialType": "MembershipCredential", "payload": _credential(),
                      "format": "vc+jwt"}])
    await _problem(http, "POST", store, status=401, code="authorization-missing",
                   json=delivery)
    await _problem(http, "POST", store, status=400, code="malformed-json", data=b"{",
                   headers={"Content-Type": "application/json"})
    # A well-formed delivery from a real issuer, with a write token of ours, but for a
    # request we never made: refused, nothing stored.
    write = issue_access_token(cut.plane.signer, ISSUER.did,
                               ["org.eclipse.dspace.dcp.vc.type:MembershipCredential:write"])
    issuer_token = create_self_issued_token(ISSUER, DID, token=write)
    await _problem(http, "POST", store, status=404, code="credential-request-not-found",
                   json=delivery, headers={"Authorization": f"Bearer {issuer_token}"})
    again = create_self_issued_token(ISSUER, DID, token=write)
    await _problem(http, "POST", store, status=400, code="dcp-schema-violation",
                   json={**delivery, "status": "MAYBE"},
                   headers={"Authorization": f"Bearer {again}"})
    assert await _stored(cut, http) == before
