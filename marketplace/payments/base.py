"""The payment provider interface: start a payment, verify the provider's callback.

Money is integer minor units (øre, cents) everywhere, with an ISO 4217
currency code in upper case; never a float. The order service uses a
provider in two places:

1. When an order is placed::

       start = await provider.start(order_ref, amount_minor, "NOK", buyer, description)
       # store start.provider, start.provider_payment_id and start.status on the order;
       # show start.next to the buyer (invoice details, or the card client secret)

2. When the provider calls back (the route hands over the raw bytes, unparsed)::

       event = provider.verify_callback(request.headers, await read_body(request))
       # raises PaymentSignatureInvalid / PaymentEventStale (401) or
       # PaymentEventInvalid (400) before anything is read from or written to the store
       order = ...load the order by event.order_ref...
       check_amount(event, order.amount_minor, order.currency)  # PaymentAmountMismatch (409)
       # in one transaction: insert event.event_id into a table where it is unique
       # (a replay collides: answer 200 and change nothing), then move the order
       # on event.outcome (succeeded -> completed, failed -> payment failed)

Replay protection (the unique event id) and the amount check belong to the
order service because only it has the store and the order; the provider
checks only what the provider's signature proves. Every error here is a
servicekit family with a stable code (:mod:`marketplace.payments.errors`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from marketplace.payments.errors import PaymentAmountMismatch

__all__ = [
    "Buyer",
    "CardInstructions",
    "Currency",
    "InvoiceInstructions",
    "Money",
    "NextStep",
    "PaymentEvent",
    "PaymentOutcome",
    "PaymentProvider",
    "PaymentStart",
    "PaymentStatus",
    "check_amount",
    "header",
    "normalise_currency",
]

_CURRENCY = re.compile(r"^[A-Z]{3}$")

Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 code, upper case")]


def normalise_currency(currency: str) -> str:
    """``currency`` as an upper-case ISO 4217 code (providers differ: Stripe says ``nok``).

    Raises ``ValueError`` for anything that is not three letters.
    """
    code = currency.strip().upper()
    if not _CURRENCY.match(code):
        raise ValueError(f"not an ISO 4217 currency code: {currency!r}")
    return code


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Money(_Frozen):
    """An amount in minor units (øre, cents) of one currency."""

    amount_minor: int = Field(ge=0)
    currency: Currency

    def __str__(self) -> str:
        return f"{self.amount_minor} {self.currency} minor units"


class Buyer(_Frozen):
    """Who pays: the ordering participant, as the invoice and the card receipt name them."""

    party_id: str = Field(min_length=1, description="The buyer's DID (or participant id).")
    name: str = Field(min_length=1)
    email: str | None = None
    organisation_number: str | None = None


class PaymentStatus(StrEnum):
    """Where a payment stands when it is started (or looked up)."""

    PENDING = "pending"  # the buyer has something to do (pay the invoice, enter the card)
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class PaymentOutcome(StrEnum):
    """What a verified callback says happened."""

    SUCCEEDED = "succeeded"
    FAILED = "failed"


class InvoiceInstructions(_Frozen):
    """What the buyer pays with: an invoice with a KID, an amount and a due date."""

    kind: Literal["invoice"] = "invoice"
    kid: str = Field(description="Norwegian customer identification number: the reference.")
    kid_algorithm: Literal["MOD10", "MOD11"]
    invoice_reference: str = Field(description="The order reference printed on the invoice.")
    issued_on: date
    due_date: date
    amount_minor: int = Field(ge=0)
    currency: Currency
    account_number: str | None = Field(default=None, description="The payee's bank account.")


class CardInstructions(_Frozen):
    """What the buyer's browser needs to enter a card: the provider's client secret."""

    kind: Literal["card"] = "card"
    client_secret: str
    publishable_key: str | None = None
    checkout_url: str | None = None


NextStep = Annotated[InvoiceInstructions | CardInstructions, Field(discriminator="kind")]


class PaymentStart(_Frozen):
    """A started payment: the provider's id for it, its status and the buyer's next step."""

    provider: str
    provider_payment_id: str
    status: PaymentStatus
    next: NextStep


class PaymentEvent(_Frozen):
    """A callback the provider's signature vouches for (not yet checked against an order)."""

    provider: str
    event_id: str = Field(min_length=1, description="Unique per event; a replay repeats it.")
    provider_payment_id: str
    order_ref: str
    amount_minor: int = Field(ge=0)
    currency: Currency
    outcome: PaymentOutcome
    occurred_at: datetime


class PaymentProvider(Protocol):
    """A way to be paid (invoice, card); see the module docstring for how orders use one."""

    @property
    def name(self) -> str:
        """The provider's name as stored on orders (``invoice``, ``card``)."""
        ...

    async def start(
        self, order_ref: str, amount_minor: int, currency: str, buyer: Buyer, description: str
    ) -> PaymentStart:
        """Start paying ``amount_minor`` of ``currency`` for the order ``order_ref``.

        Starting the same order again with the same amount gives the same payment.
        """
        ...

    def verify_callback(self, headers: Mapping[str, str], raw_body: bytes) -> PaymentEvent:
        """The event in a provider callback, or a servicekit error if it cannot be trusted."""
        ...


def check_amount(event: PaymentEvent, expected_minor: int, currency: str) -> None:
    """Refuse an event whose amount or currency is not the order's (``payment-amount-mismatch``)."""
    expected = normalise_currency(currency)
    if event.amount_minor != expected_minor or event.currency != expected:
        raise PaymentAmountMismatch(
            f"the payment is {event.amount_minor} {event.currency} (minor units) but the "
            f"order costs {expected_minor} {expected}",
            extra={"order_ref": event.order_ref, "paid_minor": event.amount_minor,
                   "paid_currency": event.currency, "expected_minor": expected_minor,
                   "expected_currency": expected},
        )


def header(headers: Mapping[str, str], name: str) -> str | None:
    """The value of header ``name`` in any mapping (aiohttp's is case-insensitive, a dict not)."""
    value = headers.get(name)
    if value is not None:
        return value
    wanted = name.lower()
    for key, candidate in headers.items():
        if key.lower() == wanted:
            return candidate
    return None
