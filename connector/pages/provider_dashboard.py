"""The provider's dashboard (``/`` for a signed-in browser): the figures and usage chart.

The figures are the management API's ``GET /api/v1/dashboard``
(:class:`connector.services.dashboard.DashboardService`). The root route
itself is :func:`connector.routes.metadata.add_management_root`: one
handler answers scripts with the API index and people with this page.
"""

from __future__ import annotations

from aiohttp import web

from connector.pages.provider_common import services
from servicekit.console.charts import Series, bar_chart
from servicekit.console.web import render, signed_in

__all__ = ["USAGE_DAYS", "dashboard"]

#: How many days of usage the chart shows.
USAGE_DAYS = 14


async def dashboard(request: web.Request) -> web.StreamResponse:
    """Datasets, requests waiting, live agreements, calls today; usage per dataset per day."""
    principal = signed_in(request)
    figures = await services(request).dashboard.figures(days=USAGE_DAYS)
    usage = figures["usage"]
    labels = [d[5:] for d in usage["dates"]]  # MM-DD
    series = [Series(s["dataset_id"], [day["requests"] for day in s["days"]])
              for s in usage["datasets"]]
    titles = {d.id: d.title for d in await services(request).catalog.list_datasets(
        after=None, limit=500)}
    named = [Series(titles.get(s.name, s.name), s.values) for s in series]
    svg = bar_chart(labels, named, title=f"Calls per dataset per day, last {USAGE_DAYS} days",
                    unit="") if named else None
    return await render(request, "provider/dashboard.html", {
        "figures": figures, "labels": labels, "series": named, "svg": svg,
        "may_approve": principal.has("data_owner")})
