"""The errors a payment provider raises, each in a servicekit family with a stable code.

::

    servicekit.errors.DataspaceError
    ├── InvalidRequest (400)
    │   ├── PaymentEventInvalid         payment-event-invalid      (signed, but unreadable)
    │   │   └── PaymentEventUnsupported payment-event-unsupported  (a type we do not act on)
    │   ├── KidInvalid                  kid-invalid                (wrong check digit)
    │   └── PaymentRefused              payment-provider-refused   (provider refused us)
    ├── Unauthorized (401)
    │   ├── PaymentSignatureInvalid     payment-signature-invalid  (no or wrong signature)
    │   └── PaymentEventStale           payment-event-stale        (outside the window)
    ├── Conflict (409)
    │   └── PaymentAmountMismatch       payment-amount-mismatch    (not the order's amount)
    └── UpstreamError (502)
        └── PaymentProviderFailed       payment-provider-failed    (provider failed or away)

A callback refused with any of these must change nothing: the order service
raises them before it touches its store.
"""

from __future__ import annotations

from servicekit.errors import Conflict, InvalidRequest, Unauthorized, UpstreamError

__all__ = [
    "KidInvalid",
    "PaymentAmountMismatch",
    "PaymentEventInvalid",
    "PaymentEventStale",
    "PaymentEventUnsupported",
    "PaymentProviderFailed",
    "PaymentRefused",
    "PaymentSignatureInvalid",
]


class PaymentSignatureInvalid(Unauthorized):
    """A callback without a valid signature from the provider we share a secret with."""

    default_code = "payment-signature-invalid"
    title = "Payment callback signature invalid"


class PaymentEventStale(Unauthorized):
    """A correctly signed callback whose timestamp is outside the tolerance window."""

    default_code = "payment-event-stale"
    title = "Payment callback too old or too far ahead"


class PaymentEventInvalid(InvalidRequest):
    """A correctly signed callback whose body is not a payment event we can read."""

    default_code = "payment-event-invalid"
    title = "Payment event invalid"


class PaymentEventUnsupported(PaymentEventInvalid):
    """A correctly signed event of a type no order reacts to."""

    default_code = "payment-event-unsupported"
    title = "Payment event type not supported"


class KidInvalid(InvalidRequest):
    """A KID (Norwegian customer identification number) that fails its check digit."""

    default_code = "kid-invalid"
    title = "KID invalid"


class PaymentRefused(InvalidRequest):
    """The provider refused the payment we asked for (e.g. an amount it does not accept)."""

    default_code = "payment-provider-refused"
    title = "Payment refused by the provider"


class PaymentAmountMismatch(Conflict):
    """The event's amount or currency is not what the order costs."""

    default_code = "payment-amount-mismatch"
    title = "Payment amount mismatch"


class PaymentProviderFailed(UpstreamError):
    """The payment provider failed, answered nonsense, or could not be reached."""

    default_code = "payment-provider-failed"
    title = "Payment provider failed"
