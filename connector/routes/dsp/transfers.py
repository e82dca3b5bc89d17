"""DSP transfer process: ``/transfers`` endpoints of both roles."""

from __future__ import annotations

from operator import attrgetter

from aiohttp import web

from connector.protocol import messages
from connector.routes.dsp.common import peek_agreement_id
from connector.routes.dsp.endpoints import Endpoint, ProcessApi, add_endpoints
from connector.services.transfers import TransferService

__all__ = ["API", "routes"]

routes = web.RouteTableDef()
_T = TransferService


async def _agreement_needs(service: TransferService, request: web.Request) -> frozenset[str]:
    """What the agreement's policy asks the caller to prove (and keep proving)."""
    return await service.credentials_for_agreement(await peek_agreement_id(request))


#: One entry per spec endpoint of this process kind.
API = ProcessApi(
    tags=["dsp-transfer"],
    service=attrgetter("transfers"),
    state=messages.transfer_process,
    endpoints=[
        Endpoint("GET", "/transfers/{pid}", "Get a transfer's state (provider or consumer pid)",
                 "The TransferProcess with our pid ``pid``; 404 unless the caller is its "
                 "counter-party.", _T.get_for_caller),
        Endpoint("POST", "/transfers/request",
                 "Provider: request a transfer (TransferRequestMessage → 201 TransferProcess)",
                 "A transfer under one of our agreements.",
                 _T.on_request, "TransferRequestMessage", status=201,
                 needs=_agreement_needs),
        Endpoint("POST", "/transfers/{pid}/start",
                 "Start or resume (TransferStartMessage), either role",
                 "The provider started the transfer (with the data address), or a side "
                 "resumes it.", _T.on_start, "TransferStartMessage"),
        Endpoint("POST", "/transfers/{pid}/completion",
                 "Complete (TransferCompletionMessage), either role",
                 "The counter-party completed the transfer.",
                 _T.on_completion, "TransferCompletionMessage"),
        Endpoint("POST", "/transfers/{pid}/suspension",
                 "Suspend (TransferSuspensionMessage), either role",
                 "The counter-party suspended the transfer.",
                 _T.on_suspension, "TransferSuspensionMessage"),
        Endpoint("POST", "/transfers/{pid}/termination",
                 "Terminate (TransferTerminationMessage), either role",
                 "The counter-party terminated the transfer.",
                 _T.on_termination, "TransferTerminationMessage"),
    ],
)
add_endpoints(routes, API)
