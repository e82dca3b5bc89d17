"""Card payments end to end: the card provider's API (a fake on loopback) and its webhooks.

The marketplace drives the provider through its official SDK; the buyer's
"browser" confirms the PaymentIntent at the fake, which delivers the signed
webhook. A good webhook completes the order; a bad signature, an unsigned
or stale event, an amount mismatch and a replayed event are refused and
change nothing.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.conftest import Database, free_port
from tests.factories import marketplace_settings
from tests.fakes import FakeClock
from tests.marketplace.conftest import TMF622, TMF637, Marketplace, serving
from tests.marketplace.fake_card_provider import API_KEY, WEBHOOK_SECRET, FakeCardProvider
from tests.marketplace.test_orders import ONCE, order, place, read, seed, total

WEBHOOK = "/payments/card/webhook"


@pytest.fixture
async def card(tmp_path: Path, database: Database
               ) -> AsyncIterator[tuple[Marketplace, FakeCardProvider]]:
    clock = FakeClock(time.time())
    async with FakeCardProvider(clock=clock) as fake:
        settings = marketplace_settings(tmp_path, database, free_port(), payments={
            "provider": "card", "card_api_base": fake.base_url, "card_api_key": API_KEY,
            "card_webhook_secret": WEBHOOK_SECRET, "card_publishable_key": "pk_test_x",
            "card_max_network_retries": 0})
        async with serving(settings, clock=clock) as mp:
            fake.webhook_url = mp.url + WEBHOOK
            yield mp, fake


async def test_a_good_webhook_completes_and_bad_ones_change_nothing(
        card: tuple[Marketplace, FakeCardProvider]) -> None:
    mp, fake = card
    seeded = await seed(mp, plans={"once": ONCE})
    placed = await place(mp, order(seeded.offering, seeded.plans["once"]))
    assert placed["state"] == "inProgress"
    checkout = placed["paymentInstructions"]
    assert checkout["kind"] == "card"
    assert checkout["publishable_key"] == "pk_test_x"
    intent_id = placed["payment"][0]["id"]
    assert fake.intents[intent_id]["amount"] == 125000
    assert fake.intents[intent_id]["metadata"]["order_ref"] == placed["id"]
    assert checkout["client_secret"] == fake.intents[intent_id]["client_secret"]
    url = mp.url + WEBHOOK
    before = await read(mp, f"{TMF622}/productOrder/{placed['id']}")

    refusals = [
        (await fake.send_event(url, intent_id, secret="whsec_someone_else"),
         401, "payment-signature-invalid"),
        (await fake.send_event(url, intent_id, unsigned=True), 401,
         "payment-signature-invalid"),
        (await fake.send_event(url, intent_id, timestamp=fake.clock() - 3600), 401,
         "payment-event-stale"),
        (await fake.send_event(url, intent_id, amount=100), 409, "payment-amount-mismatch"),
        (await fake.send_event(url, intent_id, event_type="charge.refunded"), 400,
         "payment-event-unsupported"),
    ]
    for delivery, status, code in refusals:
        assert (delivery.status, delivery.answer["code"]) == (status, code), delivery.answer
        assert await read(mp, f"{TMF622}/productOrder/{placed['id']}") == before
    assert await total(mp, f"{TMF637}/product") == 0

    # the buyer's browser confirms the card; the provider delivers the signed webhook
    async with mp.http.post(f"{fake.base_url}/v1/payment_intents/{intent_id}/confirm",
                            data={"payment_method": "pm_card_visa"},
                            headers={"Authorization": f"Bearer {API_KEY}"}) as response:
        assert response.status == 200
    good = fake.deliveries[-1]
    assert (good.status, good.answer["state"]) == (200, "completed"), good.answer
    done = await read(mp, f"{TMF622}/productOrder/{placed['id']}")
    assert done["state"] == "completed"
    assert await total(mp, f"{TMF637}/product", "?status=active") == 1

    replayed = await fake.replay(url, good)
    assert (replayed.status, replayed.answer["code"]) == (409, "payment-event-replayed")
    assert await read(mp, f"{TMF622}/productOrder/{placed['id']}") == done
    assert await total(mp, f"{TMF637}/product") == 1


async def test_a_declined_card_leaves_the_order_to_be_paid(
        card: tuple[Marketplace, FakeCardProvider]) -> None:
    mp, fake = card
    seeded = await seed(mp, plans={"once": ONCE})
    placed = await place(mp, order(seeded.offering, seeded.plans["once"]))
    intent_id = placed["payment"][0]["id"]
    async with mp.http.post(f"{fake.base_url}/v1/payment_intents/{intent_id}/confirm",
                            data={"payment_method": "pm_card_chargeDeclined"},
                            headers={"Authorization": f"Bearer {API_KEY}"}) as response:
        assert response.status == 402
    assert fake.deliveries[-1].status == 200
    still = await read(mp, f"{TMF622}/productOrder/{placed['id']}")
    assert still["state"] == "inProgress"
    assert "card payment failed" in still["note"][-1]["text"]
    assert await total(mp, f"{TMF637}/product") == 0
