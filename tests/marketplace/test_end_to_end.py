"""The marketplace end to end: real members, real connectors, the API only.

A real trust anchor, the marketplace onboarded as a member, and real
connectors (``dcp`` auth, did:web on 127.0.0.1) onboarded the same way
(:func:`tests.marketplace.members.member_space`). Every call to the
marketplace is a member's DCP call or the operator's; nothing is seeded in a
store. The provider registers its data product (TMF620), publishes its
dataset in its own connector under the plan's ODRL offer
(:func:`~marketplace.domain.pricing.plan_policy`), the buyer orders (TMF622)
and pays, its connector receives the purchase credential over DCP,
negotiates with it and pulls data through the provider's data plane.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from aiohttp import web
from aiohttp.test_utils import TestServer

from connector.dataplane.metering import tmf635_usage
from connector.dataplane.runtime import USAGE_TYPE
from connector.dataplane.store.tables import usage as usage_table
from connector.dataplane.web import DATA_PLANE
from identity.keys import KeyPair
from identity.signer import Signer
from marketplace.domain.pricing import PricingPlan, plan_policy
from marketplace.services.purchases import PURCHASE_CREDENTIAL
from policies.serialize import to_dsp
from servicekit.app import DB_ENGINE
from servicekit.errors import PROBLEM_BASE_URI
from tests.conftest import Database, free_port
from tests.marketplace.conftest import TMF620, TMF622, TMF635, TMF637, TMF678, Marketplace
from tests.marketplace.fake_card_provider import API_KEY, WEBHOOK_SECRET, FakeCardProvider
from tests.marketplace.members import REFRESH, Member, MemberSpace, member_space

DATASET = "urn:dataset:halden:traffic"
PAYLOAD = b'[{"station": "Halden", "vehicles": 1234}]'
MERGE = {"Content-Type": "application/merge-patch+json"}
FREE = {"name": "Open", "priceType": "oneTime", "price": {"unit": "NOK", "value": 0}}
MONTHLY = {"name": "Monthly", "priceType": "recurring", "recurringChargePeriodType": "month",
           "price": {"unit": "NOK", "value": 100}}
#: 0.50 NOK a call, the first 234 calls of a month included.
PER_CALL = {"name": "Per call", "priceType": "usage", "price": {"unit": "NOK", "value": 0.5},
            "unitOfMeasure": {"amount": 1, "units": "call"}, "includedQuota": 234}
CALLS = 1234
#: The provider connector's metering bucket (seconds): all the calls fall in one.
BUCKET = 4.0


@asynccontextmanager
async def backend() -> AsyncIterator[str]:
    """The provider's private data source: its URL."""
    async def serve(_request: web.Request) -> web.Response:
        return web.Response(body=PAYLOAD, content_type="application/json")

    app = web.Application()
    app.router.add_get("/data", serve)
    server = TestServer(app, host="127.0.0.1", port=free_port())
    await server.start_server()
    try:
        yield f"http://127.0.0.1:{server.port}/data"
    finally:
        await server.close()


async def until(check: Callable[[], Awaitable[Any]], timeout: float = 10.0,
                pause: float = 0.1) -> Any:
    """``check()`` once it is truthy (fails after ``timeout`` seconds)."""
    deadline = time.monotonic() + timeout
    while True:
        result = await check()
        if result:
            return result
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(pause)


async def tmf(member: Member, method: str, path: str, body: Any = None, *,
              expect: int) -> Any:
    """A member's TMF call to the marketplace, its status checked; the answer."""
    status, answer, _ = await member.call(method, path, body, headers=MERGE)
    assert status == expect, (method, path, answer)
    return answer


@dataclass
class Listed:
    """A data product as its provider listed it: the ids of what it registered."""

    spec: str
    offering: str
    plans: dict[str, dict[str, Any]]
    offers: dict[str, str]
    dataset: str = DATASET


