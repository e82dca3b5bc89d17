"""Rows into records: one mapping for every dataclass the store hands out."""

from __future__ import annotations

from dataclasses import fields
from typing import Any, TypeVar

__all__ = ["record"]

_R = TypeVar("_R")


def record(cls: type[_R], row: Any, **computed: Any) -> _R:
    """A ``cls`` dataclass from ``row``: each field is the column of its name,
    unless ``computed`` gives it (a decoded JSON column, a derived flag)."""
    names = [f.name for f in fields(cls)]  # type: ignore[arg-type]
    return cls(**{name: computed[name] if name in computed else getattr(row, name)
                  for name in names})
