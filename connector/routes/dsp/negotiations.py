"""DSP contract negotiation: provider endpoints and consumer callbacks under ``/negotiations``."""

from __future__ import annotations

from operator import attrgetter

from aiohttp import web

from connector.protocol import messages
from connector.routes.dsp.common import peek_offer_id
from connector.routes.dsp.endpoints import Endpoint, ProcessApi, add_endpoints
from connector.services.negotiations import NegotiationService

__all__ = ["API", "routes"]

routes = web.RouteTableDef()
_N = NegotiationService


async def _offer_needs(service: NegotiationService, request: web.Request) -> frozenset[str]:
    """What the requested offer's policy asks the caller to prove."""
    return await service.credentials_for_offer(await peek_offer_id(request))


async def _counter_needs(service: NegotiationService, request: web.Request) -> frozenset[str]:
    """What the negotiation's offer asks the caller to prove."""
    return await service.credentials_for_negotiation(request.match_info["pid"])


#: One entry per spec endpoint of this process kind.
API = ProcessApi(
    tags=["dsp-negotiation"],
    service=attrgetter("negotiations"),
    state=messages.contract_negotiation,
    endpoints=[
        Endpoint("GET", "/negotiations/{pid}",
                 "Get a negotiation's state (provider or consumer pid)",
                 "The ContractNegotiation with our pid ``pid``; 404 unless the caller is its "
                 "counter-party.", _N.get_for_caller),
        Endpoint("POST", "/negotiations/request",
                 "Provider: start a negotiation (ContractRequestMessage → 201 "
                 "ContractNegotiation)",
                 "An initial contract request for one of our offers.\n\nThe caller proves the "
                 "credentials the offer's policy names as it authenticates (DCP), so automatic "
                 "agreement sees verified claims.",
                 _N.on_request, "ContractRequestMessage", status=201, needs=_offer_needs),
        Endpoint("POST", "/negotiations/{pid}/request",
                 "Provider: counter-request (ContractRequestMessage)",
                 "The consumer's counter-request to our offer.",
                 _N.on_counter_request, "ContractRequestMessage", needs=_counter_needs,
                 names_pid=True),
        Endpoint("POST", "/negotiations/{pid}/events",
                 "Event (ContractNegotiationEventMessage: ACCEPTED to the provider, FINALIZED "
                 "to the consumer)", "ACCEPTED or FINALIZED.",
                 _N.on_event, "ContractNegotiationEventMessage"),
        Endpoint("POST", "/negotiations/{pid}/agreement/verification",
                 "Provider: agreement verification (ContractAgreementVerificationMessage)",
                 "The consumer verified our agreement.",
                 _N.on_verification, "ContractAgreementVerificationMessage"),
        Endpoint("POST", "/negotiations/{pid}/termination",
                 "Terminate (ContractNegotiationTerminationMessage), either role",
                 "The counter-party ends the negotiation.",
                 _N.on_termination, "ContractNegotiationTerminationMessage"),
        Endpoint("POST", "/negotiations/offers",
                 "Consumer: a provider-initiated offer (ContractOfferMessage → 201)",
                 "A provider offers us a contract without our request; the owner decides.",
                 _N.on_initial_offer, "ContractOfferMessage", status=201),
        Endpoint("POST", "/negotiations/{pid}/offers",
                 "Consumer: the provider's (counter-)offer (ContractOfferMessage)",
                 "An offer answering our request.", _N.on_offer, "ContractOfferMessage"),
        Endpoint("POST", "/negotiations/{pid}/agreement",
                 "Consumer: the agreement (ContractAgreementMessage)",
                 "The provider's agreement.", _N.on_agreement, "ContractAgreementMessage"),
    ],
)
add_endpoints(routes, API)
