"""Management: editing and retiring a registered dataset."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, field_validator

from connector.domain.catalog import EMAIL_PATTERN, ID_PATTERN, AccessLevel, Backend, DatasetIn
from connector.routes.management.common import admin, services
from servicekit.errors import InvalidRequest
from servicekit.openapi import operation
from servicekit.web import json_response, parse_body

__all__ = ["DatasetPatch", "routes"]

routes = web.RouteTableDef()
_OBJ = {"type": "object"}
#: Fields that may be cleared with null (the others must keep a value).
_CLEARABLE = frozenset({"publisher", "contact_point", "license", "media_type", "owner"})


class DatasetPatch(BaseModel):
    """The fields to change; those left out stay as they are (null clears an optional one)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    title: str | None = Field(default=None, min_length=1, max_length=500)
    description: str | None = Field(default=None, max_length=20_000)
    keywords: list[str] | None = Field(default=None, max_length=100)
    themes: list[str] | None = Field(default=None, max_length=50)
    publisher: str | None = Field(default=None, max_length=500)
    contact_point: str | None = Field(default=None, max_length=500)
    license: str | None = Field(default=None, max_length=500)
    access_level: AccessLevel | None = None
    media_type: str | None = Field(default=None, max_length=200)
    extra: dict[str, Any] | None = None
    backend: Backend | None = None
    owner: str | None = Field(default=None, max_length=320, pattern=EMAIL_PATTERN,
                              description="E-mail of the data owner responsible for it.")
    policy_id: str | None = Field(
        default=None, pattern=ID_PATTERN,
        description="A stored policy the dataset's offers use from now on (running "
        "negotiations and agreements keep theirs).")

    @field_validator("extra")
    @classmethod
    def _extra_terms(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        return None if value is None else DatasetIn._extra_terms(value)

    def changes(self) -> dict[str, Any]:
        """The fields given, as values (400 when a required one is given as null)."""
        given = self.model_dump(exclude_unset=True)
        nulled = sorted(k for k, v in given.items() if v is None and k not in _CLEARABLE)
        if nulled:
            raise InvalidRequest(f"{', '.join(nulled)} cannot be null", code="field-required")
        if not given:
            raise InvalidRequest("give at least one field to change", code="nothing-to-change")
        if self.backend is not None:
            given["backend"] = self.backend
        return given


def _view(dataset: Any, offers: list[Any] | None = None) -> dict[str, Any]:
    view: dict[str, Any] = dataset.public_view()
    if offers is not None:
        view["offers"] = [o.model_dump(mode="json") for o in offers]
    return view


@routes.patch("/api/v1/datasets/{dataset_id}")
@admin
@operation("Edit a dataset (only the fields given)", tags=["datasets"], request=DatasetPatch,
           responses={200: _OBJ}, security="bearer",
           description="The dataset (backend type only) with its offers after the edit.")
async def edit_dataset(request: web.Request) -> web.Response:
    """Title, description, keywords, themes, licence, backend, owner, policy..."""
    data = await parse_body(request, DatasetPatch)
    dataset, offers = await services(request).datasets.edit(request.match_info["dataset_id"],
                                                            data.changes())
    return json_response(_view(dataset, offers))


@routes.post("/api/v1/datasets/{dataset_id}/retire")
@admin
@operation("Retire a dataset: no longer offered; agreements keep working until terminated",
           tags=["datasets"], responses={200: _OBJ}, security="bearer",
           description="Sets retired_at; 409 dataset-retired when it is retired already.")
async def retire_dataset(request: web.Request) -> web.Response:
    """The dataset, with ``retired_at`` set."""
    dataset = await services(request).datasets.retire(request.match_info["dataset_id"])
    return json_response(_view(dataset))
