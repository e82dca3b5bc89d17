"""Marketplace settings (environment prefix ``MARKETPLACE_``)."""

from __future__ import annotations

from decimal import Decimal
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field
from pydantic_settings import SettingsConfigDict

from marketplace.payments.settings import PaymentSettings
from servicekit.settings import ServiceSettings

__all__ = ["MarketplaceSettings", "MembershipSettings"]


class MembershipSettings(BaseModel):
    """What the marketplace applies for membership with (role ``marketplace``)."""

    model_config = ConfigDict(extra="forbid")

    #: The operator's legal name; unset = the marketplace does not apply by itself.
    legal_name: str | None = Field(default=None, min_length=2, max_length=200)
    organisation_number: str | None = Field(default=None, min_length=2, max_length=40)
    country: str = Field(default="NO", pattern=r"^[A-Z]{2}$")
    contact_name: str = Field(default="Marketplace operator", min_length=1, max_length=200)
    contact_email: str = Field(default="marketplace@dataspace.example", max_length=200)
    #: How often the application is followed until the credential is held (seconds).
    poll_seconds: float = Field(default=30.0, gt=0)


class MarketplaceSettings(ServiceSettings):
    """Where the marketplace listens, whom it trusts and what it charges."""

    model_config = SettingsConfigDict(
        env_prefix="MARKETPLACE_", env_nested_delimiter="__", extra="forbid",
        validate_default=True,
    )
    service_role: ClassVar[str] = "marketplace"
    default_port: ClassVar[int] = 8610

    name: str = "marketplace"
    #: Shown on the portal and on bills.
    operator_name: str = "Data space marketplace"
    did_method: str = Field(default="web", pattern="^(web|key)$")
    #: The trust anchor whose registries say who is a member and who may issue what.
    trust_anchor_url: str | None = None
    #: The trust anchor's DID (default: the did:web of ``trust_anchor_url``).
    trust_anchor_did: str | None = None
    #: The operator's share of every sale, in percent.
    operator_fee_percent: Decimal = Field(default=Decimal("10"), ge=0, le=100)
    #: Hours between billing runs that close open charges into bills and payouts
    #: (0: only when the operator asks, ``POST /billing/runs``).
    billing_run_hours: float = Field(default=0.0, ge=0)
    #: How long relying parties may cache our status lists (Cache-Control max-age).
    status_list_max_age: int = Field(default=60, ge=0, le=86400)
    #: Bootstrap admin key (Kubernetes Secret); otherwise one is generated.
    admin_api_key: str | None = Field(default=None, repr=False)
    #: Scrypt cost for the key store (lower only in tests).
    key_scrypt_n: int = Field(default=2**15, ge=2**10)
    #: How long a member's verified DCP presentation is reused (seconds).
    member_cache_seconds: float = Field(default=60.0, ge=0)
    #: How orders are paid: invoice (default) or card, and what each needs.
    payments: PaymentSettings = Field(default_factory=PaymentSettings)
    #: How often others' status lists and the trusted-issuers registry are re-read (seconds):
    #: a revoked member is refused within this long (plus ``member_cache_seconds``).
    status_refresh_seconds: float = Field(default=60.0, gt=0)
    #: Membership at the trust anchor (the marketplace is a member too).
    membership: MembershipSettings = Field(default_factory=MembershipSettings)
    #: How often the providers' DSP catalogs are harvested (seconds; 0 = only on request).
    harvest_seconds: float = Field(default=900.0, ge=0)
