"""The process endpoints of the DSP binding, built from one table entry per spec endpoint.

Every negotiation and transfer endpoint does the same: authenticate the
caller (asking for the credentials the endpoint needs), read and validate
the message, hand it to the service, and answer with the process's state
(``ContractNegotiation`` or ``TransferProcess``). An :class:`Endpoint` says
only what differs: the path, the message it takes, the service method, the
status and the credentials; :func:`add_endpoints` makes the handlers.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from connector.keys import Services
from connector.routes.dsp.common import (
    MESSAGE_SCHEMA,
    answer,
    authenticate,
    read_message,
    remember_pids,
    services,
)
from servicekit.openapi import operation

__all__ = ["Endpoint", "ProcessApi", "add_endpoints"]

#: The credential types an endpoint needs proven, from the service and the request.
Needs = Callable[[Any, web.Request], Awaitable[frozenset[str]]]


@dataclass(frozen=True)
class Endpoint:
    """One spec endpoint: ``call(service, caller, [pid,] [message])`` answers it.

    ``message``: the DSP message type the body must be (None: no body, a
    GET); ``needs``: credentials to ask the caller for; ``names_pid``: the
    path's pid names the process in error bodies even before the body is read.
    """

    method: str
    path: str
    summary: str
    doc: str
    call: Callable[..., Awaitable[Any]]
    message: str | None = None
    status: int = 200
    needs: Needs | None = None
    names_pid: bool = False


@dataclass(frozen=True)
class ProcessApi:
    """One process kind's endpoints: its service, its state message, its tags."""

    tags: Sequence[str]
    service: Callable[[Services], Any]
    state: Callable[[str, str, str], dict[str, Any]]
    endpoints: Sequence[Endpoint]


def add_endpoints(routes: web.RouteTableDef, api: ProcessApi) -> None:
    """Add a handler for each of ``api``'s endpoints, in table order."""
    for endpoint in api.endpoints:
        routes.route(endpoint.method, endpoint.path)(_handler(api, endpoint))


def _handler(api: ProcessApi,
             endpoint: Endpoint) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def handle(request: web.Request) -> web.Response:
        service = api.service(services(request))
        pid = request.match_info.get("pid")
        needs = await endpoint.needs(service, request) if endpoint.needs else frozenset()
        caller = await authenticate(request, needs)
        if endpoint.names_pid:
            remember_pids(request, pid, None)
        args: list[Any] = [caller] if pid is None else [caller, pid]
        if endpoint.message is not None:
            args.append(await read_message(request, endpoint.message))
        result = await endpoint.call(service, *args)
        process = result[0] if isinstance(result, tuple) else result
        provider_pid, consumer_pid = process.pids()
        return answer(api.state(provider_pid, consumer_pid, process.state.value),
                      status=endpoint.status)

    handle.__doc__ = endpoint.doc
    return operation(endpoint.summary, tags=api.tags,
                     request=MESSAGE_SCHEMA if endpoint.message is not None else None,
                     responses={endpoint.status: MESSAGE_SCHEMA})(handle)
