"""Payment providers: Norwegian KIDs, the invoice's signed "paid" callback, and card payments
through the provider's official SDK against a fake of its API on loopback.

The webhooks go over real HTTP to a small receiving app built the way the
order routes will be (servicekit's error middleware, the raw body handed to
``verify_callback``, then ``check_amount``), so a refusal is checked as the
problem+json a provider would get, and as nothing recorded.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import aiohttp
import pytest
import stripe
from aiohttp import web
from aiohttp.test_utils import TestServer
from pydantic import ValidationError

from marketplace.payments import (
    Buyer,
    CardInstructions,
    CardProvider,
    InvoiceInstructions,
    InvoiceProvider,
    KidInvalid,
    PaymentAmountMismatch,
    PaymentEvent,
    PaymentEventInvalid,
    PaymentEventStale,
    PaymentOutcome,
    PaymentProviderFailed,
    PaymentRefused,
    PaymentSettings,
    PaymentSignatureInvalid,
    PaymentStatus,
    build_provider,
    check_amount,
    is_valid_kid,
    kid_for_order,
    make_kid,
    validate_kid,
)
from marketplace.payments.base import PaymentProvider
from servicekit.web import error_middleware, json_response, read_body
from tests.fakes import START, FakeClock
from tests.marketplace.fake_card_provider import API_KEY, WEBHOOK_SECRET, FakeCardProvider

BUYER = Buyer(party_id="did:web:acme.example", name="Acme AS", email="ap@acme.example",
              organisation_number="914588200")
CALLBACK_SECRET = "bank-shared-secret-0123456789"


# --- KID --------------------------------------------------------------------

# Published examples: the Norwegian Wikipedia article on KID numbers (2345676 MOD10,
# 0365327 MOD11), the classic Luhn example (79927398713), the norwegian-numbers
# package's README (12344 MOD10, 12343 MOD11) and a bank account number (MOD11 with
# the same weights): 8601 11 17947.
MOD10_VALID = ["2345676", "0044555258", "12344", "79927398713", "1234567897"]
MOD11_VALID = ["0365327", "12345678903", "036536-", "12343", "86011117947"]


@pytest.mark.parametrize("kid", MOD10_VALID)
def test_mod10_kids_from_published_examples_are_valid_and_generated_alike(kid: str) -> None:
    assert is_valid_kid(kid, "MOD10")
    assert make_kid(kid[:-1], "MOD10") == kid


@pytest.mark.parametrize("kid", MOD11_VALID)
def test_mod11_kids_from_published_examples_are_valid_and_generated_alike(kid: str) -> None:
    assert is_valid_kid(kid, "MOD11")
    assert make_kid(kid[:-1], "MOD11") == kid


@pytest.mark.parametrize(("kid", "algorithm"), [
    ("2345674", "MOD10"), ("0044555251", "MOD10"), ("12343", "MOD10"),
    ("1677036255", "MOD11"), ("12344", "MOD11"), ("036536-", "MOD10"),
    ("1", "MOD10"), ("12a44", "MOD10"), ("2" * 26, "MOD10"), ("", "MOD11"),
])
def test_a_kid_with_a_wrong_check_digit_or_shape_is_refused(kid: str, algorithm: Any) -> None:
    assert not is_valid_kid(kid, algorithm)
    with pytest.raises(KidInvalid) as refused:
        validate_kid(kid, algorithm)
    assert (refused.value.code, refused.value.status) == ("kid-invalid", 400)


def test_an_order_kid_is_fixed_length_valid_and_the_same_each_time() -> None:
    assert kid_for_order("1042", "MOD10") == "000000000001042" + make_kid("1042", "MOD10")[-1]
    for algorithm in ("MOD10", "MOD11"):
        kids = {ref: kid_for_order(ref, algorithm, 12) for ref in ("1042", "ord-7f3a", "ord-7f3b")}
        assert all(len(kid) == 12 and is_valid_kid(kid, algorithm) for kid in kids.values())
        assert len(set(kids.values())) == 3
        assert kid_for_order("ord-7f3a", algorithm, 12) == kids["ord-7f3a"]


# --- settings ---------------------------------------------------------------

def test_settings_default_to_invoice_and_hide_secrets() -> None:
    settings = PaymentSettings(provider="card", card_api_key="sk_live_secret",
                               card_webhook_secret="whsec_secret",
                               invoice_callback_secret=CALLBACK_SECRET)
    assert PaymentSettings().provider == "invoice"
    assert "secret" not in repr(settings).replace("invoice_callback_secret", "")
    with pytest.raises(ValidationError, match="card_api_key"):
        PaymentSettings(provider="card")
    with pytest.raises(ValidationError, match="MOD11"):
        PaymentSettings(invoice_account_number="86011117948")


# --- the receiving app (what the order routes will do) ---------------------

@dataclass
class Receiver:
    """Routes a provider calls back, recording what passed every check."""

    url: str
    orders: dict[str, tuple[int, str]] = field(default_factory=dict)
    events: list[PaymentEvent] = field(default_factory=list)


def _callback(provider: PaymentProvider, receiver: Receiver) -> Callable[
        [web.Request], Awaitable[web.Response]]:
    async def handle(request: web.Request) -> web.Response:
        event = provider.verify_callback(request.headers, await read_body(request))
        amount, currency = receiver.orders[event.order_ref]
        check_amount(event, amount, currency)
        receiver.events.append(event)
        return json_response({"received": event.event_id})
    return handle


async def _receiver(*providers: PaymentProvider) -> tuple[TestServer, Receiver]:
    app = web.Application(middlewares=[error_middleware])
    server = TestServer(app, host="127.0.0.1")
    receiver = Receiver(url="")
    for provider in providers:
        app.router.add_post(f"/payments/{provider.name}", _callback(provider, receiver))
    await server.start_server()
    receiver.url = str(server.make_url("/payments"))
    return server, receiver


# --- invoice ----------------------------------------------------------------

def _bank_signature(body: bytes, timestamp: float, secret: str = CALLBACK_SECRET) -> str:
    """What the bank's integration sends, computed here from the documented scheme."""
    digest = hmac.new(secret.encode(), f"{int(timestamp)}.".encode() + body, hashlib.sha256)
    return f"t={int(timestamp)},v1={digest.hexdigest()}"


