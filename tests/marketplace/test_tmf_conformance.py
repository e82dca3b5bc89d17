"""The five TM Forum v4 APIs as a conformance test kit drives them, one API after another.

For each resource what TM Forum's v4 conformance kits check: ``POST`` with the
mandatory attributes answers ``201`` with ``id``, an absolute ``href`` ending
in ``/{id}``, ``@type`` and the server's defaults; ``GET /{id}`` answers the
same body; ``?fields=x`` answers only ``x`` (with ``id``, ``href``,
``@type``); an attribute filter answers only matching items, with
``X-Total-Count`` and ``X-Result-Count``; ``PATCH`` changes and answers the
resource; ``DELETE`` answers ``204`` and the resource is gone (``404``); an
unknown id is ``404`` with the TMF ``Error`` body. Every body is checked
against the v4 field types in ``tmf_schemas/`` (see its README).

Everything goes through the public API of a real marketplace on loopback
(SQLite, and PostgreSQL with TEST_DATABASE_URL), as the operator (admin key):
the catalog, an order for a named buyer, the product it makes, usage signed by
the provider's connector key, and the bill a billing run makes of it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from identity.keys import KeyPair
from identity.signer import Signer
from tests.factories import CONSUMER
from tests.fakes import FakeClock
from tests.marketplace.conftest import TMF620, TMF622, TMF635, TMF637, TMF678, Marketplace
from tests.marketplace.test_usage import report, signed

SCHEMAS = Path(__file__).parent / "tmf_schemas"
MERGE = {"Content-Type": "application/merge-patch+json"}
FORMATS = FormatChecker()


def _date_time(value: object) -> bool:
    """RFC 3339 with a zone (``Z`` or an offset), as TMF's ``date-time`` is."""
    return not isinstance(value, str) or datetime.fromisoformat(value).tzinfo is not None


FORMATS.checks("date-time", raises=ValueError)(_date_time)


def _registry() -> Registry[Any]:
    resources = []
    for path in sorted(SCHEMAS.glob("*.json")):
        contents = json.loads(path.read_text())
        resources.append((contents["$id"], Resource.from_contents(
            contents, default_specification=DRAFT202012)))
    return Registry().with_resources(resources)


REGISTRY = _registry()


def conforms(body: Any, api: str, definition: str) -> None:
    """``body`` has the v4 types of ``definition`` (in ``tmf_schemas/<api>.json``)."""
    validator = Draft202012Validator({"$ref": f"urn:tmf-v4:{api}#/$defs/{definition}"},
                                     registry=REGISTRY, format_checker=FORMATS)
    problems = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(body)]
    assert not problems, problems


def served(mp: Marketplace, body: dict[str, Any], path: str, api: str, definition: str) -> None:
    """The server's part of a resource: ``id``, absolute ``href`` on ``/{id}``, ``@type``."""
    assert isinstance(body["id"], str)
    assert body["id"]
    assert body["href"] == f"{mp.url}{path}/{body['id']}"
    assert isinstance(body["@type"], str)
    assert body["@type"]
    conforms(body, api, definition)


async def call(mp: Marketplace, method: str, path: str, body: Any = None,
               headers: dict[str, str] | None = None) -> tuple[int, Any, dict[str, str]]:
    return await mp.call(method, path, body, headers={**mp.admin, **(headers or {})})


async def ok(mp: Marketplace, method: str, path: str, body: Any = None, *, expect: int = 200,
             headers: dict[str, str] | None = None) -> Any:
    status, answer, got = await call(mp, method, path, body, headers)
    assert status == expect, answer
    if expect != 204:
        assert got["Content-Type"].startswith("application/json")
    return answer


async def not_found(mp: Marketplace, method: str, path: str, body: Any = None) -> None:
    """``404`` with the TMF ``Error`` body."""
    status, error, _ = await call(mp, method, path, body, MERGE if method == "PATCH" else None)
    assert status == 404, error
    conforms(error, "common", "Error")
    assert (error["@type"], error["status"], error["code"]) == ("Error", "404",
                                                                 "resource-not-found")
    assert error["reason"]
    assert error["message"]


async def retrieved_and_projected(mp: Marketplace, path: str, body: dict[str, Any],
                                  field: str) -> None:
    """``GET /{id}`` is the body; ``?fields=`` keeps only ``field`` (+ id, href, @type)."""
    assert await ok(mp, "GET", f"{path}/{body['id']}") == body
    got = await ok(mp, "GET", f"{path}/{body['id']}?fields={field}")
    assert got == {k: body[k] for k in ("id", "href", "@type", field)}
    listed = await ok(mp, "GET", f"{path}?fields={field}")
    assert listed
    assert all(set(item) <= {"id", "href", "@type", field} for item in listed)
    assert {k: body[k] for k in ("id", "href", "@type", field)} in listed