class Provider:
    """The provider's two sides: its connector (management API) and its marketplace calls."""

    def __init__(self, space: MemberSpace, member: Member) -> None:
        assert member.connector is not None
        self.space, self.member, self.connector = space, member, member.connector

    async def api(self, method: str, path: str, body: Any = None, expect: int = 200) -> Any:
        return await self.connector.api(self.space.http, method, path, json=body,
                                        expect=expect)

    async def list_product(self, data_url: str, plans: dict[str, dict[str, Any]], *,
                           private: bool = False, dataset: str = DATASET) -> Listed:
        """Publish the dataset, register the product and its plans, offer each plan's terms
        in the connector (the plan's ODRL offer), launch the offering."""
        published = await self.api("POST", "/api/v1/datasets", {
            "id": dataset, "title": "Traffic counts", "backend": {"address": data_url}},
            expect=201)
        spec = await tmf(self.member, "POST", f"{TMF620}/productSpecification", {
            "name": "Traffic counts", "dspAddress": self.connector.dsp_url,
            "datasetIds": [dataset]}, expect=201)
        made = {name: await tmf(self.member, "POST", f"{TMF620}/productOfferingPrice", plan,
                                expect=201) for name, plan in plans.items()}
        offering = await tmf(self.member, "POST", f"{TMF620}/productOffering", {
            "name": "Traffic counts", "productSpecification": {"id": spec["id"]},
            "isPrivate": private,
            "productOfferingPrice": [{"id": p["id"]} for p in made.values()]}, expect=201)
        offers: dict[str, str] = {}
        for name, plan in made.items():
            policy = plan_policy(PricingPlan.model_validate(plan),
                                 offer_id=f"urn:offer:{plan['id']}",
                                 assigner=self.member.did, product_id=spec["id"])
            stored = await self.api("POST", "/api/v1/policies", {
                "title": plan["name"], "policy": to_dsp(policy, context=False)}, expect=201)
            offer = await self.api("POST", "/api/v1/offers", {
                "dataset_id": dataset, "policy_id": stored["id"]}, expect=201)
            offers[name] = offer["id"]
        # Only the plans' offers remain: the default one would let anyone in.
        await self.api("DELETE", f"/api/v1/offers/{published['offer']['id']}", expect=204)
        for state in ("inDesign", "inTest", "launched"):
            await tmf(self.member, "PATCH", f"{TMF620}/productOffering/{offering['id']}",
                      {"lifecycleStatus": state}, expect=200)
        return Listed(spec["id"], offering["id"], made, offers, dataset)


class Buyer:
    """A buyer's connector: its credentials, negotiations, transfers and pulls."""

    def __init__(self, space: MemberSpace, member: Member, provider: Provider) -> None:
        assert member.connector is not None
        self.space, self.member, self.connector = space, member, member.connector
        self.provider = provider

    async def api(self, method: str, path: str, body: Any = None, expect: int = 200) -> Any:
        return await self.connector.api(self.space.http, method, path, json=body,
                                        expect=expect)

    async def purchases(self) -> list[dict[str, Any]]:
        """The purchase credentials the connector holds."""
        body = await self.api("GET", f"/api/v1/credentials?type={PURCHASE_CREDENTIAL}")
        return list(body["items"])

    async def offer(self, offer_id: str, dataset_id: str = DATASET) -> dict[str, Any]:
        """The provider's offer of ``dataset_id`` as its DSP catalog shows it to us."""
        page = await self.api("POST", "/api/v1/catalog/request",
                              {"counterparty_address": self.provider.connector.dsp_url})
        datasets = page["catalog"].get("dataset") or []
        [dataset] = [d for d in datasets if d["@id"] == dataset_id]
        policies = dataset.get("hasPolicy") or []
        [offer] = [p for p in policies if p["@id"] == offer_id]
        return dict(offer)

    async def negotiate(self, offer: dict[str, Any], states: set[str],
                        dataset_id: str = DATASET) -> dict[str, Any]:
        started = await self.api("POST", "/api/v1/negotiations", {
            "counterparty_address": self.provider.connector.dsp_url,
            "counterparty_id": self.provider.member.did, "dataset_id": dataset_id,
            "offer": offer}, expect=201)
        return await self.connector.wait_for(self.space.http, "negotiations", started["id"],
                                             states)

    async def transfer(self, agreement_id: str) -> tuple[str, dict[str, Any]]:
        """A started pull transfer: its id and its endpoint data reference."""
        started = await self.api("POST", "/api/v1/transfers", {"agreement_id": agreement_id},
                                 expect=201)
        await self.connector.wait_for(self.space.http, "transfers", started["id"], {"STARTED"})
        edr = await self.api("GET", f"/api/v1/transfers/{started['id']}/edr")
        return str(started["id"]), dict(edr)

    async def pull(self, edr: dict[str, Any]) -> tuple[int, bytes]:
        async with self.space.http.get(
                edr["endpoint"], headers={"Authorization": f"Bearer {edr['token']}"}) as resp:
            return resp.status, await resp.read()