def _paid(kid: str, order_ref: str = "1042", amount: int = 125_000, **extra: Any) -> bytes:
    return json.dumps({"event_id": "bank-2025-000123", "order_ref": order_ref, "kid": kid,
                       "amount_minor": amount, "currency": "NOK",
                       "paid_at": "2025-06-15T10:00:00Z", **extra}).encode()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def invoices(clock: FakeClock) -> InvoiceProvider:
    settings = PaymentSettings(invoice_due_days=10, kid_algorithm="MOD11", kid_length=10,
                               invoice_account_number="86011117947",
                               invoice_callback_secret=CALLBACK_SECRET)
    return InvoiceProvider(settings, clock)


async def test_the_configured_provider_is_built(clock: FakeClock) -> None:
    async with aiohttp.ClientSession() as session:
        assert isinstance(build_provider(PaymentSettings(), session, clock), InvoiceProvider)
        card = _card_settings("http://127.0.0.1:9")
        assert isinstance(build_provider(card, session, clock), CardProvider)


async def test_an_invoice_has_a_kid_a_due_date_and_the_amount(invoices: InvoiceProvider) -> None:
    start = await invoices.start("1042", 125_000, "nok", BUYER, "Halden parking, monthly")
    assert isinstance(start.next, InvoiceInstructions)
    assert start.status is PaymentStatus.PENDING
    assert start.provider_payment_id == start.next.kid
    assert start.next.kid[:-1] == "000001042"
    assert is_valid_kid(start.next.kid, "MOD11")
    assert start.next.kid_algorithm == "MOD11"
    assert start.next.issued_on == date(2025, 6, 15)
    assert start.next.due_date == date(2025, 6, 25)
    assert (start.next.amount_minor, start.next.currency) == (125_000, "NOK")
    assert start.next.account_number == "86011117947"
    assert start.next.invoice_reference == "1042"


