"""Addresses and paging are checked when a request arrives; a peer's 4xx stays a 4xx.

A DSP ``callbackAddress`` the guarded client would refuse is a 400 in the
DSP error shape when the message arrives (nothing is stored, nothing is
retried later). An unusable ``counterparty_address`` given to the management
API is a 400, not a 500 or a 502; a peer's refusal comes back with the
peer's status family and answer, and only a failing peer is a 502.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio

from connector.settings import AuthSettings, FixedCaller
from servicekit.errors import InvalidRequest
from tests.conftest import free_port
from tests.connector.conftest import StoreFactory
from tests.connector.harness import (
    HALDEN_APPLICATION,
    RunningConnector,
    halden_at_a_trust_anchor,
    start_connector,
    start_trust_anchor,
)
from tests.factories import connector_settings

pytestmark = pytest.mark.asyncio(loop_scope="module")

CONTEXT = ["https://w3id.org/dspace/2025/1/context.jsonld"]
TCK = {"Authorization": "tck-token"}
#: Addresses the guarded client refuses even in development (loopback is allowed there).
REFUSED = ["http://10.0.0.1/dsp", "http://169.254.169.254/latest", "http://[fd00::1]/dsp"]
#: Addresses no HTTP client can connect to as written.
UNPARSABLE = ["http://127.0.0.1:94x/dsp", "http://[::1/dsp", "https://{", "http://a b/dsp"]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def cut(module_stores: StoreFactory,
              tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[RunningConnector]:
    """A TCK-mode connector (seeded ids) that calls itself as the TCK caller."""
    running = await start_connector(connector_settings(
        "addresses", tmp_path_factory.mktemp("addresses"), module_stores(),
        outbound_token="tck-token", tck={"enabled": True}))
    yield running
    await running.stop()


async def _dsp(http: aiohttp.ClientSession, cut: RunningConnector, path: str,
               body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    async with http.post(cut.dsp_url + path, data=json.dumps(body),
                         headers={"Content-Type": "application/json", **TCK}) as resp:
        return resp.status, dict(await resp.json())


async def _management(http: aiohttp.ClientSession, cut: RunningConnector, method: str,
                      path: str, body: Any = None) -> tuple[int, dict[str, Any]]:
    async with http.request(method, cut.management_url + path, json=body,
                            headers=cut.admin_headers) as resp:
        answer = dict(await resp.json())
        if resp.status >= 400:
            assert resp.content_type == "application/problem+json", answer
        return resp.status, answer


def _contract_request(callback: str, dataset: str = "ACN0101") -> dict[str, Any]:
    """A consumer's first ContractRequestMessage for a seeded dataset, answering to ``callback``."""
    return {"@context": CONTEXT, "@type": "ContractRequestMessage",
            "consumerPid": f"urn:uuid:{uuid.uuid4()}", "callbackAddress": callback,
            "offer": {"@id": f"CD123:{dataset}:456", "@type": "Offer", "target": dataset,
                      "permission": [{"action": "use"}]}}


async def _count(http: aiohttp.ClientSession, cut: RunningConnector, kind: str) -> int:
    status, body = await _management(http, cut, "GET", f"/api/v1/{kind}?limit=500")
    assert status == 200, body
    return len(body["items"])


# --- DSP callbackAddress ---------------------------------------------------------------


@pytest.mark.parametrize("callback", REFUSED)
async def test_a_contract_request_with_a_refused_callback_is_a_400_and_stores_nothing(
    cut: RunningConnector, http: aiohttp.ClientSession, callback: str
) -> None:
    before = await _count(http, cut, "negotiations")
    status, body = await _dsp(http, cut, "/negotiations/request", _contract_request(callback))
    assert status == 400, body
    assert body["@type"] == "ContractNegotiationError"
    assert body["code"] == "callback-address-refused"
    assert await _count(http, cut, "negotiations") == before


