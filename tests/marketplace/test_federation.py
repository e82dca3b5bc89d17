"""The marketplace reads providers' DSP catalogs with its own DCP credentials.

A real trust anchor, the marketplace onboarded as a member, and real
connectors in the ``dcp`` auth mode: each catalog request carries the
marketplace's self-issued token, and the provider's connector reads the
marketplace's MembershipCredential from the marketplace's Credential Service
before it answers.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from aiohttp import web

from marketplace.keys import SERVICES
from servicekit.errors import DataspaceError
from tests.conftest import Database
from tests.marketplace.conftest import Marketplace
from tests.marketplace.members import Member, MemberSpace, member_space

DATASETS = "/federation/datasets"


async def _dataset(space: MemberSpace, provider: Member, dataset_id: str, title: str,
                   **fields: Any) -> None:
    assert provider.connector is not None
    body = {"id": dataset_id, "title": title,
            "backend": {"address": "https://backend.invalid/data"}} | fields
    await provider.connector.api(space.http, "POST", "/api/v1/datasets", json=body, expect=201)


async def _datasets(market: Marketplace, query: str = "") -> tuple[int, Any]:
    status, body, _ = await market.call("GET", DATASETS + query)
    return status, body


async def test_missing_reports_the_datasets_a_provider_does_not_offer(
        tmp_path: Path, database: Database) -> None:
    async with member_space(tmp_path, database) as space:
        halden = await space.connector("halden", roles=["provider"])
        assert halden.connector is not None
        await _dataset(space, halden, "urn:dataset:halden:traffic", "Traffic counts")
        await _dataset(space, halden, "urn:dataset:halden:air", "Air quality")
        federation = space.marketplace.server.app[SERVICES].federation
        missing = await federation.missing(
            halden.connector.dsp_url, halden.did,
            ["urn:dataset:halden:traffic", "urn:dataset:halden:bridges",
             "urn:dataset:halden:air"])
        assert missing == ["urn:dataset:halden:bridges"]
        assert await federation.missing(halden.connector.dsp_url, halden.did,
                                        ["urn:dataset:halden:air"]) == []
        # The token is addressed to the provider's DID: addressed to another, it is refused.
        with pytest.raises(DataspaceError) as refused:
            await federation.missing(halden.connector.dsp_url, space.trust_anchor.did,
                                     ["urn:dataset:halden:air"])
        assert refused.value.code == "catalog-request-failed"
        assert refused.value.extra["upstream_status"] == 401
        with pytest.raises(DataspaceError) as bad:
            await federation.missing("not a url", halden.did, ["urn:dataset:halden:air"])
        assert bad.value.code == "dsp-address-invalid"


async def test_the_harvest_stores_the_providers_datasets(tmp_path: Path,
                                                         database: Database) -> None:
    async with member_space(tmp_path, database) as space:
        halden = await space.connector("halden", roles=["provider"])
        await _dataset(space, halden, "urn:dataset:halden:traffic", "Traffic counts",
                       description="Cars per hour on the E6", keywords=["mobility"])
        await _dataset(space, halden, "urn:dataset:halden:air", "Air quality")
        await space.member("analyse", roles=["consumer"])  # not a provider: not harvested
        market = space.marketplace
        assert await _datasets(market) == (200, {"items": [], "total": 0, "limit": 50,
                                                 "offset": 0})

        status, report, _ = await market.call("POST", "/federation/harvest",
                                              headers=market.admin)
        assert status == 200, report
        assert report == {"providers": 1, "datasets": 2, "failed": []}
        status, page = await _datasets(market)
        assert status == 200, page
        assert page["total"] == 2
        assert [d["id"] for d in page["items"]] == ["urn:dataset:halden:air",
                                                    "urn:dataset:halden:traffic"]
        traffic = page["items"][1]
        assert traffic["publisher"] == halden.did
        assert traffic["publisher_name"] == "Halden kommune"
        # the portal's provider facet names the provider by the same legal name
        federation = market.server.app[SERVICES].federation
        assert await federation.publisher_names() == {halden.did: "Halden kommune"}
        assert halden.connector is not None
        assert traffic["dsp_address"] == halden.connector.dsp_url
        assert traffic["dataset"]["dct:title"] == "Traffic counts"
        assert traffic["dataset"]["hasPolicy"]

        # Words of the title, description and keywords; the publisher; paging.
        status, found = await _datasets(market, "?q=MOBILITY%20cars")
        assert [d["id"] for d in found["items"]] == ["urn:dataset:halden:traffic"]
        status, found = await _datasets(market, "?q=bridges")
        assert (found["items"], found["total"]) == ([], 0)
        status, found = await _datasets(market, f"?publisher={quote(halden.did)}&limit=1")
        assert (len(found["items"]), found["total"]) == (1, 2)
        status, found = await _datasets(market, "?publisher=did:web:nobody.example")
        assert found["total"] == 0

        # A dataset the provider withdraws is gone with the next harvest.
        await halden.connector.api(space.http, "DELETE",
                                   "/api/v1/datasets/urn:dataset:halden:air", expect=204)
        status, report, _ = await market.call("POST", "/federation/harvest",
                                              headers=market.admin)
        assert report["datasets"] == 1
        status, page = await _datasets(market)
        assert [d["id"] for d in page["items"]] == ["urn:dataset:halden:traffic"]


async def test_the_marketplace_harvests_by_itself(tmp_path: Path, database: Database) -> None:
    async with member_space(tmp_path, database, harvest_seconds=0.3) as space:
        bodo = await space.connector("bodo", roles=["provider"])
        await _dataset(space, bodo, "urn:dataset:bodo:harbour", "Harbour traffic")
        deadline = time.monotonic() + 15
        while True:
            status, page = await _datasets(space.marketplace)
            if page["total"] or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.2)
        assert [(d["id"], d["publisher_name"]) for d in page["items"]] == [
            ("urn:dataset:bodo:harbour", "Bodø kommune")]


@pytest.mark.parametrize(("query", "code"), [
    ("?limit=0", "paging-invalid"),
    ("?offset=-1", "paging-invalid"),
    ("?limit=many", "paging-invalid"),
    ("?publisher=halden", "publisher-invalid"),
    ("?q=" + "x" * 201, "query-invalid"),
])
async def test_bad_listing_queries_are_refused(marketplace: Marketplace, query: str,
                                               code: str) -> None:
    status, body, headers = await marketplace.call("GET", DATASETS + query)
    assert (status, body["code"]) == (400, code), body
    assert headers["Content-Type"].startswith("application/problem+json")


async def test_only_the_operator_harvests(tmp_path: Path, database: Database) -> None:
    async with member_space(tmp_path, database) as space:
        halden = await space.member("halden", roles=["provider"])
        market = space.marketplace
        status, body, _ = await market.call("POST", "/federation/harvest")
        assert (status, body["code"]) == (401, "sign-in-required")
        status, body, _ = await halden.call("POST", "/federation/harvest")
        assert (status, body["code"]) == (403, "operator-only")
        # A provider whose connector cannot be reached is reported; nothing is stored.
        status, report, _ = await market.call("POST", "/federation/harvest",
                                              headers=market.admin)
        assert status == 200, report
        assert report["providers"] == 1
        assert [f["did"] for f in report["failed"]] == [halden.did]
        assert (await _datasets(market))[1]["total"] == 0


def _other_vendor(base_url: str) -> tuple[list[dict[str, Any]], list[web.RouteDef]]:
    """Another vendor's DSP endpoint: a catalog in two pages, a nested catalog, a repeat."""
    page_two = f"{base_url}/dsp/catalog/request?page=2"

    async def versions(request: web.Request) -> web.Response:
        return web.json_response({"protocolVersions": [
            {"version": "2025-1", "path": "/dsp", "binding": "HTTPS"}]})

    async def catalog(request: web.Request) -> web.Response:
        assert request.headers["Authorization"].startswith("Bearer ")
        body = await request.json()
        assert body["@type"] == "CatalogRequestMessage"
        if request.query.get("page") != "2":
            return web.json_response(
                {"@context": [DSP], "@id": "urn:catalog:1", "@type": "Catalog",
                 "dataset": [{"@id": "urn:vendor:ferries", "@type": "Dataset",
                              "dct:title": {"@value": "Ferry departures", "@language": "en"}}]},
                headers={"Link": f'<{page_two}>; rel="next"'})
        return web.json_response(
            {"@context": [DSP], "@id": "urn:catalog:1", "@type": "Catalog",
             "catalog": [{"@id": "urn:catalog:nested", "@type": "Catalog", "dataset": [
                 {"@id": "urn:vendor:tides", "@type": "Dataset", "dct:title": "Tides",
                  "dcat:keyword": ["sea", "harbour"]},
                 {"@id": "urn:vendor:ferries", "@type": "Dataset"}]}]})

    services = [{"id": "#dsp", "type": "DataService",
                 "serviceEndpoint": f"{base_url}/.well-known/dspace-version"}]
    return services, [web.get("/.well-known/dspace-version", versions),
                      web.post("/dsp/catalog/request", catalog)]


DSP = "https://w3id.org/dspace/2025/1/context.jsonld"


async def test_another_vendors_catalog_pages_nested_catalogs_and_repeats(
        tmp_path: Path, database: Database) -> None:
    async with member_space(tmp_path, database) as space:
        vendor = await space.member("vendor", roles=["provider"], legal_name="Vendor AS",
                                    extra=_other_vendor)
        market = space.marketplace
        status, report, _ = await market.call("POST", "/federation/harvest",
                                              headers=market.admin)
        assert (status, report) == (200, {"providers": 1, "datasets": 2, "failed": []})
        status, page = await _datasets(market)
        assert [(d["id"], d["title"]) for d in page["items"]] == [
            ("urn:vendor:ferries", "Ferry departures"), ("urn:vendor:tides", "Tides")]
        assert {d["publisher"] for d in page["items"]} == {vendor.did}
        status, found = await _datasets(market, "?q=harbour")
        assert [d["id"] for d in found["items"]] == ["urn:vendor:tides"]