async def filtered(mp: Marketplace, path: str, attribute: str, value: str,
                   expect_id: str) -> None:
    """``?attribute=value`` answers only matches, counted in both headers."""
    status, items, headers = await call(mp, "GET", f"{path}?{attribute}={value}")
    assert status == 200, items
    assert expect_id in [item["id"] for item in items]
    assert all(item[attribute] == value for item in items)
    assert int(headers["X-Result-Count"]) == len(items) == int(headers["X-Total-Count"])
    status, none, headers = await call(mp, "GET", f"{path}?{attribute}=no-such-{attribute}")
    assert (status, none, headers["X-Total-Count"], headers["X-Result-Count"]) == (
        200, [], "0", "0")


# -- the data product, sold, used and billed through the public API -----------------------


@dataclass
class Sold:
    """What one sale left in each API."""

    connector: Signer
    spec: dict[str, Any]
    plan: dict[str, Any]
    offering: dict[str, Any]
    order: dict[str, Any]
    product: dict[str, Any]
    usage: dict[str, Any]
    bill: dict[str, Any]


async def sell_use_and_bill(mp: Marketplace, clock: FakeClock) -> Sold:
    connector = Signer.for_did_key(KeyPair.generate())
    spec = await ok(mp, "POST", f"{TMF620}/productSpecification", {
        "name": "Traffic counts", "providerDid": connector.did,
        "dspAddress": "https://halden.example/dsp", "datasetIds": ["urn:dataset:traffic"]},
        expect=201)
    plan = await ok(mp, "POST", f"{TMF620}/productOfferingPrice", {
        "name": "Per call", "priceType": "usage", "price": {"unit": "NOK", "value": 0.5},
        "unitOfMeasure": {"amount": 1, "units": "call"}}, expect=201)
    offering = await ok(mp, "POST", f"{TMF620}/productOffering", {
        "name": "Traffic counts", "productSpecification": {"id": spec["id"]},
        "productOfferingPrice": [{"id": plan["id"]}]}, expect=201)
    for state in ("inDesign", "inTest", "launched"):
        offering = await ok(mp, "PATCH", f"{TMF620}/productOffering/{offering['id']}",
                            {"lifecycleStatus": state}, headers=MERGE)
    order = await ok(mp, "POST", f"{TMF622}/productOrder", {
        "productOrderItem": [{"id": "1", "action": "add",
                              "productOffering": {"id": offering["id"]},
                              "itemPrice": [{"productOfferingPrice": {"id": plan["id"]}}]}],
        "relatedParty": [{"id": CONSUMER, "role": "Buyer", "@referredType": "Organization"}]},
        expect=201)
    product = await ok(mp, "GET", order["productOrderItem"][0]["product"]["href"]
                       .removeprefix(mp.url))
    document = report(connector, requests=300, product=spec["id"],
                      bucket=datetime.fromtimestamp(clock(), UTC) + timedelta(seconds=1))
    status, usage, _ = await mp.call("POST", f"{TMF635}/usage", document,
                                     headers=signed(connector, document))
    assert status == 201, usage
    clock.advance(3600)
    bills = (await ok(mp, "POST", "/billing/runs", {}, expect=201))["bills"]
    return Sold(connector, spec, plan, offering, order, product, usage, bills[0])


@pytest.fixture
async def sold(mp: Marketplace, clock: FakeClock) -> Sold:
    return await sell_use_and_bill(mp, clock)


# -- TMF620 ---------------------------------------------------------------------------------

#: The mandatory attributes of each TMF620 resource (``name``), and what this
#: marketplace needs besides to accept it: a data product's provider and datasets,
#: a plan's price.
MANDATORY: dict[str, dict[str, Any]] = {
    "productSpecification": {"name": "Counts", "providerDid": "did:web:halden.example",
                             "dspAddress": "https://halden.example/dsp",
                             "datasetIds": ["urn:dataset:counts"]},
    "productOfferingPrice": {"name": "Once", "priceType": "oneTime",
                             "price": {"unit": "NOK", "value": 100}},
    "productOffering": {"name": "Counts"},
    "catalog": {"name": "Mobility"},
    "category": {"name": "Traffic"},
}
DEFINITIONS = {"productSpecification": "ProductSpecification",
               "productOfferingPrice": "ProductOfferingPrice",
               "productOffering": "ProductOffering", "catalog": "Catalog",
               "category": "Category"}
