"""Product orders (TM Forum TMF622 v4): states, the request bodies, and what an order costs.

An order names one ``productOrderItem``: the ``productOffering`` (``id``, and
``version`` to pin one; default the current version) and, in its
``itemPrice[0].productOfferingPrice``, the plan (a TMF620
``ProductOfferingPrice`` of that offering). The buyer is the caller; the
operator may order for a buyer it names in ``relatedParty`` (role ``Buyer``).

States (TMF622 ``ProductOrderStateType``)::

    acknowledged ─┬─> completed            free plan (or nothing to pay up front)
                  ├─> inProgress ─┬─> completed   paid (operator, invoice callback, card webhook)
                  │               └─> failed      unpaid past its due date
                  ├─> held ──┬─> inProgress / completed   the provider approves
                  │          └─> rejected                  the provider refuses
                  └─> rejected
    acknowledged, held, inProgress, completed ──> cancelled   (buyer or operator)

``completed`` → ``cancelled`` is the buyer ending what it bought: the product
is terminated and the purchase credential revoked. What an order costs up
front is the plan's first charge as :mod:`marketplace.domain.rating` rates it
(a usage plan costs nothing up front: its use is billed).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel

from marketplace.domain.money import Money
from marketplace.domain.pricing import PriceType, PricingPlan
from marketplace.domain.rating import Charge, one_time_charge, period_bounds, period_charge
from servicekit.errors import InvalidRequest
from servicekit.statemachine import TransitionTable

__all__ = [
    "BUYER",
    "ORDER_TRANSITIONS",
    "SELLER",
    "CancelProductOrderCreate",
    "NoteIn",
    "OrderItemIn",
    "OrderPriceIn",
    "OrderState",
    "ProductOrderCreate",
    "ProductOrderPatch",
    "Ref",
    "RelatedPartyIn",
    "first_charge",
    "is_restricted",
    "money",
    "plan_from_body",
    "plan_validity",
]

#: ``relatedParty`` roles on orders and products.
BUYER = "Buyer"
SELLER = "Seller"


class OrderState(StrEnum):
    """TMF622 ``ProductOrderStateType`` (the states this marketplace uses)."""

    ACKNOWLEDGED = "acknowledged"
    HELD = "held"
    IN_PROGRESS = "inProgress"
    COMPLETED = "completed"
    REJECTED = "rejected"
    FAILED = "failed"
    CANCELLED = "cancelled"


_S = OrderState
#: The one authority on how an order moves.
ORDER_TRANSITIONS: TransitionTable[OrderState] = TransitionTable(
    "productOrder",
    {
        _S.ACKNOWLEDGED: {_S.HELD, _S.IN_PROGRESS, _S.COMPLETED, _S.REJECTED, _S.CANCELLED},
        _S.HELD: {_S.IN_PROGRESS, _S.COMPLETED, _S.REJECTED, _S.CANCELLED},
        _S.IN_PROGRESS: {_S.COMPLETED, _S.FAILED, _S.CANCELLED},
        _S.COMPLETED: {_S.CANCELLED},
    },
    initial={_S.ACKNOWLEDGED},
    terminal={_S.REJECTED, _S.FAILED, _S.CANCELLED},
)

_ID = r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,79}$"


class _Tmf(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")

    type: str | None = Field(None, alias="@type", max_length=64)


class Ref(_Tmf):
    """A TMF entity reference (``id``; ``version`` pins a version of a versioned resource)."""

    id: str = Field(pattern=_ID)
    href: str | None = Field(None, max_length=2000)
    name: str | None = Field(None, max_length=500)
    version: str | None = Field(None, min_length=1, max_length=20)
    referred_type: str | None = Field(None, alias="@referredType", max_length=64)


class OrderPriceIn(_Tmf):
    """TMF ``OrderPrice`` as a buyer sends it: which plan (the price is the server's)."""

    product_offering_price: Ref
    name: str | None = Field(None, max_length=200)
    description: str | None = Field(None, max_length=2000)
    price_type: str | None = Field(None, max_length=32)


class OrderItemIn(_Tmf):
    """TMF ``ProductOrderItem``: add one product realising an offering, on one plan."""

    id: str = Field("1", pattern=_ID)
    action: Literal["add"] = "add"
    quantity: int = Field(1, ge=1, le=1)
    product_offering: Ref
    item_price: list[OrderPriceIn] = Field(min_length=1, max_length=1)


class NoteIn(_Tmf):
    """TMF ``Note``: free text on an order (author and date are the server's)."""

    text: str = Field(min_length=1, max_length=4000)


class RelatedPartyIn(_Tmf):
    """TMF ``RelatedParty``: a party (DID) and its role."""

    id: str = Field(min_length=1, max_length=500)
    role: str = Field(min_length=1, max_length=64)
    name: str | None = Field(None, max_length=500)
    href: str | None = Field(None, max_length=2000)
    referred_type: str | None = Field(None, alias="@referredType", max_length=64)


class ProductOrderCreate(_Tmf):
    """TMF622 ``ProductOrder_Create``, plus ``purpose``: what the buyer will use the data for."""

    product_order_item: list[OrderItemIn] = Field(min_length=1, max_length=1)
    related_party: list[RelatedPartyIn] = Field(default_factory=list, max_length=5)
    note: list[NoteIn] = Field(default_factory=list, max_length=20)
    description: str | None = Field(None, max_length=4000)
    category: str | None = Field(None, max_length=200)
    external_id: str | None = Field(None, max_length=200)
    priority: str | None = Field(None, max_length=20)
    requested_start_date: AwareDatetime | None = None
    requested_completion_date: AwareDatetime | None = None
    purpose: str | None = Field(None, min_length=1, max_length=500)
    base_type: str | None = Field(None, alias="@baseType", max_length=64)
    schema_location: str | None = Field(None, alias="@schemaLocation", max_length=2000)

    @property
    def item(self) -> OrderItemIn:
        """The one order item."""
        return self.product_order_item[0]

    def named_buyer(self) -> str | None:
        """The DID ``relatedParty`` names as ``Buyer`` (or ``Customer``), if any."""
        for party in self.related_party:
            if party.role.lower() in ("buyer", "customer"):
                return party.id
        return None


class ProductOrderPatch(_Tmf):
    """What a PATCH may change: the state (approve, reject, cancel), notes, the description."""

    state: OrderState | None = None
    description: str | None = Field(None, max_length=4000)
    cancellation_reason: str | None = Field(None, max_length=2000)
    note: list[NoteIn] = Field(default_factory=list, max_length=20)

    @model_validator(mode="after")
    def _something(self) -> ProductOrderPatch:
        if self.state is None and self.description is None and not self.note and (
                self.cancellation_reason is None):
            raise InvalidRequest("the patch changes nothing", code="patch-empty")
        return self


class CancelProductOrderCreate(_Tmf):
    """TMF622 ``CancelProductOrder_Create``: cancel an order now."""

    product_order: Ref
    cancellation_reason: str | None = Field(None, max_length=2000)
    requested_cancellation_date: AwareDatetime | None = None


# --- pure facts about plans and offerings -------------------------------------------------


def plan_from_body(body: dict[str, Any]) -> PricingPlan:
    """A stored ``ProductOfferingPrice`` body as a :class:`PricingPlan` (extras dropped)."""
    known = {field.alias or name for name, field in PricingPlan.model_fields.items()}
    return PricingPlan.model_validate({k: v for k, v in body.items() if k in known})


def _flag(value: Any, *wanted: str) -> bool:
    return isinstance(value, str) and value.strip().lower() in wanted


def is_restricted(specification: dict[str, Any] | None, plan: dict[str, Any]) -> bool:
    """Whether ordering needs the provider's approval first.

    The specification says ``accessLevel: restricted`` (the traffic light's
    yellow), as a member or as a ``productSpecCharacteristic`` named
    ``accessLevel``; or the plan says ``requiresApproval: true``.
    """
    if plan.get("requiresApproval") is True:
        return True
    if not specification:
        return False
    levels = ("restricted", "yellow")
    if _flag(specification.get("accessLevel"), *levels):
        return True
    for characteristic in specification.get("productSpecCharacteristic") or []:
        if isinstance(characteristic, dict) and characteristic.get("name") == "accessLevel":
            for value in characteristic.get("productSpecCharacteristicValue") or []:
                if isinstance(value, dict) and _flag(value.get("value"), *levels):
                    return True
    return False


def first_charge(plan: PricingPlan, *, order_id: str, provider: str,
                 start: datetime) -> Charge | None:
    """What the order costs up front: the one-time charge, or the first period; None for usage."""
    if plan.price_type is PriceType.ONE_TIME:
        return one_time_charge(plan, source=order_id, provider=provider)
    if plan.price_type is PriceType.RECURRING:
        return period_charge(plan, start, source=order_id, provider=provider)
    return None


def plan_validity(plan: PricingPlan, start: datetime, period: int = 0) -> datetime | None:
    """When a product bought at ``start`` on ``plan`` ends (None: open-ended).

    A recurring plan's product ends with its paid period (``period``, 0 the
    first); others with the plan's own ``validFor`` end, if it has one.
    """
    if plan.price_type is PriceType.RECURRING:
        return period_bounds(plan, start, period)[1]
    if plan.valid_for is not None:
        return plan.valid_for.end_date_time
    return None


def money(minor: int, plan: PricingPlan) -> dict[str, Any]:
    """TMF ``Money`` of ``minor`` units in the plan's currency."""
    return Money.of_minor(minor, plan.currency).model_dump(mode="json")
