"""Data-plane errors (all in the servicekit families, so they render as problem+json)."""

from __future__ import annotations

from servicekit.errors import DataspaceError

__all__ = ["DataPlaneUnavailable"]


class DataPlaneUnavailable(DataspaceError, status=503, code="data-plane-unavailable",
                           title="Data plane unavailable"):
    """The data plane cannot decide safely right now (its view of revocations is stale)."""
