"""Decentralized Claims Protocol 1.0 issuance (credential requests from holders)."""

from __future__ import annotations

from aiohttp import web

__all__ = ["setup"]


def setup(app: web.Application) -> None:
    """Register the routes (added with the DCP issuer service)."""
