"""Rows into records: one mapping for every record a store hands out.

A record is a dataclass or a pydantic model whose fields are named as the
columns they come from; a field stored otherwise (a JSON column, a value
spread over columns, a derived flag) is given by the caller.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any, TypeVar

from pydantic import BaseModel

__all__ = ["record"]

_R = TypeVar("_R")


def record(cls: type[_R], row: Any, **computed: Any) -> _R:
    """A ``cls`` record from ``row``: each field is the column of its name,
    unless ``computed`` gives it (a decoded JSON column, a derived flag)."""
    names = (list(cls.model_fields) if issubclass(cls, BaseModel)
             else [f.name for f in fields(cls)])  # type: ignore[arg-type]
    return cls(**{name: computed[name] if name in computed else getattr(row, name)
                  for name in names})
