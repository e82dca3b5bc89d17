"""The EBSI TIR v4 registry, the participant list, and accredited issuance."""

from __future__ import annotations

import base64
import hashlib
from typing import Any
from urllib.parse import quote

from identity.cache import TokenCache
from identity.keys import KeyPair
from identity.resolver import DidResolver
from identity.self_issued import create_self_issued_token
from identity.signer import Signer
from identity.vc_verify import CredentialVerifier
from servicekit.http import create_client_session
from tests.trust_anchor.conftest import TrustAnchor, apply, new_applicant

ATTRIBUTE_FIELDS = {"hash", "body", "issuerType", "tao", "rootTao"}


def did_path(did: str) -> str:
    return quote(did, safe="")


async def test_the_trust_anchor_is_the_root(trust_anchor: TrustAnchor) -> None:
    status, entry = await trust_anchor.get(f"/v4/issuers/{did_path(trust_anchor.did)}")
    assert status == 200
    assert entry["did"] == trust_anchor.did
    (attribute,) = entry["attributes"]
    assert set(attribute) == ATTRIBUTE_FIELDS
    assert attribute["issuerType"] == "RootTAO"
    assert attribute["tao"] == attribute["rootTao"] == trust_anchor.did
    body = base64.b64decode(attribute["body"])
    assert hashlib.sha256(body).hexdigest() == attribute["hash"]
    # The body is an accreditation signed by the trust anchor.
    async with create_client_session(guarded=True, allow_loopback=True) as session:
        verifier = CredentialVerifier(DidResolver(session=session, allow_loopback=True),
                                      cache=TokenCache())
        accreditation = await verifier.verify(body.decode())
    assert accreditation.has_type("VerifiableAccreditation")
    assert accreditation.issuer == trust_anchor.did
    types = accreditation.claims["accreditedFor"][0]["types"]
    assert {"MembershipCredential", "DataProductPurchaseCredential"} <= set(types)


async def test_pagination_walks_every_issuer_exactly_once(trust_anchor: TrustAnchor) -> None:
    accredited = set()
    for i in range(23):
        did = Signer.for_did_key(KeyPair.generate()).did
        async with trust_anchor.http.put(
            f"{trust_anchor.url}/admin/issuers/{did_path(did)}",
            json={"issuerType": "TI" if i % 2 else "TAO", "credentialTypes": ["X"]},
            headers=trust_anchor.admin,
        ) as response:
            assert response.status == 200
        accredited.add(did)
    seen: list[str] = []
    url: str | None = f"{trust_anchor.url}/v4/issuers?page%5Bsize%5D=7"
    pages = 0
    while url:
        async with trust_anchor.http.get(url) as response:
            page: dict[str, Any] = await response.json()
        assert response.status == 200
        assert page["pageSize"] == 7
        assert page["total"] == 24  # 23 + the RootTAO
        assert len(page["items"]) <= 7
        for item in page["items"]:
            seen.append(item["did"])
            async with trust_anchor.http.get(item["href"]) as detail:
                assert (await detail.json())["did"] == item["did"]
        url = page["links"].get("next")
        pages += 1
    assert pages == 4
    assert len(seen) == len(set(seen)) == 24
    assert set(seen) == accredited | {trust_anchor.did}


async def test_bad_page_sizes_are_refused(trust_anchor: TrustAnchor) -> None:
    for size in ("0", "101", "x"):
        status, body = await trust_anchor.get(f"/v4/issuers?page%5Bsize%5D={size}")
        assert (status, body["code"]) == (400, "invalid-page-size")


async def test_unknown_issuers_are_404(trust_anchor: TrustAnchor) -> None:
    status, body = await trust_anchor.get(f"/v4/issuers/{did_path('did:key:z6MkNobody')}")
    assert (status, body["code"]) == (404, "issuer-not-found")