#: The lifecycleStatus the server starts each resource in.
FIRST_STATUS = {"productOfferingPrice": "Active"}


@pytest.mark.parametrize("kind", list(MANDATORY))
async def test_tmf620_resource(mp: Marketplace, clock: FakeClock, kind: str) -> None:
    path = f"{TMF620}/{kind}"
    created = await ok(mp, "POST", path, MANDATORY[kind], expect=201)
    served(mp, created, path, "tmf620", DEFINITIONS[kind])
    assert created["name"] == MANDATORY[kind]["name"]
    assert created["lifecycleStatus"] == FIRST_STATUS.get(kind, "inStudy")
    assert created["version"] == "1.0"
    assert datetime.fromisoformat(created["lastUpdate"]) <= datetime.now(UTC)
    await retrieved_and_projected(mp, path, created, "name")
    await filtered(mp, path, "name", created["name"], created["id"])
    clock.advance(60)
    for headers in (MERGE, {}):  # merge-patch+json, and plain JSON as kits send it
        patched = await ok(mp, "PATCH", f"{path}/{created['id']}",
                           {"description": f"patched {headers}"}, headers=headers)
        assert patched["description"] == f"patched {headers}"
        served(mp, patched, path, "tmf620", DEFINITIONS[kind])
    assert patched["lastUpdate"] > created["lastUpdate"]
    assert await ok(mp, "GET", f"{path}/{created['id']}") == patched
    await ok(mp, "DELETE", f"{path}/{created['id']}", expect=204)
    await not_found(mp, "GET", f"{path}/{created['id']}")
    for method in ("GET", "PATCH", "DELETE"):
        await not_found(mp, method, f"{path}/no-such-id", {"description": "x"})


# -- TMF622 ---------------------------------------------------------------------------------


async def test_tmf622_product_order_and_cancellation(mp: Marketplace, sold: Sold) -> None:
    path = f"{TMF622}/productOrder"
    order = sold.order
    served(mp, order, path, "tmf622", "ProductOrder")
    assert order["@type"] == "ProductOrder"
    assert order["state"] == "completed"  # a pay-per-use plan owes nothing now
    assert datetime.fromisoformat(order["orderDate"]).tzinfo is not None
    item = order["productOrderItem"][0]
    assert (item["id"], item["action"], item["state"]) == ("1", "add", "completed")
    await retrieved_and_projected(mp, path, order, "state")
    await filtered(mp, path, "state", "completed", order["id"])
    patched = await ok(mp, "PATCH", f"{path}/{order['id']}",
                       {"note": [{"text": "invoice to the department"}]}, headers=MERGE)
    assert [n["text"] for n in patched["note"]] == ["invoice to the department"]
    served(mp, patched, path, "tmf622", "ProductOrder")
    assert await ok(mp, "GET", f"{path}/{order['id']}") == patched

    cancels = f"{TMF622}/cancelProductOrder"
    cancel = await ok(mp, "POST", cancels, {"productOrder": {"id": order["id"]}}, expect=201)
    served(mp, cancel, cancels, "tmf622", "CancelProductOrder")
    assert (cancel["@type"], cancel["state"]) == ("CancelProductOrder", "done")
    assert cancel["productOrder"]["id"] == order["id"]
    await retrieved_and_projected(mp, cancels, cancel, "state")
    await filtered(mp, cancels, "state", "done", cancel["id"])
    assert (await ok(mp, "GET", f"{path}/{order['id']}"))["state"] == "cancelled"
    await ok(mp, "DELETE", f"{path}/{order['id']}", expect=204)
    await not_found(mp, "GET", f"{path}/{order['id']}")
    for method in ("GET", "PATCH", "DELETE"):
        await not_found(mp, method, f"{path}/no-such-id", {"description": "x"})
    await not_found(mp, "GET", f"{cancels}/no-such-id")


# -- TMF637 ---------------------------------------------------------------------------------


