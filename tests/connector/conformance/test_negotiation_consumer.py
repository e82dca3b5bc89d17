"""CN_C: contract negotiation scenarios with the connector as consumer (the peer provides).

The peer triggers a negotiation through the TCK trigger endpoint; the
connector's TCK script for the dataset decides its consumer moves.
"""

from __future__ import annotations

from typing import Any

import pytest

from connector.tck import offer_id_for
from tests.connector.conformance.peer import PARTICIPANT, TOKEN, Peer, new_pid

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def _start(peer: Peer, dataset: str) -> tuple[str, str]:
    """Trigger the connector; return (consumerPid, providerPid) once its request arrived."""
    assert peer.http is not None
    trigger = {"providerId": PARTICIPANT, "offerId": offer_id_for(dataset),
               "datasetId": dataset, "connectorAddress": peer.url}
    async with peer.http.post(peer.target + "/tck/negotiations", json=trigger,
                              headers={"Authorization": TOKEN}) as resp:
        assert resp.status == 200, await resp.text()
        cpid = str((await resp.json())["consumerPid"])
    request = await peer.expect("ContractRequestMessage", consumerPid=cpid)
    assert request["callbackAddress"] == peer.target
    assert request["offer"]["@id"] == offer_id_for(dataset)
    ppid = peer.provider_pids[cpid]
    await peer.connector_state("negotiations", cpid, {"REQUESTED"})
    return cpid, ppid


def _offer(dataset: str) -> dict[str, Any]:
    return {"@id": new_pid(), "@type": "Offer", "target": dataset,
            "permission": [{"action": "use"}]}


async def _offer_to(peer: Peer, cpid: str, ppid: str, dataset: str, *,
                    expect: int = 200) -> None:
    await peer.send(f"/negotiations/{cpid}/offers",
                    peer.message("ContractOfferMessage", providerPid=ppid, consumerPid=cpid,
                                 offer=_offer(dataset)), expect=expect, mine=ppid)


async def _agree(peer: Peer, cpid: str, ppid: str, dataset: str, *, expect: int = 200) -> None:
    agreement = {"@id": new_pid(), "@type": "Agreement", "target": dataset,
                 "assigner": PARTICIPANT, "assignee": "did:web:cut.example",
                 "timestamp": "2025-01-01T00:00:00Z", "permission": [{"action": "use"}]}
    await peer.send(f"/negotiations/{cpid}/agreement",
                    peer.message("ContractAgreementMessage", providerPid=ppid,
                                 consumerPid=cpid, agreement=agreement),
                    expect=expect, mine=ppid)


async def _finalize(peer: Peer, cpid: str, ppid: str, *, expect: int = 200) -> None:
    await peer.send(f"/negotiations/{cpid}/events",
                    peer.message("ContractNegotiationEventMessage", providerPid=ppid,
                                 consumerPid=cpid, eventType="FINALIZED"),
                    expect=expect, mine=ppid)


async def _terminate(peer: Peer, cpid: str, ppid: str, *, expect: int = 200) -> None:
    await peer.send(f"/negotiations/{cpid}/termination",
                    peer.message("ContractNegotiationTerminationMessage", providerPid=ppid,
                                 consumerPid=cpid, code="provider-says-no",
                                 reason=["not today"]), expect=expect, mine=ppid)


async def _both(peer: Peer, cpid: str, ppid: str, state: str) -> None:
    assert await peer.connector_state("negotiations", cpid, {state}) == state
    assert peer.states[ppid] == state


async def test_cn_c_01_01(peer: Peer) -> None:
    """CN_C:01-01: offer, consumer accepted, provider agreed, consumer verified, finalized."""
    cpid, ppid = await _start(peer, "ACNC0101")
    await _offer_to(peer, cpid, ppid, "ACNC0101")
    event = await peer.expect("ContractNegotiationEventMessage", consumerPid=cpid)
    assert event["eventType"] == "ACCEPTED"
    await _both(peer, cpid, ppid, "ACCEPTED")
    await _agree(peer, cpid, ppid, "ACNC0101")
    await peer.expect("ContractAgreementVerificationMessage", consumerPid=cpid)
    await _both(peer, cpid, ppid, "VERIFIED")
    await _finalize(peer, cpid, ppid)
    await _both(peer, cpid, ppid, "FINALIZED")


async def test_cn_c_01_02(peer: Peer) -> None:
    """CN_C:01-02: offer received, consumer counter-offer, provider terminated."""
    cpid, ppid = await _start(peer, "ACNC0102")
    await _offer_to(peer, cpid, ppid, "ACNC0102")
    counter = await peer.expect("ContractRequestMessage", consumerPid=cpid)
    assert counter["providerPid"] == ppid
    await _both(peer, cpid, ppid, "REQUESTED")
    await _terminate(peer, cpid, ppid)
    await _both(peer, cpid, ppid, "TERMINATED")


async def test_cn_c_01_03(peer: Peer) -> None:
    """CN_C:01-03: offer received, consumer terminated."""
    cpid, ppid = await _start(peer, "ACNC0103")
    await _offer_to(peer, cpid, ppid, "ACNC0103")
    await peer.expect("ContractNegotiationTerminationMessage", consumerPid=cpid)
    await _both(peer, cpid, ppid, "TERMINATED")


async def test_cn_c_01_04(peer: Peer) -> None:
    """CN_C:01-04: provider agreement, consumer verified, provider finalized."""
    cpid, ppid = await _start(peer, "ACNC0104")
    await _agree(peer, cpid, ppid, "ACNC0104")
    await peer.expect("ContractAgreementVerificationMessage", consumerPid=cpid)
    await _both(peer, cpid, ppid, "VERIFIED")
    await _finalize(peer, cpid, ppid)
    await _both(peer, cpid, ppid, "FINALIZED")


