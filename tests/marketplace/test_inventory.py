"""TMF637 products: renewal at the period end, the end of what does not renew, status changes.

Time moves by hand (``tests.fakes.FakeClock``); the periodic job's work is
called directly, as the job runner would at its next slot.
"""

from __future__ import annotations

from typing import Any

from marketplace.keys import SERVICES
from marketplace.services.inventory import Renewal
from marketplace.store import purchases as purchase_store
from servicekit.app import DB_ENGINE
from tests.fakes import FakeClock
from tests.marketplace.conftest import TMF637, Marketplace
from tests.marketplace.test_orders import (
    FREE,
    MONTHLY,
    credentials,
    order,
    place,
    product_of,
    read,
    seed,
    total,
)

ONE_OFF_MONTH = {**MONTHLY, "name": "One month", "autoRenew": False}


async def _paid(mp: Marketplace, plan: str, offering: str) -> dict[str, Any]:
    placed = await place(mp, order(offering, plan))
    status, paid, _ = await mp.call("POST", f"/payments/invoice/{placed['id']}/paid",
                                    headers=mp.admin)
    assert status == 200, paid
    return await read(mp, f"/tmf-api/productOrderingManagement/v4/productOrder/{placed['id']}")


async def test_recurring_products_renew_or_end_at_the_period_end(
        mp: Marketplace, clock: FakeClock) -> None:
    seeded = await seed(mp, plans={"monthly": MONTHLY, "month": ONE_OFF_MONTH})
    renewing = await _paid(mp, seeded.plans["monthly"], seeded.offering)
    ending = await _paid(mp, seeded.plans["month"], seeded.offering)
    inventory = mp.server.app[SERVICES].inventory
    renewals: list[Renewal] = []

    async def bill(conn: Any, renewal: Renewal) -> None:
        renewals.append(renewal)

    inventory.renewal_hooks.append(bill)
    first = await read(mp, f"{TMF637}/product/{product_of(renewing)}")
    assert first["autoRenew"] is True
    assert first["renewals"] == 0
    assert await inventory.renew_due() == (0, 0)

    clock.advance(32 * 86400)
    assert await inventory.renew_due() == (1, 1)
    renewed = await read(mp, f"{TMF637}/product/{product_of(renewing)}")
    assert renewed["status"] == "active"
    assert renewed["renewals"] == 1
    assert renewed["terminationDate"] > first["terminationDate"]
    (renewal,) = renewals
    assert renewal.period == 1
    assert renewal.order_id == renewing["id"]
    assert renewal.period_start.isoformat().replace("+00:00", "Z") == first["terminationDate"]
    assert len(await credentials(mp, renewing["id"])) == 2  # one per paid period

    ended = await read(mp, f"{TMF637}/product/{product_of(ending)}")
    assert ended["status"] == "terminated"
    (credential,) = await credentials(mp, ending["id"])
    async with mp.server.app[DB_ENGINE].connect() as conn:
        assert await purchase_store.revoked(conn, [credential.id])

    status, off, _ = await mp.call("PATCH", f"{TMF637}/product/{product_of(renewing)}",
                                   {"autoRenew": False}, headers=mp.admin)
    assert status == 200
    assert off["autoRenew"] is False
    clock.advance(31 * 86400)
    assert await inventory.renew_due() == (0, 1)
    assert len(renewals) == 1


async def test_status_changes_and_bad_input(mp: Marketplace) -> None:
    seeded = await seed(mp, plans={"free": FREE})
    placed = await place(mp, order(seeded.offering, seeded.plans["free"]))
    path = f"{TMF637}/product/{product_of(placed)}"
    product = await read(mp, path)
    cases: list[tuple[str, str, Any, int, str]] = [
        ("PATCH", path, {}, 400, "patch-empty"),
        ("PATCH", path, {"status": "bogus"}, 400, "validation-failed"),
        ("PATCH", path, {"status": "created"}, 409, "illegal-transition"),
        ("PATCH", path, {"name": "renamed"}, 400, "validation-failed"),
        ("PATCH", f"{TMF637}/product/nope", {"status": "suspended"}, 404,
         "resource-not-found"),
        ("DELETE", path, None, 409, "product-not-deletable"),
        ("DELETE", f"{TMF637}/product/nope", None, 404, "resource-not-found"),
        ("GET", f"{TMF637}/product/nope", None, 404, "resource-not-found"),
        ("GET", f"{TMF637}/product?sort=a.b", None, 400, "sort-invalid"),
        ("POST", f"{TMF637}/product", {"name": "x"}, 405, "method-not-allowed"),
    ]
    for method, target, body, expect, code in cases:
        status, answer, _ = await mp.call(method, target, body, headers=mp.admin)
        assert (status, answer.get("code")) == (expect, code), (method, target, answer)
    assert await read(mp, path) == product
    status, answer, _ = await mp.call("GET", path)
    assert (status, answer["code"]) == (401, "sign-in-required")

    for state in ("suspended", "active", "terminated"):
        status, changed, _ = await mp.call("PATCH", path, {"status": state}, headers=mp.admin)
        assert (status, changed["status"]) == (200, state), changed
    assert changed["terminationDate"]
    assert await total(mp, f"{TMF637}/product", "?status=terminated") == 1
    status, answer, _ = await mp.call("PATCH", path, {"status": "active"}, headers=mp.admin)
    assert (status, answer["code"]) == (409, "illegal-transition")
    status, _, _ = await mp.call("DELETE", path, headers=mp.admin)
    assert status == 204
    assert await total(mp, f"{TMF637}/product") == 0
