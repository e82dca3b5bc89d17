"""CN: contract negotiation scenarios with the connector as provider (the peer consumes).

Each scenario requests a contract for a seeded dataset whose TCK script makes
the connector behave as the scenario prescribes, then plays the consumer's part.
"""

from __future__ import annotations

from typing import Any

import pytest

from connector.tck import offer_id_for
from tests.connector.conformance.peer import Peer
from tests.connector.conformance.scenarios import (
    ID,
    PPID,
    Scenario,
    Sender,
    both,
    got,
    peer_requests,
    sent,
    state,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")


def _offer(dataset: str) -> dict[str, Any]:
    return {"@id": offer_id_for(dataset), "@type": "Offer", "target": dataset,
            "permission": [{"action": "use"}]}


#: What the peer, as consumer, sends.
SENDERS = {
    "terminate": Sender("/termination", "ContractNegotiationTerminationMessage",
                        lambda _p: {"code": "peer-says-no", "reason": ["changed our mind"]}),
    "accept": Sender("/events", "ContractNegotiationEventMessage",
                     lambda _p: {"eventType": "ACCEPTED"}),
    "verify": Sender("/agreement/verification", "ContractAgreementVerificationMessage"),
    "counter": Sender("/request", "ContractRequestMessage",
                      lambda play: {"offer": _offer(play.id)}),
}

_OFFER = got("ContractOfferMessage")
_AGREEMENT = got("ContractAgreementMessage")
_TERMINATION = got("ContractNegotiationTerminationMessage")
_FINALIZED = got("ContractNegotiationEventMessage")

SCENARIOS = [
    Scenario("CN:01-01", "contract request, offer received, consumer terminated", "ACN0101", [
        got("ContractOfferMessage", providerPid=PPID, **{"offer.target": ID}),
        state("OFFERED"), sent("terminate"), both("TERMINATED")]),
    Scenario("CN:01-02", "contract request, offer received, consumer counter-offer, provider "
             "terminated", "ACN0102", [
        _OFFER, state("OFFERED"), sent("counter"), _TERMINATION, both("TERMINATED")]),
    Scenario("CN:01-03", "offer, consumer accepted, provider agreement, consumer verified, "
             "finalized", "ACN0103", [
        _OFFER, state("OFFERED"), sent("accept"),
        got("ContractAgreementMessage",
            **{"agreement.target": ID, "agreement.assignee": "TCK_PARTICIPANT"}),
        sent("verify"), got("ContractNegotiationEventMessage", eventType="FINALIZED"),
        both("FINALIZED")]),
    Scenario("CN:01-04", "contract request, provider agreement, consumer verified, provider "
             "finalized", "ACN0104", [
        _AGREEMENT, state("AGREED"), sent("verify"), _FINALIZED, both("FINALIZED")]),
    Scenario("CN:02-01", "contract request, provider terminated", "ACN0201", [
        _TERMINATION, both("TERMINATED")]),
    Scenario("CN:02-02", "contract request, consumer terminated", "ACN0202", [
        sent("terminate"), both("TERMINATED")]),
    Scenario("CN:02-03", "contract request, provider agreement, consumer terminated", "ACN0203", [
        _AGREEMENT, state("AGREED"), sent("terminate"), both("TERMINATED")]),
    Scenario("CN:02-04", "contract request, offer received, consumer terminated", "ACN0204", [
        _OFFER, state("OFFERED"), sent("terminate"), both("TERMINATED")]),
    Scenario("CN:02-05", "contract request, offer received, provider terminated", "ACN0205", [
        _OFFER, _TERMINATION, both("TERMINATED")]),
    Scenario("CN:02-06", "contract request, offer received, consumer accepted, provider "
             "terminated", "ACN0206", [
        _OFFER, state("OFFERED"), sent("accept"), _TERMINATION, both("TERMINATED")]),
    Scenario("CN:02-07", "contract request, provider agreement, consumer verified, provider "
             "terminated", "ACN0207", [
        _AGREEMENT, state("AGREED"), sent("verify"), _TERMINATION, both("TERMINATED")]),
    Scenario("CN:03-01", "... provider finalized, then a consumer termination is refused (4xx)",
             "ACN0301", [
        _AGREEMENT, state("AGREED"), sent("verify"), _FINALIZED, both("FINALIZED"),
        sent("terminate", expect=400), both("FINALIZED")]),
    Scenario("CN:03-02", "offer received, then a consumer verification is refused (4xx)",
             "ACN0302", [
        _OFFER, state("OFFERED"), sent("verify", expect=400), both("OFFERED")]),
    Scenario("CN:03-03", "offer received, consumer accepted, then a verification is refused "
             "(4xx)", "ACN0303", [
        _OFFER, state("OFFERED"), sent("accept"), sent("verify", expect=400), both("ACCEPTED")]),
    Scenario("CN:03-04", "offer received, consumer counter-offer twice: the second is refused "
             "(4xx)", "ACN0304", [
        _OFFER, state("OFFERED"), sent("counter"), sent("counter", expect=400),
        both("REQUESTED")]),
]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=str)
async def test_scenario(peer: Peer, scenario: Scenario) -> None:
    """The connector, as provider, plays each CN scenario."""
    play = await peer_requests(peer, "negotiations", scenario.id, "ContractRequestMessage",
                               SENDERS, offer=_offer(scenario.id))
    await scenario.play(play)
