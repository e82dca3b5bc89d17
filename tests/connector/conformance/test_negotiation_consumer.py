"""CN_C: contract negotiation scenarios with the connector as consumer (the peer provides).

The peer triggers a negotiation through the TCK trigger endpoint; the
connector's TCK script for the dataset decides its consumer moves.
"""

from __future__ import annotations

from typing import Any

import pytest

from connector.tck import offer_id_for
from tests.connector.conformance.peer import PARTICIPANT, Peer, new_pid
from tests.connector.conformance.scenarios import (
    PPID,
    Play,
    Scenario,
    Sender,
    both,
    connector_requests,
    got,
    sent,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")


def _offer(play: Play) -> dict[str, Any]:
    return {"offer": {"@id": new_pid(), "@type": "Offer", "target": play.id,
                      "permission": [{"action": "use"}]}}


def _agreement(play: Play) -> dict[str, Any]:
    return {"agreement": {"@id": new_pid(), "@type": "Agreement", "target": play.id,
                          "assigner": PARTICIPANT, "assignee": "did:web:cut.example",
                          "timestamp": "2025-01-01T00:00:00Z",
                          "permission": [{"action": "use"}]}}


#: What the peer, as provider, sends.
SENDERS = {
    "offer": Sender("/offers", "ContractOfferMessage", _offer),
    "agree": Sender("/agreement", "ContractAgreementMessage", _agreement),
    "finalize": Sender("/events", "ContractNegotiationEventMessage",
                       lambda _p: {"eventType": "FINALIZED"}),
    "terminate": Sender("/termination", "ContractNegotiationTerminationMessage",
                        lambda _p: {"code": "provider-says-no", "reason": ["not today"]}),
}

_ACCEPTED = got("ContractNegotiationEventMessage")
_VERIFIED = got("ContractAgreementVerificationMessage")
_TERMINATION = got("ContractNegotiationTerminationMessage")

SCENARIOS = [
    Scenario("CN_C:01-01", "offer, consumer accepted, provider agreed, consumer verified, "
             "finalized", "ACNC0101", [
        sent("offer"), got("ContractNegotiationEventMessage", eventType="ACCEPTED"),
        both("ACCEPTED"), sent("agree"), _VERIFIED, both("VERIFIED"), sent("finalize"),
        both("FINALIZED")]),
    Scenario("CN_C:01-02", "offer received, consumer counter-offer, provider terminated",
             "ACNC0102", [
        sent("offer"), got("ContractRequestMessage", providerPid=PPID), both("REQUESTED"),
        sent("terminate"), both("TERMINATED")]),
    Scenario("CN_C:01-03", "offer received, consumer terminated", "ACNC0103", [
        sent("offer"), _TERMINATION, both("TERMINATED")]),
    Scenario("CN_C:01-04", "provider agreement, consumer verified, provider finalized",
             "ACNC0104", [
        sent("agree"), _VERIFIED, both("VERIFIED"), sent("finalize"), both("FINALIZED")]),
    Scenario("CN_C:02-01", "contract request, provider terminated", "ACNC0201", [
        sent("terminate"), both("TERMINATED")]),
    Scenario("CN_C:02-02", "contract request, consumer terminated", "ACNC0202", [
        got("ContractNegotiationTerminationMessage", providerPid=PPID), both("TERMINATED")]),
    Scenario("CN_C:02-03", "provider agreement, consumer terminated", "ACNC0203", [
        sent("agree"), _TERMINATION, both("TERMINATED")]),
    Scenario("CN_C:02-04", "offer received, provider terminated", "ACNC0204", [
        sent("offer"), both("OFFERED"), sent("terminate"), both("TERMINATED")]),
    Scenario("CN_C:02-05", "offer received, consumer accepted, provider terminated",
             "ACNC0205", [
        sent("offer"), _ACCEPTED, both("ACCEPTED"), sent("terminate"), both("TERMINATED")]),
    Scenario("CN_C:02-06", "provider agreement, consumer verified, provider terminated",
             "ACNC0206", [
        sent("agree"), _VERIFIED, both("VERIFIED"), sent("terminate"), both("TERMINATED")]),
    Scenario("CN_C:03-01", "contract request, then a FINALIZED event is refused (4xx)",
             "ACNC0301", [
        sent("finalize", expect=400), both("REQUESTED")]),
    Scenario("CN_C:03-02", "offer received, then an agreement is refused (4xx)", "ACNC0302", [
        sent("offer"), sent("agree", expect=400), both("OFFERED")]),
    Scenario("CN_C:03-03", "offer received, then a FINALIZED event is refused (4xx)",
             "ACNC0303", [
        sent("offer"), sent("finalize", expect=400), both("OFFERED")]),
    Scenario("CN_C:03-04", "offer, consumer accepted, then a FINALIZED event is refused (4xx)",
             "ACNC0304", [
        sent("offer"), _ACCEPTED, both("ACCEPTED"), sent("finalize", expect=400),
        both("ACCEPTED")]),
    Scenario("CN_C:03-05", "offer, consumer accepted, then another offer is refused (4xx)",
             "ACNC0305", [
        sent("offer"), _ACCEPTED, both("ACCEPTED"), sent("offer", expect=400),
        both("ACCEPTED")]),
    Scenario("CN_C:03-06", "offer, accepted, provider agreed, then a FINALIZED event is "
             "refused (4xx)", "ACNC0306", [
        sent("offer"), _ACCEPTED, sent("agree"), both("AGREED"), sent("finalize", expect=400),
        both("AGREED")]),
]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=str)
async def test_scenario(peer: Peer, scenario: Scenario) -> None:
    """The connector, as consumer, plays each CN_C scenario."""
    dataset = scenario.id
    play, request = await connector_requests(
        peer, "negotiations", dataset, "ContractRequestMessage", SENDERS,
        offerId=offer_id_for(dataset), datasetId=dataset)
    assert request["callbackAddress"] == peer.target
    assert request["offer"]["@id"] == offer_id_for(dataset)
    await scenario.play(play)
