"""TMF620 v4 as a TMF client sees it: the five resources, their fields, lists, errors, versions.

A real marketplace on loopback (SQLite, and PostgreSQL with
TEST_DATABASE_URL); the operator (admin key) writes, an anonymous client
browses. Members, ownership and the dataset check are in test_catalog.py.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest

from tests.marketplace.conftest import TMF620, Marketplace

PROVIDER = "did:web:halden.example"
MERGE = {"Content-Type": "application/merge-patch+json"}


def spec_body(**extra: Any) -> dict[str, Any]:
    return {"name": "Traffic counts", "description": "Vehicles per hour at 40 counters",
            "dspAddress": "https://halden.example/dsp", "providerDid": PROVIDER,
            "datasetIds": ["urn:dataset:traffic"],
            "productSpecCharacteristic": [
                {"name": "theme", "productSpecCharacteristicValue": [{"value": "TRAN"}]},
                {"name": "accessLevel", "productSpecCharacteristicValue": [
                    {"value": "RESTRICTED"}]},
                {"name": "licence", "productSpecCharacteristicValue": [
                    {"value": "http://data.norge.no/nlod/no/2.0"}]},
                {"name": "sla.availability", "productSpecCharacteristicValue": [
                    {"value": 99.5, "unitOfMeasure": "percent"}]}]} | extra


def price_body(**extra: Any) -> dict[str, Any]:
    return {"name": "Monthly", "priceType": "recurring", "recurringChargePeriodType": "month",
            "price": {"unit": "NOK", "value": 1500}} | extra


def offering_body() -> dict[str, Any]:
    return {"name": "Traffic counts, monthly"}


def catalog_body() -> dict[str, Any]:
    return {"name": "Mobility", "catalogType": "DataProducts"}


def category_body() -> dict[str, Any]:
    return {"name": "Traffic"}


BODIES: dict[str, Callable[[], dict[str, Any]]] = {
    "productSpecification": spec_body,
    "productOffering": offering_body,
    "productOfferingPrice": price_body,
    "catalog": catalog_body,
    "category": category_body,
}
TYPES = {"productSpecification": ("DataProductSpecification", "ProductSpecification"),
         "productOffering": ("DataProductOffering", "ProductOffering"),
         "productOfferingPrice": ("DataProductPlan", "ProductOfferingPrice"),
         "catalog": ("Catalog", "Catalog"), "category": ("Category", "Category")}


async def create(mp: Marketplace, kind: str, body: dict[str, Any]) -> dict[str, Any]:
    status, created, _ = await mp.call("POST", f"{TMF620}/{kind}", body, headers=mp.admin)
    assert status == 201, created
    return dict(created)


async def patch(mp: Marketplace, kind: str, item_id: str, body: Any,
                expect: int = 200) -> dict[str, Any]:
    status, answer, _ = await mp.call("PATCH", f"{TMF620}/{kind}/{item_id}", body,
                                      headers={**mp.admin, **MERGE})
    assert status == expect, answer
    return dict(answer)


async def count(mp: Marketplace, kind: str) -> int:
    status, body, headers = await mp.call("GET", f"{TMF620}/{kind}", headers=mp.admin)
    assert status == 200, body
    return int(headers["X-Total-Count"])


async def launched_offering(mp: Marketplace, **extra: Any) -> tuple[dict[str, Any], ...]:
    """A product, a plan and a launched offering of them (operator-made, owned by PROVIDER)."""
    spec = await create(mp, "productSpecification", spec_body())
    plan = await create(mp, "productOfferingPrice", price_body())
    offering = await create(mp, "productOffering", {
        "name": "Traffic counts", "productSpecification": {"id": spec["id"]},
        "productOfferingPrice": [{"id": plan["id"]}], **extra})
    for state in ("inDesign", "inTest", "launched"):
        offering = await patch(mp, "productOffering", offering["id"], {"lifecycleStatus": state})
    return spec, plan, offering


def tmf_error(body: Any, status: int, code: str | None = None) -> None:
    assert body["@type"] == "Error"
    assert body["status"] == str(status)
    assert body["reason"]
    if code is not None:
        assert body["code"] == code, body


@pytest.mark.parametrize("kind", list(BODIES))
async def test_create_retrieve_list_patch_delete(marketplace: Marketplace, kind: str) -> None:
    mp = marketplace
    created = await create(mp, kind, BODIES[kind]())
    assert created["href"] == f"{mp.url}{TMF620}/{kind}/{created['id']}"
    assert (created["@type"], created["@baseType"]) == TYPES[kind]
    assert created["version"] == "1.0"
    assert datetime.fromisoformat(created["lastUpdate"]).tzinfo is not None
    if kind != "productOfferingPrice":
        assert created["lifecycleStatus"] == "inStudy"
    status, got, _ = await mp.call("GET", f"{TMF620}/{kind}/{created['id']}")
    assert status == 404, got  # not launched: anonymous callers do not see it
    status, got, _ = await mp.call("GET", f"{TMF620}/{kind}/{created['id']}", headers=mp.admin)
    assert (status, got) == (200, created)
    await create(mp, kind, BODIES[kind]())
    status, page, headers = await mp.call("GET", f"{TMF620}/{kind}?limit=1&fields=name",
                                          headers=mp.admin)
    assert status == 200
    assert (headers["X-Total-Count"], headers["X-Result-Count"]) == ("2", "1")
    assert set(page[0]) == {"id", "href", "@type", "name"}
    changed = await patch(mp, kind, created["id"], {"description": "Updated", "name": "Renamed"})
    assert (changed["description"], changed["name"]) == ("Updated", "Renamed")
    assert changed["lastUpdate"] > created["lastUpdate"]
    removed = await patch(mp, kind, created["id"], {"description": None})
    assert "description" not in removed
    status, body, _ = await mp.call("DELETE", f"{TMF620}/{kind}/{created['id']}",
                                    headers=mp.admin)
    assert status == 204, body
    status, body, _ = await mp.call("GET", f"{TMF620}/{kind}/{created['id']}", headers=mp.admin)
    assert status == 404
    tmf_error(body, 404, "resource-not-found")
    assert await count(mp, kind) == 1


@pytest.mark.parametrize("kind", list(BODIES))
async def test_bad_input_is_refused_and_nothing_is_stored(marketplace: Marketplace,
                                                          kind: str) -> None:
    mp = marketplace
    kept = await create(mp, kind, BODIES[kind]())
    item = f"{TMF620}/{kind}/{kept['id']}"
    refusals: list[tuple[str, str, Any, dict[str, str], int, str | None]] = [
        ("POST", f"{TMF620}/{kind}", {**BODIES[kind](), "name": None}, mp.admin, 400, None),
        ("POST", f"{TMF620}/{kind}", {k: v for k, v in BODIES[kind]().items() if k != "name"},
         mp.admin, 400, "validation-failed"),
        ("POST", f"{TMF620}/{kind}", {**BODIES[kind](), "id": "mine"}, mp.admin, 400,
         "field-read-only"),
        ("POST", f"{TMF620}/{kind}", {**BODIES[kind](), "unknownField": 1}, mp.admin, 400,
         "validation-failed"),
        ("POST", f"{TMF620}/{kind}", [1, 2], mp.admin, 400, None),
        ("POST", f"{TMF620}/{kind}", {**BODIES[kind](), "@baseType": "Other"}, mp.admin, 400,
         "type-invalid"),
        ("POST", f"{TMF620}/{kind}", BODIES[kind](), {}, 401, "sign-in-required"),
        ("GET", f"{TMF620}/{kind}?name;x=1", None, mp.admin, 400, "filter-invalid"),
        ("GET", f"{TMF620}/{kind}?limit=0", None, mp.admin, 400, None),
        ("GET", f"{TMF620}/{kind}/unknown", None, mp.admin, 404, "resource-not-found"),
        ("GET", f"{item}?version=%20", None, mp.admin, 400, "version-invalid"),
        ("GET", f"{item}?version=9.0", None, mp.admin, 404, "resource-not-found"),
        ("PATCH", f"{TMF620}/{kind}/unknown", {"name": "x"}, mp.admin, 404, None),
        ("PATCH", item, {"href": "https://elsewhere"}, mp.admin, 400, "field-read-only"),
        ("PATCH", item, {"lastUpdate": "2020-01-01T00:00:00Z"}, mp.admin, 400,
         "field-read-only"),
        ("PATCH", item, {"name": None}, mp.admin, 400, "validation-failed"),
        ("PATCH", item, ["name"], mp.admin, 400, "patch-invalid"),
        ("PATCH", item, {"name": "x"}, {}, 401, None),
        ("DELETE", f"{TMF620}/{kind}/unknown", None, mp.admin, 404, None),
        ("DELETE", item, None, {}, 401, None),
    ]
    for method, path, body, headers, expected, code in refusals:
        status, answer, _ = await mp.call(method, path, body, headers={**headers, **MERGE})
        assert status == expected, (method, path, body, answer)
        tmf_error(answer, expected, code)
    assert await count(mp, kind) == 1
    status, unchanged, _ = await mp.call("GET", item, headers=mp.admin)
    assert unchanged == kept


@pytest.mark.parametrize(("change", "code"), [
    ({"price": {"unit": "NOK", "value": -5}}, "price-negative"),
    ({"price": {"unit": "SEK", "value": 5}}, "currency-unknown"),
    ({"tax": [{"taxCategory": "VAT", "taxRate": 125}]}, "vat-rate-invalid"),
    ({"price": {"unit": "NOK", "value": 1.005}}, "price-precision"),
    ({"recurringChargePeriodType": None}, "plan-period-missing"),
])
async def test_bad_plans_are_refused(marketplace: Marketplace, change: dict[str, Any],
                                     code: str) -> None:
    mp = marketplace
    plan = await create(mp, "productOfferingPrice", price_body())
    status, body, _ = await mp.call("POST", f"{TMF620}/productOfferingPrice",
                                    {**price_body(), **change}, headers=mp.admin)
    assert status == 400, body
    tmf_error(body, 400, code)
    await patch(mp, "productOfferingPrice", plan["id"], change, expect=400)
    assert await count(mp, "productOfferingPrice") == 1
    status, unchanged, _ = await mp.call("GET", f"{TMF620}/productOfferingPrice/{plan['id']}",
                                         headers=mp.admin)
    assert unchanged == plan


@pytest.mark.parametrize(("change", "code"), [
    ({"productSpecCharacteristic": [{"name": "accessLevel", "productSpecCharacteristicValue": [
        {"value": "NON_PUBLIC"}]}]}, "access-level-not-offered"),
    ({"productSpecCharacteristic": [{"name": "sample", "productSpecCharacteristicValue": [
        {"value": "ftp://x"}]}]}, "characteristic-invalid"),
    ({"productSpecCharacteristic": [{"name": "sla.availability",
                                     "productSpecCharacteristicValue": [{"value": 120}]}]},
     "characteristic-invalid"),
    ({"datasetIds": []}, "validation-failed"),
    ({"dspAddress": "not a url"}, "validation-failed"),
    ({"providerDid": None}, "provider-did-missing"),
])
async def test_bad_products_are_refused(marketplace: Marketplace, change: dict[str, Any],
                                        code: str) -> None:
    mp = marketplace
    status, body, _ = await mp.call("POST", f"{TMF620}/productSpecification",
                                    {k: v for k, v in {**spec_body(), **change}.items()
                                     if v is not None}, headers=mp.admin)
    assert status == 400, body
    tmf_error(body, 400, code)
    assert await count(mp, "productSpecification") == 0


async def test_lifecycle_moves_follow_the_table(marketplace: Marketplace) -> None:
    mp = marketplace
    spec = await create(mp, "productSpecification", spec_body())
    plan = await create(mp, "productOfferingPrice", price_body())
    offering = await create(mp, "productOffering", {"name": "Counts",
                                                    "productSpecification": {"id": spec["id"]}})
    oid = offering["id"]
    refused = await patch(mp, "productOffering", oid, {"lifecycleStatus": "launched"}, 409)
    tmf_error(refused, 409, "illegal-transition")
    await patch(mp, "productOffering", oid, {"lifecycleStatus": "inDesign"})
    await patch(mp, "productOffering", oid, {"lifecycleStatus": "inStudy"})
    await patch(mp, "productOffering", oid, {"lifecycleStatus": "inDesign"})
    await patch(mp, "productOffering", oid, {"lifecycleStatus": "inTest"})
    incomplete = await patch(mp, "productOffering", oid, {"lifecycleStatus": "launched"}, 409)
    tmf_error(incomplete, 409, "offering-incomplete")
    launched = await patch(mp, "productOffering", oid, {
        "lifecycleStatus": "launched", "productOfferingPrice": [{"id": plan["id"]}]})
    assert launched["lifecycleStatus"] == "launched"
    assert launched["productOfferingPrice"][0] | {"id": plan["id"], "version": "1.0"} == \
        launched["productOfferingPrice"][0]
    for back in ("inStudy", "inTest", "obsolete"):
        await patch(mp, "productOffering", oid, {"lifecycleStatus": back}, 409)
    status, body, _ = await mp.call("DELETE", f"{TMF620}/productOffering/{oid}",
                                    headers=mp.admin)
    assert (status, body["code"]) == (409, "offering-launched")
    await patch(mp, "productOffering", oid, {"lifecycleStatus": "retired"})
    await patch(mp, "productOffering", oid, {"lifecycleStatus": "obsolete"})
    for again in ("launched", "retired", "inStudy"):
        await patch(mp, "productOffering", oid, {"lifecycleStatus": again}, 409)
    status, body, _ = await mp.call("POST", f"{TMF620}/catalog",
                                    {"name": "x", "lifecycleStatus": "launched"},
                                    headers=mp.admin)
    assert (status, body["code"]) == (409, "illegal-transition")
    status, body, _ = await mp.call("POST", f"{TMF620}/catalog",
                                    {"name": "x", "lifecycleStatus": "sold"}, headers=mp.admin)
    assert status == 400
    assert await count(mp, "catalog") == 0


async def test_new_terms_of_a_launched_offering_make_a_new_version(
        marketplace: Marketplace) -> None:
    mp = marketplace
    _, plan, offering = await launched_offering(mp)
    oid = offering["id"]
    # Not a commercial term: changed in place.
    described = await patch(mp, "productOffering", oid, {"description": "Hourly counts"})
    assert described["version"] == "1.0"
    yearly = await create(mp, "productOfferingPrice", price_body(
        name="Yearly", recurringChargePeriodType="year", price={"unit": "NOK", "value": 15000}))
    second = await patch(mp, "productOffering", oid, {"productOfferingPrice": [
        {"id": plan["id"]}, {"id": yearly["id"]}]})
    assert second["version"] == "2.0"
    assert [p["id"] for p in second["productOfferingPrice"]] == [plan["id"], yearly["id"]]
    status, first, _ = await mp.call("GET", f"{TMF620}/productOffering/{oid}?version=1.0")
    assert status == 200, first
    assert first == described
    status, page, headers = await mp.call(
        "GET", f"{TMF620}/productOffering?id={oid}&version=1.0")
    assert (status, page, headers["X-Total-Count"]) == (200, [described], "1")
    status, page, _ = await mp.call("GET", f"{TMF620}/productOffering")
    assert [o["version"] for o in page] == ["2.0"]
    # A plan change on a launched offering: the plan and the offering get new versions.
    cheaper = await patch(mp, "productOfferingPrice", plan["id"],
                          {"price": {"unit": "NOK", "value": 1200}})
    assert cheaper["version"] == "2.0"
    status, third, _ = await mp.call("GET", f"{TMF620}/productOffering/{oid}")
    assert third["version"] == "3.0"
    assert third["productOfferingPrice"][0]["version"] == "2.0"
    status, old_plan, _ = await mp.call(
        "GET", f"{TMF620}/productOfferingPrice/{plan['id']}?version=1.0")
    assert (status, old_plan["price"]) == (200, {"unit": "NOK", "value": 1500})
    status, v2, _ = await mp.call("GET", f"{TMF620}/productOffering/{oid}?version=2.0")
    assert v2["productOfferingPrice"][0]["version"] == "1.0"


async def test_a_retired_offering_keeps_its_plans(marketplace: Marketplace) -> None:
    mp = marketplace
    _, plan, offering = await launched_offering(mp)
    await patch(mp, "productOffering", offering["id"], {"lifecycleStatus": "retired"})
    other = await create(mp, "productOfferingPrice", price_body(name="Other"))
    refusals = [
        ("PATCH", f"productOfferingPrice/{plan['id']}", {"price": {"unit": "NOK", "value": 1}}),
        ("DELETE", f"productOfferingPrice/{plan['id']}", None),
        ("PATCH", f"productOffering/{offering['id']}",
         {"productOfferingPrice": [{"id": other["id"]}]}),
    ]
    for method, path, body in refusals:
        status, answer, _ = await mp.call(method, f"{TMF620}/{path}", body,
                                          headers={**mp.admin, **MERGE})
        assert (status, answer["code"]) == (409, "offering-retired"), (method, path, answer)
    status, kept, _ = await mp.call("GET", f"{TMF620}/productOfferingPrice/{plan['id']}",
                                    headers=mp.admin)
    assert (kept["price"], kept["version"]) == ({"unit": "NOK", "value": 1500}, "1.0")
    status, unchanged, _ = await mp.call("GET", f"{TMF620}/productOffering/{offering['id']}",
                                         headers=mp.admin)
    assert unchanged["version"] == "1.0"


async def test_anonymous_sees_launched_public_offerings_and_what_they_name(
        marketplace: Marketplace) -> None:
    mp = marketplace
    spec, plan, public = await launched_offering(mp)
    hidden_spec, hidden_plan, private = await launched_offering(mp, isPrivate=True)
    draft = await create(mp, "productOffering", {"name": "Draft"})
    status, page, headers = await mp.call("GET", f"{TMF620}/productOffering")
    assert [o["id"] for o in page] == [public["id"]]
    assert headers["X-Total-Count"] == "1"
    for kind, item_id, seen in [
            ("productOffering", public["id"], True), ("productOffering", private["id"], False),
            ("productOffering", draft["id"], False),
            ("productSpecification", spec["id"], True),
            ("productSpecification", hidden_spec["id"], False),
            ("productOfferingPrice", plan["id"], True),
            ("productOfferingPrice", hidden_plan["id"], False)]:
        status, body, _ = await mp.call("GET", f"{TMF620}/{kind}/{item_id}")
        assert status == (200 if seen else 404), (kind, body)
    status, specs, _ = await mp.call("GET", f"{TMF620}/productSpecification")
    assert [s["id"] for s in specs] == [spec["id"]]
    status, plans, _ = await mp.call("GET", f"{TMF620}/productOfferingPrice")
    assert [p["id"] for p in plans] == [plan["id"]]
    # The operator sees them all.
    assert await count(mp, "productOffering") == 3
    assert await count(mp, "productSpecification") == 2
    # A product an offering names is not deleted; a plan on an offering neither.
    status, body, _ = await mp.call("DELETE", f"{TMF620}/productSpecification/{spec['id']}",
                                    headers=mp.admin)
    assert (status, body["code"]) == (409, "specification-in-use")
    status, body, _ = await mp.call("DELETE", f"{TMF620}/productOfferingPrice/{plan['id']}",
                                    headers=mp.admin)
    assert (status, body["code"]) == (409, "price-in-use")
    # Unknown references are refused, nothing stored.
    status, body, _ = await mp.call("POST", f"{TMF620}/productOffering", {
        "name": "x", "productSpecification": {"id": "nope"}}, headers=mp.admin)
    assert (status, body["code"]) == (400, "reference-unknown")
    status, body, _ = await mp.call("POST", f"{TMF620}/productOffering", {
        "name": "x", "productSpecification": {"id": spec["id"]},
        "productOfferingPrice": [{"id": plan["id"]}]}, headers=mp.admin)
    assert (status, body["code"]) == (409, "price-in-use")
    assert await count(mp, "productOffering") == 3
