"""How the marketplace is paid: the provider and its settings (a nested group).

The marketplace's settings nest this as ``payments``, so from the
environment: ``MARKETPLACE_PAYMENTS__PROVIDER=card``,
``MARKETPLACE_PAYMENTS__CARD_API_KEY=...``, ``MARKETPLACE_PAYMENTS__CARD_WEBHOOK_SECRET=...``.
Secrets are left out of ``repr`` so a logged settings object shows none.
"""

from __future__ import annotations

from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from marketplace.payments.kid import KID_MAX_LENGTH, KID_MIN_LENGTH, KidAlgorithm, is_valid_kid
from marketplace.payments.signing import DEFAULT_TOLERANCE_SECONDS

__all__ = ["PaymentSettings"]


class PaymentSettings(BaseModel):
    """The payment provider and what it needs; invoice by default."""

    model_config = ConfigDict(extra="forbid")

    provider: Literal["invoice", "card"] = "invoice"
    #: Seconds a signed callback (invoice or card) may be old (or ahead of our clock).
    callback_tolerance_seconds: int = Field(default=DEFAULT_TOLERANCE_SECONDS, ge=1, le=3600)

    # --- invoice ---------------------------------------------------------------
    #: Days from issue to due date.
    invoice_due_days: int = Field(default=14, ge=0, le=365)
    #: The KID check-digit algorithm agreed with the bank.
    kid_algorithm: KidAlgorithm = "MOD10"
    #: Length of every KID, check digit included (a bank agreement fixes it).
    kid_length: int = Field(default=16, ge=KID_MIN_LENGTH + 1, le=KID_MAX_LENGTH)
    #: The payee's bank account, printed on the invoice (11 digits, MOD11 checked).
    invoice_account_number: str | None = Field(default=None, pattern=r"^\d{11}$")
    #: Shared with the bank or accounting system that reports payments
    #: (``X-Invoice-Signature``); without it only the operator can mark an invoice paid.
    invoice_callback_secret: str | None = Field(default=None, repr=False, min_length=16)

    # --- card ------------------------------------------------------------------
    #: The card provider's API base URL; unset means the provider SDK's own.
    card_api_base: str | None = Field(default=None, pattern=r"^https?://")
    card_api_key: str | None = Field(default=None, repr=False)
    #: The signing secret of our webhook endpoint at the card provider.
    card_webhook_secret: str | None = Field(default=None, repr=False)
    #: Given to the buyer's browser with the client secret (not a secret).
    card_publishable_key: str | None = None
    #: How often the SDK retries a failed call (with the same idempotency key).
    card_max_network_retries: int = Field(default=2, ge=0, le=5)
    card_timeout_seconds: float = Field(default=30.0, gt=0, le=120)

    @model_validator(mode="after")
    def _complete(self) -> Self:
        if self.provider == "card" and not (self.card_api_key and self.card_webhook_secret):
            raise ValueError("the card provider needs card_api_key and card_webhook_secret")
        account = self.invoice_account_number
        if account is not None and not is_valid_kid(account, "MOD11"):
            raise ValueError("invoice_account_number fails its MOD11 check digit")
        return self
