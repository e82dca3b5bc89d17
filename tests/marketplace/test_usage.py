"""TMF635 usage: signed reports from providers' connectors, rated once, only for what was sold."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import aiohttp
import pytest

from connector.dataplane.metering import purchased_plan, purchased_product, tmf635_usage
from connector.domain.catalog import Backend
from identity.keys import KeyPair
from identity.signer import Signer
from marketplace.store import resources as store
from marketplace.store.resources import Resource
from policies.presets import pay_per_use, purchase
from servicekit.db import create_engine
from tests.conftest import Database, free_port
from tests.connector.dataplane.harness import bearer, fetch, serve_data_plane, start_backend
from tests.factories import CONSUMER, agreement, data_flow, data_plane_settings
from tests.marketplace.conftest import TMF635, TMF678, Marketplace

SPEC = "urn:spec:traffic-counts"
START = datetime(2026, 3, 1, tzinfo=UTC)
PER_CALL = {"name": "Per call", "priceType": "usage", "price": {"unit": "NOK", "value": 0.5},
            "unitOfMeasure": {"amount": 1, "units": "call"}, "includedQuota": 200}
MONTHLY = {"name": "Monthly", "priceType": "recurring", "price": {"unit": "NOK", "value": 490},
           "recurringChargePeriodType": "month", "recurringChargePeriodLength": 1}


@dataclass
class Sale:
    """A product the marketplace sold: the buyer holds it, the provider delivers it."""

    product_id: str
    buyer: str
    provider: str
    spec: str = SPEC

    @property
    def plan_id(self) -> str:
        """The plan it was bought on (``sell`` names it after the product)."""
        return f"{self.product_id}-plan"


async def sell(marketplace: Marketplace, database: Database, *, provider: str,
               buyer: str = CONSUMER, plan: dict[str, Any] | None = None,
               spec: str = SPEC, product_id: str = "p-1") -> Sale:
    """Seed, as a completed order leaves them, the plan and the buyer's product."""
    engine = create_engine(database.url, schema=database.schema)
    plan_id = f"{product_id}-plan"
    plan_body = {**(plan or PER_CALL), "id": plan_id, "@type": "DataProductPlan",
                 "@baseType": "ProductOfferingPrice"}
    product_body = {
        "id": product_id, "@type": "Product", "name": "Traffic counts", "status": "active",
        "startDate": START.isoformat().replace("+00:00", "Z"),
        "productSpecification": {"id": spec},
        "productOffering": {"id": f"{product_id}-offering", "version": "1"},
        "productPrice": [{"productOfferingPrice": {"id": plan_id}}],
        "relatedParty": [{"id": buyer, "role": "Buyer"}, {"id": provider, "role": "Seller"}],
        "seller": {"id": provider},
    }
    try:
        async with engine.begin() as conn:
            await store.insert(conn, Resource(
                kind="productOfferingPrice", id=plan_id, version="1", state="Active",
                owner=provider, name="Per call", created_at=START, last_update=START,
                body=plan_body))
            await store.insert(conn, Resource(
                kind="product", id=product_id, version="1", state="active", owner=buyer,
                name="Traffic counts", created_at=START, last_update=START,
                body=product_body, private=True))
    finally:
        await engine.dispose()
    return Sale(product_id, buyer, provider, spec)


def report(signer: Signer, *, requests: int, bucket: datetime = START + timedelta(days=2),
           product: str | None = SPEC, agreement_id: str = "urn:agreement:1",
           consumer: str = CONSUMER, plan: str | None = None) -> dict[str, Any]:
    """One bucket's usage, as the provider's connector builds it (naming ``plan`` if given)."""
    row = SimpleNamespace(agreement_id=agreement_id, transfer_id="urn:transfer:1",
                          bucket_start=bucket.timestamp(), consumer_id=consumer,
                          requests=requests, bytes=requests * 100)
    return tmf635_usage(row, provider=signer.did, bucket_seconds=60.0,
                        dataset_id="urn:dataset:traffic", product_id=product, plan_id=plan)


def signed(signer: Signer, document: dict[str, Any]) -> dict[str, str]:
    """The header the connector sends: a usage+jwt over the same document."""
    return {"X-Usage-Signature": signer.sign_jwt(document, typ="usage+jwt")}


async def post(marketplace: Marketplace, document: Any,
               headers: dict[str, str]) -> tuple[int, Any, dict[str, str]]:
    return await marketplace.call("POST", f"{TMF635}/usage", document, headers=headers)


async def charges(marketplace: Marketplace) -> list[dict[str, Any]]:
    status, body, _ = await marketplace.call(
        "GET", f"{TMF678}/appliedCustomerBillingRate", headers=marketplace.admin)
    assert status == 200
    return list(body)


@pytest.fixture
def connector_key() -> Signer:
    """The provider connector's key (its did:key, as the test data planes use)."""
    return Signer.for_did_key(KeyPair.generate())


