"""A fake of the card provider's API (Stripe's shape) on 127.0.0.1: the only payment fake.

What it serves, as the real API does (form-encoded requests, JSON answers,
``Authorization: Bearer <secret key>``, ``Idempotency-Key`` honoured):

- ``POST /v1/payment_intents``: create (``amount``, ``currency``, ``description``,
  ``metadata[...]``, ``receipt_email``, ``automatic_payment_methods[enabled]``);
- ``GET /v1/payment_intents/{id}``: retrieve;
- ``POST /v1/payment_intents/{id}/confirm``: what the buyer's browser does with
  the client secret. ``payment_method=pm_card_visa`` succeeds,
  ``pm_card_chargeDeclined`` is declined (402). Either way, when ``webhook_url``
  is set, the event (``payment_intent.succeeded`` / ``payment_intent.payment_failed``)
  is delivered there, signed, before the confirm answers.

And what a test needs to play a hostile or broken provider, each a
:meth:`FakeCardProvider.send_event` option: sign with a wrong ``secret``,
send ``unsigned``, sign at another ``timestamp``, claim another ``amount``,
or send another ``event_type``; :meth:`FakeCardProvider.replay` resends a
delivery's exact body (same event id) with a fresh signature, as the real
provider does when it retries.

Signatures are written here from the provider's documented scheme
(``Stripe-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "{t}." + body>``), not
with the code under test.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import aiohttp
from aiohttp import web

API_KEY = "sk_test_fake_marketplace"
WEBHOOK_SECRET = "whsec_fake_marketplace_endpoint"
MINIMUM_AMOUNT = 300  # the provider's smallest charge in NOK øre (3 kr)

_NESTED = re.compile(r"^(\w+)\[(\w+)\]$")


@dataclass
class Delivery:
    """One webhook request the fake sent, and the answer it got."""

    event_id: str
    payload: bytes
    headers: dict[str, str]
    status: int
    answer: Any


@dataclass
class Seen:
    """One API request the fake received."""

    method: str
    path: str
    authorization: str | None
    idempotency_key: str | None
    form: dict[str, Any] = field(default_factory=dict)


def _error(status: int, kind: str, message: str, code: str | None = None,
           param: str | None = None) -> web.Response:
    body = {"error": {"type": kind, "message": message, "code": code, "param": param}}
    return web.json_response(body, status=status)


def _form(data: Any) -> dict[str, Any]:
    """Stripe's form encoding (``metadata[order_ref]=...``) as nested dicts."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        nested = _NESTED.match(key)
        if nested:
            out.setdefault(nested.group(1), {})[nested.group(2)] = value
        else:
            out[key] = value
    return out


