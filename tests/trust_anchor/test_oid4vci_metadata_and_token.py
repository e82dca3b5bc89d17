"""The issuer metadata advertises what the credential endpoint delivers; the token endpoint
answers any body with an OAuth error, never a server error."""

from __future__ import annotations

import jwt
import pytest

from identity.oid4vci_client import collect_credential
from tests.trust_anchor.conftest import TrustAnchor, apply, new_applicant


async def test_the_advertised_format_is_the_delivered_vc_jwt(trust_anchor: TrustAnchor) -> None:
    status, metadata = await trust_anchor.get("/.well-known/openid-credential-issuer")
    assert status == 200
    configuration = metadata["credential_configurations_supported"]["MembershipCredential"]
    # OID4VCI names VCDM 1.1 JWTs jwt_vc_json; a VC 2.0 credential secured with
    # VC-JOSE-COSE is vc+jwt, the identifier the JWT's own typ carries.
    assert configuration["format"] == "vc+jwt"
    assert configuration["credential_definition"]["type"] == [
        "VerifiableCredential", "MembershipCredential"]

    applicant = new_applicant()
    status, created = await apply(trust_anchor, applicant)
    assert status == 201, created
    status, approved = await trust_anchor.post(
        f"/admin/applications/{created['id']}/approve", {"reason": "documents checked"},
        admin=True)
    assert status == 200, approved
    credential = await collect_credential(trust_anchor.http, approved["credential_offer_uri"],
                                          applicant.signer, tx_code=approved["tx_code"])
    assert isinstance(credential, str)
    assert jwt.get_unverified_header(credential)["typ"] == configuration["format"]
    payload = jwt.decode(credential, options={"verify_signature": False})
    assert payload["@context"][0] == "https://www.w3.org/ns/credentials/v2"
    assert "vc" not in payload  # not a VCDM 1.1 JWT (whose credential sits in a vc claim)
    assert payload["type"] == configuration["credential_definition"]["type"]


@pytest.mark.parametrize(("content_type", "body", "error"), [
    ("multipart/form-data; boundary=x", b"junk", "invalid_request"),
    ("multipart/form-data", b"grant_type=x", "invalid_request"),
    ("text/plain", b"grant_type=urn:ietf:params:oauth:grant-type:pre-authorized_code",
     "invalid_request"),
    ("application/x-www-form-urlencoded", b"\xff\xfe=\xff", "invalid_request"),
    # A form is UTF-8 whatever charset it names; this one names no grant.
    ("application/x-www-form-urlencoded; charset=x-no-such-charset", b"a=b",
     "unsupported_grant_type"),
    ("application/json", b"[1, 2]", "invalid_request"),
])
async def test_a_token_request_that_is_no_form_is_an_oauth_error(
    trust_anchor: TrustAnchor, content_type: str, body: bytes, error: str
) -> None:
    async with trust_anchor.http.post(trust_anchor.url + "/oid4vci/token", data=body,
                                      headers={"Content-Type": content_type}) as response:
        answer = await response.json(content_type=None)
        assert response.status == 400, answer
    assert answer["error"] == error, answer


async def test_a_form_token_request_still_reaches_the_grant_check(
    trust_anchor: TrustAnchor,
) -> None:
    async with trust_anchor.http.post(trust_anchor.url + "/oid4vci/token", data={
            "grant_type": "urn:ietf:params:oauth:grant-type:pre-authorized_code",
            "pre-authorized_code": "unknown"}) as response:
        answer = await response.json(content_type=None)
        assert response.status == 400, answer
    assert answer["error"] == "invalid_grant"
