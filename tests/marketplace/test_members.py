"""The marketplace is a member of the data space, and members call it with DCP.

A real trust anchor; the marketplace applies at start-up with its own DID
and the role ``marketplace``, the operator approves, and the trust anchor
delivers its MembershipCredential over DCP issuance. Members call the
marketplace with DCP self-issued tokens and are identified as themselves.
"""

from __future__ import annotations

import asyncio
import base64
import time
from pathlib import Path
from urllib.parse import quote

from identity.jose import decode_jws
from tests.conftest import Database
from tests.marketplace.members import MARKETPLACE_NAME, REFRESH, MemberSpace, member_space

MEMBER_ROUTE = "/membership"


async def _whoami(space: MemberSpace, member_name: str) -> tuple[int, dict[str, str]]:
    """Who the marketplace takes a member for: the identify seam, over HTTP."""
    member = space.members[member_name]
    status, body, _ = await member.call("GET", MEMBER_ROUTE)
    return status, body


async def test_the_marketplace_applies_is_approved_and_is_an_accredited_issuer(
        tmp_path: Path, database: Database) -> None:
    async with member_space(tmp_path, database) as space:
        status, body, _ = await space.marketplace.call("GET", "/membership",
                                                       headers=space.marketplace.admin)
        assert status == 200, body
        assert body["status"] == "active"
        assert body["did"] == space.marketplace.did
        assert body["credential"]["issuer"] == space.trust_anchor.did
        assert "MembershipCredential" in body["credential"]["types"]
        assert body["dcp_request"]["status"] == "ISSUED"
        # The trust anchor lists it with its role, and its registry accredits it.
        status, participant = await space.trust_anchor.get(
            f"/participants/{quote(space.marketplace.did, safe='')}")
        assert status == 200, participant
        assert participant["roles"] == ["marketplace"]
        assert participant["legal_name"] == MARKETPLACE_NAME
        status, issuer = await space.trust_anchor.get(
            f"/v4/issuers/{quote(space.marketplace.did, safe='')}")
        assert status == 200, issuer
        assert [a["issuerType"] for a in issuer["attributes"]] == ["TI"]
        accreditation = decode_jws(
            base64.b64decode(issuer["attributes"][0]["body"]).decode()).claims()
        types = accreditation["vc"]["credentialSubject"]["accreditedFor"][0]["types"] \
            if "vc" in accreditation else accreditation["credentialSubject"]["accreditedFor"][0][
                "types"]
        assert any(t.startswith("DataProductPurchase") for t in types), types
        # Its Credential Service is in its DID document.
        status, document, _ = await space.marketplace.call("GET", "/.well-known/did.json")
        assert {"type": "CredentialService",
                "serviceEndpoint": f"{space.marketplace.url}/dcp"}.items() <= next(
            s for s in document["service"] if s["type"] == "CredentialService").items()


async def test_a_member_is_identified_by_its_dcp_token(tmp_path: Path,
                                                       database: Database) -> None:
    async with member_space(tmp_path, database) as space:
        halden = await space.member("halden", roles=["provider"])
        analyse = await space.member("analyse", roles=["consumer"])
        status, body, _ = await halden.call("GET", "/me")
        assert status == 200, body
        assert body == {"kind": "member", "did": halden.did, "legal_name": "Halden kommune",
                        "roles": ["provider"]}
        status, body, _ = await analyse.call("GET", "/me")
        assert status == 200, body
        assert (body["did"], body["legal_name"]) == (analyse.did, "Analyse AS")
        # A token is single-use (replay) and addressed to the marketplace only.
        headers = await halden.headers()
        status, body, _ = await space.marketplace.call("GET", "/me", headers=headers)
        assert status == 200, body
        status, body, _ = await space.marketplace.call("GET", "/me", headers=headers)
        assert status == 401, body
        status, body, _ = await space.marketplace.call(
            "GET", "/me", headers=await halden.headers(audience=space.trust_anchor.did))
        assert status == 401, body
        # Members are not the operator.
        status, body, _ = await halden.call("GET", "/membership")
        assert status == 403, body
        assert body["code"] == "operator-only"


async def test_an_unknown_bearer_and_no_bearer(tmp_path: Path, database: Database) -> None:
    async with member_space(tmp_path, database) as space:
        status, body, headers = await space.marketplace.call(
            "GET", "/me", headers={"Authorization": "Bearer not-a-token"})
        assert status == 401, body
        assert headers["Content-Type"].startswith("application/problem+json")
        status, body, _ = await space.marketplace.call("GET", "/me")
        assert (status, body) == (200, {"kind": "anonymous", "roles": []})
        status, body, _ = await space.marketplace.call("GET", "/me",
                                                       headers=space.marketplace.admin)
        assert (status, body["kind"]) == (200, "operator")
        status, body, _ = await space.marketplace.call("GET", "/membership")
        assert status == 401, body


async def test_a_revoked_member_is_refused_within_one_refresh(tmp_path: Path,
                                                              database: Database) -> None:
    async with member_space(tmp_path, database) as space:
        halden = await space.member("halden", roles=["provider"])
        status, body, _ = await halden.call("GET", "/me")
        assert status == 200, body
        await space.revoke(halden)
        deadline = time.monotonic() + 3 * REFRESH + 2
        while True:
            status, body, _ = await halden.call("GET", "/me")
            if status != 200 or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.2)
        # Refused for the credential's status (the verifier's 401: the proof is no good).
        assert (status, body["code"]) == (401, "credential-revoked"), body


async def test_bad_input_to_the_membership_and_credential_service_routes(
        tmp_path: Path, database: Database) -> None:
    async with member_space(tmp_path, database) as space:
        market = space.marketplace
        halden = await space.member("halden", roles=["provider"])
        _, before, _ = await market.call("GET", "/membership", headers=market.admin)
        for body in ({"bogus": 1}, {"tx_code": ""}, {"tx_code": "x" * 65}, ["tx_code"]):
            status, answer, _ = await market.call("POST", "/membership/collect", body,
                                                  headers=market.admin)
            assert status == 400, (body, answer)
            assert answer["status"] == 400
        status, answer, _ = await halden.call("POST", "/membership/collect", {})
        assert (status, answer["code"]) == (403, "operator-only")
        _, after, _ = await market.call("GET", "/membership", headers=market.admin)
        assert after["credential"] == before["credential"]
        assert after["dcp_request"] == before["dcp_request"]

        query = {"@context": ["https://w3id.org/dspace-dcp/v1.0/dcp.jsonld"],
                 "type": "PresentationQueryMessage",
                 "scope": ["org.eclipse.dspace.dcp.vc.type:MembershipCredential:read"]}
        status, answer, _ = await market.call("POST", "/dcp/presentations/query", query)
        assert (status, answer["code"]) == (401, "authorization-missing")
        # A member's token carries an access token the member issued, not one of ours.
        status, answer, _ = await halden.call("POST", "/dcp/presentations/query", query)
        assert status == 401, answer
        async with market.http.post(f"{market.url}/dcp/presentations/query",
                                    data=b"{not json", headers=await halden.headers()) as bad:
            assert bad.status == 400, await bad.text()
            assert bad.content_type == "application/problem+json"
        delivery = {"@context": ["https://w3id.org/dspace-dcp/v1.0/dcp.jsonld"],
                    "type": "CredentialMessage", "issuerPid": "x", "holderPid": "y",
                    "status": "ISSUED", "credentials": []}
        status, answer, _ = await halden.call("POST", "/dcp/credentials", delivery)
        assert status == 401, answer
        _, after, _ = await market.call("GET", "/membership", headers=market.admin)
        assert after["credential"] == before["credential"]