async def charges(mp: Marketplace) -> list[dict[str, Any]]:
    """Every charge (TMF678 appliedCustomerBillingRate), as the operator sees them."""
    status, body, _ = await mp.call("GET", f"{TMF678}/appliedCustomerBillingRate",
                                    headers=mp.admin)
    assert status == 200, body
    return list(body)


async def sent_report(provider: Provider, product_id: str) -> tuple[dict[str, Any], Signer]:
    """The usage report the provider's connector sent, rebuilt from its metering table as
    its data plane builds it, and the key it signs with."""
    plane = provider.connector.app[DATA_PLANE]
    async with provider.connector.app[DB_ENGINE].connect() as conn:
        [row] = (await conn.execute(sa.select(usage_table))).all()
    document = tmf635_usage(row, provider=plane.signer.did, bucket_seconds=BUCKET,
                            dataset_id=DATASET, product_id=product_id)
    return document, plane.signer


def order(offering: str, plan: str) -> dict[str, Any]:
    """A member's ProductOrder_Create: one offering on one plan (the buyer is the caller)."""
    return {"productOrderItem": [{
        "id": "1", "action": "add", "productOffering": {"id": offering},
        "itemPrice": [{"productOfferingPrice": {"id": plan}}]}]}


async def test_a_buyer_orders_pays_by_invoice_pulls_and_loses_access_on_cancelling(
        tmp_path: Path, database: Database) -> None:
    async with backend() as data_url, member_space(
            tmp_path, database) as space:
        provider = Provider(space, await space.connector("halden", roles=["provider"]))
        buyer = Buyer(space, await space.connector("analyse", roles=["consumer"]), provider)
        stranger = Buyer(space, await space.connector("bodo", roles=["consumer"]), provider)
        listed = await provider.list_product(data_url, {"free": FREE, "monthly": MONTHLY})
        monthly = listed.plans["monthly"]["id"]

        # The buyer sees the offering and orders the monthly plan: an invoice to pay.
        seen = await tmf(buyer.member, "GET", f"{TMF620}/productOffering/{listed.offering}",
                         expect=200)
        assert {p["id"] for p in seen["productOfferingPrice"]} == {
            p["id"] for p in listed.plans.values()}
        placed = await tmf(buyer.member, "POST", f"{TMF622}/productOrder",
                           order(listed.offering, monthly), expect=201)
        assert placed["state"] == "inProgress", placed
        assert placed["paymentInstructions"]["kind"] == "invoice"
        assert placed["paymentInstructions"]["amount_minor"] == 12500  # 100 NOK + 25 % VAT
        assert await buyer.purchases() == []

        # Before it is paid, the provider refuses the buyer (no purchase credential).
        offer = await buyer.offer(listed.offers["monthly"])
        refused = await buyer.negotiate(offer, {"TERMINATED"})
        assert "credential-missing" in refused["error_reason"], refused

        # The operator marks the invoice paid: the order completes, the credential arrives.
        mp = space.marketplace
        status, paid, _ = await mp.call("POST", f"/payments/invoice/{placed['id']}/paid",
                                        headers=mp.admin)
        assert (status, paid["state"]) == (200, "completed"), paid
        [held] = await until(buyer.purchases)
        assert held["issuer"] == mp.did
        assert held["source"] == "dcp"
        claims = held["claims"]
        assert (claims["id"], claims["product"], claims["plan"], claims["order"]) == (
            buyer.member.did, listed.spec, monthly, placed["id"])
        [product] = await tmf(buyer.member, "GET", f"{TMF637}/product", expect=200)
        assert product["status"] == "active"

        # It negotiates with the credential and pulls through the provider's data plane.
        done = await buyer.negotiate(offer, {"FINALIZED"})
        transfer_id, edr = await buyer.transfer(done["agreement_id"])
        assert await buyer.pull(edr) == (200, PAYLOAD)

        # A member without the credential is refused by the provider.
        refused = await stranger.negotiate(await stranger.offer(listed.offers["monthly"]),
                                           {"TERMINATED"})
        assert "credential-missing" in refused["error_reason"], refused
        refused = await stranger.negotiate(await stranger.offer(listed.offers["free"]),
                                           {"TERMINATED"})
        assert "credential-missing" in refused["error_reason"], refused

        # The buyer cancels: within one status refresh the transfer ends and pulls fail.
        cancelled = await tmf(buyer.member, "POST", f"{TMF622}/cancelProductOrder", {
            "productOrder": {"id": placed["id"]}, "cancellationReason": "no longer needed"},
            expect=201)
        assert cancelled["state"] == "done"
        started = time.monotonic()
        ended = await buyer.connector.wait_for(space.http, "transfers", transfer_id,
                                               {"TERMINATED"}, timeout=4 * REFRESH + 4)
        assert ended["error_code"] == "credential-revoked", ended
        print("REVOKED AFTER", time.monotonic() - started)
        assert time.monotonic() - started < 4 * REFRESH + 4
        status, _ = await buyer.pull(edr)
        assert status in (401, 403), status
        again = await buyer.negotiate(offer, {"TERMINATED"})
        assert "revoked" in again["error_reason"], again
        [product] = await tmf(buyer.member, "GET", f"{TMF637}/product", expect=200)
        assert product["status"] == "terminated"