async def test_a_signed_paid_callback_is_a_payment_event(
        invoices: InvoiceProvider, clock: FakeClock) -> None:
    kid = invoices.kid("1042")
    body = _paid(kid)
    event = invoices.verify_callback({"x-invoice-signature": _bank_signature(body, clock())}, body)
    assert event == PaymentEvent(
        provider="invoice", event_id="bank-2025-000123", provider_payment_id=kid,
        order_ref="1042", amount_minor=125_000, currency="NOK",
        outcome=PaymentOutcome.SUCCEEDED, occurred_at=datetime(2025, 6, 15, 10, tzinfo=UTC))
    check_amount(event, 125_000, "nok")
    with pytest.raises(PaymentAmountMismatch) as refused:
        check_amount(event, 125_001, "NOK")
    assert (refused.value.code, refused.value.status) == ("payment-amount-mismatch", 409)
    with pytest.raises(PaymentAmountMismatch):
        check_amount(event, 125_000, "SEK")


@pytest.mark.parametrize(("case", "error", "code"), [
    ("wrong secret", PaymentSignatureInvalid, "payment-signature-invalid"),
    ("other body", PaymentSignatureInvalid, "payment-signature-invalid"),
    ("no header", PaymentSignatureInvalid, "payment-signature-invalid"),
    ("garbled header", PaymentSignatureInvalid, "payment-signature-invalid"),
    ("301 s old", PaymentEventStale, "payment-event-stale"),
    ("301 s ahead", PaymentEventStale, "payment-event-stale"),
    ("not json", PaymentEventInvalid, "payment-event-invalid"),
    ("bad check digit", KidInvalid, "kid-invalid"),
    ("another order's kid", PaymentEventInvalid, "invoice-kid-mismatch"),
])
def test_a_paid_callback_that_cannot_be_trusted_is_refused(
        invoices: InvoiceProvider, clock: FakeClock, case: str, error: type[Exception],
        code: str) -> None:
    kid, now = invoices.kid("1042"), clock()
    wrong_digit = kid[:-1] + ("0" if kid[-1] != "0" else "1")
    bodies = {"not json": b"{paid", "bad check digit": _paid(wrong_digit),
              "another order's kid": _paid(invoices.kid("1043"))}
    body = bodies.get(case, _paid(kid))
    signed = _paid(kid, amount=1) if case == "other body" else body
    moment = now + {"301 s old": -301, "301 s ahead": 301}.get(case, 0)
    secret = "not-the-bank-secret-0123" if case == "wrong secret" else CALLBACK_SECRET
    headers = {"no header": {}, "garbled header": {"X-Invoice-Signature": "v1=abc,t=soon"}}.get(
        case, {"X-Invoice-Signature": _bank_signature(signed, moment, secret)})
    with pytest.raises(error) as refused:
        invoices.verify_callback(headers, body)
    assert refused.value.code == code  # type: ignore[attr-defined]


def test_inside_the_window_a_callback_is_accepted_and_without_a_secret_none_is(
        invoices: InvoiceProvider, clock: FakeClock) -> None:
    body = _paid(invoices.kid("1042"))
    for moment in (clock() - 299, clock() + 299):
        invoices.verify_callback({"X-Invoice-Signature": _bank_signature(body, moment)}, body)
    closed = InvoiceProvider(PaymentSettings(), clock)
    with pytest.raises(PaymentSignatureInvalid):
        closed.verify_callback({"X-Invoice-Signature": _bank_signature(body, clock())}, body)


def test_the_operator_marking_an_invoice_paid_twice_is_the_same_event(
        invoices: InvoiceProvider, clock: FakeClock) -> None:
    first = invoices.operator_payment("1042", 125_000, "NOK")
    clock.advance(60)
    second = invoices.operator_payment("1042", 125_000, "NOK")
    assert first.event_id == second.event_id == f"operator:{invoices.kid('1042')}"
    assert first.outcome is PaymentOutcome.SUCCEEDED
    assert second.occurred_at == datetime.fromtimestamp(START + 60, UTC)


