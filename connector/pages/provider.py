"""The provider's pages of the connector console (datasets, requests, agreements, ...)."""

from __future__ import annotations

from aiohttp import web

__all__ = ["routes"]

routes = web.RouteTableDef()
