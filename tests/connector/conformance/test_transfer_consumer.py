"""TP_C: transfer process scenarios with the connector as consumer (the peer provides).

The peer triggers a transfer under a seeded consumer agreement; the
agreement's TCK script decides the connector's consumer moves.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.connector.conformance.peer import PARTICIPANT, TOKEN, Peer

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


async def _start(peer: Peer, agreement: str) -> tuple[str, str]:
    assert peer.http is not None
    trigger = {"providerId": PARTICIPANT, "agreementId": agreement, "format": "HttpData-PULL",
               "connectorAddress": peer.url}
    async with peer.http.post(peer.target + "/tck/transfers", json=trigger,
                              headers={"Authorization": TOKEN}) as resp:
        assert resp.status == 200, await resp.text()
        cpid = str((await resp.json())["consumerPid"])
    request = await peer.expect("TransferRequestMessage", consumerPid=cpid)
    assert request["agreementId"] == agreement
    assert request["format"] == "HttpData-PULL"
    await peer.connector_state("transfers", cpid, {"REQUESTED"})
    return cpid, peer.provider_pids[cpid]


async def _send(peer: Peer, action: str, message_type: str, cpid: str, ppid: str, *,
                expect: int = 200, **members: Any) -> None:
    await peer.send(f"/transfers/{cpid}/{action}",
                    peer.message(message_type, providerPid=ppid, consumerPid=cpid, **members),
                    expect=expect, mine=ppid)


async def _start_transfer(peer: Peer, cpid: str, ppid: str, *, expect: int = 200,
                          address: bool = True) -> None:
    members = {"dataAddress": _ADDRESS} if address else {}
    await _send(peer, "start", "TransferStartMessage", cpid, ppid, expect=expect, **members)


async def _both(peer: Peer, cpid: str, ppid: str, state: str) -> None:
    assert await peer.connector_state("transfers", cpid, {state}) == state
    assert peer.states[ppid] == state


async def test_tp_c_01_01(peer: Peer) -> None:
    """TP_C:01-01: transfer request, provider started, provider terminated."""
    cpid, ppid = await _start(peer, "ATPC0101")
    await _start_transfer(peer, cpid, ppid)
    await _both(peer, cpid, ppid, "STARTED")
    await _send(peer, "termination", "TransferTerminationMessage", cpid, ppid, code="end")
    await _both(peer, cpid, ppid, "TERMINATED")


async def test_tp_c_01_02(peer: Peer) -> None:
    """TP_C:01-02: transfer request, provider started, provider completed."""
    cpid, ppid = await _start(peer, "ATPC0102")
    await _start_transfer(peer, cpid, ppid)
    await _both(peer, cpid, ppid, "STARTED")
    await _send(peer, "completion", "TransferCompletionMessage", cpid, ppid)
    await _both(peer, cpid, ppid, "COMPLETED")


async def test_tp_c_01_03(peer: Peer) -> None:
    """TP_C:01-03: provider started, provider suspended, provider terminated."""
    cpid, ppid = await _start(peer, "ATPC0103")
    await _start_transfer(peer, cpid, ppid)
    await _send(peer, "suspension", "TransferSuspensionMessage", cpid, ppid, code="pause")
    await _both(peer, cpid, ppid, "SUSPENDED")
    await _send(peer, "termination", "TransferTerminationMessage", cpid, ppid)
    await _both(peer, cpid, ppid, "TERMINATED")


async def test_tp_c_01_04(peer: Peer) -> None:
    """TP_C:01-04: provider started, suspended, started again, completed."""
    cpid, ppid = await _start(peer, "ATPC0104")
    await _start_transfer(peer, cpid, ppid)
    await _send(peer, "suspension", "TransferSuspensionMessage", cpid, ppid)
    await _both(peer, cpid, ppid, "SUSPENDED")
    await _start_transfer(peer, cpid, ppid)
    await _both(peer, cpid, ppid, "STARTED")
    await _send(peer, "completion", "TransferCompletionMessage", cpid, ppid)
    await _both(peer, cpid, ppid, "COMPLETED")


async def test_tp_c_01_05(peer: Peer) -> None:
    """TP_C:01-05: transfer request, provider terminated."""
    cpid, ppid = await _start(peer, "ATPC0105")
    await _send(peer, "termination", "TransferTerminationMessage", cpid, ppid)
    await _both(peer, cpid, ppid, "TERMINATED")


async def test_tp_c_02_01(peer: Peer) -> None:
    """TP_C:02-01: provider started, consumer terminated."""
    cpid, ppid = await _start(peer, "ATPC0201")
    await _start_transfer(peer, cpid, ppid)
    await peer.expect("TransferTerminationMessage", consumerPid=cpid)
    await _both(peer, cpid, ppid, "TERMINATED")


async def test_tp_c_02_02(peer: Peer) -> None:
    """TP_C:02-02: provider started, consumer completed."""
    cpid, ppid = await _start(peer, "ATPC0202")
    await _start_transfer(peer, cpid, ppid)
    await peer.expect("TransferCompletionMessage", consumerPid=cpid)
    await _both(peer, cpid, ppid, "COMPLETED")


async def test_tp_c_02_03(peer: Peer) -> None:
    """TP_C:02-03: provider started, consumer suspended, consumer terminated."""
    cpid, ppid = await _start(peer, "ATPC0203")
    await _start_transfer(peer, cpid, ppid)
    await peer.expect("TransferSuspensionMessage", consumerPid=cpid)
    await peer.expect("TransferTerminationMessage", consumerPid=cpid)
    await _both(peer, cpid, ppid, "TERMINATED")


async def test_tp_c_02_04(peer: Peer) -> None:
    """TP_C:02-04: provider started, consumer suspended, consumer started, consumer completed."""
    cpid, ppid = await _start(peer, "ATPC0204")
    await _start_transfer(peer, cpid, ppid, address=False)
    await peer.expect("TransferSuspensionMessage", consumerPid=cpid)
    resume = await peer.expect("TransferStartMessage", consumerPid=cpid)
    assert resume["providerPid"] == ppid
    await peer.expect("TransferCompletionMessage", consumerPid=cpid)
    await _both(peer, cpid, ppid, "COMPLETED")


async def test_tp_c_02_05(peer: Peer) -> None:
    """TP_C:02-05: transfer request, consumer terminated."""
    cpid, ppid = await _start(peer, "ATPC0205")
    await peer.expect("TransferTerminationMessage", consumerPid=cpid)
    await _both(peer, cpid, ppid, "TERMINATED")


async def test_tp_c_03_01(peer: Peer) -> None:
    """TP_C:03-01: transfer request, then a provider completion is refused (4xx)."""
    cpid, ppid = await _start(peer, "ATPC0301")
    await _send(peer, "completion", "TransferCompletionMessage", cpid, ppid, expect=400)
    await _both(peer, cpid, ppid, "REQUESTED")


async def test_tp_c_03_02(peer: Peer) -> None:
    """TP_C:03-02: transfer request, then a provider suspension is refused (4xx)."""
    cpid, ppid = await _start(peer, "ATPC0302")
    await _send(peer, "suspension", "TransferSuspensionMessage", cpid, ppid, expect=400)
    await _both(peer, cpid, ppid, "REQUESTED")


async def test_tp_c_03_03(peer: Peer) -> None:
    """TP_C:03-03: started, suspended, then a provider completion is refused (4xx)."""
    cpid, ppid = await _start(peer, "ATPC0303")
    await _start_transfer(peer, cpid, ppid)
    await _send(peer, "suspension", "TransferSuspensionMessage", cpid, ppid)
    await _send(peer, "completion", "TransferCompletionMessage", cpid, ppid, expect=400)
    await _both(peer, cpid, ppid, "SUSPENDED")


async def test_tp_c_03_04(peer: Peer) -> None:
    """TP_C:03-04: started, terminated, then a provider start is refused (4xx)."""
    cpid, ppid = await _start(peer, "ATPC0304")
    await _start_transfer(peer, cpid, ppid)
    await _send(peer, "termination", "TransferTerminationMessage", cpid, ppid)
    await _start_transfer(peer, cpid, ppid, expect=400)
    await _both(peer, cpid, ppid, "TERMINATED")


async def test_tp_c_03_05(peer: Peer) -> None:
    """TP_C:03-05: started, terminated, then a provider suspension is refused (4xx)."""
    cpid, ppid = await _start(peer, "ATPC0305")
    await _start_transfer(peer, cpid, ppid)
    await _send(peer, "termination", "TransferTerminationMessage", cpid, ppid)
    await _send(peer, "suspension", "TransferSuspensionMessage", cpid, ppid, expect=400)
    await _both(peer, cpid, ppid, "TERMINATED")


async def test_tp_c_03_06(peer: Peer) -> None:
    """TP_C:03-06: started, terminated, then a provider completion is refused (4xx)."""
    cpid, ppid = await _start(peer, "ATPC0306")
    await _start_transfer(peer, cpid, ppid)
    await _send(peer, "termination", "TransferTerminationMessage", cpid, ppid)
    await _send(peer, "completion", "TransferCompletionMessage", cpid, ppid, expect=400)
    await _both(peer, cpid, ppid, "TERMINATED")