@pytest.mark.parametrize(("callback", "code"), [
    (UNPARSABLE[0], "callback-address-invalid"),
    (UNPARSABLE[1], "callback-address-invalid"),
    (REFUSED[0], "callback-address-refused"),
])
async def test_a_provider_offer_with_an_unusable_callback_is_a_400(
    cut: RunningConnector, http: aiohttp.ClientSession, callback: str, code: str
) -> None:
    before = await _count(http, cut, "negotiations")
    status, body = await _dsp(http, cut, "/negotiations/offers", {
        "@context": CONTEXT, "@type": "ContractOfferMessage",
        "providerPid": f"urn:uuid:{uuid.uuid4()}", "callbackAddress": callback,
        "offer": {"@id": "o", "@type": "Offer", "target": "ACN0202",
                  "permission": [{"action": "use"}]}})
    assert (status, body["code"]) == (400, code), body
    assert await _count(http, cut, "negotiations") == before


@pytest.mark.parametrize("callback", [*REFUSED, UNPARSABLE[0]])
async def test_a_transfer_request_with_an_unusable_callback_is_a_400(
    cut: RunningConnector, http: aiohttp.ClientSession, callback: str
) -> None:
    before = await _count(http, cut, "transfers")
    status, body = await _dsp(http, cut, "/transfers/request", {
        "@context": CONTEXT, "@type": "TransferRequestMessage",
        "consumerPid": f"urn:uuid:{uuid.uuid4()}", "agreementId": "ATP0201",
        "format": "HttpData-PULL", "callbackAddress": callback})
    assert status == 400, body
    assert body["@type"] == "TransferError"
    assert body["code"] in ("callback-address-refused", "callback-address-invalid")
    assert await _count(http, cut, "transfers") == before


async def test_a_callback_whose_host_does_not_exist_is_a_400(
    cut: RunningConnector, http: aiohttp.ClientSession
) -> None:
    # .invalid never resolves (RFC 6761): the messages to it could never be delivered.
    status, body = await _dsp(http, cut, "/negotiations/request",
                               _contract_request("http://peer.invalid/dsp"))
    assert (status, body["code"]) == (400, "callback-address-unresolvable"), body


async def test_a_loopback_callback_is_still_accepted_in_development(
    cut: RunningConnector, http: aiohttp.ClientSession
) -> None:
    status, body = await _dsp(http, cut, "/negotiations/request",
                               _contract_request("http://127.0.0.1:9/cb", "ACN0202"))
    assert status == 201, body


# --- management: paging and peer addresses ---------------------------------------------


@pytest.mark.parametrize("kind", ["agreements", "credentials", "policies", "offers",
                                  "negotiations", "transfers", "datasets"])
async def test_an_offset_beyond_any_sql_integer_is_a_400(
    cut: RunningConnector, http: aiohttp.ClientSession, kind: str
) -> None:
    for offset in ("9223372036854775808", "2147483648", "-1"):
        status, body = await _management(http, cut, "GET", f"/api/v1/{kind}?offset={offset}")
        assert (status, body["code"]) == (400, "paging-invalid"), (offset, body)
    status, body = await _management(http, cut, "GET", f"/api/v1/{kind}?offset=2147483647")
    assert status == 200, body


def _remote_calls(address: str) -> list[tuple[str, dict[str, Any]]]:
    return [
        ("/api/v1/catalog/request", {"counterparty_address": address}),
        ("/api/v1/catalog/dataset", {"counterparty_address": address, "dataset_id": "ACN0101"}),
        ("/api/v1/negotiations", {"counterparty_address": address, "dataset_id": "ACN0101"}),
    ]


@pytest.mark.parametrize("address", UNPARSABLE)
async def test_an_unparsable_counterparty_address_is_a_400(
    cut: RunningConnector, http: aiohttp.ClientSession, address: str
) -> None:
    before = await _count(http, cut, "negotiations")
    for path, body in _remote_calls(address):
        status, answer = await _management(http, cut, "POST", path, body)
        assert (status, answer["code"]) == (400, "counterparty-address-invalid"), (path, answer)
    assert await _count(http, cut, "negotiations") == before


@pytest.mark.parametrize("address", REFUSED)
async def test_a_counterparty_address_the_client_refuses_is_a_400(
    cut: RunningConnector, http: aiohttp.ClientSession, address: str
) -> None:
    for path, body in _remote_calls(address):
        status, answer = await _management(http, cut, "POST", path, body)
        assert (status, answer["code"]) == (400, "counterparty-address-refused"), (path, answer)
    status, answer = await _management(http, cut, "POST", "/api/v1/catalog/request", {
        "counterparty_address": cut.dsp_url, "continuation": address + "/catalog/request"})
    assert (status, answer["code"]) == (400, "counterparty-address-refused"), answer


