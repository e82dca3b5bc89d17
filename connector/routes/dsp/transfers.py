"""DSP transfer process: ``/transfers`` endpoints of both roles."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from connector.domain.transfer import Transfer
from connector.protocol import messages
from connector.routes.dsp.common import (
    MESSAGE_SCHEMA,
    answer,
    authenticate,
    read_message,
    services,
)
from servicekit.openapi import operation

__all__ = ["routes"]

routes = web.RouteTableDef()
_TAGS = ["dsp-transfer"]
_OK: dict[int, Any] = {200: MESSAGE_SCHEMA}


def _state(transfer: Transfer, *, status: int = 200) -> web.Response:
    provider_pid, consumer_pid = transfer.pids()
    return answer(messages.transfer_process(provider_pid, consumer_pid, transfer.state.value),
                  status=status)


@routes.get("/transfers/{pid}")
@operation("Get a transfer's state (provider or consumer pid)", tags=_TAGS,
           responses={200: MESSAGE_SCHEMA})
async def get_transfer(request: web.Request) -> web.Response:
    """The TransferProcess with our pid ``pid``; 404 unless the caller is its counter-party."""
    caller = await authenticate(request)
    transfer = await services(request).transfers.get_for_caller(caller, request.match_info["pid"])
    return _state(transfer)


@routes.post("/transfers/request")
@operation("Provider: request a transfer (TransferRequestMessage → 201 TransferProcess)",
           tags=_TAGS, request=MESSAGE_SCHEMA, responses={201: MESSAGE_SCHEMA})
async def request_transfer(request: web.Request) -> web.Response:
    """A transfer under one of our agreements."""
    caller = await authenticate(request)
    message = await read_message(request, "TransferRequestMessage")
    transfer, _created = await services(request).transfers.on_request(caller, message)
    return _state(transfer, status=201)


@routes.post("/transfers/{pid}/start")
@operation("Start or resume (TransferStartMessage), either role", tags=_TAGS,
           request=MESSAGE_SCHEMA,
           responses=_OK)
async def start(request: web.Request) -> web.Response:
    """The provider started the transfer (with the data address), or a side resumes it."""
    caller = await authenticate(request)
    message = await read_message(request, "TransferStartMessage")
    transfer = await services(request).transfers.on_start(caller, request.match_info["pid"],
                                                          message)
    return _state(transfer)


@routes.post("/transfers/{pid}/completion")
@operation("Complete (TransferCompletionMessage), either role", tags=_TAGS,
           request=MESSAGE_SCHEMA,
           responses=_OK)
async def completion(request: web.Request) -> web.Response:
    """The counter-party completed the transfer."""
    caller = await authenticate(request)
    message = await read_message(request, "TransferCompletionMessage")
    transfer = await services(request).transfers.on_completion(
        caller, request.match_info["pid"], message)
    return _state(transfer)


@routes.post("/transfers/{pid}/suspension")
@operation("Suspend (TransferSuspensionMessage), either role", tags=_TAGS,
           request=MESSAGE_SCHEMA,
           responses=_OK)
async def suspension(request: web.Request) -> web.Response:
    """The counter-party suspended the transfer."""
    caller = await authenticate(request)
    message = await read_message(request, "TransferSuspensionMessage")
    transfer = await services(request).transfers.on_suspension(
        caller, request.match_info["pid"], message)
    return _state(transfer)


@routes.post("/transfers/{pid}/termination")
@operation("Terminate (TransferTerminationMessage), either role", tags=_TAGS,
           request=MESSAGE_SCHEMA,
           responses=_OK)
async def termination(request: web.Request) -> web.Response:
    """The counter-party terminated the transfer."""
    caller = await authenticate(request)
    message = await read_message(request, "TransferTerminationMessage")
    transfer = await services(request).transfers.on_termination(
        caller, request.match_info["pid"], message)
    return _state(transfer)