async def test_the_connectors_report_is_rated_once_and_a_resend_is_409(
    marketplace: Marketplace, database: Database, connector_key: Signer
) -> None:
    sale = await sell(marketplace, database, provider=connector_key.did)
    document = report(connector_key, requests=300)
    status, body, _ = await post(marketplace, document, signed(connector_key, document))
    assert status == 201, body
    assert body["status"] == "rated"
    assert body["href"] == f"{marketplace.url}{TMF635}/usage/{document['id']}"
    rated = body["ratedProductUsage"][0]
    # (300 - 200 included) × 0.50, as TMF Money
    assert rated["taxExcludedRatingAmount"] == {"unit": "NOK", "value": 50}
    assert rated["productRef"]["id"] == sale.product_id
    status, again, _ = await post(marketplace, document, signed(connector_key, document))
    assert status == 409
    assert again["code"] == "usage-exists"
    assert len(await charges(marketplace)) == 1
    status, got, _ = await marketplace.call("GET", f"{TMF635}/usage/{document['id']}",
                                            headers=marketplace.admin)
    assert status == 200
    assert got == body
    status, listed, headers = await marketplace.call("GET", f"{TMF635}/usage?status=rated",
                                                     headers=marketplace.admin)
    assert status == 200
    assert [u["id"] for u in listed] == [document["id"]]
    assert headers["X-Total-Count"] == "1"


async def test_usage_for_an_agreement_the_marketplace_did_not_sell_is_refused(
    marketplace: Marketplace, database: Database, connector_key: Signer
) -> None:
    await sell(marketplace, database, provider=connector_key.did)
    cases = [
        report(connector_key, requests=5, product="urn:spec:never-sold"),
        report(connector_key, requests=5, consumer="did:web:stranger.example"),
        report(connector_key, requests=5, bucket=START - timedelta(days=30)),  # before the sale
    ]
    for document in cases:
        status, body, _ = await post(marketplace, document, signed(connector_key, document))
        assert (status, body["code"]) == (403, "usage-not-sold"), document
    # another provider's connector cannot bill the buyer for this product either
    other = Signer.for_did_key(KeyPair.generate())
    document = report(other, requests=5)
    status, body, _ = await post(marketplace, document, signed(other, document))
    assert (status, body["code"]) == (403, "usage-not-sold")
    # a report without the product (an agreement made without a purchase credential)
    document = report(connector_key, requests=5, product=None)
    status, body, _ = await post(marketplace, document, signed(connector_key, document))
    assert (status, body["code"]) == (400, "usage-product-missing")
    assert await charges(marketplace) == []
    status, listed, _ = await marketplace.call("GET", f"{TMF635}/usage",
                                               headers=marketplace.admin)
    assert listed == []


async def test_bad_input_is_refused_and_nothing_is_stored(
    marketplace: Marketplace, database: Database, connector_key: Signer
) -> None:
    await sell(marketplace, database, provider=connector_key.did)
    document = report(connector_key, requests=5)
    bad_bodies: list[tuple[Any, dict[str, str], int, str]] = [
        (document, {}, 401, "usage-signature-missing"),
        (document, {"X-Usage-Signature": "not.a.jwt"}, 401, "jwt-malformed"),
        ({**document, "id": "bad id with spaces"}, signed(connector_key, document), 400,
         "validation-failed"),
        ({k: v for k, v in document.items() if k != "relatedParty"},
         signed(connector_key, document), 400, "validation-failed"),
        ([1, 2], signed(connector_key, document), 400, "validation-failed"),
    ]
    for body, headers, status, code in bad_bodies:
        got_status, got, _ = await post(marketplace, body, headers)
        assert (got_status, got["code"]) == (status, code), (body, got)
    async with marketplace.http.post(f"{marketplace.url}{TMF635}/usage", data=b"{nope",
                                     headers={"Content-Type": "application/json"}) as response:
        assert response.status == 400
        assert (await response.json())["code"] == "malformed-json"
    status, body, _ = await marketplace.call("GET", f"{TMF635}/usage?limit=0",
                                             headers=marketplace.admin)
    assert (status, body["code"]) == (400, "paging-invalid")
    status, body, _ = await marketplace.call("GET", f"{TMF635}/usage")
    assert (status, body["code"]) == (401, "sign-in-required")
    status, body, _ = await marketplace.call("GET", f"{TMF635}/usage/nothing",
                                             headers=marketplace.admin)
    assert (status, body["code"]) == (404, "resource-not-found")
    assert await charges(marketplace) == []


def test_the_connector_names_the_product_its_agreement_requires_a_purchase_of() -> None:
    assert purchased_product(agreement(purchase(SPEC) + pay_per_use("0.50"))) == SPEC
    assert purchased_product(agreement(pay_per_use("0.50"))) is None
    bought = agreement(purchase(SPEC, plan="urn:plan:per-call") + pay_per_use("0.50"))
    assert (purchased_product(bought), purchased_plan(bought)) == (SPEC, "urn:plan:per-call")
    assert purchased_plan(agreement(purchase(SPEC) + pay_per_use("0.50"))) is None


