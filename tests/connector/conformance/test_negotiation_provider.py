"""CN: contract negotiation scenarios with the connector as provider (the peer consumes).

Each test requests a contract for a seeded dataset whose TCK script makes the
connector behave as the scenario prescribes, then plays the consumer's part.
"""

from __future__ import annotations

from typing import Any

import pytest

from connector.tck import offer_id_for
from tests.connector.conformance.peer import Peer, new_pid

pytestmark = pytest.mark.asyncio(loop_scope="module")


def _offer(dataset: str) -> dict[str, Any]:
    return {"@id": offer_id_for(dataset), "@type": "Offer", "target": dataset,
            "permission": [{"action": "use"}]}


async def _request(peer: Peer, dataset: str) -> tuple[str, str]:
    consumer_pid = new_pid()
    answer = await peer.send(
        "/negotiations/request",
        peer.message("ContractRequestMessage", consumerPid=consumer_pid,
                     offer=_offer(dataset), callbackAddress=peer.url),
        expect=201, mine=consumer_pid,
    )
    assert answer["consumerPid"] == consumer_pid
    assert answer["state"] == "REQUESTED"
    return consumer_pid, str(answer["providerPid"])


def _pids(cpid: str, ppid: str) -> dict[str, str]:
    return {"consumerPid": cpid, "providerPid": ppid}


async def _send(peer: Peer, path: str, message_type: str, cpid: str, ppid: str, *,
                expect: int = 200, **members: Any) -> dict[str, Any]:
    return await peer.send(path.format(ppid=ppid),
                           peer.message(message_type, **_pids(cpid, ppid), **members),
                           expect=expect, mine=cpid)


async def _terminate(peer: Peer, cpid: str, ppid: str, *, expect: int = 200) -> None:
    await _send(peer, "/negotiations/{ppid}/termination", "ContractNegotiationTerminationMessage",
                cpid, ppid, expect=expect, code="peer-says-no", reason=["changed our mind"])


async def _accept(peer: Peer, cpid: str, ppid: str, *, expect: int = 200) -> None:
    await _send(peer, "/negotiations/{ppid}/events", "ContractNegotiationEventMessage",
                cpid, ppid, expect=expect, eventType="ACCEPTED")


async def _verify(peer: Peer, cpid: str, ppid: str, *, expect: int = 200) -> None:
    await _send(peer, "/negotiations/{ppid}/agreement/verification",
                "ContractAgreementVerificationMessage", cpid, ppid, expect=expect)


async def _counter(peer: Peer, cpid: str, ppid: str, dataset: str, *,
                   expect: int = 200) -> None:
    await _send(peer, "/negotiations/{ppid}/request", "ContractRequestMessage", cpid, ppid,
                expect=expect, offer=_offer(dataset))


async def _both(peer: Peer, cpid: str, ppid: str, state: str) -> None:
    assert await peer.connector_state("negotiations", ppid, {state}) == state
    assert peer.states[cpid] == state


async def test_cn_01_01(peer: Peer) -> None:
    """CN:01-01: contract request, offer received, consumer terminated."""
    cpid, ppid = await _request(peer, "ACN0101")
    offer = await peer.expect("ContractOfferMessage", consumerPid=cpid)
    assert offer["providerPid"] == ppid
    assert offer["offer"]["target"] == "ACN0101"
    await peer.connector_state("negotiations", ppid, {"OFFERED"})
    await _terminate(peer, cpid, ppid)
    await _both(peer, cpid, ppid, "TERMINATED")


async def test_cn_01_02(peer: Peer) -> None:
    """CN:01-02: contract request, offer received, consumer counter-offer, provider terminated."""
    cpid, ppid = await _request(peer, "ACN0102")
    await peer.expect("ContractOfferMessage", consumerPid=cpid)
    await peer.connector_state("negotiations", ppid, {"OFFERED"})
    await _counter(peer, cpid, ppid, "ACN0102")
    await peer.expect("ContractNegotiationTerminationMessage", consumerPid=cpid)
    await _both(peer, cpid, ppid, "TERMINATED")


async def test_cn_01_03(peer: Peer) -> None:
    """CN:01-03: offer, consumer accepted, provider agreement, consumer verified, finalized."""
    cpid, ppid = await _request(peer, "ACN0103")
    await peer.expect("ContractOfferMessage", consumerPid=cpid)
    await peer.connector_state("negotiations", ppid, {"OFFERED"})
    await _accept(peer, cpid, ppid)
    agreement = await peer.expect("ContractAgreementMessage", consumerPid=cpid)
    assert agreement["agreement"]["target"] == "ACN0103"
    assert agreement["agreement"]["assignee"] == "TCK_PARTICIPANT"
    await _verify(peer, cpid, ppid)
    event = await peer.expect("ContractNegotiationEventMessage", consumerPid=cpid)
    assert event["eventType"] == "FINALIZED"
    await _both(peer, cpid, ppid, "FINALIZED")


async def test_cn_01_04(peer: Peer) -> None:
    """CN:01-04: contract request, provider agreement, consumer verified, provider finalized."""
    cpid, ppid = await _request(peer, "ACN0104")
    await peer.expect("ContractAgreementMessage", consumerPid=cpid)
    await peer.connector_state("negotiations", ppid, {"AGREED"})
    await _verify(peer, cpid, ppid)
    await peer.expect("ContractNegotiationEventMessage", consumerPid=cpid)
    await _both(peer, cpid, ppid, "FINALIZED")


