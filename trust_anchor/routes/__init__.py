"""Thin HTTP handlers: parse, call the domain or store, serialise."""

from __future__ import annotations

from servicekit.auth import require_api_key
from trust_anchor.state import ADMIN_KEYS

__all__ = ["operator_only"]

#: Decorates handlers only the data-space operator may call.
operator_only = require_api_key(lambda request: request.config_dict[ADMIN_KEYS])
