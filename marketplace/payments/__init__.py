"""Payments behind one interface: invoice (the default) and card, as adapters.

``build_provider(settings.payments, app[HTTP_CLIENT], clock)`` answers the
configured :class:`PaymentProvider`; the order service calls its ``start``
when an order is placed and its ``verify_callback`` on the provider's
callback, then :func:`check_amount` and its own unique event ids (see
:mod:`marketplace.payments.base` for the exact sequence). No module here
touches the store or aiohttp's request objects.

- :mod:`.base`: the protocol, money, events, :func:`check_amount`
- :mod:`.invoice` and :mod:`.kid`: invoices with Norwegian KIDs, the signed "paid" callback
- :mod:`.card`: Stripe PaymentIntents and webhooks through Stripe's SDK
- :mod:`.signing`: the ``t=...,v1=...`` HMAC-SHA256 scheme
- :mod:`.errors`: the error classes and their codes
"""

from __future__ import annotations

import aiohttp

from marketplace.payments.base import (
    Buyer,
    CardInstructions,
    InvoiceInstructions,
    Money,
    PaymentEvent,
    PaymentOutcome,
    PaymentProvider,
    PaymentStart,
    PaymentStatus,
    check_amount,
    normalise_currency,
)
from marketplace.payments.card import CardProvider
from marketplace.payments.errors import (
    KidInvalid,
    PaymentAmountMismatch,
    PaymentEventInvalid,
    PaymentEventStale,
    PaymentEventUnsupported,
    PaymentProviderFailed,
    PaymentRefused,
    PaymentSignatureInvalid,
)
from marketplace.payments.invoice import InvoiceProvider
from marketplace.payments.kid import is_valid_kid, kid_for_order, make_kid, validate_kid
from marketplace.payments.settings import PaymentSettings
from servicekit.clock import Clock, system_clock

__all__ = [
    "Buyer",
    "CardInstructions",
    "CardProvider",
    "InvoiceInstructions",
    "InvoiceProvider",
    "KidInvalid",
    "Money",
    "PaymentAmountMismatch",
    "PaymentEvent",
    "PaymentEventInvalid",
    "PaymentEventStale",
    "PaymentEventUnsupported",
    "PaymentOutcome",
    "PaymentProvider",
    "PaymentProviderFailed",
    "PaymentRefused",
    "PaymentSettings",
    "PaymentSignatureInvalid",
    "PaymentStart",
    "PaymentStatus",
    "build_provider",
    "check_amount",
    "is_valid_kid",
    "kid_for_order",
    "make_kid",
    "normalise_currency",
    "validate_kid",
]


def build_provider(
    settings: PaymentSettings, session: aiohttp.ClientSession, clock: Clock = system_clock
) -> PaymentProvider:
    """The provider ``settings`` name; ``session`` is the service's shared outbound session."""
    if settings.provider == "card":
        return CardProvider(settings, session, clock)
    return InvoiceProvider(settings, clock)
