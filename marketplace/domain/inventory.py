"""Inventory products (TM Forum TMF637 v4): what a buyer holds, and how it moves.

A completed order creates one ``Product`` for its buyer: the offering
(version) and plan it realises, ``startDate`` and, for a product that ends,
``terminationDate`` (the end of the paid period, or the plan's ``validFor``
end). Extensions: ``autoRenew`` (recurring plans: renew at the period end)
and ``renewals`` (how many times it was renewed).

States (TMF637 ``ProductStatusType``)::

    created ──> active <──> suspended
                  │             │
                  └──> terminated <┘

``suspended`` is the operator's (e.g. a dispute); ``terminated`` ends it
for good (cancellation, non-payment, the end of a period that does not
renew); the purchase credential is revoked with it.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel

from servicekit.errors import InvalidRequest
from servicekit.statemachine import TransitionTable

__all__ = ["PRODUCT_TRANSITIONS", "ProductPatch", "ProductStatus"]


class ProductStatus(StrEnum):
    """TMF637 ``ProductStatusType`` (the states this marketplace uses)."""

    CREATED = "created"
    ACTIVE = "active"
    SUSPENDED = "suspended"
    TERMINATED = "terminated"


_P = ProductStatus
#: The one authority on how an inventory product moves.
PRODUCT_TRANSITIONS: TransitionTable[ProductStatus] = TransitionTable(
    "product",
    {
        _P.CREATED: {_P.ACTIVE, _P.TERMINATED},
        _P.ACTIVE: {_P.SUSPENDED, _P.TERMINATED},
        _P.SUSPENDED: {_P.ACTIVE, _P.TERMINATED},
    },
    initial={_P.CREATED, _P.ACTIVE},
    terminal={_P.TERMINATED},
)


class ProductPatch(BaseModel):
    """What a PATCH may change: ``status`` (operator; the buyer only ``terminated``),
    ``autoRenew`` (buyer or operator), ``description``."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")

    status: ProductStatus | None = None
    auto_renew: bool | None = None
    description: str | None = Field(None, max_length=4000)
    type: str | None = Field(None, alias="@type", max_length=64)

    @model_validator(mode="after")
    def _something(self) -> ProductPatch:
        if self.status is None and self.auto_renew is None and self.description is None:
            raise InvalidRequest("the patch changes nothing", code="patch-empty")
        return self