async def bucket_start(seconds: float) -> None:
    """Wait for the start of a metering bucket (the data plane's buckets start at multiples
    of ``seconds`` of the wall clock), so that a burst of calls falls in one bucket."""
    await asyncio.sleep(seconds - time.time() % seconds + 0.05)


async def test_usage_reported_by_the_provider_connector_is_billed_once(
        tmp_path: Path, database: Database) -> None:
    """1,234 pulls on 0.50 NOK a call with 234 included: one charge of 1,000 × 0.50."""
    async with backend() as data_url, member_space(tmp_path, database) as space:
        mp = space.marketplace
        provider = Provider(space, await space.connector(
            "halden", roles=["provider"], marketplace_url=mp.url,
            data_plane={"usage_bucket_seconds": BUCKET, "usage_grace_seconds": 0.2,
                        "flush_seconds": 0.1}))
        buyer = Buyer(space, await space.connector("analyse", roles=["consumer"]), provider)
        listed = await provider.list_product(data_url, {"per-call": PER_CALL})
        placed = await tmf(buyer.member, "POST", f"{TMF622}/productOrder",
                           order(listed.offering, listed.plans["per-call"]["id"]), expect=201)
        assert placed["state"] == "completed", placed  # nothing to pay up front
        [product] = await tmf(buyer.member, "GET", f"{TMF637}/product", expect=200)
        await until(buyer.purchases)
        offer = await buyer.offer(listed.offers["per-call"])
        done = await buyer.negotiate(offer, {"FINALIZED"})
        _, edr = await buyer.transfer(done["agreement_id"])

        await bucket_start(BUCKET)
        began = time.monotonic()
        for first in range(0, CALLS, 50):
            pulled = await asyncio.gather(*(buyer.pull(edr)
                                            for _ in range(min(50, CALLS - first))))
            assert {status for status, _ in pulled} == {200}
        assert time.monotonic() - began < BUCKET - 0.5, "the calls spilled into two buckets"

        # The provider's connector reports the bucket once it is final; it is rated.
        usage = await until(lambda: tmf(provider.member, "GET", f"{TMF635}/usage",
                                        expect=200), timeout=3 * BUCKET + 10, pause=0.25)
        [report] = usage
        facts = {c["name"]: c["value"] for c in report["usageCharacteristic"]}
        assert (facts["requests"], facts["productId"]) == (CALLS, listed.spec), facts
        assert report["status"] == "rated"
        assert report["ratedProductUsage"][0]["productRef"]["id"] == product["id"]
        [charge] = await charges(mp)
        assert charge["product"]["id"] == product["id"]
        assert charge["taxExcludedAmount"] == {"unit": "NOK", "value": 500}

        # The same report re-sent twice, signed as the connector signs it: refused as known.
        document, signer = await sent_report(provider, listed.spec)
        assert document["id"] == report["id"]
        for _ in range(2):
            status, body, _ = await mp.call("POST", f"{TMF635}/usage", document, headers={
                "X-Usage-Signature": signer.sign_jwt(document, typ=USAGE_TYPE)})
            assert (status, body["code"]) == (409, "usage-exists"), body
        # A forged report of a later bucket: another key under the connector's key id, or
        # another DID's key; refused, nothing stored.
        forged = {**document, "id": f"urn:uuid:{uuid.uuid4()}", "usageCharacteristic": [
            {**c, "value": 99999} if c["name"] == "requests" else c
            for c in document["usageCharacteristic"]]}
        thief = Signer(KeyPair.generate(), signer.kid)
        other = Signer.for_did_key(KeyPair.generate())
        for forger, code in ((thief, "jwt-signature-invalid"), (other, "issuer-mismatch")):
            status, body, _ = await mp.call("POST", f"{TMF635}/usage", forged, headers={
                "X-Usage-Signature": forger.sign_jwt(forged, typ=USAGE_TYPE)})
            assert (status, body["code"]) == (401, code), body
        await asyncio.sleep(BUCKET)  # the connector reports nothing more either
        assert len(await tmf(provider.member, "GET", f"{TMF635}/usage", expect=200)) == 1
        assert [c["id"] for c in await charges(mp)] == [charge["id"]]

        # The operator's billing run puts the one charge on the buyer's bill.
        status, run, _ = await mp.call("POST", "/billing/runs", {}, headers=mp.admin)
        assert status == 201, run
        [bill] = await tmf(buyer.member, "GET", f"{TMF678}/customerBill", expect=200)
        assert bill["billingAccount"]["id"] == buyer.member.did
        assert bill["taxExcludedAmount"] == {"unit": "NOK", "value": 500}
        assert bill["taxIncludedAmount"] == {"unit": "NOK", "value": 625}
        [billed] = await charges(mp)
        assert (billed["id"], billed["isBilled"], billed["bill"]["id"]) == (
            charge["id"], True, bill["id"])


