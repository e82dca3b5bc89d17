"""TMF620 Product Catalog Management v4: ``/tmf-api/productCatalogManagement/v4/<resource>``.

Five resources (``productSpecification``, ``productOffering``,
``productOfferingPrice``, ``catalog``, ``category``), each with the same five
operations, built from one table (:data:`RESOURCES`): list (``GET``, TMF630
filters, ``fields``, ``sort``, paging, ``X-Total-Count``/``X-Result-Count``),
create (``POST``, 201), retrieve (``GET /{id}``, ``?version=`` for an older
version), ``PATCH /{id}`` (JSON merge patch, 200) and ``DELETE /{id}`` (204).
A list with ``id=<id>&version=<v>`` answers that one version.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from pydantic import BaseModel, create_model

from marketplace.domain.catalog import MODELS, Kind
from marketplace.routes import caller, services
from marketplace.routes.tmf import (
    FIELDS_PARAMETER,
    LIST_PARAMETERS,
    OBJECTS,
    TMF_ERRORS,
    item_response,
    listed,
)
from servicekit.errors import InvalidRequest
from servicekit.openapi import operation
from servicekit.web import json_response, read_json

__all__ = ["RESOURCES", "routes"]

routes = web.RouteTableDef()

_BASE = "/productCatalogManagement/v4"
_VERSION = re.compile(r"^[0-9A-Za-z._-]{1,20}$")
_VERSION_PARAMETER: dict[str, Any] = {
    "name": "version", "in": "query", "required": False,
    "schema": {"type": "string", "pattern": _VERSION.pattern},
    "description": "An older version of the resource (default: the current one).",
}
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Resource:
    """One TMF620 resource: its path name, its title and its body model."""

    kind: Kind
    title: str

    @property
    def model(self) -> type[BaseModel]:
        """The create body (and, for the description, the answer)."""
        return MODELS[self.kind]

    @property
    def update(self) -> type[BaseModel]:
        """The merge-patch body: every member optional (``null`` removes one)."""
        fields: Any = {name: (info.annotation | None, None)  # type: ignore[operator]
                       for name, info in self.model.model_fields.items() if info.is_required()}
        return create_model(f"{self.model.__name__}Update", __base__=self.model, **fields)


RESOURCES = (
    Resource(Kind.SPECIFICATION, "ProductSpecification"),
    Resource(Kind.OFFERING, "ProductOffering"),
    Resource(Kind.PRICE, "ProductOfferingPrice"),
    Resource(Kind.CATALOG, "Catalog"),
    Resource(Kind.CATEGORY, "Category"),
)


def _version(request: web.Request) -> str | None:
    version = request.query.get("version")
    if version is not None and not _VERSION.match(version):
        raise InvalidRequest("version is like 1.0", code="version-invalid")
    return version


def _handlers(kind: Kind) -> dict[str, Handler]:
    async def list_items(request: web.Request) -> web.StreamResponse:
        return await listed(request, lambda who, q: services(request).catalog.list(who, kind, q))

    async def create(request: web.Request) -> web.StreamResponse:
        body = await read_json(request)
        if not isinstance(body, dict):
            raise InvalidRequest("the body is a JSON object", code="body-invalid")
        who = await caller(request)
        return json_response(await services(request).catalog.create(who, kind, body),
                             status=201)

    async def retrieve(request: web.Request) -> web.StreamResponse:
        version = _version(request)
        who = await caller(request)
        return item_response(request, await services(request).catalog.get(
            who, kind, request.match_info["id"], version))

    async def patch(request: web.Request) -> web.StreamResponse:
        body = await read_json(request)
        who = await caller(request)
        return json_response(await services(request).catalog.patch(
            who, kind, request.match_info["id"], body))

    async def delete(request: web.Request) -> web.StreamResponse:
        who = await caller(request)
        await services(request).catalog.delete(who, kind, request.match_info["id"])
        return web.Response(status=204)

    return {"list": list_items, "create": create, "retrieve": retrieve, "patch": patch,
            "delete": delete}


def _add(resource: Resource) -> None:
    kind, title, model = resource.kind, resource.title, resource.model
    path, item = f"{_BASE}/{kind}", f"{_BASE}/{kind}/{{id}}"
    handlers = _handlers(kind)
    tags = [f"TMF620 {title}"]
    routes.get(path)(operation(
        f"List or find {title} objects", tags=tags, parameters=LIST_PARAMETERS,
        responses={200: OBJECTS, **TMF_ERRORS},
        description=f"The {title} objects the caller may see (X-Total-Count, X-Result-Count).",
    )(handlers["list"]))
    routes.post(path)(operation(
        f"Create a {title}", tags=tags, request=model, responses={201: model, **TMF_ERRORS},
        security="bearer", description=f"A new {title}; the server sets id, href, lastUpdate.",
    )(handlers["create"]))
    routes.get(item)(operation(
        f"Retrieve a {title} by id", tags=tags, parameters=[_VERSION_PARAMETER, FIELDS_PARAMETER],
        responses={200: model, **TMF_ERRORS}, description=f"One {title} (or one of its versions).",
    )(handlers["retrieve"]))
    routes.patch(item)(operation(
        f"Update a {title} partially", tags=tags, request=resource.update,
        request_content_type="application/merge-patch+json",
        responses={200: model, **TMF_ERRORS}, security="bearer",
        description=f"A JSON merge patch of a {title}; id, href, lastUpdate, version are "
                    "the server's.",
    )(handlers["patch"]))
    routes.delete(item)(operation(
        f"Delete a {title}", tags=tags, responses={204: None, **TMF_ERRORS}, security="bearer",
        description=f"Delete a {title} nothing depends on.",
    )(handlers["delete"]))


for _resource in RESOURCES:
    _add(_resource)
