"""Bad input on every DSP endpoint: the protocol's error body, a stable code, nothing changed."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import pytest_asyncio

from connector.protocol.schemas import SchemaValidator
from connector.settings import FixedCaller
from tests.conftest import SHARED
from tests.connector.conftest import StoreFactory
from tests.connector.harness import RunningConnector, start_connector
from tests.factories import connector_settings

pytestmark = pytest.mark.asyncio(loop_scope="module")

CONTEXT = ["https://w3id.org/dspace/2025/1/context.jsonld"]
TCK = {"Authorization": "tck-token"}
OTHER = {"Authorization": "Bearer other-token"}
OFFICIAL = SchemaValidator(SHARED / "specs" / "dsp-2025-1")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def cut(module_stores: StoreFactory,
              tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[RunningConnector]:
    """A TCK-mode connector (seeded ids) that also knows a second caller."""
    running = await start_connector(connector_settings(
        "errors", tmp_path_factory.mktemp("errors"), module_stores(),
        tokens={"other-token": FixedCaller(id="did:web:other.example")},
        tck={"enabled": True},
    ))
    yield running
    await running.stop()


async def _call(http: aiohttp.ClientSession, cut: RunningConnector, method: str, path: str, *,
                body: Any = None, raw: bytes | None = None, headers: dict[str, str] | None = None,
                status: int, error_type: str, code: str | None = None) -> dict[str, Any]:
    data = raw if raw is not None else (None if body is None else json.dumps(body))
    async with http.request(method, cut.dsp_url + path, data=data,
                            headers={"Content-Type": "application/json", **(headers or TCK)}
                            ) as resp:
        answer = await resp.json()
        assert resp.status == status, answer
    assert answer["@type"] == error_type, answer
    assert OFFICIAL.errors(answer, error_type) == []
    if code is not None:
        assert answer["code"] == code, answer
    assert answer["reason"]
    return dict(answer)


def _msg(message_type: str, **members: Any) -> dict[str, Any]:
    return {"@context": CONTEXT, "@type": message_type, **members}


async def _negotiation(http: aiohttp.ClientSession, cut: RunningConnector,
                       dataset: str = "ACN0202") -> tuple[str, str]:
    """A provider-side negotiation for the TCK caller that stays REQUESTED."""
    cpid = f"urn:uuid:{uuid.uuid4()}"
    async with http.post(cut.dsp_url + "/negotiations/request", headers=TCK, json=_msg(
        "ContractRequestMessage", consumerPid=cpid, callbackAddress="http://127.0.0.1:9/cb",
        offer={"@id": f"CD123:{dataset}:456", "@type": "Offer", "target": dataset,
               "permission": [{"action": "use"}]})) as resp:
        assert resp.status == 201
        return cpid, str((await resp.json())["providerPid"])


async def _state(http: aiohttp.ClientSession, cut: RunningConnector, kind: str,
                 pid: str) -> str:
    async with http.get(f"{cut.dsp_url}/{kind}/{pid}", headers=TCK) as resp:
        return str((await resp.json())["state"])


async def _count(cut: RunningConnector, http: aiohttp.ClientSession, kind: str) -> int:
    body = await cut.api(http, "GET", f"/api/v1/{kind}?limit=500", expect=200)
    return len(body["items"])


# --- authentication -------------------------------------------------------------------

@pytest.mark.parametrize(("method", "path", "error_type"), [
    ("POST", "/catalog/request", "CatalogError"),
    ("GET", "/catalog/datasets/CAT0101", "CatalogError"),
    ("GET", "/negotiations/urn:x", "ContractNegotiationError"),
    ("POST", "/negotiations/request", "ContractNegotiationError"),
    ("POST", "/negotiations/urn:x/request", "ContractNegotiationError"),
    ("POST", "/negotiations/urn:x/events", "ContractNegotiationError"),
    ("POST", "/negotiations/urn:x/agreement/verification", "ContractNegotiationError"),
    ("POST", "/negotiations/urn:x/termination", "ContractNegotiationError"),
    ("POST", "/negotiations/offers", "ContractNegotiationError"),
    ("POST", "/negotiations/urn:x/offers", "ContractNegotiationError"),
    ("POST", "/negotiations/urn:x/agreement", "ContractNegotiationError"),
    ("GET", "/transfers/urn:x", "TransferError"),
    ("POST", "/transfers/request", "TransferError"),
    ("POST", "/transfers/urn:x/start", "TransferError"),
    ("POST", "/transfers/urn:x/completion", "TransferError"),
    ("POST", "/transfers/urn:x/suspension", "TransferError"),
    ("POST", "/transfers/urn:x/termination", "TransferError"),
    ("POST", "/tck/negotiations", "ContractNegotiationError"),
    ("POST", "/tck/transfers", "TransferError"),
])
async def test_every_endpoint_refuses_a_missing_or_wrong_token(
    cut: RunningConnector, http: aiohttp.ClientSession, method: str, path: str, error_type: str
) -> None:
    for headers in ({}, {"Authorization": "Bearer nope"}):
        async with http.request(method, cut.dsp_url + path, json={},
                                headers=headers) as resp:
            assert resp.status == 401
            assert resp.headers["WWW-Authenticate"].startswith("Bearer")
            answer = await resp.json()
        assert answer["@type"] == error_type
        assert answer["code"] == "dsp-unauthorized"


async def test_the_version_endpoint_needs_no_token_and_takes_no_post(
    cut: RunningConnector, http: aiohttp.ClientSession
) -> None:
    async with http.get(cut.base_url + "/.well-known/dspace-version") as resp:
        assert resp.status == 200
    async with http.post(cut.base_url + "/.well-known/dspace-version") as resp:
        assert resp.status == 405
        assert (await resp.json())["code"] == "method-not-allowed"
    async with http.get(cut.base_url + "/.well-known/did.json") as resp:
        assert resp.status == 404  # our DID (set in settings) is not this host's did:web
        assert (await resp.json())["code"] == "did-not-here"


# --- catalog --------------------------------------------------------------------------

async def test_catalog_request_bad_bodies(cut: RunningConnector,
                                          http: aiohttp.ClientSession) -> None:
    await _call(http, cut, "POST", "/catalog/request", raw=b"{not json", status=400,
                error_type="CatalogError", code="malformed-json")
    await _call(http, cut, "POST", "/catalog/request", raw=b"", status=400,
                error_type="CatalogError", code="empty-body")
    await _call(http, cut, "POST", "/catalog/request", body=_msg("DatasetRequestMessage"),
                status=400, error_type="CatalogError", code="dsp-wrong-message-type")
    await _call(http, cut, "POST", "/catalog/request",
                body={"@type": "CatalogRequestMessage"}, status=400,
                error_type="CatalogError", code="dsp-schema-violation")
    await _call(http, cut, "POST", "/catalog/request",
                body=_msg("CatalogRequestMessage", filter=[{"title": "x"}]), status=400,
                error_type="CatalogError", code="filter-unsupported")
    await _call(http, cut, "POST", "/catalog/request?continuationToken=%%%",
                body=_msg("CatalogRequestMessage"), status=400, error_type="CatalogError",
                code="continuation-token-invalid")


async def test_dataset_request_unknown_is_404(cut: RunningConnector,
                                              http: aiohttp.ClientSession) -> None:
    await _call(http, cut, "GET", "/catalog/datasets/no-such-dataset", status=404,
                error_type="CatalogError", code="dataset-not-found")


# --- negotiation, provider side --------------------------------------------------------

async def test_contract_request_refusals_store_nothing(
    cut: RunningConnector, http: aiohttp.ClientSession
) -> None:
    before = await _count(cut, http, "negotiations")
    offer = {"@id": "CD123:ACN0101:456", "@type": "Offer", "target": "ACN0101",
             "permission": [{"action": "use"}]}
    await _call(http, cut, "POST", "/negotiations/request", status=400,
                error_type="ContractNegotiationError", code="unknown-offer",
                body=_msg("ContractRequestMessage", consumerPid="urn:c:1",
                          callbackAddress="http://127.0.0.1:9/cb",
                          offer=offer | {"@id": "no-such-offer"}))
    await _call(http, cut, "POST", "/negotiations/request", status=400,
                error_type="ContractNegotiationError", code="unknown-offer",
                body=_msg("ContractRequestMessage", consumerPid="urn:c:1",
                          callbackAddress="http://127.0.0.1:9/cb",
                          offer=offer | {"target": "ACN0102"}))
    await _call(http, cut, "POST", "/negotiations/request", status=400,
                error_type="ContractNegotiationError", code="callback-address-invalid",
                body=_msg("ContractRequestMessage", consumerPid="urn:c:1",
                          callbackAddress="ftp://127.0.0.1/cb", offer=offer))
    answer = await _call(http, cut, "POST", "/negotiations/request", status=400,
                         error_type="ContractNegotiationError", code="dsp-schema-violation",
                         body=_msg("ContractRequestMessage", consumerPid="urn:c:1",
                                   offer=offer))
    assert answer["consumerPid"] == "urn:c:1"
    await _call(http, cut, "POST", "/negotiations/request", status=400,
                error_type="ContractNegotiationError", code="counter-request-misrouted",
                body=_msg("ContractRequestMessage", consumerPid="urn:c:1", providerPid="urn:p",
                          offer=offer))
    assert await _count(cut, http, "negotiations") == before


async def test_messages_for_unknown_or_foreign_negotiations_are_404(
    cut: RunningConnector, http: aiohttp.ClientSession
) -> None:
    cpid, ppid = await _negotiation(http, cut)
    await _call(http, cut, "GET", "/negotiations/urn:uuid:unknown", status=404,
                error_type="ContractNegotiationError", code="process-not-found")
    await _call(http, cut, "GET", f"/negotiations/{ppid}", headers=OTHER, status=404,
                error_type="ContractNegotiationError", code="process-not-found")
    termination = _msg("ContractNegotiationTerminationMessage", providerPid=ppid,
                       consumerPid=cpid, code="x")
    await _call(http, cut, "POST", f"/negotiations/{ppid}/termination", headers=OTHER,
                body=termination, status=404, error_type="ContractNegotiationError")
    await _call(http, cut, "POST", "/negotiations/urn:uuid:unknown/termination",
                body=termination, status=404, error_type="ContractNegotiationError")
    assert await _state(http, cut, "negotiations", ppid) == "REQUESTED"


async def test_provider_side_bad_messages_leave_the_state(
    cut: RunningConnector, http: aiohttp.ClientSession
) -> None:
    cpid, ppid = await _negotiation(http, cut)
    pids = {"providerPid": ppid, "consumerPid": cpid}
    await _call(http, cut, "POST", f"/negotiations/{ppid}/events", status=400,
                error_type="ContractNegotiationError", code="dsp-schema-violation",
                body=_msg("ContractNegotiationEventMessage", **pids, eventType="DONE"))
    answer = await _call(http, cut, "POST", f"/negotiations/{ppid}/events", status=400,
                         error_type="ContractNegotiationError", code="illegal-transition",
                         body=_msg("ContractNegotiationEventMessage", **pids,
                                   eventType="FINALIZED"))
    assert answer["providerPid"] == ppid
    await _call(http, cut, "POST", f"/negotiations/{ppid}/events", status=400,
                error_type="ContractNegotiationError", code="illegal-transition",
                body=_msg("ContractNegotiationEventMessage", **pids, eventType="ACCEPTED"))
    await _call(http, cut, "POST", f"/negotiations/{ppid}/agreement/verification",
                status=400, error_type="ContractNegotiationError",
                code="dsp-wrong-message-type",
                body=_msg("ContractNegotiationEventMessage", **pids, eventType="ACCEPTED"))
    await _call(http, cut, "POST", f"/negotiations/{ppid}/agreement/verification",
                status=400, error_type="ContractNegotiationError", code="illegal-transition",
                body=_msg("ContractAgreementVerificationMessage", **pids))
    await _call(http, cut, "POST", f"/negotiations/{ppid}/request", status=400,
                error_type="ContractNegotiationError", code="pid-mismatch",
                body=_msg("ContractRequestMessage", providerPid="urn:uuid:someone-else",
                          consumerPid=cpid, offer={"@id": "o", "@type": "Offer",
                                                   "permission": [{"action": "use"}]}))
    await _call(http, cut, "POST", f"/negotiations/{ppid}/termination", status=400,
                error_type="ContractNegotiationError", code="pid-mismatch",
                body=_msg("ContractNegotiationTerminationMessage", providerPid=ppid,
                          consumerPid="urn:uuid:not-the-consumer"))
    await _call(http, cut, "POST", f"/negotiations/{ppid}/offers", status=404,
                error_type="ContractNegotiationError", code="process-not-found",
                body=_msg("ContractOfferMessage", **pids, offer={
                    "@id": "o", "@type": "Offer", "target": "ACN0202",
                    "permission": [{"action": "use"}]}))
    await _call(http, cut, "POST", f"/negotiations/{ppid}/agreement", status=404,
                error_type="ContractNegotiationError", code="process-not-found",
                body=_msg("ContractAgreementMessage", **pids, agreement={
                    "@id": "a", "@type": "Agreement", "target": "ACN0202", "assigner": "x",
                    "assignee": "y", "permission": [{"action": "use"}]}))
    assert await _state(http, cut, "negotiations", ppid) == "REQUESTED"


# --- negotiation, consumer side ------------------------------------------------------

async def test_consumer_callbacks_refuse_bad_messages(
    cut: RunningConnector, http: aiohttp.ClientSession
) -> None:
    before = await _count(cut, http, "negotiations")
    await _call(http, cut, "POST", "/negotiations/offers", status=400,
                error_type="ContractNegotiationError", code="dsp-schema-violation",
                body=_msg("ContractOfferMessage", providerPid="urn:p",
                          offer={"@id": "o", "@type": "Offer", "target": "d",
                                 "permission": [{"action": "use"}]}))
    await _call(http, cut, "POST", "/negotiations/urn:uuid:unknown/offers", status=404,
                error_type="ContractNegotiationError",
                body=_msg("ContractOfferMessage", providerPid="urn:p",
                          consumerPid="urn:uuid:unknown",
                          offer={"@id": "o", "@type": "Offer", "target": "d",
                                 "permission": [{"action": "use"}]}))
    await _call(http, cut, "POST", "/negotiations/urn:uuid:unknown/agreement", status=400,
                error_type="ContractNegotiationError", code="dsp-schema-violation",
                body=_msg("ContractAgreementMessage", providerPid="urn:p",
                          consumerPid="urn:uuid:unknown",
                          agreement={"@id": "a", "@type": "Agreement", "target": "d",
                                     "permission": [{"action": "use"}]}))
    assert await _count(cut, http, "negotiations") == before


# --- transfers ------------------------------------------------------------------------

async def test_transfer_request_refusals_store_nothing(
    cut: RunningConnector, http: aiohttp.ClientSession
) -> None:
    before = await _count(cut, http, "transfers")

    def request(**members: Any) -> dict[str, Any]:
        return _msg("TransferRequestMessage", **({
            "consumerPid": "urn:c:t", "agreementId": "ATP0201", "format": "HttpData-PULL",
            "callbackAddress": "http://127.0.0.1:9/cb"} | members))

    await _call(http, cut, "POST", "/transfers/request", body=request(agreementId="nope"),
                status=400, error_type="TransferError", code="agreement-not-found")
    await _call(http, cut, "POST", "/transfers/request", body=request(), headers=OTHER,
                status=400, error_type="TransferError", code="agreement-not-found")
    await _call(http, cut, "POST", "/transfers/request", body=request(format="S3-PUSH"),
                status=400, error_type="TransferError", code="format-unsupported")
    await _call(http, cut, "POST", "/transfers/request", body=request(callbackAddress="x:y"),
                status=400, error_type="TransferError", code="callback-address-invalid")
    bad = request()
    del bad["callbackAddress"]
    await _call(http, cut, "POST", "/transfers/request", body=bad, status=400,
                error_type="TransferError", code="dsp-schema-violation")
    await _call(http, cut, "POST", "/transfers/request", body=request(agreementId="ATPC0101"),
                status=400, error_type="TransferError", code="agreement-not-found")
    assert await _count(cut, http, "transfers") == before


@pytest.mark.parametrize(("action", "message_type"), [
    ("start", "TransferStartMessage"),
    ("completion", "TransferCompletionMessage"),
    ("suspension", "TransferSuspensionMessage"),
    ("termination", "TransferTerminationMessage"),
])
async def test_transfer_messages_for_unknown_processes_and_wrong_types(
    cut: RunningConnector, http: aiohttp.ClientSession, action: str, message_type: str
) -> None:
    pids = {"providerPid": "urn:uuid:unknown", "consumerPid": "urn:c"}
    await _call(http, cut, "POST", f"/transfers/urn:uuid:unknown/{action}",
                body=_msg(message_type, **pids), status=404, error_type="TransferError",
                code="process-not-found")
    await _call(http, cut, "POST", f"/transfers/urn:uuid:unknown/{action}",
                body=_msg("TransferProcess", **pids, state="STARTED"), status=400,
                error_type="TransferError", code="dsp-wrong-message-type")
    await _call(http, cut, "GET", "/transfers/urn:uuid:unknown", status=404,
                error_type="TransferError", code="process-not-found")


async def test_trigger_endpoints_validate_their_bodies(
    cut: RunningConnector, http: aiohttp.ClientSession
) -> None:
    await _call(http, cut, "POST", "/tck/negotiations", body={"datasetId": "x"}, status=400,
                error_type="ContractNegotiationError", code="validation-failed")
    await _call(http, cut, "POST", "/tck/transfers", status=404, error_type="TransferError",
                code="agreement-not-found",
                body={"providerId": "p", "agreementId": "nope", "format": "HttpData-PULL",
                      "connectorAddress": "http://127.0.0.1:9"})