async def test_a_peer_that_says_not_found_is_a_404_with_its_answer(
    cut: RunningConnector, http: aiohttp.ClientSession
) -> None:
    status, answer = await _management(http, cut, "POST", "/api/v1/catalog/dataset", {
        "counterparty_address": cut.dsp_url, "counterparty_id": "did:web:addresses.example",
        "dataset_id": "urn:nowhere"})
    assert status == 404, answer
    assert answer["code"] == "dataset-request-failed"
    assert answer["upstream_status"] == 404
    assert answer["upstream_code"]
    assert answer["upstream_detail"]


async def test_a_peer_that_cannot_be_reached_is_still_a_502(
    cut: RunningConnector, http: aiohttp.ClientSession
) -> None:
    status, answer = await _management(http, cut, "POST", "/api/v1/catalog/request", {
        "counterparty_address": f"http://127.0.0.1:{free_port()}/dsp",
        "counterparty_id": "did:web:gone.example"})
    assert (status, answer["code"]) == (502, "peer-unreachable"), answer


# --- the trust anchor's answer ----------------------------------------------------------


#: Halden's connector answers one fixed token (these tests use no DSP caller).
FIXED = AuthSettings(mode="fixed-token", tokens={"t": FixedCaller(id="did:web:x")})


async def test_an_application_the_trust_anchor_already_has_is_a_409_with_its_answer(
    stores: StoreFactory, tmp_path: Path, http: aiohttp.ClientSession,
) -> None:
    ta = await start_trust_anchor(tmp_path, stores())
    # The same name, port and key folder: the same did:web, whatever the database.
    first = ta.member(tmp_path, stores(), FIXED, port=free_port())
    connector = await start_connector(first)
    try:
        await connector.api(http, "POST", "/api/v1/membership/apply", expect=201,
                            json=HALDEN_APPLICATION)
        await connector.stop()
        # The owner starts over on a fresh database: the trust anchor still has the
        # application of this DID, and says so. That is the caller's conflict, not a 502.
        connector = await start_connector(ta.member(tmp_path, stores(), FIXED, port=first.port))
        status, answer = await _management(http, connector, "POST", "/api/v1/membership/apply",
                                           HALDEN_APPLICATION)
        assert status == 409, answer
        assert answer["code"] == "trust-anchor-refused"
        assert answer["upstream_status"] == 409
        assert answer["upstream_code"] == "application-exists"
        assert "already has an application" in answer["detail"]
    finally:
        await connector.stop()
        await ta.close()


async def test_a_wrong_transaction_code_is_a_400_with_the_issuers_oauth_error(
    stores: StoreFactory, tmp_path: Path, http: aiohttp.ClientSession,
) -> None:
    async with halden_at_a_trust_anchor(tmp_path, stores, FIXED) as (ta, connector):
        approved = await ta.approve(http, connector)
        wrong = "0" * len(approved["tx_code"])
        assert wrong != approved["tx_code"]
        status, answer = await _management(http, connector, "POST", "/api/v1/membership/collect",
                                           {"via": "oid4vci", "tx_code": wrong})
    assert status == 400, answer
    assert answer["code"] == "issuance-failed"
    assert answer["upstream_code"] == answer["oauth_error"] == "invalid_grant"
    assert answer["upstream_status"] == 400
    assert "transaction code" in answer["detail"]


async def test_in_dcp_mode_an_unparsable_address_is_a_400_not_a_participant_lookup(
    stores: StoreFactory, tmp_path: Path, http: aiohttp.ClientSession,
) -> None:
    async with halden_at_a_trust_anchor(tmp_path, stores,
                                        AuthSettings(mode="dcp")) as (_, connector):
        for address in UNPARSABLE:
            for path, body in _remote_calls(address):
                status, answer = await _management(http, connector, "POST", path, body)
                assert (status, answer["code"]) == (400, "counterparty-address-invalid"), (
                    path, answer)
        # The DCP seam itself refuses such an address too, instead of failing inside.
        lookup = connector.plane.auth.participant_id
        assert lookup is not None
        for address in UNPARSABLE:
            with pytest.raises(InvalidRequest) as refused:
                await lookup(address)
            assert refused.value.code == "counterparty-address-invalid"