async def test_a_card_payment_completes_the_order_and_bad_webhooks_change_nothing(
        tmp_path: Path, database: Database) -> None:
    async with backend() as data_url, FakeCardProvider() as fake, member_space(
            tmp_path, database, payments={
                "provider": "card", "card_api_base": fake.base_url, "card_api_key": API_KEY,
                "card_webhook_secret": WEBHOOK_SECRET, "card_publishable_key": "pk_test_x",
                "card_max_network_retries": 0}) as space:
        mp = space.marketplace
        webhook = fake.webhook_url = mp.url + "/payments/card/webhook"
        provider = Provider(space, await space.connector("halden", roles=["provider"]))
        buyer = Buyer(space, await space.connector("analyse", roles=["consumer"]), provider)
        listed = await provider.list_product(data_url, {"monthly": MONTHLY})
        placed = await tmf(buyer.member, "POST", f"{TMF622}/productOrder",
                           order(listed.offering, listed.plans["monthly"]["id"]), expect=201)
        assert placed["state"] == "inProgress", placed
        assert placed["paymentInstructions"]["kind"] == "card"
        intent = placed["payment"][0]["id"]
        assert fake.intents[intent]["amount"] == 12500
        path = f"{TMF622}/productOrder/{placed['id']}"
        before = await tmf(buyer.member, "GET", path, expect=200)

        refusals = [
            (await fake.send_event(webhook, intent, secret="whsec_someone_else"), 401,
             "payment-signature-invalid"),
            (await fake.send_event(webhook, intent, amount=100), 409,
             "payment-amount-mismatch"),
        ]
        for delivery, status, code in refusals:
            assert (delivery.status, delivery.answer["code"]) == (status, code), delivery
            assert await tmf(buyer.member, "GET", path, expect=200) == before
        assert await tmf(buyer.member, "GET", f"{TMF637}/product", expect=200) == []

        # The buyer's browser confirms the card; the provider's signed webhook completes it.
        async with space.http.post(f"{fake.base_url}/v1/payment_intents/{intent}/confirm",
                                   data={"payment_method": "pm_card_visa"},
                                   headers={"Authorization": f"Bearer {API_KEY}"}) as resp:
            assert resp.status == 200, await resp.text()
        good = fake.deliveries[-1]
        assert (good.status, good.answer["state"]) == (200, "completed"), good.answer
        done = await tmf(buyer.member, "GET", path, expect=200)
        assert done["state"] == "completed"
        [held] = await until(buyer.purchases)
        assert held["claims"]["order"] == placed["id"]

        replayed = await fake.replay(webhook, good)
        assert (replayed.status, replayed.answer["code"]) == (409, "payment-event-replayed")
        assert await tmf(buyer.member, "GET", path, expect=200) == done
        assert len(await tmf(buyer.member, "GET", f"{TMF637}/product", expect=200)) == 1
        assert len(await buyer.purchases()) == 1


