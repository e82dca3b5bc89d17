"""``GET /search`` over the catalog as it changes: launch, new terms, retire, private."""

from __future__ import annotations

from tests.marketplace.conftest import TMF620, Marketplace
from tests.marketplace.test_catalog_tmf import MERGE, launched_offering, patch


async def search(mp: Marketplace, query: str, headers: dict[str, str] | None = None
                 ) -> dict[str, object]:
    status, body, headers_ = await mp.call("GET", f"/search?{query}", headers=headers)
    assert status == 200, body
    assert headers_["X-Total-Count"] == str(body["total"])
    return dict(body)


async def test_a_launched_offering_is_found_and_a_retired_one_is_not(
        marketplace: Marketplace) -> None:
    assert (await search(marketplace, "q=traffic"))["total"] == 0
    spec, plan, offering = await launched_offering(marketplace)
    found = await search(marketplace, "q=traff")
    assert found["total"] == 1
    hit = found["hits"][0]  # type: ignore[index]
    assert hit["id"] == offering["id"]
    assert hit["href"].endswith(f"{TMF620}/productOffering/{offering['id']}")
    facets = found["facets"]
    assert {"value": "TRAN", "count": 1} in facets["theme"]  # type: ignore[index]
    assert {"value": "recurring", "count": 1} in facets["priceType"]  # type: ignore[index]
    assert (await search(marketplace, "theme=ENVI"))["total"] == 0
    assert (await search(marketplace, "theme=ENVI,TRAN&accessLevel=RESTRICTED"))["total"] == 1
    # the product's description is searchable too
    assert (await search(marketplace, "q=counters"))["total"] == 1
    await patch(marketplace, "productOffering", offering["id"], {"lifecycleStatus": "retired"})
    assert (await search(marketplace, "q=traffic"))["total"] == 0
    # the operator still finds it
    assert (await search(marketplace, "q=traffic", marketplace.admin))["total"] == 1


async def test_a_product_change_reindexes_its_offerings(marketplace: Marketplace) -> None:
    spec, _, offering = await launched_offering(marketplace)
    status, body, _ = await marketplace.call(
        "PATCH", f"{TMF620}/productSpecification/{spec['id']}",
        {"description": "Sykkeltellinger ved 12 punkter"}, headers={**marketplace.admin, **MERGE})
    assert status == 200, body
    assert [h["id"] for h in (await search(marketplace, "q=sykkel"))["hits"]] == [  # type: ignore[attr-defined]
        offering["id"]]


async def test_bad_search_input_is_refused(marketplace: Marketplace) -> None:
    for query in ("q=" + "x" * 201, "theme=,", "limit=0", "offset=-1"):
        status, body, _ = await marketplace.call("GET", f"/search?{query}")
        assert status == 400, (query, body)
        assert body["code"] in {"search-invalid", "paging-invalid"}
