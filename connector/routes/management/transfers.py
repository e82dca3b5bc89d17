"""Management: transfers (both roles) and the consumer's endpoint data reference."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from connector.domain.negotiation import Role
from connector.domain.transfer import PULL_FORMAT, TransferAction, TransferState
from connector.routes.management.common import admin, services
from servicekit.errors import InvalidRequest
from servicekit.openapi import operation, query_strings
from servicekit.paging import PAGING, paging
from servicekit.web import json_response, parse_body

__all__ = ["routes"]

routes = web.RouteTableDef()
_OBJ = {"type": "object"}
_LIST = {"type": "object", "properties": {"items": {"type": "array"}}}


class TransferStart(BaseModel):
    """Ask the provider to transfer under an agreement we hold."""

    model_config = ConfigDict(extra="forbid")

    agreement_id: str = Field(min_length=1, max_length=255)
    format: str = Field(default=PULL_FORMAT, max_length=100)
    counterparty_address: str | None = Field(
        default=None, pattern=r"^https?://", max_length=2000,
        description="The provider's DSP URL (default: where the agreement was made).")


class Reason(BaseModel):
    """Why (suspension, termination)."""

    model_config = ConfigDict(extra="forbid")

    code: str | None = Field(default=None, max_length=100)
    reason: str | None = Field(default=None, max_length=2000)


@routes.get("/api/v1/transfers")
@admin
@operation("List transfers", tags=["transfers"], responses={200: _LIST}, security="bearer",
           parameters=[*query_strings("role", "state", "agreement_id"), *PAGING])
async def list_transfers(request: web.Request) -> web.Response:
    """Newest first."""
    limit, offset = paging(request)
    filters: dict[str, Any] = {}
    if "role" in request.query:
        try:
            filters["role"] = Role(request.query["role"])
        except ValueError:
            raise InvalidRequest("role is provider or consumer", code="filter-invalid") from None
    if "state" in request.query:
        if request.query["state"] not in TransferState.__members__:
            raise InvalidRequest("unknown state", code="filter-invalid")
        filters["states"] = [request.query["state"]]
    if "agreement_id" in request.query:
        filters["agreement_id"] = request.query["agreement_id"]
    items = await services(request).transfers.find(limit=limit, offset=offset, **filters)
    return json_response({"items": [t.model_dump(mode="json", exclude={"data_address"})
                                    for t in items]})


@routes.post("/api/v1/transfers")
@admin
@operation("Start a transfer (consumer side)", tags=["transfers"], request=TransferStart,
           responses={201: _OBJ}, security="bearer")
async def start_transfer(request: web.Request) -> web.Response:
    """Sends a TransferRequestMessage; poll the transfer, then get its ``edr``."""
    data = await parse_body(request, TransferStart)
    transfer = await services(request).transfers.start(
        agreement_id=data.agreement_id, format=data.format,
        counterparty_address=data.counterparty_address)
    return json_response(transfer.model_dump(mode="json"), status=201)


@routes.get("/api/v1/transfers/{transfer_id}")
@admin
@operation("Get a transfer", tags=["transfers"], responses={200: _OBJ}, security="bearer")
async def get_transfer(request: web.Request) -> web.Response:
    """State and ids (the access token only through ``/edr``)."""
    transfer = await services(request).transfers.get(request.match_info["transfer_id"])
    return json_response(transfer.model_dump(mode="json", exclude={"data_address"}))


@routes.get("/api/v1/transfers/{transfer_id}/edr")
@admin
@operation("Consumer: the endpoint data reference of a started transfer", tags=["transfers"],
           responses={200: _OBJ}, security="bearer")
async def get_edr(request: web.Request) -> web.Response:
    """Endpoint, endpoint type, auth type and the short-lived access token."""
    edr = await services(request).transfers.edr(request.match_info["transfer_id"])
    return json_response(edr.model_dump(mode="json"))


async def _act(request: web.Request, action: TransferAction) -> web.Response:
    data = await parse_body(request, Reason) if request.can_read_body else Reason()
    transfer = await services(request).transfers.act(
        request.match_info["transfer_id"], action, code=data.code, reason=data.reason)
    return json_response(transfer.model_dump(mode="json", exclude={"data_address"}))


#: The owner's moves: (path, action, summary, body model, what the move does).
_MOVES: tuple[tuple[str, TransferAction, str, type[BaseModel] | None, str], ...] = (
    ("suspend", TransferAction.SUSPEND, "Suspend a transfer", Reason,
     "STARTED → SUSPENDED, and the peer is told."),
    ("resume", TransferAction.START,
     "Resume a suspended transfer (or start a requested one, provider)", None,
     "SUSPENDED → STARTED (a provider may also start a REQUESTED one)."),
    ("complete", TransferAction.COMPLETE, "Complete a transfer", None, "STARTED → COMPLETED."),
    ("terminate", TransferAction.TERMINATE, "Terminate a transfer", Reason,
     "Any non-final state → TERMINATED."),
)


def _move_route(path: str, action: TransferAction, summary: str,
                body: type[BaseModel] | None, description: str) -> None:
    async def move(request: web.Request) -> web.Response:
        return await _act(request, action)

    move.__name__ = move.__qualname__ = path
    documented = operation(summary, tags=["transfers"], request=body, responses={200: _OBJ},
                           security="bearer", description=description)(move)
    routes.post(f"/api/v1/transfers/{{transfer_id}}/{path}")(admin(documented))


for _move in _MOVES:
    _move_route(*_move)
