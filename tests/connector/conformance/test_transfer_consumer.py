"""TP_C: transfer process scenarios with the connector as consumer (the peer provides).

The peer triggers a transfer under a seeded consumer agreement; the
agreement's TCK script decides the connector's consumer moves.
"""

from __future__ import annotations

import pytest

from tests.connector.conformance.peer import Peer
from tests.connector.conformance.scenarios import (
    PPID,
    TRANSFER_COMPLETION,
    TRANSFER_SENDERS,
    TRANSFER_SUSPENSION,
    TRANSFER_TERMINATION,
    Scenario,
    Sender,
    both,
    connector_requests,
    got,
    sent,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")

_ADDRESS = {
    "@type": "DataAddress",
    "endpointType": "https://w3id.org/idsa/v4.1/HTTP",
    "endpoint": "http://127.0.0.1:9/data",
    "endpointProperties": [
        {"@type": "EndpointProperty", "name": "authorization", "value": "secret-token"},
        {"@type": "EndpointProperty", "name": "authType", "value": "bearer"},
    ],
}

#: What the peer, as provider, sends ("resume": a start without a data address).
SENDERS = TRANSFER_SENDERS | {
    "start": Sender("/start", "TransferStartMessage", lambda _p: {"dataAddress": _ADDRESS}),
    "resume": TRANSFER_SENDERS["start"],
}

SCENARIOS = [
    Scenario("TP_C:01-01", "transfer request, provider started, provider terminated",
             "ATPC0101", [
        sent("start"), both("STARTED"), sent("terminate", code="end"), both("TERMINATED")]),
    Scenario("TP_C:01-02", "transfer request, provider started, provider completed",
             "ATPC0102", [
        sent("start"), both("STARTED"), sent("complete"), both("COMPLETED")]),
    Scenario("TP_C:01-03", "provider started, provider suspended, provider terminated",
             "ATPC0103", [
        sent("start"), sent("suspend", code="pause"), both("SUSPENDED"), sent("terminate"),
        both("TERMINATED")]),
    Scenario("TP_C:01-04", "provider started, suspended, started again, completed",
             "ATPC0104", [
        sent("start"), sent("suspend"), both("SUSPENDED"), sent("start"), both("STARTED"),
        sent("complete"), both("COMPLETED")]),
    Scenario("TP_C:01-05", "transfer request, provider terminated", "ATPC0105", [
        sent("terminate"), both("TERMINATED")]),
    Scenario("TP_C:02-01", "provider started, consumer terminated", "ATPC0201", [
        sent("start"), TRANSFER_TERMINATION, both("TERMINATED")]),
    Scenario("TP_C:02-02", "provider started, consumer completed", "ATPC0202", [
        sent("start"), TRANSFER_COMPLETION, both("COMPLETED")]),
    Scenario("TP_C:02-03", "provider started, consumer suspended, consumer terminated",
             "ATPC0203", [
        sent("start"), TRANSFER_SUSPENSION, TRANSFER_TERMINATION, both("TERMINATED")]),
    Scenario("TP_C:02-04", "provider started, consumer suspended, consumer started, consumer "
             "completed", "ATPC0204", [
        sent("resume"), TRANSFER_SUSPENSION, got("TransferStartMessage", providerPid=PPID),
        TRANSFER_COMPLETION, both("COMPLETED")]),
    Scenario("TP_C:02-05", "transfer request, consumer terminated", "ATPC0205", [
        TRANSFER_TERMINATION, both("TERMINATED")]),
    Scenario("TP_C:03-01", "transfer request, then a provider completion is refused (4xx)",
             "ATPC0301", [
        sent("complete", expect=400), both("REQUESTED")]),
    Scenario("TP_C:03-02", "transfer request, then a provider suspension is refused (4xx)",
             "ATPC0302", [
        sent("suspend", expect=400), both("REQUESTED")]),
    Scenario("TP_C:03-03", "started, suspended, then a provider completion is refused (4xx)",
             "ATPC0303", [
        sent("start"), sent("suspend"), sent("complete", expect=400), both("SUSPENDED")]),
    Scenario("TP_C:03-04", "started, terminated, then a provider start is refused (4xx)",
             "ATPC0304", [
        sent("start"), sent("terminate"), sent("start", expect=400), both("TERMINATED")]),
    Scenario("TP_C:03-05", "started, terminated, then a provider suspension is refused (4xx)",
             "ATPC0305", [
        sent("start"), sent("terminate"), sent("suspend", expect=400), both("TERMINATED")]),
    Scenario("TP_C:03-06", "started, terminated, then a provider completion is refused (4xx)",
             "ATPC0306", [
        sent("start"), sent("terminate"), sent("complete", expect=400), both("TERMINATED")]),
]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=str)
async def test_scenario(peer: Peer, scenario: Scenario) -> None:
    """The connector, as consumer, plays each TP_C scenario."""
    agreement = scenario.id
    play, request = await connector_requests(
        peer, "transfers", agreement, "TransferRequestMessage", SENDERS,
        agreementId=agreement, format="HttpData-PULL")
    assert request["agreementId"] == agreement
    assert request["format"] == "HttpData-PULL"
    await scenario.play(play)
