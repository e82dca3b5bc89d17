"""The invoice provider (the default): a KID, an amount and a due date; paid by bank transfer.

Nothing is called when an invoice starts: :meth:`InvoiceProvider.start`
answers a :class:`~marketplace.payments.base.PaymentStart` whose
``provider_payment_id`` is the order's KID (:func:`~marketplace.payments.kid.kid_for_order`)
and whose ``next`` is the :class:`~marketplace.payments.base.InvoiceInstructions`
to print: KID, due date (``invoice_due_days`` after today), amount, account.

An invoice is marked paid in one of two ways, both giving a ``PaymentEvent``
that the order service treats exactly like a card webhook:

- **By the bank or accounting system**, which POSTs a JSON body to the
  marketplace's invoice callback route, signed with the shared
  ``invoice_callback_secret``::

      X-Invoice-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "{t}." + raw body>

      {"event_id": "bank-2025-000123", "order_ref": "1042", "kid": "0000000000010421",
       "amount_minor": 125000, "currency": "NOK", "paid_at": "2025-06-15T10:00:00Z"}

  :meth:`InvoiceProvider.verify_callback` checks the signature, the time
  window, the KID's check digit and that the KID is the order's; the order
  service then checks the amount and the event id's uniqueness.
- **By the operator** (an admin route): :meth:`InvoiceProvider.operator_payment`
  makes the event. Its id is derived from the KID, so marking the same invoice
  paid twice is a replay and changes nothing.

:func:`~marketplace.payments.signing.signature_header` makes the header for a
sender (and for tests).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from marketplace.payments.base import (
    Buyer,
    InvoiceInstructions,
    PaymentEvent,
    PaymentOutcome,
    PaymentStart,
    PaymentStatus,
    header,
    normalise_currency,
)
from marketplace.payments.errors import PaymentEventInvalid, PaymentSignatureInvalid
from marketplace.payments.kid import kid_for_order, validate_kid
from marketplace.payments.settings import PaymentSettings
from marketplace.payments.signing import verify_signature
from servicekit.clock import Clock, datetime_from_epoch, system_clock

__all__ = ["SIGNATURE_HEADER", "InvoicePaidCallback", "InvoiceProvider"]

SIGNATURE_HEADER = "X-Invoice-Signature"


class InvoicePaidCallback(BaseModel):
    """The body a bank or accounting system sends when an invoice has been paid."""

    model_config = ConfigDict(extra="forbid")

    event_id: str = Field(min_length=1, max_length=200)
    order_ref: str = Field(min_length=1, max_length=200)
    kid: str = Field(min_length=2, max_length=30)
    amount_minor: int = Field(ge=0)
    currency: str = Field(min_length=3, max_length=3)
    paid_at: datetime


class InvoiceProvider:
    """Invoices with Norwegian KIDs; a :class:`~marketplace.payments.base.PaymentProvider`."""

    def __init__(self, settings: PaymentSettings, clock: Clock = system_clock) -> None:
        self._settings = settings
        self._clock = clock

    @property
    def name(self) -> str:
        """``invoice``."""
        return "invoice"

    def kid(self, order_ref: str) -> str:
        """The KID of order ``order_ref`` under the configured algorithm and length."""
        return kid_for_order(order_ref, self._settings.kid_algorithm, self._settings.kid_length)

    async def start(
        self, order_ref: str, amount_minor: int, currency: str, buyer: Buyer, description: str
    ) -> PaymentStart:
        """An invoice for the order: its KID, due date and amount (nothing is sent anywhere)."""
        if amount_minor < 0:
            raise ValueError("an amount is never negative")
        issued_on = datetime_from_epoch(self._clock()).date()
        kid = self.kid(order_ref)
        instructions = InvoiceInstructions(
            kid=kid,
            kid_algorithm=self._settings.kid_algorithm,
            invoice_reference=order_ref,
            issued_on=issued_on,
            due_date=issued_on + timedelta(days=self._settings.invoice_due_days),
            amount_minor=amount_minor,
            currency=normalise_currency(currency),
            account_number=self._settings.invoice_account_number,
        )
        return PaymentStart(provider=self.name, provider_payment_id=kid,
                            status=PaymentStatus.PENDING, next=instructions)

    def verify_callback(self, headers: Mapping[str, str], raw_body: bytes) -> PaymentEvent:
        """The payment a signed ``X-Invoice-Signature`` callback reports."""
        secret = self._settings.invoice_callback_secret
        if secret is None:
            raise PaymentSignatureInvalid("invoice callbacks are not enabled on this marketplace")
        verify_signature(header(headers, SIGNATURE_HEADER), raw_body, secret, self._clock,
                         self._settings.callback_tolerance_seconds)
        try:
            body = InvoicePaidCallback.model_validate_json(raw_body)
            currency = normalise_currency(body.currency)
        except (ValidationError, ValueError) as exc:
            raise PaymentEventInvalid(f"not an invoice payment: {exc}".splitlines()[0]) from None
        kid = validate_kid(body.kid, self._settings.kid_algorithm)
        if kid != self.kid(body.order_ref):
            raise PaymentEventInvalid(
                f"KID {kid} is not the KID of order {body.order_ref!r}",
                code="invoice-kid-mismatch")
        return PaymentEvent(
            provider=self.name, event_id=body.event_id, provider_payment_id=kid,
            order_ref=body.order_ref, amount_minor=body.amount_minor, currency=currency,
            outcome=PaymentOutcome.SUCCEEDED, occurred_at=body.paid_at,
        )

    def operator_payment(self, order_ref: str, amount_minor: int, currency: str) -> PaymentEvent:
        """The event of the operator marking order ``order_ref``'s invoice paid.

        Its ``event_id`` is ``operator:<KID>``: marking it paid again is a replay.
        """
        kid = self.kid(order_ref)
        return PaymentEvent(
            provider=self.name, event_id=f"operator:{kid}", provider_payment_id=kid,
            order_ref=order_ref, amount_minor=amount_minor,
            currency=normalise_currency(currency), outcome=PaymentOutcome.SUCCEEDED,
            occurred_at=datetime_from_epoch(self._clock()),
        )
