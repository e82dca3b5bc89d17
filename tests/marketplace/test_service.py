"""The marketplace starts like the other services and answers as a TMF server."""

from __future__ import annotations

from tests.marketplace.conftest import TMF620, Marketplace


async def test_ready_with_its_did_and_api_description(marketplace: Marketplace) -> None:
    status, body, _ = await marketplace.call("GET", "/readyz")
    assert status == 200, body
    status, document, _ = await marketplace.call("GET", "/.well-known/did.json")
    assert status == 200
    assert document["id"] == marketplace.did
    status, openapi, _ = await marketplace.call("GET", "/openapi.json")
    assert status == 200
    assert openapi["info"]["title"] == "Marketplace"


async def test_tmf_errors_have_the_tmf_error_body(marketplace: Marketplace) -> None:
    status, body, headers = await marketplace.call(
        "GET", f"{TMF620}/productOffering/does-not-exist")
    assert status == 404
    assert headers["Content-Type"].startswith("application/json")
    assert body["code"]
    assert body["reason"]
    assert body["@type"] == "Error"
    assert body["status"] == "404"


async def test_a_bearer_that_is_neither_key_nor_dcp_token_is_refused(
        marketplace: Marketplace) -> None:
    # Without a trust anchor, members cannot sign in: a non-key bearer is 401.
    status, body, _ = await marketplace.call(
        "GET", "/readyz", headers={"Authorization": "Bearer nonsense"})
    assert status == 200  # readiness takes no caller