async def test_cn_c_02_01(peer: Peer) -> None:
    """CN_C:02-01: contract request, provider terminated."""
    cpid, ppid = await _start(peer, "ACNC0201")
    await _terminate(peer, cpid, ppid)
    await _both(peer, cpid, ppid, "TERMINATED")


async def test_cn_c_02_02(peer: Peer) -> None:
    """CN_C:02-02: contract request, consumer terminated."""
    cpid, ppid = await _start(peer, "ACNC0202")
    termination = await peer.expect("ContractNegotiationTerminationMessage", consumerPid=cpid)
    assert termination["providerPid"] == ppid
    await _both(peer, cpid, ppid, "TERMINATED")


async def test_cn_c_02_03(peer: Peer) -> None:
    """CN_C:02-03: provider agreement, consumer terminated."""
    cpid, ppid = await _start(peer, "ACNC0203")
    await _agree(peer, cpid, ppid, "ACNC0203")
    await peer.expect("ContractNegotiationTerminationMessage", consumerPid=cpid)
    await _both(peer, cpid, ppid, "TERMINATED")


async def test_cn_c_02_04(peer: Peer) -> None:
    """CN_C:02-04: offer received, provider terminated."""
    cpid, ppid = await _start(peer, "ACNC0204")
    await _offer_to(peer, cpid, ppid, "ACNC0204")
    await _both(peer, cpid, ppid, "OFFERED")
    await _terminate(peer, cpid, ppid)
    await _both(peer, cpid, ppid, "TERMINATED")


async def test_cn_c_02_05(peer: Peer) -> None:
    """CN_C:02-05: offer received, consumer accepted, provider terminated."""
    cpid, ppid = await _start(peer, "ACNC0205")
    await _offer_to(peer, cpid, ppid, "ACNC0205")
    await peer.expect("ContractNegotiationEventMessage", consumerPid=cpid)
    await _both(peer, cpid, ppid, "ACCEPTED")
    await _terminate(peer, cpid, ppid)
    await _both(peer, cpid, ppid, "TERMINATED")


async def test_cn_c_02_06(peer: Peer) -> None:
    """CN_C:02-06: provider agreement, consumer verified, provider terminated."""
    cpid, ppid = await _start(peer, "ACNC0206")
    await _agree(peer, cpid, ppid, "ACNC0206")
    await peer.expect("ContractAgreementVerificationMessage", consumerPid=cpid)
    await _both(peer, cpid, ppid, "VERIFIED")
    await _terminate(peer, cpid, ppid)
    await _both(peer, cpid, ppid, "TERMINATED")


async def test_cn_c_03_01(peer: Peer) -> None:
    """CN_C:03-01: contract request, then a FINALIZED event is refused (4xx)."""
    cpid, ppid = await _start(peer, "ACNC0301")
    await _finalize(peer, cpid, ppid, expect=400)
    await _both(peer, cpid, ppid, "REQUESTED")


async def test_cn_c_03_02(peer: Peer) -> None:
    """CN_C:03-02: offer received, then an agreement is refused (4xx)."""
    cpid, ppid = await _start(peer, "ACNC0302")
    await _offer_to(peer, cpid, ppid, "ACNC0302")
    await _agree(peer, cpid, ppid, "ACNC0302", expect=400)
    await _both(peer, cpid, ppid, "OFFERED")


async def test_cn_c_03_03(peer: Peer) -> None:
    """CN_C:03-03: offer received, then a FINALIZED event is refused (4xx)."""
    cpid, ppid = await _start(peer, "ACNC0303")
    await _offer_to(peer, cpid, ppid, "ACNC0303")
    await _finalize(peer, cpid, ppid, expect=400)
    await _both(peer, cpid, ppid, "OFFERED")


async def test_cn_c_03_04(peer: Peer) -> None:
    """CN_C:03-04: offer, consumer accepted, then a FINALIZED event is refused (4xx)."""
    cpid, ppid = await _start(peer, "ACNC0304")
    await _offer_to(peer, cpid, ppid, "ACNC0304")
    await peer.expect("ContractNegotiationEventMessage", consumerPid=cpid)
    await _both(peer, cpid, ppid, "ACCEPTED")
    await _finalize(peer, cpid, ppid, expect=400)
    await _both(peer, cpid, ppid, "ACCEPTED")


async def test_cn_c_03_05(peer: Peer) -> None:
    """CN_C:03-05: offer, consumer accepted, then another offer is refused (4xx)."""
    cpid, ppid = await _start(peer, "ACNC0305")
    await _offer_to(peer, cpid, ppid, "ACNC0305")
    await peer.expect("ContractNegotiationEventMessage", consumerPid=cpid)
    await _both(peer, cpid, ppid, "ACCEPTED")
    await _offer_to(peer, cpid, ppid, "ACNC0305", expect=400)
    await _both(peer, cpid, ppid, "ACCEPTED")


async def test_cn_c_03_06(peer: Peer) -> None:
    """CN_C:03-06: offer, accepted, provider agreed, then a FINALIZED event is refused (4xx)."""
    cpid, ppid = await _start(peer, "ACNC0306")
    await _offer_to(peer, cpid, ppid, "ACNC0306")
    await peer.expect("ContractNegotiationEventMessage", consumerPid=cpid)
    await _agree(peer, cpid, ppid, "ACNC0306")
    await _both(peer, cpid, ppid, "AGREED")
    await _finalize(peer, cpid, ppid, expect=400)
    await _both(peer, cpid, ppid, "AGREED")
