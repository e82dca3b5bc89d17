"""OpenAPI 3.1 descriptions built from the routes a service actually has.

Handlers declare what they take and give with :func:`operation`; the
document is assembled from the application's router, so a route cannot exist
without appearing in ``/openapi.json``. Pydantic models become component
schemas; every error response points at the shared Problem schema.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, TypeAdapter

__all__ = ["Operation", "build_openapi", "iter_routes", "operation", "query_strings"]

_F = TypeVar("_F", bound=Callable[..., Any])
_ATTR = "__openapi_operation__"

Schema = type[BaseModel] | TypeAdapter[Any] | Mapping[str, Any]

PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "RFC 9457 problem details with a stable error code.",
    "required": ["type", "title", "status", "code"],
    "properties": {
        "type": {"type": "string", "format": "uri"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "code": {"type": "string", "description": "Stable kebab-case error code."},
        "instance": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "path": {"type": "string"},
                    "message": {"type": "string"},
                    "code": {"type": "string"},
                },
            },
        },
    },
}


@dataclass(frozen=True)
class Operation:
    """What a handler declares about itself."""

    summary: str
    tags: tuple[str, ...] = ()
    request: Schema | None = None
    request_content_type: str = "application/json"
    responses: Mapping[int, Schema | str | None] = field(default_factory=dict)
    response_content_type: str = "application/json"
    parameters: Sequence[Mapping[str, Any]] = ()
    security: str | None = None
    description: str | None = None


def operation(
    summary: str,
    *,
    tags: Sequence[str] = (),
    request: Schema | None = None,
    request_content_type: str = "application/json",
    responses: Mapping[int, Schema | str | None] | None = None,
    response_content_type: str = "application/json",
    parameters: Sequence[Mapping[str, Any]] = (),
    security: str | None = None,
    description: str | None = None,
) -> Callable[[_F], _F]:
    """Attach an OpenAPI operation to a handler.

    ``responses`` maps a status to a pydantic model, a JSON schema mapping, a
    description string, or None (no body). ``security`` names a security
    scheme (``bearer``) the route requires. The description is the handler's
    docstring unless ``description`` is given (for handlers built in a loop).
    """

    def decorate(handler: _F) -> _F:
        doc = description or inspect.getdoc(handler)
        setattr(
            handler,
            _ATTR,
            Operation(
                summary=summary,
                tags=tuple(tags),
                request=request,
                request_content_type=request_content_type,
                responses=dict(responses or {200: "OK"}),
                response_content_type=response_content_type,
                parameters=tuple(parameters),
                security=security,
                description=doc,
            ),
        )
        return handler

    return decorate


def query_strings(*names: str, **descriptions: str) -> list[dict[str, Any]]:
    """OpenAPI parameters: optional string query parameters ``names`` (a list filter).

    A keyword argument describes the parameter it names.
    """
    parameters: list[dict[str, Any]] = []
    for name in names:
        parameter: dict[str, Any] = {"name": name, "in": "query", "required": False,
                                     "schema": {"type": "string"}}
        if name in descriptions:
            parameter["description"] = descriptions[name]
        parameters.append(parameter)
    return parameters


def iter_routes(app: web.Application) -> Iterator[tuple[str, str, Any]]:
    """(method, path template, handler) for every route, sub-apps included.

    aiohttp already prefixes a sub-application's resources when it is
    mounted (``add_subapp`` rewrites their ``canonical``), so the path is
    taken as it stands; adding the mount prefix again would document
    ``/dsp/dsp/...`` routes that do not exist.
    """
    for resource in app.router.resources():
        sub_app = resource.get_info().get("app")
        if isinstance(sub_app, web.Application):
            yield from iter_routes(sub_app)
            continue
        for route in resource:
            if route.method == "HEAD":
                continue
            yield route.method, resource.canonical, route.handler


class _Schemas:
    """Collects component schemas for models referenced by operations."""

    def __init__(self) -> None:
        self.components: dict[str, Any] = {"Problem": PROBLEM_SCHEMA}

    def ref(self, schema: Schema) -> dict[str, Any]:
        if isinstance(schema, Mapping):
            return dict(schema)
        template = "#/components/schemas/{model}"
        if isinstance(schema, TypeAdapter):
            generated = schema.json_schema(ref_template=template)
        else:
            generated = schema.model_json_schema(ref_template=template)
        for name, definition in generated.pop("$defs", {}).items():
            self.components.setdefault(name, definition)
        if isinstance(schema, type) and issubclass(schema, BaseModel):
            self.components.setdefault(schema.__name__, generated)
            return {"$ref": template.format(model=schema.__name__)}
        return dict(generated)


# A variable in an aiohttp path template, anywhere in a segment
# (``/schemas/{credential_type}.json``), optionally with a regex that may hold
# one level of braces (``{tail:[^{}]+}``, ``{n:\d{3}}``): aiohttp's own grammar.
_VARIABLE = re.compile(r"\{(?P<name>[_a-zA-Z][_a-zA-Z0-9]*)(?::[^{}]*(?:\{[^{}]*\}[^{}]*)*)?\}")


def _path_parameters(path: str) -> list[dict[str, Any]]:
    return [
        {"name": match["name"], "in": "path", "required": True, "schema": {"type": "string"}}
        for match in _VARIABLE.finditer(path)
    ]


def _clean_path(path: str) -> str:
    # aiohttp allows {name:regex}; OpenAPI wants {name}.
    return _VARIABLE.sub(lambda match: "{" + match["name"] + "}", path)


def build_openapi(
    app: web.Application,
    *,
    title: str,
    version: str,
    description: str = "",
    servers: Sequence[str] = (),
) -> dict[str, Any]:
    """Assemble the OpenAPI 3.1 document for ``app``'s routes."""
    schemas = _Schemas()
    paths: dict[str, dict[str, Any]] = {}
    uses_bearer = False
    for method, path, handler in iter_routes(app):
        op: Operation | None = getattr(handler, _ATTR, None)
        entry = _operation(method, path, handler, op, schemas)
        uses_bearer = uses_bearer or "security" in entry
        paths.setdefault(_clean_path(path), {})[method.lower()] = entry
    document: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version, "description": description},
        "paths": dict(sorted(paths.items())),
        "components": {"schemas": schemas.components},
    }
    if servers:
        document["servers"] = [{"url": url} for url in servers]
    if uses_bearer:
        document["components"]["securitySchemes"] = {
            "bearer": {"type": "http", "scheme": "bearer"}
        }
    return document