async def total(space: MemberSpace, path: str) -> int:
    """How many resources the operator sees at ``path``."""
    mp = space.marketplace
    status, body, headers = await mp.call("GET", path, headers=mp.admin)
    assert status == 200, body
    return int(headers["X-Total-Count"])


async def refused(member: Member, method: str, path: str, body: Any, status: int,
                  code: str) -> None:
    """The member's call is refused with ``status`` and ``code``: under ``/tmf-api`` a TMF
    ``Error`` that carries the problem+json members too (``routes/tmf.py``)."""
    got, answer, _ = await member.call(method, path, body, headers=MERGE)
    assert (got, answer.get("code")) == (status, code), (method, path, body, answer)
    assert answer["type"] == f"{PROBLEM_BASE_URI}{code}"
    assert (answer["@type"], answer["status"]) == ("Error", str(status))
    assert answer["title"]
    assert answer["detail"]


async def test_bad_input_from_members_is_refused_and_nothing_is_stored(
        tmp_path: Path, database: Database) -> None:
    async with backend() as data_url, member_space(tmp_path, database) as space:
        halden = Provider(space, await space.connector("halden", roles=["provider"]))
        bodo = Provider(space, await space.connector("bodo", roles=["provider"]))
        analyse = await space.member("analyse")
        listed = await halden.list_product(data_url, {"monthly": MONTHLY})
        plan = listed.plans["monthly"]
        plans = f"{TMF620}/productOfferingPrice"
        counts = {kind: await total(space, f"{TMF620}/{kind}")
                  for kind in ("productSpecification", "productOffering",
                               "productOfferingPrice")}

        # Prices: negative, in an unknown currency, a VAT rate out of range.
        for bad, code in (({"price": {"unit": "NOK", "value": -5}}, "price-negative"),
                          ({"price": {"unit": "SEK", "value": 5}}, "currency-unknown"),
                          ({"tax": [{"taxCategory": "VAT", "taxRate": 125}]},
                           "vat-rate-invalid"),
                          ({"tax": [{"taxCategory": "VAT", "taxRate": -1}]},
                           "vat-rate-invalid")):
            await refused(halden.member, "POST", plans, {**MONTHLY, **bad}, 400, code)
            await refused(halden.member, "PATCH", f"{plans}/{plan['id']}", bad, 400, code)
        assert await tmf(halden.member, "GET", f"{plans}/{plan['id']}", expect=200) == plan

        # A product whose dataset the provider's catalog lacks.
        await refused(halden.member, "POST", f"{TMF620}/productSpecification", {
            "name": "Ghost", "dspAddress": halden.connector.dsp_url,
            "datasetIds": ["urn:dataset:halden:nope"]}, 400, "dataset-unknown")

        # Another provider's private offering: not there for the buyer, nothing ordered.
        private = await bodo.list_product(data_url, {"monthly": MONTHLY}, private=True)
        await refused(analyse, "POST", f"{TMF622}/productOrder",
                      order(private.offering, private.plans["monthly"]["id"]), 404,
                      "resource-not-found")
        assert await total(space, f"{TMF622}/productOrder") == 0
        assert await total(space, f"{TMF637}/product") == 0

        # Plan changes on a retired offering: its provider retires it, then may not reprice.
        offering = f"{TMF620}/productOffering/{listed.offering}"
        retired = await tmf(halden.member, "PATCH", offering, {"lifecycleStatus": "retired"},
                            expect=200)
        await refused(halden.member, "PATCH", f"{plans}/{plan['id']}",
                      {"price": {"unit": "NOK", "value": 10}}, 409, "offering-retired")
        await refused(halden.member, "DELETE", f"{plans}/{plan['id']}", None, 409,
                      "offering-retired")
        await refused(halden.member, "PATCH", offering, {"productOfferingPrice": []}, 409,
                      "offering-retired")
        assert await tmf(halden.member, "GET", f"{plans}/{plan['id']}", expect=200) == plan
        assert await tmf(halden.member, "GET", offering, expect=200) == retired
        await refused(analyse, "POST", f"{TMF622}/productOrder",
                      order(listed.offering, plan["id"]), 400, "offering-not-launched")

        # Only Bodø's product, plan and offering were added.
        assert {kind: await total(space, f"{TMF620}/{kind}") - 1 for kind in counts} == counts
        assert await total(space, f"{TMF622}/productOrder") == 0