class FakeCardProvider:
    """The fake API server; ``async with FakeCardProvider(clock=...) as fake``."""

    def __init__(self, *, clock: Callable[[], float] = time.time,
                 api_key: str = API_KEY, webhook_secret: str = WEBHOOK_SECRET) -> None:
        self.clock = clock
        self.api_key = api_key
        self.webhook_secret = webhook_secret
        self.webhook_url: str | None = None
        self.intents: dict[str, dict[str, Any]] = {}
        self.requests: list[Seen] = []
        self.deliveries: list[Delivery] = []
        self._idempotent: dict[str, str] = {}
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self.base_url = ""

    async def __aenter__(self) -> FakeCardProvider:
        app = web.Application()
        app.router.add_post("/v1/payment_intents", self._create)
        app.router.add_get("/v1/payment_intents/{id}", self._retrieve)
        app.router.add_post("/v1/payment_intents/{id}/confirm", self._confirm)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.base_url = f"http://{host}:{port}"
        self._session = aiohttp.ClientSession()
        return self

    async def __aexit__(self, kind: type[BaseException] | None, error: BaseException | None,
                        trace: TracebackType | None) -> None:
        if self._session is not None:
            await self._session.close()
        if self._runner is not None:
            await self._runner.cleanup()

    # --- the API -------------------------------------------------------------

    async def _seen(self, request: web.Request) -> tuple[Seen, web.Response | None]:
        form = _form(await request.post() if request.method == "POST" else request.query)
        seen = Seen(request.method, request.path, request.headers.get("Authorization"),
                    request.headers.get("Idempotency-Key"), form)
        self.requests.append(seen)
        if seen.authorization != f"Bearer {self.api_key}":
            return seen, _error(401, "invalid_request_error", "Invalid API Key provided")
        return seen, None

    async def _create(self, request: web.Request) -> web.Response:
        seen, refused = await self._seen(request)
        if refused is not None:
            return refused
        if seen.idempotency_key in self._idempotent:
            return web.json_response(self.intents[self._idempotent[seen.idempotency_key]])
        form = seen.form
        if not str(form.get("amount", "")).isdigit():
            return _error(400, "invalid_request_error", "Invalid integer", param="amount")
        if int(form["amount"]) < MINIMUM_AMOUNT:
            return _error(400, "invalid_request_error", "Amount must be at least 3.00 kr",
                          code="amount_too_small", param="amount")
        if not re.fullmatch(r"[a-z]{3}", str(form.get("currency", ""))):
            return _error(400, "invalid_request_error", "Invalid currency", param="currency")
        intent_id = f"pi_{secrets.token_hex(12)}"
        self.intents[intent_id] = {
            "id": intent_id, "object": "payment_intent", "amount": int(form["amount"]),
            "amount_received": 0, "currency": form["currency"], "created": int(self.clock()),
            "client_secret": f"{intent_id}_secret_{secrets.token_hex(12)}",
            "description": form.get("description"), "metadata": form.get("metadata", {}),
            "receipt_email": form.get("receipt_email"), "livemode": False,
            "automatic_payment_methods": {"enabled": True}, "payment_method": None,
            "last_payment_error": None, "status": "requires_payment_method",
        }
        if seen.idempotency_key:
            self._idempotent[seen.idempotency_key] = intent_id
        return web.json_response(self.intents[intent_id])

    async def _retrieve(self, request: web.Request) -> web.Response:
        _, refused = await self._seen(request)
        if refused is not None:
            return refused
        intent = self.intents.get(request.match_info["id"])
        if intent is None:
            return _error(404, "invalid_request_error", "No such payment_intent",
                          code="resource_missing", param="intent")
        return web.json_response(intent)

    async def _confirm(self, request: web.Request) -> web.Response:
        seen, refused = await self._seen(request)
        if refused is not None:
            return refused
        intent = self.intents.get(request.match_info["id"])
        if intent is None:
            return _error(404, "invalid_request_error", "No such payment_intent",
                          code="resource_missing", param="intent")
        method = seen.form.get("payment_method", "pm_card_visa")
        intent["payment_method"] = method
        declined = method == "pm_card_chargeDeclined"
        if declined:
            intent["last_payment_error"] = {"type": "card_error", "code": "card_declined"}
        else:
            intent.update(status="succeeded", amount_received=intent["amount"])
        if self.webhook_url:
            kind = "payment_intent.payment_failed" if declined else "payment_intent.succeeded"
            await self.send_event(self.webhook_url, intent["id"], kind)
        if declined:
            return _error(402, "card_error", "Your card was declined.", code="card_declined")
        return web.json_response(intent)

    # --- webhooks ------------------------------------------------------------

    def signature(self, payload: bytes, timestamp: int, secret: str | None = None) -> str:
        """The ``Stripe-Signature`` of ``payload`` (by default with the endpoint's secret)."""
        key = (secret or self.webhook_secret).encode()
        digest = hmac.new(key, f"{timestamp}.".encode() + payload, hashlib.sha256).hexdigest()
        return f"t={timestamp},v1={digest}"

    async def send_event(
        self, url: str, intent_id: str, event_type: str = "payment_intent.succeeded", *,
        secret: str | None = None, unsigned: bool = False, timestamp: float | None = None,
        amount: int | None = None, event_id: str | None = None,
    ) -> Delivery:
        """Deliver an event about intent ``intent_id`` to ``url``; see the module docstring."""
        intent = dict(self.intents[intent_id])
        if event_type == "payment_intent.succeeded":  # the event carries the succeeded intent
            intent.update(status="succeeded", amount_received=intent["amount"])
        if amount is not None:
            intent.update(amount=amount, amount_received=amount)
        event = {
            "id": event_id or f"evt_{secrets.token_hex(12)}", "object": "event",
            "api_version": "2025-06-30.basil", "created": int(self.clock()),
            "type": event_type, "livemode": False, "pending_webhooks": 1,
            "data": {"object": intent}, "request": {"id": None, "idempotency_key": None},
        }
        payload = json.dumps(event, indent=2).encode()
        return await self._deliver(url, event["id"], payload, secret=secret, unsigned=unsigned,
                                   timestamp=timestamp)

    async def replay(self, url: str, delivery: Delivery, *,
                     timestamp: float | None = None) -> Delivery:
        """Resend ``delivery``'s body unchanged (the same event id), freshly signed."""
        return await self._deliver(url, delivery.event_id, delivery.payload, timestamp=timestamp)

    async def _deliver(self, url: str, event_id: str, payload: bytes, *,
                       secret: str | None = None, unsigned: bool = False,
                       timestamp: float | None = None) -> Delivery:
        assert self._session is not None, "use the fake as an async context manager"
        headers = {"Content-Type": "application/json; charset=utf-8",
                   "User-Agent": "FakeCardProvider/1.0 (+webhooks)"}
        if not unsigned:
            moment = int(self.clock() if timestamp is None else timestamp)
            headers["Stripe-Signature"] = self.signature(payload, moment, secret)
        async with self._session.post(url, data=payload, headers=headers) as response:
            answer = await response.json(content_type=None)
            delivery = Delivery(event_id, payload, headers, response.status, answer)
        self.deliveries.append(delivery)
        return delivery
