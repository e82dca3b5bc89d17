"""Usage reports (TMF635) as provider connectors post them, and what billing reads from them.

A provider's connector posts one TMF635 ``Usage`` per metering bucket
(``connector/dataplane/metering.py``), signed as a ``usage+jwt`` in
``X-Usage-Signature`` over the same document. :class:`UsageReport` reads it;
:meth:`UsageReport.facts` picks out what billing needs: the provider (the
``relatedParty`` of role ``provider``, who must have signed it), the buyer
(role ``consumer``), the agreement and transfer, the data product bought
(``productId``: the ``product`` claim of the purchase credential the
agreement's policy requires), the plan it was bought on (``planId``, the
credential's ``plan`` claim; reports of connectors or offers that do not
name it leave it out), the bucket's period and its requests and bytes.
Each report has a stable ``id``: the same bucket is billed once.

A stored report is ``rated`` (it became a charge) or ``guided`` (its
product's plan is not a usage plan: recorded, not charged), TMF635's
``UsageStatusType`` names.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from servicekit.errors import InvalidRequest

__all__ = ["PLAN_CLAIM", "PRODUCT_CLAIM", "USAGE_TYPE", "UsageFacts", "UsageReport", "UsageStatus"]

#: The JWS ``typ`` of a signed usage report.
USAGE_TYPE = "usage+jwt"
#: The ``usageCharacteristic`` naming the data product bought (the purchase credential's claim).
PRODUCT_CLAIM = "productId"
#: The ``usageCharacteristic`` naming the plan it was bought on (optional).
PLAN_CLAIM = "planId"
_ID = r"^[A-Za-z0-9:._~/#@+-]{1,200}$"


class UsageStatus(StrEnum):
    """TMF635 ``UsageStatusType`` values the marketplace sets."""

    RATED = "rated"
    GUIDED = "guided"


class _Tmf(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="allow")


class UsageCharacteristic(_Tmf):
    """TMF635 ``UsageCharacteristic``: a named value of a usage record."""

    name: str = Field(min_length=1, max_length=100)
    value_type: str | None = Field(None, alias="valueType", max_length=40)
    value: str | int | float | bool


class RelatedParty(_Tmf):
    """TMF ``RelatedParty``: a party's DID and its role."""

    id: str = Field(min_length=1, max_length=500)
    role: str = Field(min_length=1, max_length=40)
    referred_type: str | None = Field(None, alias="@referredType", max_length=40)


class UsageReport(_Tmf):
    """A TMF635 ``Usage`` as a provider's connector posts it."""

    id: str = Field(pattern=_ID, description="Stable per reported bucket: the dedupe key.")
    type: str = Field("Usage", alias="@type", max_length=40)
    usage_date: AwareDatetime = Field(alias="usageDate")
    usage_type: str = Field(alias="usageType", min_length=1, max_length=100)
    description: str | None = Field(None, max_length=1000)
    status: str | None = Field(None, max_length=40)
    usage_characteristic: list[UsageCharacteristic] = Field(
        alias="usageCharacteristic", min_length=1, max_length=50)
    related_party: list[RelatedParty] = Field(alias="relatedParty", min_length=2, max_length=10)

    def facts(self) -> UsageFacts:
        """What billing reads from the report (``InvalidRequest`` when something is missing)."""
        values = {c.name: c.value for c in self.usage_characteristic}
        parties = {p.role: p.id for p in self.related_party}
        for role in ("provider", "consumer"):
            if role not in parties:
                raise InvalidRequest(f"relatedParty has no {role}", code="usage-party-missing")
        product = values.get(PRODUCT_CLAIM)
        if not isinstance(product, str) or not product:
            raise InvalidRequest(
                f"usageCharacteristic {PRODUCT_CLAIM} is missing: usage is billed only for "
                "agreements made with a purchase credential", code="usage-product-missing")
        start, end = _time(values, "periodStart"), _time(values, "periodEnd")
        if start >= end:
            raise InvalidRequest("periodStart must be before periodEnd", code="usage-invalid")
        return UsageFacts(
            id=self.id, provider=parties["provider"], consumer=parties["consumer"],
            product_id=product, plan_id=_text(values, PLAN_CLAIM) if PLAN_CLAIM in values
            else None, agreement_id=_text(values, "agreementId"),
            transfer_id=_text(values, "transferId"), period_start=start, period_end=end,
            requests=_count(values, "requests"), bytes=_count(values, "bytes"))


def _text(values: dict[str, Any], name: str) -> str:
    value = values.get(name)
    if not isinstance(value, str) or not value or len(value) > 500:
        raise InvalidRequest(f"usageCharacteristic {name} must be a string",
                             code="usage-invalid")
    return value


def _count(values: dict[str, Any], name: str) -> int:
    value = values.get(name)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 10**15:
        raise InvalidRequest(f"usageCharacteristic {name} must be a count (0 or more)",
                             code="usage-invalid")
    return value


def _time(values: dict[str, Any], name: str) -> datetime:
    value = values.get(name)
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise InvalidRequest(f"usageCharacteristic {name} must be a date-time with a zone",
                             code="usage-invalid")
    return moment


@dataclass(frozen=True)
class UsageFacts:
    """One usage report, as billing reads it."""

    id: str
    provider: str
    consumer: str
    product_id: str
    agreement_id: str
    transfer_id: str
    period_start: datetime
    period_end: datetime
    requests: int
    bytes: int
    #: The plan (``ProductOfferingPrice`` id) the agreement was bought on, when named.
    plan_id: str | None = None
