"""The consumer's pages of the connector console (members, catalogs, downloads, wallet)."""

from __future__ import annotations

from aiohttp import web

__all__ = ["routes"]

routes = web.RouteTableDef()