async def test_the_root_cannot_be_revoked_or_demoted(trust_anchor: TrustAnchor) -> None:
    async with trust_anchor.http.delete(
        f"{trust_anchor.url}/admin/issuers/{did_path(trust_anchor.did)}",
        headers=trust_anchor.admin,
    ) as response:
        assert response.status == 400
        assert (await response.json())["code"] == "root-tao-reserved"
    status, entry = await trust_anchor.get(f"/v4/issuers/{did_path(trust_anchor.did)}")
    assert entry["attributes"][0]["issuerType"] == "RootTAO"


async def onboard(ta: TrustAnchor, **kwargs: Any) -> Any:
    applicant = new_applicant(**kwargs.pop("applicant", {}))
    status, created = await apply(ta, applicant, **kwargs)
    assert status == 201
    status, _ = await ta.post(f"/admin/applications/{created['id']}/approve", admin=True)
    assert status == 200
    return applicant, created["id"]


async def test_a_marketplace_is_accredited_and_requests_purchases(
    trust_anchor: TrustAnchor,
) -> None:
    market, market_id = await onboard(trust_anchor, roles=["marketplace"],
                                      applicant={"legal_name": "Datatorget AS"})
    buyer, _ = await onboard(trust_anchor, applicant={"legal_name": "Example Analytics AS"})
    status, entry = await trust_anchor.get(f"/v4/issuers/{did_path(market.did)}")
    assert entry["attributes"][0]["issuerType"] == "TI"

    async def request_purchase(signer: Signer, subject: str) -> tuple[int, Any]:
        token = create_self_issued_token(signer, trust_anchor.did)
        return await trust_anchor.post(
            "/accredited/credentials",
            {"credential_type": "DataProductPurchaseCredential", "subject_did": subject,
             "claims": {"product": "urn:product:air-quality", "plan": "research"}},
            headers={"Authorization": f"Bearer {token}"},
        )

    status, issued = await request_purchase(market.signer, buyer.did)
    assert status == 201, issued
    async with create_client_session(guarded=True, allow_loopback=True) as session:
        verifier = CredentialVerifier(DidResolver(session=session, allow_loopback=True))
        credential = await verifier.verify(issued["credential"], check_status=False)
    assert credential.has_type("DataProductPurchaseCredential")
    assert credential.subject_id == buyer.did
    assert credential.claims["requestedBy"] == market.did

    # A member without the marketplace role is not accredited.
    status, body = await request_purchase(buyer.signer, buyer.did)
    assert (status, body["code"]) == (403, "not-accredited")
    # A suspended marketplace loses its accreditation until reinstated.
    await trust_anchor.post(f"/admin/applications/{market_id}/suspend",
                            {"reason": "unpaid fee"}, admin=True)
    status, entry = await trust_anchor.get(f"/v4/issuers/{did_path(market.did)}")
    assert entry["attributes"][0]["issuerType"] == "Revoked"
    status, body = await request_purchase(market.signer, buyer.did)
    assert (status, body["code"]) == (403, "not-accredited")
    await trust_anchor.post(f"/admin/applications/{market_id}/reinstate", admin=True)
    assert (await request_purchase(market.signer, buyer.did))[0] == 201
    # A replayed token is refused.
    token = create_self_issued_token(market.signer, trust_anchor.did)
    headers = {"Authorization": f"Bearer {token}"}
    body_ = {"credential_type": "DataProductPurchaseCredential", "subject_did": buyer.did}
    assert (await trust_anchor.post("/accredited/credentials", body_, headers=headers))[0] == 201
    status, body = await trust_anchor.post("/accredited/credentials", body_, headers=headers)
    assert (status, body["code"]) == (401, "jwt-replayed")


async def test_participant_list_shows_members_only(trust_anchor: TrustAnchor) -> None:
    member, _ = await onboard(trust_anchor)
    pending = new_applicant(legal_name="Pending AS")
    await apply(trust_anchor, pending)
    status, page = await trust_anchor.get("/participants")
    assert status == 200
    assert [p["did"] for p in page["items"]] == [member.did]
    assert page["items"][0]["roles"] == ["provider", "consumer"]
    status, body = await trust_anchor.get(f"/participants/{did_path(pending.did)}")
    assert (status, body["code"]) == (404, "participant-not-found")
