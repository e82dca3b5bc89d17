"""TP: transfer process scenarios with the connector as provider (the peer consumes).

The seeded agreements' TCK scripts make the connector start, suspend,
complete or terminate as each scenario prescribes.
"""

from __future__ import annotations

import pytest

from tests.connector.conformance.peer import Peer
from tests.connector.conformance.scenarios import (
    TRANSFER_COMPLETION,
    TRANSFER_SENDERS,
    TRANSFER_SUSPENSION,
    TRANSFER_TERMINATION,
    Play,
    Scenario,
    both,
    peer_requests,
    sent,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")

#: What the peer, as consumer, sends.
SENDERS = TRANSFER_SENDERS


async def _started(play: Play) -> None:
    """The connector starts the transfer: its start message carries a usable bearer endpoint."""
    start = await play.peer.expect("TransferStartMessage", consumerPid=play.consumer_pid)
    assert start["providerPid"] == play.provider_pid
    address = start["dataAddress"]
    properties = {p["name"]: p["value"] for p in address["endpointProperties"]}
    assert address["endpoint"].startswith("http")
    assert properties["authType"] == "bearer"
    assert properties["authorization"]
    await play.peer.connector_state("transfers", play.provider_pid, {"STARTED"})


SCENARIOS = [
    Scenario("TP:01-01", "transfer request, provider started, provider terminated", "ATP0101", [
        _started, TRANSFER_TERMINATION, both("TERMINATED")]),
    Scenario("TP:02-01", "transfer request, provider started, consumer terminated", "ATP0201", [
        _started, sent("terminate", code="done"), both("TERMINATED")]),
    Scenario("TP:02-02", "transfer request, provider started, provider completed", "ATP0202", [
        _started, TRANSFER_COMPLETION, both("COMPLETED")]),
    Scenario("TP:02-03", "provider started, provider suspended, provider terminated",
             "ATP0203", [
        _started, TRANSFER_SUSPENSION, TRANSFER_TERMINATION, both("TERMINATED")]),
    Scenario("TP:02-04", "provider started, suspended, started again, completed", "ATP0204", [
        _started, TRANSFER_SUSPENSION, _started, TRANSFER_COMPLETION, both("COMPLETED")]),
    Scenario("TP:02-05", "transfer request, provider terminated", "ATP0205", [
        TRANSFER_TERMINATION, both("TERMINATED")]),
    Scenario("TP:03-01", "transfer request, then a consumer completion is refused (4xx)",
             "ATP0301", [
        sent("complete", expect=400), both("REQUESTED")]),
    Scenario("TP:03-02", "transfer request, then a consumer suspension is refused (4xx)",
             "ATP0302", [
        sent("suspend", expect=400, code="pause"), both("REQUESTED")]),
    Scenario("TP:03-03", "started, consumer suspended, then a consumer completion is refused "
             "(4xx)", "ATP0303", [
        _started, sent("suspend", code="pause", reason=["maintenance"]), both("SUSPENDED"),
        sent("complete", expect=400), both("SUSPENDED")]),
    Scenario("TP:03-04", "started, consumer terminated, then a consumer start is refused (4xx)",
             "ATP0304", [
        _started, sent("terminate"), both("TERMINATED"), sent("start", expect=400),
        both("TERMINATED")]),
    Scenario("TP:03-05", "started, consumer terminated, then a consumer suspension is refused "
             "(4xx)", "ATP0305", [
        _started, sent("terminate"), sent("suspend", expect=400), both("TERMINATED")]),
    Scenario("TP:03-06", "started, consumer terminated, then a consumer completion is refused "
             "(4xx)", "ATP0306", [
        _started, sent("terminate"), sent("complete", expect=400), both("TERMINATED")]),
]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=str)
async def test_scenario(peer: Peer, scenario: Scenario) -> None:
    """The connector, as provider, plays each TP scenario."""
    play = await peer_requests(peer, "transfers", scenario.id, "TransferRequestMessage",
                               SENDERS, agreementId=scenario.id, format="HttpData-PULL")
    await scenario.play(play)