async def test_usage_is_billed_to_the_product_on_the_plan_the_report_names(
    marketplace: Marketplace, database: Database, connector_key: Signer
) -> None:
    """A buyer holding a monthly and a pay-per-use product of one data product."""
    provider = connector_key.did
    monthly = await sell(marketplace, database, provider=provider, plan=MONTHLY,
                         product_id="p-monthly")
    per_use = await sell(marketplace, database, provider=provider, product_id="p-use")

    async def rated(document: dict[str, Any]) -> dict[str, Any]:
        status, body, _ = await post(marketplace, document, signed(connector_key, document))
        assert status == 201, body
        return dict(body)

    named = report(connector_key, requests=300, plan=per_use.plan_id, agreement_id="urn:a:use")
    assert {"name": "planId", "valueType": "string", "value": per_use.plan_id} in named[
        "usageCharacteristic"]
    body = await rated(named)
    assert body["status"] == "rated"
    assert body["ratedProductUsage"][0]["productRef"]["id"] == per_use.product_id
    # usage under the monthly plan's agreement is recorded on the monthly product, not charged
    body = await rated(report(connector_key, requests=50, plan=monthly.plan_id,
                              agreement_id="urn:a:monthly", bucket=START + timedelta(days=3)))
    assert body["status"] == "guided"
    status, stored, _ = await marketplace.call("GET", f"{TMF635}/usage/{body['id']}",
                                               headers=marketplace.admin)
    assert (status, stored["status"]) == (200, "guided")
    # a report from before planId (an older connector) goes to the usage-priced product
    body = await rated(report(connector_key, requests=10, agreement_id="urn:a:old",
                              bucket=START + timedelta(days=4)))
    assert body["status"] == "rated"
    assert body["ratedProductUsage"][0]["productRef"]["id"] == per_use.product_id
    # a plan the buyer did not buy is not sold
    document = report(connector_key, requests=5, plan="urn:plan:never-bought",
                      agreement_id="urn:a:other", bucket=START + timedelta(days=5))
    status, refused, _ = await post(marketplace, document, signed(connector_key, document))
    assert (status, refused["code"]) == (403, "usage-not-sold")
    lines = await charges(marketplace)
    assert {line["product"]["id"] for line in lines} == {per_use.product_id}
    assert len(lines) == 2


async def test_a_real_provider_connector_reports_usage_that_is_billed(
    marketplace: Marketplace, database: Database, tmp_path: Path
) -> None:
    """The data plane serves 7 calls on a purchased pay-per-use agreement and reports them."""
    own = Database("sqlite", f"sqlite+aiosqlite:///{tmp_path / 'provider.sqlite3'}")
    settings = data_plane_settings(own, tmp_path / "provider", port=free_port(),
                                   usage_bucket_seconds=1.0, usage_grace_seconds=0.2)
    settings = settings.model_copy(update={"marketplace_url": marketplace.url})
    backend = await start_backend()
    running = await serve_data_plane(settings)
    try:
        assert running.plane.runner is not None
        running.plane.runner._base_backoff = 0.05
        sale = await sell(marketplace, database, provider=running.plane.signer.did,
                          plan={**PER_CALL, "includedQuota": 2})
        api = Backend(type="http", address=str(backend.make_url("/api/items")),
                      properties={"proxyPath": "true"})
        flow = data_flow(agreement(purchase(SPEC, plan=sale.plan_id) + pay_per_use("0.50")),
                         api)
        # what the control plane verified when the buyer presented its purchase credential
        flow = replace(flow, credentials={"DataProductPurchaseCredential": (
            {"id": CONSUMER, "product": SPEC, "plan": sale.plan_id},)})
        edr = await running.plane.signaling.start(flow)
        async with aiohttp.ClientSession() as http:
            for _ in range(7):
                assert (await fetch(http, running.url, bearer(edr)))[0] == 200
        lines: list[dict[str, Any]] = []
        for _ in range(300):
            lines = await charges(marketplace)
            if lines:
                break
            await asyncio.sleep(0.05)
            await running.plane.flush()
            running.plane._reported_at = 0.0
        assert len(lines) == 1
        line = lines[0]
        assert line["product"]["id"] == sale.product_id
        # the connector's report names the plan the agreement was bought on
        status, reports, _ = await marketplace.call("GET", f"{TMF635}/usage",
                                                    headers=marketplace.admin)
        assert status == 200
        assert {(c["name"], c["value"]) for r in reports for c in r["usageCharacteristic"]
                } >= {("productId", SPEC), ("planId", sale.plan_id)}
        values = {c["name"]: c["value"] for c in line["characteristic"]}
        assert values["quantity"] == 7
        assert values["chargeableQuantity"] == 5
        assert line["taxExcludedAmount"] == {"unit": "NOK", "value": 2.5}
        assert line["relatedParty"][1] == {"id": running.plane.signer.did, "role": "provider",
                                           "@referredType": "Organization"}
    finally:
        await running.server.close()
        await backend.close()