async def test_a_paid_callback_over_http_is_recorded_and_a_forged_one_is_problem_json(
        invoices: InvoiceProvider, clock: FakeClock) -> None:
    server, receiver = await _receiver(invoices)
    receiver.orders["1042"] = (125_000, "NOK")
    body = _paid(invoices.kid("1042"))
    try:
        async with aiohttp.ClientSession() as http:
            url = f"{receiver.url}/invoice"
            forged = {"X-Invoice-Signature": _bank_signature(body, clock(), "guess-guess-guess")}
            async with http.post(url, data=body, headers=forged) as response:
                problem = await response.json(content_type=None)
                assert response.status == 401
                assert response.content_type == "application/problem+json"
            assert problem["code"] == "payment-signature-invalid"
            assert receiver.events == []
            good = {"X-Invoice-Signature": _bank_signature(body, clock())}
            async with http.post(url, data=body, headers=good) as response:
                assert response.status == 200
            assert [event.order_ref for event in receiver.events] == ["1042"]
    finally:
        await server.close()


# --- card -------------------------------------------------------------------

@dataclass
class Card:
    fake: FakeCardProvider
    provider: CardProvider
    receiver: Receiver
    clock: FakeClock

    async def started(self, order_ref: str = "1042", amount: int = 125_000) -> str:
        """An order whose payment has started; the receiver knows what it costs."""
        self.receiver.orders[order_ref] = (amount, "NOK")
        start = await self.provider.start(order_ref, amount, "NOK", BUYER, "Monthly plan")
        return start.provider_payment_id


def _card_settings(base_url: str, **overrides: Any) -> PaymentSettings:
    values: dict[str, Any] = {
        "provider": "card", "card_api_base": base_url, "card_api_key": API_KEY,
        "card_webhook_secret": WEBHOOK_SECRET, "card_publishable_key": "pk_test_fake",
        "card_max_network_retries": 0, **overrides}
    return PaymentSettings(**values)


@pytest.fixture
async def card(clock: FakeClock) -> AsyncIterator[Card]:
    async with FakeCardProvider(clock=clock) as fake, aiohttp.ClientSession() as session:
        provider = build_provider(_card_settings(fake.base_url), session, clock)
        assert isinstance(provider, CardProvider)
        server, receiver = await _receiver(provider)
        fake.webhook_url = f"{receiver.url}/card"
        try:
            yield Card(fake, provider, receiver, clock)
        finally:
            await server.close()


async def test_a_card_payment_starts_as_a_payment_intent_through_the_sdk(card: Card) -> None:
    start = await card.provider.start("1042", 125_000, "NOK", BUYER, "Halden parking, monthly")
    intent = card.fake.intents[start.provider_payment_id]
    assert start.provider == "card"
    assert start.status is PaymentStatus.PENDING
    assert isinstance(start.next, CardInstructions)
    assert start.next.client_secret == intent["client_secret"]
    assert start.next.publishable_key == "pk_test_fake"
    assert (intent["amount"], intent["currency"], intent["description"]) == (
        125_000, "nok", "Halden parking, monthly")
    assert intent["metadata"] == {"order_ref": "1042", "buyer": BUYER.party_id}
    assert intent["receipt_email"] == BUYER.email
    create = card.fake.requests[-1]
    assert create.authorization == f"Bearer {API_KEY}"
    assert create.idempotency_key
    again = await card.provider.start("1042", 125_000, "NOK", BUYER, "Halden parking, monthly")
    assert again.provider_payment_id == start.provider_payment_id
    assert len(card.fake.intents) == 1


async def test_the_provider_refusing_or_failing_is_our_error(card: Card, clock: FakeClock) -> None:
    with pytest.raises(PaymentRefused) as refused:
        await card.provider.start("1042", 100, "NOK", BUYER, "too cheap")
    assert refused.value.status == 400
    assert refused.value.extra["provider_code"] == (
        "amount_too_small")
    async with aiohttp.ClientSession() as session:
        wrong_key = CardProvider(_card_settings(card.fake.base_url, card_api_key="sk_test_no"),
                                 session, clock)
        with pytest.raises(PaymentProviderFailed) as failed:
            await wrong_key.start("1042", 125_000, "NOK", BUYER, "x")
        assert failed.value.status == 502
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            closed = f"http://127.0.0.1:{sock.getsockname()[1]}"
        away = CardProvider(_card_settings(closed), session, clock)
        with pytest.raises(PaymentProviderFailed):
            await away.start("1042", 125_000, "NOK", BUYER, "x")


