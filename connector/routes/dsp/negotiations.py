"""DSP contract negotiation: provider endpoints and consumer callbacks under ``/negotiations``."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from connector.domain.negotiation import Negotiation
from connector.protocol import messages
from connector.routes.dsp.common import (
    MESSAGE_SCHEMA,
    answer,
    authenticate,
    peek_offer_id,
    read_message,
    remember_pids,
    services,
)
from servicekit.openapi import operation

__all__ = ["routes"]

routes = web.RouteTableDef()
_TAGS = ["dsp-negotiation"]
_OK: dict[int, Any] = {200: MESSAGE_SCHEMA}


def _state(negotiation: Negotiation, *, status: int = 200) -> web.Response:
    provider_pid, consumer_pid = negotiation.pids()
    return answer(messages.contract_negotiation(provider_pid, consumer_pid,
                                                negotiation.state.value), status=status)


@routes.get("/negotiations/{pid}")
@operation("Get a negotiation's state (provider or consumer pid)", tags=_TAGS,
           responses={200: MESSAGE_SCHEMA})
async def get_negotiation(request: web.Request) -> web.Response:
    """The ContractNegotiation with our pid ``pid``; 404 unless the caller is its counter-party."""
    caller = await authenticate(request)
    negotiation = await services(request).negotiations.get_for_caller(
        caller, request.match_info["pid"])
    return _state(negotiation)


@routes.post("/negotiations/request")
@operation("Provider: start a negotiation (ContractRequestMessage → 201 ContractNegotiation)",
           tags=_TAGS, request=MESSAGE_SCHEMA, responses={201: MESSAGE_SCHEMA})
async def request_contract(request: web.Request) -> web.Response:
    """An initial contract request for one of our offers.

    The caller proves the credentials the offer's policy names as it
    authenticates (DCP), so automatic agreement sees verified claims.
    """
    negotiations = services(request).negotiations
    caller = await authenticate(
        request, await negotiations.credentials_for_offer(await peek_offer_id(request)))
    message = await read_message(request, "ContractRequestMessage")
    negotiation, _created = await services(request).negotiations.on_request(caller, message)
    return _state(negotiation, status=201)


@routes.post("/negotiations/{pid}/request")
@operation("Provider: counter-request (ContractRequestMessage)", tags=_TAGS,
           request=MESSAGE_SCHEMA,
           responses=_OK)
async def counter_request(request: web.Request) -> web.Response:
    """The consumer's counter-request to our offer."""
    negotiations = services(request).negotiations
    caller = await authenticate(
        request, await negotiations.credentials_for_negotiation(request.match_info["pid"]))
    remember_pids(request, request.match_info["pid"], None)
    message = await read_message(request, "ContractRequestMessage")
    negotiation = await services(request).negotiations.on_counter_request(
        caller, request.match_info["pid"], message)
    return _state(negotiation)


@routes.post("/negotiations/{pid}/events")
@operation("Event (ContractNegotiationEventMessage: ACCEPTED to the provider, FINALIZED to "
           "the consumer)", tags=_TAGS,
           request=MESSAGE_SCHEMA,
           responses=_OK)
async def event(request: web.Request) -> web.Response:
    """ACCEPTED or FINALIZED."""
    caller = await authenticate(request)
    message = await read_message(request, "ContractNegotiationEventMessage")
    negotiation = await services(request).negotiations.on_event(
        caller, request.match_info["pid"], message)
    return _state(negotiation)


@routes.post("/negotiations/{pid}/agreement/verification")
@operation("Provider: agreement verification (ContractAgreementVerificationMessage)",
           tags=_TAGS, request=MESSAGE_SCHEMA,
           responses=_OK)
async def verification(request: web.Request) -> web.Response:
    """The consumer verified our agreement."""
    caller = await authenticate(request)
    message = await read_message(request, "ContractAgreementVerificationMessage")
    negotiation = await services(request).negotiations.on_verification(
        caller, request.match_info["pid"], message)
    return _state(negotiation)


@routes.post("/negotiations/{pid}/termination")
@operation("Terminate (ContractNegotiationTerminationMessage), either role", tags=_TAGS,
           request=MESSAGE_SCHEMA,
           responses=_OK)
async def termination(request: web.Request) -> web.Response:
    """The counter-party ends the negotiation."""
    caller = await authenticate(request)
    message = await read_message(request, "ContractNegotiationTerminationMessage")
    negotiation = await services(request).negotiations.on_termination(
        caller, request.match_info["pid"], message)
    return _state(negotiation)


@routes.post("/negotiations/offers")
@operation("Consumer: a provider-initiated offer (ContractOfferMessage → 201)", tags=_TAGS,
           request=MESSAGE_SCHEMA, responses={201: MESSAGE_SCHEMA})
async def initial_offer(request: web.Request) -> web.Response:
    """A provider offers us a contract without our request; the owner decides."""
    caller = await authenticate(request)
    message = await read_message(request, "ContractOfferMessage")
    negotiation = await services(request).negotiations.on_initial_offer(caller, message)
    return _state(negotiation, status=201)


@routes.post("/negotiations/{pid}/offers")
@operation("Consumer: the provider's (counter-)offer (ContractOfferMessage)", tags=_TAGS,
           request=MESSAGE_SCHEMA,
           responses=_OK)
async def offer(request: web.Request) -> web.Response:
    """An offer answering our request."""
    caller = await authenticate(request)
    message = await read_message(request, "ContractOfferMessage")
    negotiation = await services(request).negotiations.on_offer(
        caller, request.match_info["pid"], message)
    return _state(negotiation)


@routes.post("/negotiations/{pid}/agreement")
@operation("Consumer: the agreement (ContractAgreementMessage)", tags=_TAGS,
           request=MESSAGE_SCHEMA,
           responses=_OK)
async def agreement(request: web.Request) -> web.Response:
    """The provider's agreement."""
    caller = await authenticate(request)
    message = await read_message(request, "ContractAgreementMessage")
    negotiation = await services(request).negotiations.on_agreement(
        caller, request.match_info["pid"], message)
    return _state(negotiation)