async def test_a_buyer_with_several_purchases_gets_what_each_bought_and_no_more(
        tmp_path: Path, database: Database) -> None:
    async with backend() as data_url, member_space(tmp_path, database) as space:
        provider = Provider(space, await space.connector("halden", roles=["provider"]))
        buyer = Buyer(space, await space.connector("analyse", roles=["consumer"]), provider)
        traffic = await provider.list_product(data_url, {"free": FREE, "monthly": MONTHLY})
        parking = await provider.list_product(data_url, {"free": FREE},
                                              dataset="urn:dataset:halden:parking")

        async def bought(listed: Listed, plan: str, count: int) -> dict[str, Any]:
            placed = await tmf(buyer.member, "POST", f"{TMF622}/productOrder",
                               order(listed.offering, listed.plans[plan]["id"]), expect=201)
            assert placed["state"] == "completed", placed

            async def delivered() -> bool:
                return len(await buyer.purchases()) == count
            await until(delivered)
            return dict(placed)

        async def pulls(listed: Listed, plan: str) -> None:
            offer = await buyer.offer(listed.offers[plan], listed.dataset)
            done = await buyer.negotiate(offer, {"FINALIZED"}, listed.dataset)
            assert await buyer.pull((await buyer.transfer(done["agreement_id"]))[1]) == (
                200, PAYLOAD)

        async def outcome(listed: Listed, plan: str) -> str:
            """FINALIZED, TERMINATED, or WAITING (for the provider's owner to decide)."""
            offer = await buyer.offer(listed.offers[plan], listed.dataset)
            started = await buyer.api("POST", "/api/v1/negotiations", {
                "counterparty_address": provider.connector.dsp_url,
                "counterparty_id": provider.member.did, "dataset_id": listed.dataset,
                "offer": offer}, expect=201)

            async def settled() -> str | None:
                got = await buyer.api("GET", f"/api/v1/negotiations/{started['id']}")
                if got["state"] in ("FINALIZED", "TERMINATED"):
                    return str(got["state"])
                page = await provider.api("GET", "/api/v1/negotiations?awaiting=owner")
                if any(n["consumer_pid"] == started["id"] for n in page["items"]):
                    return "WAITING"
                return None
            return str(await until(settled))

        # The free plan's credential does not open the monthly plan's offer: the provider's
        # connector does not agree by itself (the request waits for its owner).
        free = await bought(traffic, "free", 1)
        assert await outcome(traffic, "monthly") == "WAITING"
        await pulls(traffic, "free")

        # A second product of the same provider: each credential opens its own product.
        await bought(parking, "free", 2)
        await pulls(parking, "free")
        await pulls(traffic, "free")

        # Cancelled: within a status refresh the product is closed again (the revoked
        # credential is no longer presented, the parking one does not open it) ...
        await tmf(buyer.member, "PATCH", f"{TMF622}/productOrder/{free['id']}",
                  {"state": "cancelled"}, expect=200)

        async def closed() -> bool:
            return await outcome(traffic, "free") != "FINALIZED"
        await until(closed, timeout=4 * REFRESH + 4, pause=0.2)
        # ... and bought again, the new credential is honoured (once the buyer's connector
        # has seen the old one revoked too: it refreshes the status list as often).
        await bought(traffic, "free", 3)

        async def opened() -> bool:
            return await outcome(traffic, "free") == "FINALIZED"
        await until(opened, timeout=4 * REFRESH + 4, pause=0.2)
        await pulls(traffic, "free")
        await pulls(parking, "free")
