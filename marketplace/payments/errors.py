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


class PaymentSignatureInvalid(Unauthorized, code="payment-signature-invalid",
                              title="Payment callback signature invalid"):
    """A callback without a valid signature from the provider we share a secret with."""


class PaymentEventStale(Unauthorized, code="payment-event-stale",
                        title="Payment callback too old or too far ahead"):
    """A correctly signed callback whose timestamp is outside the tolerance window."""


class PaymentEventInvalid(InvalidRequest, code="payment-event-invalid",
                          title="Payment event invalid"):
    """A correctly signed callback whose body is not a payment event we can read."""


class PaymentEventUnsupported(PaymentEventInvalid, code="payment-event-unsupported",
                              title="Payment event type not supported"):
    """A correctly signed event of a type no order reacts to."""


class KidInvalid(InvalidRequest, code="kid-invalid", title="KID invalid"):
    """A KID (Norwegian customer identification number) that fails its check digit."""


class PaymentRefused(InvalidRequest, code="payment-provider-refused",
                     title="Payment refused by the provider"):
    """The provider refused the payment we asked for (e.g. an amount it does not accept)."""


class PaymentAmountMismatch(Conflict, code="payment-amount-mismatch",
                            title="Payment amount mismatch"):
    """The event's amount or currency is not what the order costs."""


class PaymentProviderFailed(UpstreamError, code="payment-provider-failed",
                            title="Payment provider failed"):
    """The payment provider failed, answered nonsense, or could not be reached."""