async def _confirm(card: Card, intent_id: str, method: str = "pm_card_visa") -> None:
    """The buyer's browser confirming the card (here through the SDK, as Stripe.js would)."""
    async with aiohttp.ClientSession() as browser:
        client = stripe.StripeClient(API_KEY, base_addresses={"api": card.fake.base_url},
                                     http_client=stripe.AIOHTTPClient(session=browser),
                                     max_network_retries=0)
        if method == "pm_card_chargeDeclined":
            with pytest.raises(stripe.CardError):
                await client.v1.payment_intents.confirm_async(intent_id, {"payment_method": method})
        else:
            await client.v1.payment_intents.confirm_async(intent_id, {"payment_method": method})


async def test_a_confirmed_card_payment_sends_a_webhook_that_verifies(card: Card) -> None:
    intent_id = await card.started()
    await _confirm(card, intent_id)
    [delivery] = card.fake.deliveries
    assert delivery.status == 200
    [event] = card.receiver.events
    assert event.model_dump(exclude={"event_id", "occurred_at"}) == {
        "provider": "card", "provider_payment_id": intent_id, "order_ref": "1042",
        "amount_minor": 125_000, "currency": "NOK", "outcome": PaymentOutcome.SUCCEEDED}
    assert event.event_id == delivery.event_id
    assert (await card.provider.retrieve(intent_id)).status is PaymentStatus.SUCCEEDED


async def test_a_declined_card_is_a_failed_payment_event(card: Card) -> None:
    intent_id = await card.started()
    await _confirm(card, intent_id, "pm_card_chargeDeclined")
    [event] = card.receiver.events
    assert event.outcome is PaymentOutcome.FAILED
    assert event.provider_payment_id == intent_id


@pytest.mark.parametrize(("case", "status", "code"), [
    ("wrong secret", 401, "payment-signature-invalid"),
    ("unsigned", 401, "payment-signature-invalid"),
    ("301 s old", 401, "payment-event-stale"),
    ("301 s ahead", 401, "payment-event-stale"),
    ("other amount", 409, "payment-amount-mismatch"),
    ("refund event", 400, "payment-event-unsupported"),
])
async def test_a_webhook_that_cannot_be_trusted_is_refused_and_records_nothing(
        card: Card, case: str, status: int, code: str) -> None:
    intent_id = await card.started()
    now, url = card.clock(), card.fake.webhook_url or ""
    options: dict[str, Any] = {
        "wrong secret": {"secret": "whsec_guessed"}, "unsigned": {"unsigned": True},
        "301 s old": {"timestamp": now - 301}, "301 s ahead": {"timestamp": now + 301},
        "other amount": {"amount": 125_000 - 1},
        "refund event": {"event_type": "charge.refunded"}}[case]
    delivery = await card.fake.send_event(url, intent_id, **options)
    assert (delivery.status, delivery.answer["code"]) == (status, code)
    assert card.receiver.events == []


async def test_a_webhook_just_inside_the_window_verifies(card: Card) -> None:
    intent_id = await card.started()
    url = card.fake.webhook_url or ""
    for moment in (card.clock() - 299, card.clock() + 299):
        delivery = await card.fake.send_event(url, intent_id, timestamp=moment)
        assert delivery.status == 200
    assert len(card.receiver.events) == 2


async def test_a_replayed_webhook_verifies_to_the_same_event_id(card: Card) -> None:
    """Replays pass the signature (the provider retries); the event id is what orders dedupe."""
    intent_id = await card.started()
    first = await card.fake.send_event(card.fake.webhook_url or "", intent_id)
    card.clock.advance(3600)
    again = await card.fake.replay(card.fake.webhook_url or "", first)
    assert (first.status, again.status) == (200, 200)
    assert [event.event_id for event in card.receiver.events] == [first.event_id] * 2


def test_a_webhook_body_that_is_signed_but_not_an_event_is_refused(
        card: Card, clock: FakeClock) -> None:
    for body in (b"[1, 2]", b'{"id": "evt_1", "object": "event", "type": '
                 b'"payment_intent.succeeded", "created": 1, "data": {"object": {}}}',
                 b"\xff\xfe", b"not json"):
        headers = {"Stripe-Signature": card.fake.signature(body, int(clock()))}
        with pytest.raises(PaymentEventInvalid):
            card.provider.verify_callback(headers, body)
