"""The federated view: datasets harvested from the providers' DSP catalogs.

``GET /federation/datasets`` lists them for anyone (the portal shows
datasets that are not, or not yet, sold as products), filtered by words
(``q``) and publisher DID; ``POST /federation/harvest`` harvests now
(operator).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import BaseModel

from marketplace.domain.federation import HarvestedDataset
from marketplace.routes import caller, services
from servicekit.errors import InvalidRequest
from servicekit.openapi import operation
from servicekit.paging import PAGING, paging
from servicekit.web import json_response

__all__ = ["routes"]

routes = web.RouteTableDef()

_MAX_Q = 200
_FILTERS: list[dict[str, Any]] = [
    {"name": "q", "in": "query", "required": False,
     "schema": {"type": "string", "maxLength": _MAX_Q},
     "description": "Words that must all occur in the title, description or keywords."},
    {"name": "publisher", "in": "query", "required": False,
     "schema": {"type": "string", "pattern": "^did:", "maxLength": 500},
     "description": "Only the datasets of this provider (its DID)."},
]


class DatasetView(BaseModel):
    """A harvested dataset."""

    id: str
    title: str
    publisher: str
    publisher_name: str
    dsp_address: str
    harvested_at: str
    dataset: dict[str, Any]

    @classmethod
    def of(cls, row: HarvestedDataset) -> DatasetView:
        """The view of a stored row."""
        return cls(id=row.dataset_id, title=row.title, publisher=row.publisher,
                   publisher_name=row.publisher_name, dsp_address=row.dsp_address,
                   harvested_at=row.harvested_at.isoformat(), dataset=row.body)


class DatasetPage(BaseModel):
    """A page of harvested datasets and how many match in all."""

    items: list[DatasetView]
    total: int
    limit: int
    offset: int


class HarvestResult(BaseModel):
    """What a harvest found."""

    providers: int
    datasets: int
    failed: list[dict[str, str]]


def _filters(request: web.Request) -> tuple[str | None, str | None]:
    q = request.query.get("q")
    publisher = request.query.get("publisher")
    if q is not None and len(q) > _MAX_Q:
        raise InvalidRequest(f"q is at most {_MAX_Q} characters", code="query-invalid")
    if publisher is not None and (not publisher.startswith("did:") or len(publisher) > 500):
        raise InvalidRequest("publisher must be a DID", code="publisher-invalid")
    return q or None, publisher


@routes.get("/federation/datasets")
@operation("Datasets harvested from the providers' DSP catalogs", tags=["federation"],
           parameters=[*PAGING, *_FILTERS], responses={200: DatasetPage})
async def list_datasets(request: web.Request) -> web.Response:
    """A page of the federated view, by title."""
    limit, offset = paging(request)
    q, publisher = _filters(request)
    rows, total = await services(request).federation.find(q=q, publisher=publisher,
                                                          limit=limit, offset=offset)
    return json_response(DatasetPage(items=[DatasetView.of(r) for r in rows], total=total,
                                     limit=limit, offset=offset))


@routes.post("/federation/harvest")
@operation("Harvest the providers' catalogs now (operator)", tags=["federation"],
           security="bearer", responses={200: HarvestResult})
async def harvest(request: web.Request) -> web.Response:
    """Read every provider's catalog now; the answer says who failed and why."""
    report = await services(request).federation.harvest_now(await caller(request))
    return json_response(HarvestResult(providers=report.providers, datasets=report.datasets,
                                       failed=report.failed))
