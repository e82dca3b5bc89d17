"""The card provider: Stripe PaymentIntents and signed webhooks, through Stripe's own SDK.

Starting a payment creates a PaymentIntent with the official ``stripe``
package (its async client, over the service's shared aiohttp session, at
``card_api_base`` when set), keyed with an idempotency key made of the order,
amount and currency, so starting the same order again gives the same intent::

    start = await provider.start("1042", 125000, "NOK", buyer, "Halden parking, monthly")
    start.provider_payment_id      # "pi_..."
    start.next.client_secret       # for Stripe.js in the buyer's browser

The buyer confirms the card in the browser; the provider then POSTs a webhook
event to the marketplace's card webhook route. :meth:`CardProvider.verify_callback`
takes the request's headers and raw body::

    Stripe-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "{t}." + raw body>

The signature is checked by the SDK (``StripeClient.construct_event``, with
``card_webhook_secret``); the time window (``callback_tolerance_seconds``,
300 by default) is checked here with the injected clock, because the SDK
reads the wall clock. The events acted on are ``payment_intent.succeeded``
(outcome ``succeeded``, the amount received) and ``payment_intent.payment_failed``
and ``payment_intent.canceled`` (outcome ``failed``); subscribe the webhook
endpoint to those three. The PaymentIntent's ``metadata.order_ref`` names the
order. Any other event type is refused with ``payment-event-unsupported``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import aiohttp
import stripe
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from stripe.params import PaymentIntentCreateParams

from marketplace.payments.base import (
    Buyer,
    CardInstructions,
    PaymentEvent,
    PaymentOutcome,
    PaymentStart,
    PaymentStatus,
    header,
    normalise_currency,
)
from marketplace.payments.errors import (
    PaymentEventInvalid,
    PaymentEventUnsupported,
    PaymentProviderFailed,
    PaymentRefused,
    PaymentSignatureInvalid,
)
from marketplace.payments.settings import PaymentSettings
from marketplace.payments.signing import check_timestamp, parse_signature_header
from servicekit.clock import Clock, datetime_from_epoch, system_clock

__all__ = ["EVENT_OUTCOMES", "SIGNATURE_HEADER", "CardProvider"]

SIGNATURE_HEADER = "Stripe-Signature"

#: The webhook event types an order reacts to, and what each means for it.
EVENT_OUTCOMES: Mapping[str, PaymentOutcome] = {
    "payment_intent.succeeded": PaymentOutcome.SUCCEEDED,
    "payment_intent.payment_failed": PaymentOutcome.FAILED,
    "payment_intent.canceled": PaymentOutcome.FAILED,
}

# A PaymentIntent's status, as far as an order cares.
_STATUSES = {"succeeded": PaymentStatus.SUCCEEDED, "canceled": PaymentStatus.FAILED}


class _Intent(BaseModel):
    """The fields of a PaymentIntent that an order needs."""

    model_config = ConfigDict(extra="ignore")

    id: str = Field(min_length=1)
    object: str = Field(pattern="^payment_intent$")
    amount: int = Field(ge=0)
    amount_received: int = Field(default=0, ge=0)
    currency: str
    metadata: dict[str, str] = {}


class _Event(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: str = Field(min_length=1)
    type: str
    created: int


class CardProvider:
    """Card payments at a Stripe-compatible API; a :class:`~.base.PaymentProvider`."""

    def __init__(
        self, settings: PaymentSettings, session: aiohttp.ClientSession,
        clock: Clock = system_clock,
    ) -> None:
        if not settings.card_api_key or not settings.card_webhook_secret:
            raise ValueError("the card provider needs card_api_key and card_webhook_secret")
        self._settings = settings
        self._webhook_secret = settings.card_webhook_secret
        self._clock = clock
        http = stripe.AIOHTTPClient(
            session=session, timeout=aiohttp.ClientTimeout(total=settings.card_timeout_seconds))
        self._client = stripe.StripeClient(
            settings.card_api_key,
            base_addresses={"api": settings.card_api_base} if settings.card_api_base else None,
            http_client=http,
            max_network_retries=settings.card_max_network_retries,
        )

    @property
    def name(self) -> str:
        """``card``."""
        return "card"

    async def start(
        self, order_ref: str, amount_minor: int, currency: str, buyer: Buyer, description: str
    ) -> PaymentStart:
        """Create (or, for the same order and amount, find again) the order's PaymentIntent."""
        code = normalise_currency(currency)
        metadata = {"order_ref": order_ref, "buyer": buyer.party_id}
        try:
            params: PaymentIntentCreateParams = {
                "amount": amount_minor, "currency": code.lower(), "description": description,
                "metadata": metadata, "automatic_payment_methods": {"enabled": True}}
            if buyer.email:
                params["receipt_email"] = buyer.email
            intent = await self._client.v1.payment_intents.create_async(
                params,
                {"idempotency_key": f"marketplace-order:{order_ref}:{amount_minor}:{code}"},
            )
        except stripe.StripeError as exc:
            raise _provider_error(exc) from None
        return self._started(intent)

    async def retrieve(self, provider_payment_id: str) -> PaymentStart:
        """Where the PaymentIntent ``provider_payment_id`` stands now (for reconciliation)."""
        try:
            intent = await self._client.v1.payment_intents.retrieve_async(provider_payment_id)
        except stripe.StripeError as exc:
            raise _provider_error(exc) from None
        return self._started(intent)

    def _started(self, intent: stripe.PaymentIntent) -> PaymentStart:
        if not intent.client_secret:
            raise PaymentProviderFailed("the card provider answered a payment without a client "
                                        "secret")
        return PaymentStart(
            provider=self.name, provider_payment_id=intent.id,
            status=_STATUSES.get(intent.status, PaymentStatus.PENDING),
            next=CardInstructions(client_secret=intent.client_secret,
                                  publishable_key=self._settings.card_publishable_key),
        )

    def verify_callback(self, headers: Mapping[str, str], raw_body: bytes) -> PaymentEvent:
        """The payment event in a webhook request, verified; see the module docstring."""
        signature = header(headers, SIGNATURE_HEADER)
        try:
            raw_body.decode("utf-8")
        except UnicodeDecodeError:
            raise PaymentEventInvalid("the webhook body is not UTF-8 text") from None
        try:
            # tolerance=0: the SDK checks the signature only; the window is ours (our clock).
            event = self._client.construct_event(raw_body, signature, self._webhook_secret,
                                                 tolerance=0)
        except stripe.SignatureVerificationError:
            raise PaymentSignatureInvalid(
                "the webhook's Stripe-Signature does not match its body") from None
        except (ValueError, TypeError, AttributeError, KeyError):
            raise PaymentEventInvalid("the webhook body is not a Stripe event") from None
        timestamp, _ = parse_signature_header(signature)
        check_timestamp(timestamp, self._clock, self._settings.callback_tolerance_seconds)
        return _payment_event(self.name, event.to_dict())


