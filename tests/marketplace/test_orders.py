"""TMF622 orders end to end: free, invoiced, restricted (held), cancelled, overdue; bad input.

A real marketplace on loopback (SQLite, and PostgreSQL with TEST_DATABASE_URL).
The catalog rows an order names are seeded in the store (the catalog has its
own tests); orders are placed by real members over DCP (a trust anchor, DCP
tokens) where who-may-do-what matters, else by the operator for a named buyer.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from marketplace.domain.pricing import PricingPlan
from marketplace.keys import SERVICES
from marketplace.payments.signing import signature_header
from marketplace.store import resources as store
from marketplace.store.resources import Resource
from servicekit.app import DB_ENGINE
from tests.conftest import Database
from tests.fakes import FakeClock
from tests.marketplace.conftest import CALLBACK_SECRET, TMF622, TMF637, Marketplace
from tests.marketplace.members import member_space

PROVIDER = "did:web:halden.example"
BUYER = "did:web:analyse.example"
FREE = {"name": "Open", "priceType": "oneTime", "price": {"unit": "NOK", "value": 0}}
ONCE = {"name": "Once", "priceType": "oneTime", "price": {"unit": "NOK", "value": 1000}}
MONTHLY = {"name": "Monthly", "priceType": "recurring", "recurringChargePeriodType": "month",
           "price": {"unit": "NOK", "value": 100}}


@dataclass
class Seeded:
    """A seeded data product: its offering and plans (name -> id)."""

    offering: str
    plans: dict[str, str]
    spec: str


async def seed(mp: Marketplace, *, provider: str = PROVIDER,
               plans: dict[str, dict[str, Any]] | None = None, restricted: bool = False,
               private: bool = False, state: str = "launched") -> Seeded:
    """A specification, plans and an offering of them, as the catalog stores them."""
    now = datetime.now(UTC)
    base = mp.url + "/tmf-api/productCatalogManagement/v4"
    offering_id, spec_id = str(uuid.uuid4()), str(uuid.uuid4())
    level = "RESTRICTED" if restricted else "PUBLIC"
    rows = [Resource(kind="productSpecification", id=spec_id, version="1.0", state="launched",
                     owner=provider, name="Traffic counts", created_at=now, last_update=now,
                     body={"id": spec_id, "href": f"{base}/productSpecification/{spec_id}",
                           "name": "Traffic counts", "version": "1.0",
                           "@type": "DataProductSpecification", "lifecycleStatus": "launched",
                           "productSpecCharacteristic": [{"name": "accessLevel",
                               "productSpecCharacteristicValue": [{"value": level}]}]})]
    ids: dict[str, str] = {}
    for name, plan in (plans or {"free": FREE}).items():
        plan_id = ids[name] = str(uuid.uuid4())
        body = PricingPlan.model_validate(plan).to_tmf() | {
            "id": plan_id, "href": f"{base}/productOfferingPrice/{plan_id}", "version": "1.0",
            "lifecycleStatus": "launched"}
        rows.append(Resource(kind="productOfferingPrice", id=plan_id, version="1.0",
                             state="launched", owner=provider, name=plan["name"],
                             created_at=now, last_update=now, body=body,
                             parent=offering_id))
    rows.append(Resource(
        kind="productOffering", id=offering_id, version="1.0", state=state, owner=provider,
        name="Traffic counts", created_at=now, last_update=now, private=private,
        body={"id": offering_id, "href": f"{base}/productOffering/{offering_id}",
              "name": "Traffic counts", "version": "1.0", "lifecycleStatus": state,
              "@type": "DataProductOffering", "isPrivate": private,
              "productSpecification": {"id": spec_id},
              "productOfferingPrice": [{"id": i, "name": n} for n, i in ids.items()]}))
    async with mp.server.app[DB_ENGINE].begin() as conn:
        for row in rows:
            await store.insert(conn, row)
    return Seeded(offering_id, ids, spec_id)


def order(offering: str, plan: str, buyer: str | None = BUYER, **extra: Any) -> dict[str, Any]:
    """A ProductOrder_Create body (for the operator: naming ``buyer``)."""
    body: dict[str, Any] = {"productOrderItem": [{
        "id": "1", "action": "add", "productOffering": {"id": offering},
        "itemPrice": [{"productOfferingPrice": {"id": plan}}]}], **extra}
    if buyer is not None:
        body["relatedParty"] = [{"id": buyer, "role": "Buyer"}]
    return body


async def place(mp: Marketplace, body: dict[str, Any], expect: int = 201) -> dict[str, Any]:
    status, answer, _ = await mp.call("POST", f"{TMF622}/productOrder", body, headers=mp.admin)
    assert status == expect, answer
    return dict(answer)


async def read(mp: Marketplace, path: str) -> dict[str, Any]:
    status, answer, _ = await mp.call("GET", path, headers=mp.admin)
    assert status == 200, answer
    return dict(answer)


async def total(mp: Marketplace, path: str, query: str = "") -> int:
    status, answer, headers = await mp.call("GET", f"{path}{query}", headers=mp.admin)
    assert status == 200, answer
    return int(headers["X-Total-Count"])


async def credentials(mp: Marketplace, order_id: str) -> list[Any]:
    return list(await mp.server.app[SERVICES].purchases.credentials_of(order_id=order_id))


def product_of(order_body: dict[str, Any]) -> str:
    return str(order_body["productOrderItem"][0]["product"]["id"])


async def test_a_free_plan_completes_at_once_with_product_and_credential(
        mp: Marketplace) -> None:
    seeded = await seed(mp)
    placed = await place(mp, order(seeded.offering, seeded.plans["free"],
                                   purpose="https://w3id.org/dpv#ResearchAndDevelopment"))
    assert placed["state"] == "completed"
    assert placed["productOrderItem"][0]["state"] == "completed"
    assert placed["orderTotalPrice"][0]["price"]["taxIncludedAmount"] == {"unit": "NOK",
                                                                          "value": 0}
    assert {p["role"]: p["id"] for p in placed["relatedParty"]} == {"Buyer": BUYER,
                                                                    "Seller": PROVIDER}
    product = await read(mp, f"{TMF637}/product/{product_of(placed)}")
    assert product["status"] == "active"
    assert product["productOffering"]["id"] == seeded.offering
    assert product["productSpecification"]["id"] == seeded.spec
    assert product["productPrice"][0]["productOfferingPrice"]["id"] == seeded.plans["free"]
    assert "terminationDate" not in product  # a free one-time plan does not end
    issued = await credentials(mp, placed["id"])
    assert len(issued) == 1
    assert issued[0].subject_did == BUYER
    assert await read(mp, f"{TMF622}/productOrder/{placed['id']}") == placed
    assert await total(mp, f"{TMF622}/productOrder", "?state=completed") == 1


async def test_an_invoice_is_paid_by_the_operator_once(mp: Marketplace) -> None:
    seeded = await seed(mp, plans={"once": ONCE})
    placed = await place(mp, order(seeded.offering, seeded.plans["once"]))
    assert placed["state"] == "inProgress"
    instructions = placed["paymentInstructions"]
    assert instructions["kind"] == "invoice"
    assert instructions["amount_minor"] == 125000
    assert placed["payment"][0] == {"id": instructions["kid"], "name": "invoice",
                                    "@type": "PaymentRef", "@referredType": "Payment"}
    assert instructions["kid"] in placed["note"][-1]["text"]
    assert placed["paymentDueDate"] > placed["orderDate"]
    assert await credentials(mp, placed["id"]) == []
    assert await total(mp, f"{TMF637}/product") == 0

    status, paid, _ = await mp.call("POST", f"/payments/invoice/{placed['id']}/paid",
                                    headers=mp.admin)
    assert status == 200, paid
    assert paid["state"] == "completed"
    done = await read(mp, f"{TMF622}/productOrder/{placed['id']}")
    assert done["state"] == "completed"
    assert done["completionDate"]
    assert len(await credentials(mp, placed["id"])) == 1
    status, again, _ = await mp.call("POST", f"/payments/invoice/{placed['id']}/paid",
                                     headers=mp.admin)
    assert status == 409
    assert again["code"] == "payment-event-replayed"
    assert await read(mp, f"{TMF622}/productOrder/{placed['id']}") == done
    assert await total(mp, f"{TMF637}/product") == 1
    status, refused, _ = await mp.call("POST", f"/payments/invoice/{placed['id']}/paid")
    assert status == 401, refused


async def _callback(mp: Marketplace, body: dict[str, Any], *, secret: str = CALLBACK_SECRET,
                    at: float | None = None) -> tuple[int, Any]:
    raw = str(body).replace("'", '"').encode()
    header = signature_header(secret, int(at or time.time()), raw)
    async with mp.http.post(mp.url + "/payments/invoice/callback", data=raw,
                            headers={"X-Invoice-Signature": header,
                                     "Content-Type": "application/json"}) as response:
        return response.status, await response.json(content_type=None)


async def test_the_banks_signed_callback_pays_an_invoice(mp: Marketplace,
                                                         clock: FakeClock) -> None:
    seeded = await seed(mp, plans={"once": ONCE})
    placed = await place(mp, order(seeded.offering, seeded.plans["once"]))
    kid = placed["paymentInstructions"]["kid"]
    paid = {"event_id": "bank-0001", "order_ref": placed["id"], "kid": kid,
            "amount_minor": 125000, "currency": "NOK", "paid_at": "2026-01-05T10:00:00Z"}
    before = await read(mp, f"{TMF622}/productOrder/{placed['id']}")
    refusals = [
        (_callback(mp, paid, secret="another-secret-0123456789"), 401,
         "payment-signature-invalid"),
        (_callback(mp, paid, at=clock() - 3600), 401, "payment-event-stale"),
        (_callback(mp, {**paid, "amount_minor": 100}), 409, "payment-amount-mismatch"),
        (_callback(mp, {**paid, "kid": "0000000000000018"}), 400, "invoice-kid-mismatch"),
    ]
    for call, expect, code in refusals:
        status, body = await call
        assert (status, body["code"]) == (expect, code), body
        assert await read(mp, f"{TMF622}/productOrder/{placed['id']}") == before
    status, body = await _callback(mp, paid)
    assert (status, body["state"]) == (200, "completed"), body
    status, body = await _callback(mp, paid)
    assert (status, body["code"]) == (409, "payment-event-replayed")


async def test_cancelling_a_completed_order_terminates_and_revokes(mp: Marketplace) -> None:
    seeded = await seed(mp)
    placed = await place(mp, order(seeded.offering, seeded.plans["free"]))
    status, cancel, _ = await mp.call("POST", f"{TMF622}/cancelProductOrder", {
        "productOrder": {"id": placed["id"]}, "cancellationReason": "no longer needed"},
        headers=mp.admin)
    assert status == 201, cancel
    assert cancel["state"] == "done"
    assert cancel["productOrder"]["id"] == placed["id"]
    assert await read(mp, f"{TMF622}/cancelProductOrder/{cancel['id']}") == cancel
    cancelled = await read(mp, f"{TMF622}/productOrder/{placed['id']}")
    assert cancelled["state"] == "cancelled"
    assert cancelled["cancellationReason"] == "no longer needed"
    product = await read(mp, f"{TMF637}/product/{product_of(placed)}")
    assert product["status"] == "terminated"
    (credential,) = await credentials(mp, placed["id"])
    revoked = await mp.server.app[SERVICES].purchases.credentials_of(order_id=placed["id"])
    assert revoked[0].id == credential.id
    async with mp.server.app[DB_ENGINE].connect() as conn:
        from marketplace.store import purchases as purchase_store
        assert await purchase_store.revoked(conn, [credential.id])
    status, again, _ = await mp.call("POST", f"{TMF622}/cancelProductOrder", {
        "productOrder": {"id": placed["id"]}}, headers=mp.admin)
    assert status == 409, again
    assert await total(mp, f"{TMF622}/cancelProductOrder") == 1
    status, _, _ = await mp.call("DELETE", f"{TMF622}/productOrder/{placed['id']}",
                                 headers=mp.admin)
    assert status == 204
    assert await total(mp, f"{TMF622}/productOrder") == 0


async def test_an_unpaid_order_fails_past_its_due_date(mp: Marketplace,
                                                       clock: FakeClock) -> None:
    seeded = await seed(mp, plans={"once": ONCE})
    placed = await place(mp, order(seeded.offering, seeded.plans["once"]))
    payments = mp.server.app[SERVICES].payments
    assert await payments.sweep_overdue() == 0
    clock.advance(13 * 86400)
    assert await payments.sweep_overdue() == 0
    clock.advance(3 * 86400)
    assert await payments.sweep_overdue() == 1
    failed = await read(mp, f"{TMF622}/productOrder/{placed['id']}")
    assert failed["state"] == "failed"
    status, late, _ = await mp.call("POST", f"/payments/invoice/{placed['id']}/paid",
                                    headers=mp.admin)
    assert (status, late["code"]) == (409, "illegal-transition"), late
    assert await read(mp, f"{TMF622}/productOrder/{placed['id']}") == failed
    assert await total(mp, f"{TMF637}/product") == 0


async def test_bad_orders_are_refused_and_nothing_is_stored(mp: Marketplace) -> None:
    seeded = await seed(mp, plans={"free": FREE, "once": ONCE})
    other = await seed(mp)
    draft = await seed(mp, state="inDesign")
    item = order(seeded.offering, seeded.plans["free"])
    cases: list[tuple[Any, int, str | None]] = [
        ({}, 400, "validation-failed"),
        ({**item, "productOrderItem": []}, 400, "validation-failed"),
        ({**item, "productOrderItem": item["productOrderItem"] * 2}, 400, "validation-failed"),
        ({**item, "id": "mine"}, 400, "validation-failed"),
        ({**item, "state": "completed"}, 400, "validation-failed"),
        (order("no-such-offering", seeded.plans["free"]), 404, "resource-not-found"),
        (order(seeded.offering, other.plans["free"]), 400, "plan-not-of-offering"),
        (order(seeded.offering, "no-such-plan"), 400, "plan-not-of-offering"),
        (order(draft.offering, draft.plans["free"]), 400, "offering-not-launched"),
        (order(seeded.offering, seeded.plans["free"], buyer=None), 400, "buyer-required"),
        (order(seeded.offering, seeded.plans["free"], buyer="not-a-did"), 400,
         "buyer-required"),
        ([1, 2], 400, "validation-failed"),
    ]
    for body, expect, code in cases:
        status, answer, headers = await mp.call("POST", f"{TMF622}/productOrder", body,
                                                headers=mp.admin)
        assert status == expect, (body, answer)
        assert answer["@type"] == "Error", answer
        assert code is None or answer["code"] == code, answer
    status, answer, _ = await mp.call("POST", f"{TMF622}/productOrder", item)
    assert status == 401
    assert answer["code"] == "sign-in-required"
    async with mp.http.post(f"{mp.url}{TMF622}/productOrder", data=b"{not json",
                            headers=mp.admin) as response:
        assert response.status == 400
    assert await total(mp, f"{TMF622}/productOrder") == 0
    assert await total(mp, f"{TMF637}/product") == 0


async def test_bad_changes_are_refused_and_change_nothing(mp: Marketplace) -> None:
    seeded = await seed(mp, plans={"once": ONCE})
    placed = await place(mp, order(seeded.offering, seeded.plans["once"]))
    path = f"{TMF622}/productOrder/{placed['id']}"
    cases: list[tuple[str, str, Any, int, str]] = [
        ("PATCH", path, {}, 400, "patch-empty"),
        ("PATCH", path, {"state": "bogus"}, 400, "validation-failed"),
        ("PATCH", path, {"state": "completed"}, 409, "illegal-transition"),
        ("PATCH", path, {"state": "failed"}, 409, "state-not-patchable"),
        ("PATCH", path, {"id": "other"}, 400, "validation-failed"),
        ("PATCH", f"{TMF622}/productOrder/nope", {"note": [{"text": "hi"}]}, 404,
         "resource-not-found"),
        ("DELETE", path, None, 409, "order-not-deletable"),
        ("DELETE", f"{TMF622}/productOrder/nope", None, 404, "resource-not-found"),
        ("GET", f"{TMF622}/productOrder/nope", None, 404, "resource-not-found"),
        ("GET", f"{TMF622}/productOrder?fields=", None, 400, "fields-invalid"),
        ("POST", f"{TMF622}/cancelProductOrder", {"productOrder": {"id": "nope"}}, 404,
         "resource-not-found"),
        ("POST", f"{TMF622}/cancelProductOrder", {"productOrder": {}}, 400,
         "validation-failed"),
        ("GET", f"{TMF622}/cancelProductOrder/nope", None, 404, "resource-not-found"),
        ("POST", "/payments/invoice/nope/paid", None, 404, "resource-not-found"),
        ("POST", "/payments/card/webhook", {"id": "evt"}, 404,
         "payment-provider-not-configured"),
        ("POST", "/payments/invoice/callback", {"event_id": "x"}, 401,
         "payment-signature-invalid"),
    ]
    for method, target, body, expect, code in cases:
        status, answer, _ = await mp.call(method, target, body, headers=mp.admin)
        assert (status, answer.get("code")) == (expect, code), (method, target, answer)
    assert await read(mp, path) == placed
    assert await total(mp, f"{TMF622}/cancelProductOrder") == 0


async def test_members_order_as_themselves_and_the_provider_approves(
        tmp_path: Path, database: Database) -> None:
    async with member_space(tmp_path, database) as space:
        mp = space.marketplace
        halden = await space.member("halden", roles=["provider"])
        analyse = await space.member("analyse")
        bodo = await space.member("bodo")
        restricted = await seed(mp, provider=halden.did, plans={"once": ONCE},
                                restricted=True)
        private = await seed(mp, provider=bodo.did, private=True)
        purpose = "https://w3id.org/dpv#ResearchAndDevelopment"
        item = order(restricted.offering, restricted.plans["once"], buyer=None)

        status, body, _ = await analyse.call("POST", f"{TMF622}/productOrder", item)
        assert (status, body["code"]) == (400, "purpose-required"), body
        status, body, _ = await analyse.call(
            "POST", f"{TMF622}/productOrder",
            order(private.offering, private.plans["free"], buyer=None))
        assert (status, body["code"]) == (404, "resource-not-found"), body
        status, body, _ = await analyse.call(
            "POST", f"{TMF622}/productOrder", {**item, "purpose": purpose,
                                              "relatedParty": [{"id": bodo.did,
                                                                "role": "Buyer"}]})
        assert (status, body["code"]) == (403, "buyer-not-caller"), body
        assert await total(mp, f"{TMF622}/productOrder") == 0

        status, held, _ = await analyse.call("POST", f"{TMF622}/productOrder",
                                             {**item, "purpose": purpose})
        assert status == 201, held
        assert held["state"] == "held"
        assert held["purpose"] == purpose
        assert held["relatedParty"][0] == {"id": analyse.did, "role": "Buyer",
                                           "@referredType": "Organization"}
        path = f"{TMF622}/productOrder/{held['id']}"
        status, seen, headers = await halden.call("GET", f"{TMF622}/productOrder?role=seller")
        assert status == 200
        assert [o["id"] for o in seen] == [held["id"]]
        assert seen[0]["purpose"] == purpose
        status, body, _ = await bodo.call("GET", path)
        assert status == 404, body
        status, body, _ = await analyse.call("PATCH", path, {"state": "inProgress"})
        assert (status, body["code"]) == (403, "not-yours"), body

        status, approved, _ = await halden.call("PATCH", path, {
            "state": "inProgress", "note": [{"text": "Approved for research"}]})
        assert status == 200, approved
        assert approved["state"] == "inProgress"
        assert approved["paymentInstructions"]["kid"]
        assert approved["note"][0]["text"] == "Approved for research"
        status, paid, _ = await mp.call("POST", f"/payments/invoice/{held['id']}/paid",
                                        headers=mp.admin)
        assert (status, paid["state"]) == (200, "completed"), paid

        status, mine, _ = await analyse.call("GET", f"{TMF637}/product")
        assert status == 200
        assert len(mine) == 1
        assert mine[0]["purpose"] == purpose
        status, theirs, _ = await bodo.call("GET", f"{TMF637}/product")
        assert status == 200
        assert theirs == []
        status, sold, _ = await halden.call("GET", f"{TMF637}/product?role=seller")
        assert [p["id"] for p in sold] == [mine[0]["id"]]
        status, body, _ = await halden.call("PATCH", path, {"state": "cancelled"})
        assert (status, body["code"]) == (403, "not-yours"), body
        status, cancelled, _ = await analyse.call("PATCH", path, {"state": "cancelled"})
        assert (status, cancelled["state"]) == (200, "cancelled"), cancelled
        status, product, _ = await analyse.call("GET", f"{TMF637}/product/{mine[0]['id']}")
        assert product["status"] == "terminated"
