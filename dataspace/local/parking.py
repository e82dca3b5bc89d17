"""A small parking API for the local data space: Smart Data Models OffStreetParking.

``dataspace up`` runs it as the HTTP backend of the parking dataset, so the
connector's data plane has a real upstream to proxy. ``GET /parking`` lists
the car parks with their current free spaces (they change as time passes),
``GET /parking/{id}`` one car park; ``?limit=`` and ``?municipality=`` filter.
"""

from __future__ import annotations

import argparse
import math
import time
from typing import Any

from aiohttp import web

__all__ = ["create_app", "main"]

_CAR_PARKS = [
    ("halden-torget", "Torget P-hus", 59.1233, 11.3871, 220),
    ("halden-stasjon", "Halden stasjon", 59.1217, 11.3822, 140),
    ("fredriksten", "Fredriksten festning", 59.1178, 11.3952, 90),
    ("os-allé", "Os allé", 59.1262, 11.3914, 60),
]


def _park(index: int, now: float) -> dict[str, Any]:
    ident, name, lat, lon, total = _CAR_PARKS[index]
    occupancy = 0.55 + 0.35 * math.sin(now / 3600 + index)
    free = max(0, min(total, round(total * (1 - occupancy))))
    return {
        "id": f"urn:ngsi-ld:OffStreetParking:{ident}",
        "type": "OffStreetParking",
        "name": name,
        "category": ["public", "feeCharged"],
        "location": {"type": "Point", "coordinates": [lon, lat]},
        "address": {"addressLocality": "Halden", "addressCountry": "NO"},
        "totalSpotNumber": total,
        "availableSpotNumber": free,
        "status": ["open"] if free else ["full"],
        "dateModified": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)),
    }


async def _list(request: web.Request) -> web.Response:
    now = time.time()
    parks = [_park(i, now) for i in range(len(_CAR_PARKS))]
    municipality = request.query.get("municipality")
    if municipality and municipality.lower() != "halden":
        parks = []
    limit = request.query.get("limit")
    if limit and limit.isdigit():
        parks = parks[: int(limit)]
    return web.json_response(parks)


async def _one(request: web.Request) -> web.Response:
    now = time.time()
    for i, park in enumerate(_CAR_PARKS):
        if park[0] == request.match_info["park_id"]:
            return web.json_response(_park(i, now))
    return web.json_response({"error": "no such car park"}, status=404)


async def _health(_request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def create_app() -> web.Application:
    """The parking API."""
    app = web.Application()
    app.router.add_get("/parking", _list)
    app.router.add_get("/parking/{park_id}", _one)
    app.router.add_get("/readyz", _health)
    return app


def main() -> None:
    """``python -m dataspace.local.parking --port 8690``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8690)
    args = parser.parse_args()
    web.run_app(create_app(), host="127.0.0.1", port=args.port, print=None)


if __name__ == "__main__":
    main()
