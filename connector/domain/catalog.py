"""Datasets, policies and offers, and how they appear in a DSP catalog.

A :class:`Dataset` is what the owner registers: DCAT metadata, a
traffic-light :class:`AccessLevel` and a private :class:`Backend` (never
rendered). An :class:`Offer` ties a dataset to a contract policy, optionally
an access policy (who may see the offer at all) and an approval mode. The
``render_*`` functions build the DSP 2025-1 plain-JSON forms; they are pure.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from connector.domain.transfer import PULL_FORMAT

__all__ = [
    "EMAIL_PATTERN",
    "ID_PATTERN",
    "POLICY_MEMBERS",
    "AccessLevel",
    "Approval",
    "Backend",
    "Dataset",
    "DatasetIn",
    "Offer",
    "OfferIn",
    "PolicyIn",
    "PolicyRecord",
    "policy_body",
    "render_dataset",
    "render_offer",
    "rfc3339",
]

#: Identifiers we accept for datasets, policies and offers (IRIs, URNs, plain ids).
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:~/#@+=-]{0,254}$"
_ID = re.compile(ID_PATTERN)
#: A data owner's e-mail address (a plain check: one @, a dot in the domain, no spaces).
EMAIL_PATTERN = r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$"
_TERM = re.compile(r"^[a-z][a-z0-9]*:[A-Za-z][A-Za-z0-9_.-]*$")

#: The members of an ODRL policy that travel in offers and agreements.
POLICY_MEMBERS = ("profile", "permission", "prohibition", "obligation")


class AccessLevel(StrEnum):
    """Traffic-light access level: green, yellow, red."""

    PUBLIC = "PUBLIC"  # green: offered, agreed automatically when the policy is met
    RESTRICTED = "RESTRICTED"  # yellow: offered, the owner approves each contract
    NON_PUBLIC = "NON_PUBLIC"  # red: never offered


class Approval(StrEnum):
    """How a contract request for an offer is decided."""

    AUTO = "auto"  # agreed when the policy is satisfied by the caller's verified claims
    MANUAL = "manual"  # always waits for the owner


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Backend(_In):
    """Where the data comes from. Private: kept for the data plane, never in a catalog."""

    type: Literal["http", "file", "postgresql"] = "http"
    address: str = Field(min_length=1, max_length=2000,
                         description="URL, file path or connection URL of the source.")
    properties: dict[str, str] = Field(
        default_factory=dict,
        description="Source details (headers, query, credentials); never shown to consumers.",
    )


class DatasetIn(_In):
    """A dataset as the owner registers it."""

    id: str | None = Field(default=None, pattern=ID_PATTERN,
                           description="Defaults to a new urn:uuid.")
    title: str = Field(min_length=1, max_length=500)
    description: str = Field(default="", max_length=20_000)
    keywords: list[str] = Field(default_factory=list, max_length=100)
    themes: list[str] = Field(default_factory=list, max_length=50)
    publisher: str | None = Field(
        default=None, max_length=500,
        description="Defaults to the participant's legal name (settings or membership).")
    contact_point: str | None = Field(default=None, max_length=500)
    license: str | None = Field(default=None, max_length=500)
    access_level: AccessLevel = AccessLevel.PUBLIC
    media_type: str | None = Field(default=None, max_length=200)
    extra: dict[str, Any] = Field(
        default_factory=dict,
        description="More DCAT properties as prefixed terms (e.g. 'dct:spatial').",
    )
    backend: Backend
    owner: str | None = Field(default=None, max_length=320, pattern=EMAIL_PATTERN,
                              description="E-mail of the data owner responsible for it.")
    policy: dict[str, Any] | None = Field(
        default=None,
        description="An ODRL policy to offer the dataset under (creates a policy and an "
        "offer); by default a plain 'use' permission unless the level is NON_PUBLIC.",
    )

    @field_validator("extra")
    @classmethod
    def _extra_terms(cls, value: dict[str, Any]) -> dict[str, Any]:
        for key in value:
            if not _TERM.match(key):
                raise ValueError(f"extra property {key!r} is not a prefixed term like dct:spatial")
        return value


class Dataset(BaseModel):
    """A stored dataset."""

    model_config = ConfigDict(frozen=True)

    id: str
    title: str
    description: str = ""
    keywords: list[str] = Field(default_factory=list)
    themes: list[str] = Field(default_factory=list)
    publisher: str | None = None
    contact_point: str | None = None
    license: str | None = None
    access_level: AccessLevel = AccessLevel.PUBLIC
    media_type: str | None = None
    extra: dict[str, Any] = Field(default_factory=dict)
    backend: Backend
    created_at: float
    updated_at: float
    owner: str | None = None
    retired_at: float | None = None

    def public_view(self) -> dict[str, Any]:
        """The owner-facing record without the backend's secrets."""
        data = self.model_dump(mode="json")
        data["backend"] = {"type": self.backend.type}
        return data