async def test_tmf637_product(mp: Marketplace, sold: Sold) -> None:
    path = f"{TMF637}/product"
    product = sold.product
    served(mp, product, path, "tmf637", "Product")
    assert (product["@type"], product["status"]) == ("Product", "active")
    assert product["productOffering"]["id"] == sold.offering["id"]
    assert product["productSpecification"]["id"] == sold.spec["id"]
    assert datetime.fromisoformat(product["startDate"]).tzinfo is not None
    await retrieved_and_projected(mp, path, product, "status")
    await filtered(mp, path, "status", "active", product["id"])
    patched = await ok(mp, "PATCH", f"{path}/{product['id']}",
                       {"description": "for the traffic office"}, headers=MERGE)
    assert patched["description"] == "for the traffic office"
    served(mp, patched, path, "tmf637", "Product")
    terminated = await ok(mp, "PATCH", f"{path}/{product['id']}", {"status": "terminated"})
    assert terminated["status"] == "terminated"
    assert datetime.fromisoformat(terminated["terminationDate"]).tzinfo is not None
    assert await ok(mp, "GET", f"{path}/{product['id']}") == terminated
    await ok(mp, "DELETE", f"{path}/{product['id']}", expect=204)
    await not_found(mp, "GET", f"{path}/{product['id']}")
    for method in ("GET", "PATCH", "DELETE"):
        await not_found(mp, method, f"{path}/no-such-id", {"description": "x"})
    # products come from completed orders only: no POST (an Error body says so)
    status, error, _ = await call(mp, "POST", path, {"name": "Traffic counts"})
    assert status == 405
    conforms(error, "common", "Error")


# -- TMF635 ---------------------------------------------------------------------------------


async def test_tmf635_usage(mp: Marketplace, sold: Sold) -> None:
    path = f"{TMF635}/usage"
    usage = sold.usage
    served(mp, usage, path, "tmf635", "Usage")
    assert (usage["@type"], usage["status"]) == ("Usage", "rated")
    assert datetime.fromisoformat(usage["usageDate"]).tzinfo is not None
    rated = usage["ratedProductUsage"][0]
    assert rated["taxExcludedRatingAmount"] == {"unit": "NOK", "value": 150}  # 300 × 0.50
    assert rated["taxIncludedRatingAmount"] == {"unit": "NOK", "value": 187.5}
    assert rated["productRef"]["id"] == sold.product["id"]
    await retrieved_and_projected(mp, path, usage, "status")
    await filtered(mp, path, "status", "rated", usage["id"])
    await not_found(mp, "GET", f"{path}/no-such-id")
    # usage is the provider's signed evidence: not changed nor deleted over the API
    for method in ("PATCH", "DELETE"):
        status, error, _ = await call(mp, method, f"{path}/{usage['id']}", {"status": "billed"})
        assert status == 405
        conforms(error, "common", "Error")


# -- TMF678 ---------------------------------------------------------------------------------


async def test_tmf678_customer_bill(mp: Marketplace, clock: FakeClock, sold: Sold) -> None:
    path = f"{TMF678}/customerBill"
    bill = sold.bill
    served(mp, bill, path, "tmf678", "CustomerBill")
    assert (bill["@type"], bill["state"], bill["runType"]) == ("CustomerBill", "new",
                                                               "onCycle")
    assert bill["billingAccount"]["id"] == CONSUMER
    assert bill["taxExcludedAmount"] == {"unit": "NOK", "value": 150}
    assert bill["amountDue"] == {"unit": "NOK", "value": 187.5}
    await retrieved_and_projected(mp, path, bill, "state")
    await filtered(mp, path, "state", "new", bill["id"])
    clock.advance(60)
    for state, headers in (("validated", MERGE), ("sent", {})):
        patched = await ok(mp, "PATCH", f"{path}/{bill['id']}",
                           {"state": state, "@type": "CustomerBill"}, headers=headers)
        assert patched["state"] == state
        served(mp, patched, path, "tmf678", "CustomerBill")
    assert patched["lastUpdate"] > bill["lastUpdate"]
    assert await ok(mp, "GET", f"{path}/{bill['id']}") == patched
    await not_found(mp, "GET", f"{path}/no-such-id")
    await not_found(mp, "PATCH", f"{path}/no-such-id", {"state": "sent"})
    lines = await ok(mp, "GET", f"{TMF678}/appliedCustomerBillingRate?bill.id={bill['id']}")
    assert [line["bill"]["id"] for line in lines] == [bill["id"]]
    for party in lines[0]["relatedParty"]:
        conforms(party, "common", "RelatedParty")


# -- bad input ------------------------------------------------------------------------------


async def test_a_malformed_fields_list_is_refused_on_every_api(mp: Marketplace,
                                                               sold: Sold) -> None:
    items = {f"{TMF620}/productOffering": sold.offering, f"{TMF622}/productOrder": sold.order,
             f"{TMF637}/product": sold.product, f"{TMF635}/usage": sold.usage,
             f"{TMF678}/customerBill": sold.bill}
    for path, body in items.items():
        for fields in ("", "a,,b;c", "name)"):
            status, error, _ = await call(mp, "GET", f"{path}/{body['id']}?fields={fields}")
            assert (status, error["code"]) == (400, "fields-invalid"), (path, fields)
            conforms(error, "common", "Error")
        assert await ok(mp, "GET", f"{path}/{body['id']}") == body  # nothing changed
