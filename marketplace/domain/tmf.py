"""TM Forum Open API conventions every resource shares (TMF630 REST design guidelines).

- Paths: ``/tmf-api/<api>/v4/<resource>``; each resource has ``id``, ``href``,
  ``@type``, ``lastUpdate`` set by the server.
- Query: attribute filters (``lifecycleStatus=launched``, ``name=a,b`` for
  "a or b", ``lastUpdate.gt=2026-01-01T00:00:00Z``; dotted paths reach into
  objects: ``validFor.startDateTime.lt=...``), ``fields=a,b`` (a projection, on
  a list and on ``GET /{id}``: ``id``, ``href`` and ``@type`` always come along),
  ``sort=-lastUpdate``, ``offset`` and ``limit``.
- Answers: ``X-Total-Count`` (all matches) and ``X-Result-Count`` (this page);
  errors as the TMF ``Error`` (``code``, ``reason``, ``message``, ``status``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from servicekit.errors import InvalidRequest

__all__ = [
    "OPERATORS",
    "RESERVED",
    "Filter",
    "Query",
    "parse_fields",
    "parse_query",
    "project",
]

#: Query parameters that are not attribute filters.
RESERVED = frozenset({"fields", "offset", "limit", "sort", "q", "depth", "expand"})
#: Filter operators (``attr.gt=``); a bare ``attr=`` is ``eq`` on any of its comma-separated values.
OPERATORS = ("eq", "ne", "gt", "gte", "lt", "lte")
_PATH = re.compile(r"^@?[A-Za-z][A-Za-z0-9_]{0,63}(\.[A-Za-z][A-Za-z0-9_]{0,63}){0,4}$")
_MAX_FILTERS = 20
_MAX_VALUES = 50

Operator = Literal["eq", "ne", "gt", "gte", "lt", "lte"]


@dataclass(frozen=True)
class Filter:
    """One attribute filter: ``path`` (dotted), an operator and its values (``eq``: any of them)."""

    path: tuple[str, ...]
    operator: Operator
    values: tuple[str, ...]


@dataclass(frozen=True)
class Query:
    """What a TMF list request asks for."""

    filters: tuple[Filter, ...] = ()
    fields: frozenset[str] | None = None
    sort: tuple[tuple[str, bool], ...] = ()  # (attribute, descending)
    limit: int = 50
    offset: int = 0
    extra: Mapping[str, str] = field(default_factory=dict)


def _split_operator(name: str) -> tuple[str, Operator]:
    head, _, tail = name.rpartition(".")
    if head and tail in OPERATORS:
        return head, tail  # type: ignore[return-value]
    return name, "eq"


def parse_query(
    params: Mapping[str, str], *, limit: int, offset: int, keep: frozenset[str] = frozenset()
) -> Query:
    """The TMF630 query of ``params`` (paging already parsed); ``keep`` are our own parameters.

    Raises ``InvalidRequest`` (``filter-invalid``) for an attribute name that is
    not a plain dotted path, too many filters, or an empty ``fields``.
    """
    filters: list[Filter] = []
    extra: dict[str, str] = {}
    for name, value in params.items():
        if name in keep:
            extra[name] = value
            continue
        if name in RESERVED:
            continue
        attribute, operator = _split_operator(name)
        if not _PATH.match(attribute):
            raise InvalidRequest(f"{name!r} is not an attribute filter", code="filter-invalid")
        values = tuple(value.split(",")) if operator == "eq" else (value,)
        if len(values) > _MAX_VALUES:
            raise InvalidRequest(f"{name}: at most {_MAX_VALUES} values", code="filter-invalid")
        filters.append(Filter(tuple(attribute.split(".")), operator, values))
    if len(filters) > _MAX_FILTERS:
        raise InvalidRequest(f"at most {_MAX_FILTERS} filters", code="filter-invalid")
    return Query(filters=tuple(filters), fields=parse_fields(params.get("fields")),
                 sort=_sort(params.get("sort")), limit=limit, offset=offset, extra=extra)


def parse_fields(raw: str | None) -> frozenset[str] | None:
    """The attributes ``fields=a,b`` selects (``None``: all of them).

    Raises ``InvalidRequest`` (``fields-invalid``) for an empty list or a name
    that is not a plain dotted path.
    """
    if raw is None:
        return None
    names = frozenset(n.strip() for n in raw.split(",") if n.strip())
    if not names or any(not _PATH.match(n) for n in names):
        raise InvalidRequest("fields must name attributes, comma-separated",
                             code="fields-invalid")
    return names


def _sort(raw: str | None) -> tuple[tuple[str, bool], ...]:
    if raw is None:
        return ()
    keys: list[tuple[str, bool]] = []
    for part in raw.split(","):
        name = part.strip()
        descending = name.startswith("-")
        name = name.lstrip("+-")
        if not _PATH.match(name) or "." in name:
            raise InvalidRequest(f"cannot sort by {part!r}", code="sort-invalid")
        keys.append((name, descending))
    return tuple(keys[:3])


def project(body: Mapping[str, Any], fields: frozenset[str] | None) -> dict[str, Any]:
    """``body`` with only ``fields`` (top-level names; ``id``, ``href``, ``@type`` always)."""
    if fields is None:
        return dict(body)
    keep = {f.split(".")[0] for f in fields} | {"id", "href", "@type"}
    return {k: v for k, v in body.items() if k in keep}