class PolicyIn(_In):
    """An ODRL policy as the owner stores it (compact DSP form)."""

    id: str | None = Field(default=None, pattern=ID_PATTERN)
    title: str = Field(default="", max_length=500)
    policy: dict[str, Any] = Field(
        description="ODRL rules: permission / prohibition / obligation (and profile)."
    )


class PolicyRecord(BaseModel):
    """A stored policy."""

    model_config = ConfigDict(frozen=True)

    id: str
    title: str
    body: dict[str, Any]
    created_at: float
    updated_at: float


class OfferIn(_In):
    """An offer: the contract a dataset is offered under, and to whom."""

    id: str | None = Field(default=None, pattern=ID_PATTERN)
    dataset_id: str = Field(pattern=ID_PATTERN)
    policy_id: str = Field(pattern=ID_PATTERN)
    access_policy_id: str | None = Field(default=None, pattern=ID_PATTERN)
    approval: Approval | None = Field(
        default=None, description="auto or manual; manual for RESTRICTED datasets by default."
    )


class Offer(BaseModel):
    """A stored offer with its policies resolved."""

    model_config = ConfigDict(frozen=True)

    id: str
    dataset_id: str
    policy_id: str
    access_policy_id: str | None
    approval: Approval
    created_at: float
    policy: dict[str, Any] = Field(default_factory=dict)
    access_policy: dict[str, Any] | None = None


def policy_body(policy: Mapping[str, Any]) -> dict[str, Any]:
    """The rule members of a policy (what two offers must share to be the same offer)."""
    return {k: policy[k] for k in POLICY_MEMBERS if k in policy}


def render_offer(
    offer_id: str, body: Mapping[str, Any], *, target: str | None = None
) -> dict[str, Any]:
    """An ODRL ``Offer``: in a catalog without ``target``, in messages with one."""
    offer: dict[str, Any] = {"@id": offer_id, "@type": "Offer"}
    if target is not None:
        offer["target"] = target
    offer.update(policy_body(body))
    return offer


def rfc3339(epoch: float) -> str:
    """Epoch seconds as an RFC 3339 UTC timestamp (second precision)."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def render_dataset(
    dataset: Dataset,
    offers: Iterable[tuple[str, Mapping[str, Any]]],
    *,
    access_service: str | Mapping[str, Any],
) -> dict[str, Any]:
    """A DCAT ``Dataset`` in the DSP form, with ``hasPolicy`` offers and a pull distribution.

    ``access_service`` is the DataService id (inside a catalog) or the
    DataService itself (a standalone dataset response). The backend is never
    rendered.
    """
    rendered: dict[str, Any] = {"@id": dataset.id, "@type": "Dataset",
                                "dct:title": dataset.title}
    if dataset.description:
        rendered["dct:description"] = dataset.description
    if dataset.keywords:
        rendered["dcat:keyword"] = list(dataset.keywords)
    if dataset.themes:
        rendered["dcat:theme"] = list(dataset.themes)
    if dataset.publisher:
        rendered["dct:publisher"] = dataset.publisher
    if dataset.contact_point:
        rendered["dcat:contactPoint"] = dataset.contact_point
    if dataset.license:
        rendered["dct:license"] = dataset.license
    rendered["dct:issued"] = rfc3339(dataset.created_at)
    rendered["dct:modified"] = rfc3339(dataset.updated_at)
    for key, value in dataset.extra.items():
        rendered.setdefault(key, value)
    rendered["hasPolicy"] = [render_offer(offer_id, body) for offer_id, body in offers]
    distribution: dict[str, Any] = {
        "@type": "Distribution",
        "format": PULL_FORMAT,
        "accessService": access_service if isinstance(access_service, str)
        else dict(access_service),
    }
    if dataset.media_type:
        distribution["dcat:mediaType"] = dataset.media_type
    rendered["distribution"] = [distribution]
    return rendered


def is_valid_id(value: str) -> bool:
    """True for identifiers the catalog accepts."""
    return bool(_ID.match(value))
