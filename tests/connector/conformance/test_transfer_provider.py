"""TP: transfer process scenarios with the connector as provider (the peer consumes).

The seeded agreements' TCK scripts make the connector start, suspend,
complete or terminate as each scenario prescribes.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.connector.conformance.peer import Peer, new_pid

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def _request(peer: Peer, agreement: str) -> tuple[str, str]:
    cpid = new_pid()
    answer = await peer.send(
        "/transfers/request",
        peer.message("TransferRequestMessage", consumerPid=cpid, agreementId=agreement,
                     format="HttpData-PULL", callbackAddress=peer.url),
        expect=201, mine=cpid,
    )
    assert answer["consumerPid"] == cpid
    assert answer["state"] == "REQUESTED"
    return cpid, str(answer["providerPid"])


async def _send(peer: Peer, action: str, message_type: str, cpid: str, ppid: str, *,
                expect: int = 200, **members: Any) -> None:
    await peer.send(f"/transfers/{ppid}/{action}",
                    peer.message(message_type, providerPid=ppid, consumerPid=cpid, **members),
                    expect=expect, mine=cpid)


async def _started(peer: Peer, cpid: str, ppid: str) -> dict[str, Any]:
    start = await peer.expect("TransferStartMessage", consumerPid=cpid)
    assert start["providerPid"] == ppid
    address = start["dataAddress"]
    properties = {p["name"]: p["value"] for p in address["endpointProperties"]}
    assert address["endpoint"].startswith("http")
    assert properties["authType"] == "bearer"
    assert properties["authorization"]
    await peer.connector_state("transfers", ppid, {"STARTED"})
    return dict(start)


async def _both(peer: Peer, cpid: str, ppid: str, state: str) -> None:
    assert await peer.connector_state("transfers", ppid, {state}) == state
    assert peer.states[cpid] == state


async def test_tp_01_01(peer: Peer) -> None:
    """TP:01-01: transfer request, provider started, provider terminated."""
    cpid, ppid = await _request(peer, "ATP0101")
    await _started(peer, cpid, ppid)
    await peer.expect("TransferTerminationMessage", consumerPid=cpid)
    await _both(peer, cpid, ppid, "TERMINATED")


async def test_tp_02_01(peer: Peer) -> None:
    """TP:02-01: transfer request, provider started, consumer terminated."""
    cpid, ppid = await _request(peer, "ATP0201")
    await _started(peer, cpid, ppid)
    await _send(peer, "termination", "TransferTerminationMessage", cpid, ppid, code="done")
    await _both(peer, cpid, ppid, "TERMINATED")


async def test_tp_02_02(peer: Peer) -> None:
    """TP:02-02: transfer request, provider started, provider completed."""
    cpid, ppid = await _request(peer, "ATP0202")
    await _started(peer, cpid, ppid)
    await peer.expect("TransferCompletionMessage", consumerPid=cpid)
    await _both(peer, cpid, ppid, "COMPLETED")


async def test_tp_02_03(peer: Peer) -> None:
    """TP:02-03: provider started, provider suspended, provider terminated."""
    cpid, ppid = await _request(peer, "ATP0203")
    await _started(peer, cpid, ppid)
    await peer.expect("TransferSuspensionMessage", consumerPid=cpid)
    await peer.expect("TransferTerminationMessage", consumerPid=cpid)
    await _both(peer, cpid, ppid, "TERMINATED")


async def test_tp_02_04(peer: Peer) -> None:
    """TP:02-04: provider started, suspended, started again, completed."""
    cpid, ppid = await _request(peer, "ATP0204")
    await _started(peer, cpid, ppid)
    await peer.expect("TransferSuspensionMessage", consumerPid=cpid)
    await _started(peer, cpid, ppid)
    await peer.expect("TransferCompletionMessage", consumerPid=cpid)
    await _both(peer, cpid, ppid, "COMPLETED")


async def test_tp_02_05(peer: Peer) -> None:
    """TP:02-05: transfer request, provider terminated."""
    cpid, ppid = await _request(peer, "ATP0205")
    await peer.expect("TransferTerminationMessage", consumerPid=cpid)
    await _both(peer, cpid, ppid, "TERMINATED")


async def test_tp_03_01(peer: Peer) -> None:
    """TP:03-01: transfer request, then a consumer completion is refused (4xx)."""
    cpid, ppid = await _request(peer, "ATP0301")
    await _send(peer, "completion", "TransferCompletionMessage", cpid, ppid, expect=400)
    await _both(peer, cpid, ppid, "REQUESTED")


async def test_tp_03_02(peer: Peer) -> None:
    """TP:03-02: transfer request, then a consumer suspension is refused (4xx)."""
    cpid, ppid = await _request(peer, "ATP0302")
    await _send(peer, "suspension", "TransferSuspensionMessage", cpid, ppid, expect=400,
                code="pause")
    await _both(peer, cpid, ppid, "REQUESTED")


async def test_tp_03_03(peer: Peer) -> None:
    """TP:03-03: started, consumer suspended, then a consumer completion is refused (4xx)."""
    cpid, ppid = await _request(peer, "ATP0303")
    await _started(peer, cpid, ppid)
    await _send(peer, "suspension", "TransferSuspensionMessage", cpid, ppid, code="pause",
                reason=["maintenance"])
    await _both(peer, cpid, ppid, "SUSPENDED")
    await _send(peer, "completion", "TransferCompletionMessage", cpid, ppid, expect=400)
    await _both(peer, cpid, ppid, "SUSPENDED")


async def test_tp_03_04(peer: Peer) -> None:
    """TP:03-04: started, consumer terminated, then a consumer start is refused (4xx)."""
    cpid, ppid = await _request(peer, "ATP0304")
    await _started(peer, cpid, ppid)
    await _send(peer, "termination", "TransferTerminationMessage", cpid, ppid)
    await _both(peer, cpid, ppid, "TERMINATED")
    await _send(peer, "start", "TransferStartMessage", cpid, ppid, expect=400)
    await _both(peer, cpid, ppid, "TERMINATED")


async def test_tp_03_05(peer: Peer) -> None:
    """TP:03-05: started, consumer terminated, then a consumer suspension is refused (4xx)."""
    cpid, ppid = await _request(peer, "ATP0305")
    await _started(peer, cpid, ppid)
    await _send(peer, "termination", "TransferTerminationMessage", cpid, ppid)
    await _send(peer, "suspension", "TransferSuspensionMessage", cpid, ppid, expect=400)
    await _both(peer, cpid, ppid, "TERMINATED")


async def test_tp_03_06(peer: Peer) -> None:
    """TP:03-06: started, consumer terminated, then a consumer completion is refused (4xx)."""
    cpid, ppid = await _request(peer, "ATP0306")
    await _started(peer, cpid, ppid)
    await _send(peer, "termination", "TransferTerminationMessage", cpid, ppid)
    await _send(peer, "completion", "TransferCompletionMessage", cpid, ppid, expect=400)
    await _both(peer, cpid, ppid, "TERMINATED")