async def test_cn_02_01(peer: Peer) -> None:
    """CN:02-01: contract request, provider terminated."""
    cpid, ppid = await _request(peer, "ACN0201")
    await peer.expect("ContractNegotiationTerminationMessage", consumerPid=cpid)
    await _both(peer, cpid, ppid, "TERMINATED")


async def test_cn_02_02(peer: Peer) -> None:
    """CN:02-02: contract request, consumer terminated."""
    cpid, ppid = await _request(peer, "ACN0202")
    await _terminate(peer, cpid, ppid)
    await _both(peer, cpid, ppid, "TERMINATED")


async def test_cn_02_03(peer: Peer) -> None:
    """CN:02-03: contract request, provider agreement, consumer terminated."""
    cpid, ppid = await _request(peer, "ACN0203")
    await peer.expect("ContractAgreementMessage", consumerPid=cpid)
    await peer.connector_state("negotiations", ppid, {"AGREED"})
    await _terminate(peer, cpid, ppid)
    await _both(peer, cpid, ppid, "TERMINATED")


async def test_cn_02_04(peer: Peer) -> None:
    """CN:02-04: contract request, offer received, consumer terminated."""
    cpid, ppid = await _request(peer, "ACN0204")
    await peer.expect("ContractOfferMessage", consumerPid=cpid)
    await peer.connector_state("negotiations", ppid, {"OFFERED"})
    await _terminate(peer, cpid, ppid)
    await _both(peer, cpid, ppid, "TERMINATED")


async def test_cn_02_05(peer: Peer) -> None:
    """CN:02-05: contract request, offer received, provider terminated."""
    cpid, ppid = await _request(peer, "ACN0205")
    await peer.expect("ContractOfferMessage", consumerPid=cpid)
    await peer.expect("ContractNegotiationTerminationMessage", consumerPid=cpid)
    await _both(peer, cpid, ppid, "TERMINATED")


async def test_cn_02_06(peer: Peer) -> None:
    """CN:02-06: contract request, offer received, consumer accepted, provider terminated."""
    cpid, ppid = await _request(peer, "ACN0206")
    await peer.expect("ContractOfferMessage", consumerPid=cpid)
    await peer.connector_state("negotiations", ppid, {"OFFERED"})
    await _accept(peer, cpid, ppid)
    await peer.expect("ContractNegotiationTerminationMessage", consumerPid=cpid)
    await _both(peer, cpid, ppid, "TERMINATED")


async def test_cn_02_07(peer: Peer) -> None:
    """CN:02-07: contract request, provider agreement, consumer verified, provider terminated."""
    cpid, ppid = await _request(peer, "ACN0207")
    await peer.expect("ContractAgreementMessage", consumerPid=cpid)
    await peer.connector_state("negotiations", ppid, {"AGREED"})
    await _verify(peer, cpid, ppid)
    await peer.expect("ContractNegotiationTerminationMessage", consumerPid=cpid)
    await _both(peer, cpid, ppid, "TERMINATED")


async def test_cn_03_01(peer: Peer) -> None:
    """CN:03-01: ... provider finalized, then a consumer termination is refused (4xx)."""
    cpid, ppid = await _request(peer, "ACN0301")
    await peer.expect("ContractAgreementMessage", consumerPid=cpid)
    await peer.connector_state("negotiations", ppid, {"AGREED"})
    await _verify(peer, cpid, ppid)
    await peer.expect("ContractNegotiationEventMessage", consumerPid=cpid)
    await _both(peer, cpid, ppid, "FINALIZED")
    await _terminate(peer, cpid, ppid, expect=400)
    await _both(peer, cpid, ppid, "FINALIZED")


async def test_cn_03_02(peer: Peer) -> None:
    """CN:03-02: offer received, then a consumer verification is refused (4xx)."""
    cpid, ppid = await _request(peer, "ACN0302")
    await peer.expect("ContractOfferMessage", consumerPid=cpid)
    await peer.connector_state("negotiations", ppid, {"OFFERED"})
    await _verify(peer, cpid, ppid, expect=400)
    await _both(peer, cpid, ppid, "OFFERED")


async def test_cn_03_03(peer: Peer) -> None:
    """CN:03-03: offer received, consumer accepted, then a verification is refused (4xx)."""
    cpid, ppid = await _request(peer, "ACN0303")
    await peer.expect("ContractOfferMessage", consumerPid=cpid)
    await peer.connector_state("negotiations", ppid, {"OFFERED"})
    await _accept(peer, cpid, ppid)
    await _verify(peer, cpid, ppid, expect=400)
    await _both(peer, cpid, ppid, "ACCEPTED")


async def test_cn_03_04(peer: Peer) -> None:
    """CN:03-04: offer received, consumer counter-offer twice: the second is refused (4xx)."""
    cpid, ppid = await _request(peer, "ACN0304")
    await peer.expect("ContractOfferMessage", consumerPid=cpid)
    await peer.connector_state("negotiations", ppid, {"OFFERED"})
    await _counter(peer, cpid, ppid, "ACN0304")
    await _counter(peer, cpid, ppid, "ACN0304", expect=400)
    await _both(peer, cpid, ppid, "REQUESTED")