def _payment_event(provider: str, event: dict[str, Any]) -> PaymentEvent:
    """A verified Stripe event (as a plain dict) as a payment event."""
    try:
        envelope = _Event.model_validate(event)
        outcome = EVENT_OUTCOMES.get(envelope.type)
        if outcome is None:
            raise PaymentEventUnsupported(
                f"events of type {envelope.type!r} are not acted on",
                extra={"event_type": envelope.type})
        intent = _Intent.model_validate(event.get("data", {}).get("object"))
        currency = normalise_currency(intent.currency)
    except (ValidationError, ValueError, AttributeError):
        raise PaymentEventInvalid("the event does not carry a PaymentIntent") from None
    order_ref = intent.metadata.get("order_ref")
    if not order_ref:
        raise PaymentEventInvalid("the PaymentIntent names no order (metadata.order_ref)",
                                  code="payment-order-missing")
    succeeded = outcome is PaymentOutcome.SUCCEEDED
    return PaymentEvent(
        provider=provider, event_id=envelope.id, provider_payment_id=intent.id,
        order_ref=order_ref, amount_minor=intent.amount_received if succeeded else intent.amount,
        currency=currency, outcome=outcome, occurred_at=datetime_from_epoch(envelope.created),
    )


def _provider_error(exc: stripe.StripeError) -> PaymentRefused | PaymentProviderFailed:
    """Our error for the SDK's: a refusal of what we asked (400, 402) or a failure."""
    extra = {"provider_status": exc.http_status, "provider_code": exc.code}
    if exc.http_status in (400, 402):
        return PaymentRefused(
            f"the card provider refused the payment: {exc.user_message or exc.code}",
            extra=extra)
    return PaymentProviderFailed("the card provider failed to answer", extra=extra)