def _operation(
    method: str, path: str, handler: Any, op: Operation | None, schemas: _Schemas
) -> dict[str, Any]:
    """The OpenAPI operation object of one route."""
    doc = inspect.getdoc(handler) or ""
    summary = op.summary if op else (doc.splitlines()[0] if doc else f"{method} {path}")
    entry: dict[str, Any] = {"summary": summary, "operationId": _operation_id(method, path)}
    if op and op.description:
        entry["description"] = op.description
    if op and op.tags:
        entry["tags"] = list(op.tags)
    parameters = _path_parameters(path) + [dict(p) for p in (op.parameters if op else ())]
    if parameters:
        entry["parameters"] = parameters
    if op and op.request is not None:
        entry["requestBody"] = {
            "required": True,
            "content": {op.request_content_type: {"schema": schemas.ref(op.request)}},
        }
    entry["responses"] = _responses(op, schemas)
    if op and op.security:
        entry["security"] = [{op.security: []}]
    return entry


def _responses(op: Operation | None, schemas: _Schemas) -> dict[str, Any]:
    """The documented answers of an operation, and problem details for any other."""
    responses: dict[str, Any] = {}
    for status, schema in (op.responses if op else {200: "OK"}).items():
        if isinstance(schema, str) or schema is None:
            responses[str(status)] = {"description": schema or "No content"}
        else:
            responses[str(status)] = {
                "description": "OK" if status < 400 else "Error",
                "content": {op.response_content_type if op else "application/json": {
                    "schema": schemas.ref(schema)
                }},
            }
    responses.setdefault(
        "default",
        {
            "description": "Problem details",
            "content": {"application/problem+json": {
                "schema": {"$ref": "#/components/schemas/Problem"}
            }},
        },
    )
    return responses

def _operation_id(method: str, path: str) -> str:
    words = [
        part.replace("{", "").replace("}", "").replace("-", "_").replace(".", "_")
        for part in _clean_path(path).split("/")
        if part
    ]
    return method.lower() + "_" + "_".join(words or ["root"])
