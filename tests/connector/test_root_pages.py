"""Both connector ports answer ``/``: a page for a browser, JSON for a script, working links."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
import pytest_asyncio

from tests.connector.conftest import StoreFactory
from tests.connector.harness import RunningConnector, start_connector
from tests.factories import connector_settings
from tests.pages import BROWSER_ACCEPT, links

pytestmark = pytest.mark.asyncio(loop_scope="module")

@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def cut(module_stores: StoreFactory,
              tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[RunningConnector]:
    """A connector with a did:web of its own (so its DID document is served)."""
    running = await start_connector(connector_settings(
        "roots", tmp_path_factory.mktemp("roots"), module_stores(), did=None,
        did_method="web"))
    yield running
    await running.stop()


async def _page(http: aiohttp.ClientSession, base: str) -> list[str]:
    async with http.get(base + "/", headers={"Accept": BROWSER_ACCEPT}) as resp:
        assert resp.status == 200
        assert resp.content_type == "text/html"
        return links(await resp.text())


async def test_the_protocol_port_links_the_api_description_and_discovery(
    cut: RunningConnector, http: aiohttp.ClientSession,
) -> None:
    hrefs = await _page(http, cut.base_url)
    assert hrefs == ["/openapi.json", "/.well-known/dspace-version", "/.well-known/did.json",
                     "/healthz"]
    for href in hrefs:
        async with http.get(cut.base_url + href) as resp:
            assert resp.status == 200, href
    # Nothing on the public port points at the management API.
    async with http.get(cut.base_url + "/", headers={"Accept": BROWSER_ACCEPT}) as resp:
        assert cut.management_url not in await resp.text()


async def test_the_management_port_links_its_api_and_says_the_key_is_needed(
    cut: RunningConnector, http: aiohttp.ClientSession,
) -> None:
    hrefs = await _page(http, cut.management_url)
    assert hrefs[0] == "/openapi.json"
    assert "/api/v1/datasets" in hrefs
    for href in hrefs:
        async with http.get(cut.management_url + href, headers=cut.admin_headers) as resp:
            assert resp.status == 200, href
    async with http.get(cut.management_url + "/", headers={"Accept": BROWSER_ACCEPT}) as resp:
        assert "admin API key" in await resp.text()


@pytest.mark.parametrize("port", ["protocol", "management"])
async def test_a_script_gets_json_and_the_root_is_documented(
    cut: RunningConnector, http: aiohttp.ClientSession, port: str,
) -> None:
    base = cut.base_url if port == "protocol" else cut.management_url
    async with http.get(base + "/") as resp:  # aiohttp sends Accept: */*
        assert resp.status == 200
        assert resp.content_type == "application/json"
        body = await resp.json()
    assert body["links"][0] == {"href": "/openapi.json", "title": "API description (OpenAPI 3.1)",
                                "description": body["links"][0]["description"]}
    async with http.get(base + "/openapi.json") as resp:
        document = await resp.json()
    assert "get" in document["paths"]["/"]
