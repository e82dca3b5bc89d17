"""The trust anchor's root answers a person and a script, and every link it gives works."""

from __future__ import annotations

import pytest

from tests.pages import BROWSER_ACCEPT, links
from tests.trust_anchor.conftest import TrustAnchor

pytestmark = pytest.mark.parametrize("database", ["sqlite"], indirect=True)

async def test_a_browser_gets_a_page_linking_the_operator_page_and_the_api(
    trust_anchor: TrustAnchor,
) -> None:
    async with trust_anchor.http.get(trust_anchor.url + "/",
                                     headers={"Accept": BROWSER_ACCEPT}) as response:
        assert response.status == 200
        assert response.content_type == "text/html"
        assert response.headers["Vary"] == "Accept"
        page = await response.text()
    hrefs = links(page)
    assert hrefs[:2] == ["/operator", "/openapi.json"]
    assert "Trust anchor of Data space operator" in page
    # Every link leads somewhere (none needs the admin key to load).
    for href in hrefs:
        async with trust_anchor.http.get(trust_anchor.url + href) as linked:
            assert linked.status == 200, href


@pytest.mark.parametrize("accept", [None, "*/*", "application/json",
                                    "text/html;q=0.5, application/json"])
async def test_a_script_gets_the_same_links_as_json(trust_anchor: TrustAnchor,
                                                    accept: str | None) -> None:
    headers = {"Accept": accept} if accept is not None else {}
    async with trust_anchor.http.get(trust_anchor.url + "/", headers=headers,
                                     skip_auto_headers=["Accept"]) as response:
        assert response.status == 200
        assert response.content_type == "application/json"
        body = await response.json()
    hrefs = [link["href"] for link in body["links"]]
    assert hrefs[:2] == ["/operator", "/openapi.json"]
    assert "/participants" in hrefs


async def test_the_root_is_in_the_api_description(trust_anchor: TrustAnchor) -> None:
    status, document = await trust_anchor.get("/openapi.json")
    assert status == 200
    root = document["paths"]["/"]["get"]
    assert root["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Home"}
    assert "text/html" in root["description"]
