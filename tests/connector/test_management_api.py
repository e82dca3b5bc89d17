"""The management API: its own port, an admin key on every route, problem+json on bad input."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import pytest_asyncio

from connector.app import MANAGEMENT_APP
from servicekit.openapi import iter_routes
from tests.connector.conftest import StoreFactory
from tests.connector.harness import RunningConnector, start_connector
from tests.factories import connector_settings

pytestmark = pytest.mark.asyncio(loop_scope="module")
PROFILE = "https://w3id.org/dataspace-toolkit/odrl/profile"
OPEN = ("/", "/healthz", "/readyz", "/metrics", "/openapi.json")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def cut(module_stores: StoreFactory,
              tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[RunningConnector]:
    """One connector for the management tests."""
    running = await start_connector(connector_settings(
        "owner", tmp_path_factory.mktemp("owner"), module_stores(), outbound_token="owner"))
    yield running
    await running.stop()


async def _problem(cut: RunningConnector, http: aiohttp.ClientSession, method: str, path: str,
                   *, status: int, code: str, json: Any = None, auth: bool = True) -> None:
    headers = cut.admin_headers if auth else {}
    async with http.request(method, cut.management_url + path, json=json,
                            headers=headers) as resp:
        body = await resp.json()
        assert resp.status == status, body
        assert resp.content_type == "application/problem+json"
    assert body["code"] == code, body
    assert body["type"].endswith("/" + code)


def _management_routes(cut: RunningConnector) -> list[tuple[str, str]]:
    # the console's pages sign people in with a session instead (tests/servicekit/test_console*)
    return [(method, path) for method, path, handler in iter_routes(cut.app[MANAGEMENT_APP])
            if path not in OPEN and not hasattr(handler, "__console_page__")
            and not path.startswith(("/static/", "/oid4vp/"))]


async def test_every_management_route_needs_the_admin_key(
    cut: RunningConnector, http: aiohttp.ClientSession
) -> None:
    routes = _management_routes(cut)
    assert len(routes) >= 25
    for method, path in routes:
        concrete = re.sub(r"\{[^}]+\}", "x", path)
        for headers in ({}, {"Authorization": "Bearer dsk_wrong"}):
            async with http.request(method, cut.management_url + concrete,
                                    headers=headers) as resp:
                assert resp.status == 401, (method, path)
                # The data plane's decide/settle (for an nginx front) take their own key header.
                expected = ("internal-key-required" if path.startswith("/dataplane/")
                            else "api-key-required")
                assert (await resp.json())["code"] == expected


async def test_ports_are_separate(cut: RunningConnector, http: aiohttp.ClientSession) -> None:
    async with http.get(cut.base_url + "/api/v1/datasets", headers=cut.admin_headers) as resp:
        assert resp.status == 404
    async with http.post(cut.management_url + "/dsp/catalog/request", json={}) as resp:
        assert resp.status == 404
    assert cut.management_url != cut.base_url


async def test_both_ports_describe_every_route_in_openapi(
    cut: RunningConnector, http: aiohttp.ClientSession
) -> None:
    for base, app in ((cut.base_url, cut.app), (cut.management_url, cut.app[MANAGEMENT_APP])):
        async with http.get(base + "/openapi.json") as resp:
            document = await resp.json()
        for method, path, handler in iter_routes(app):
            assert hasattr(handler, "__openapi_operation__"), (method, path)
            clean = re.sub(r"\{([^}:]+)(:[^}]*)?\}", r"{\1}", path)
            assert method.lower() in document["paths"][clean], (method, path)
    async with http.get(cut.management_url + "/openapi.json") as resp:
        document = await resp.json()
    assert document["paths"]["/api/v1/datasets"]["post"]["security"] == [{"bearer": []}]
    filters = document["paths"]["/api/v1/negotiations"]["get"]["parameters"]
    assert [p["name"] for p in filters] == ["role", "state", "awaiting", "limit", "offset"]
    assert filters[2] == {"name": "awaiting", "in": "query", "required": False,
                          "schema": {"type": "string"},
                          "description": "'owner': waiting for approval"}


async def test_dataset_bad_input(cut: RunningConnector, http: aiohttp.ClientSession) -> None:
    backend = {"address": "https://example.org/data"}
    await _problem(cut, http, "POST", "/api/v1/datasets", status=400, code="validation-failed",
                   json={"backend": backend})
    await _problem(cut, http, "POST", "/api/v1/datasets", status=400, code="validation-failed",
                   json={"id": "has space", "title": "t", "backend": backend})
    await _problem(cut, http, "POST", "/api/v1/datasets", status=400, code="validation-failed",
                   json={"title": "t", "backend": backend, "extra": {"title": "x"}})
    await _problem(cut, http, "POST", "/api/v1/datasets", status=400, code="policy-invalid",
                   json={"title": "t", "backend": backend,
                         "policy": {"permission": [{"action": "fly"}]}})
    await _problem(cut, http, "POST", "/api/v1/datasets", status=400, code="not-offerable",
                   json={"title": "t", "backend": backend, "access_level": "NON_PUBLIC",
                         "policy": {"permission": [{"action": "use"}]}})
    await _problem(cut, http, "GET", "/api/v1/datasets/urn:none", status=404,
                   code="dataset-not-found")
    await _problem(cut, http, "GET", "/api/v1/datasets?limit=0", status=400,
                   code="paging-invalid")
    created = await cut.api(http, "POST", "/api/v1/datasets", expect=201,
                            json={"id": "urn:dup", "title": "t", "backend": backend})
    assert created["offer"]["approval"] == "auto"
    await _problem(cut, http, "POST", "/api/v1/datasets", status=409, code="dataset-exists",
                   json={"id": "urn:dup", "title": "t", "backend": backend})
    listed = await cut.api(http, "GET", "/api/v1/datasets", expect=200)
    assert [d["id"] for d in listed["items"]] == ["urn:dup"]
    await cut.api(http, "DELETE", "/api/v1/datasets/urn:dup", expect=204)
    await _problem(cut, http, "DELETE", "/api/v1/datasets/urn:dup", status=404,
                   code="dataset-not-found")


async def test_a_file_backend_must_exist(cut: RunningConnector, http: aiohttp.ClientSession,
                                        tmp_path: Any) -> None:
    """A file backend the data plane could not serve is refused before anything is stored."""
    data = tmp_path / "aq.csv"
    data.write_text("station,pm10\n")
    cases = [
        ({"type": "file", "address": str(tmp_path / "missing.csv")}, "backend-not-found"),
        ({"type": "file", "address": "aq.csv"}, "backend-path-relative"),
        ({"type": "file", "address": str(tmp_path)}, "backend-is-a-folder"),
    ]
    for backend, code in cases:
        await _problem(cut, http, "POST", "/api/v1/datasets", status=400, code=code,
                       json={"id": "urn:file:bad", "title": "t", "backend": backend})
    await _problem(cut, http, "GET", "/api/v1/datasets/urn:file:bad", status=404,
                   code="dataset-not-found")
    listed = await cut.api(http, "GET", "/api/v1/offers?limit=500", expect=200)
    assert not [o for o in listed["items"] if o["dataset_id"] == "urn:file:bad"]
    # A folder with proxyPath, and a file, are served.
    for dataset_id, backend in (
            ("urn:file:folder", {"type": "file", "address": str(tmp_path),
                                 "properties": {"proxyPath": "true"}}),
            ("urn:file:ok", {"type": "file", "address": str(data)})):
        await cut.api(http, "POST", "/api/v1/datasets", expect=201,
                      json={"id": dataset_id, "title": "t", "backend": backend})
        await cut.api(http, "DELETE", f"/api/v1/datasets/{dataset_id}", expect=204)


async def test_a_policy_is_checked_as_policy_validate_checks_it(
    cut: RunningConnector, http: aiohttp.ClientSession
) -> None:
    """No @id is fine (the connector names it); a member an offer would drop is refused."""
    backend = {"address": "https://example.org/data"}
    created = await cut.api(http, "POST", "/api/v1/datasets", expect=201, json={
        "id": "urn:unnamed", "title": "t", "backend": backend,
        "policy": {"@type": "Set", "permission": [{"action": "use"}]}})
    assert created["offer"]["policy"]["permission"] == [{"action": "use"}]
    await cut.api(http, "DELETE", "/api/v1/datasets/urn:unnamed", expect=204)
    await _problem(cut, http, "POST", "/api/v1/datasets", status=400, code="policy-invalid",
                   json={"id": "urn:dropped", "title": "t", "backend": backend,
                         "policy": {"permission": [{"action": "use"}],
                                    "constraint": [{"leftOperand": "purpose",
                                                    "operator": "eq", "rightOperand": "x"}]}})
    await _problem(cut, http, "GET", "/api/v1/datasets/urn:dropped", status=404,
                   code="dataset-not-found")


async def test_red_datasets_are_never_offered(cut: RunningConnector,
                                              http: aiohttp.ClientSession) -> None:
    created = await cut.api(http, "POST", "/api/v1/datasets", expect=201, json={
        "id": "urn:red", "title": "Secret", "access_level": "NON_PUBLIC",
        "backend": {"address": "https://example.org/red"}})
    assert created["offer"] is None
    policy = await cut.api(http, "POST", "/api/v1/policies", expect=201,
                           json={"policy": {"permission": [{"action": "use"}]}})
    await _problem(cut, http, "POST", "/api/v1/offers", status=400, code="not-offerable",
                   json={"dataset_id": "urn:red", "policy_id": policy["id"]})


async def test_policy_and_offer_bad_input(cut: RunningConnector,
                                          http: aiohttp.ClientSession) -> None:
    await _problem(cut, http, "POST", "/api/v1/policies", status=400, code="policy-invalid",
                   json={"policy": {"permission": [{"action": "use", "constraint": [
                       {"leftOperand": "dst:credentialType", "operator": "eq",
                        "rightOperand": "X"}]}]}})
    await _problem(cut, http, "POST", "/api/v1/policies", status=400,
                   code="validation-failed", json={"title": "no policy"})
    policy = await cut.api(http, "POST", "/api/v1/policies", expect=201, json={
        "id": "urn:policy:members", "policy": {"profile": PROFILE, "permission": [{
            "action": "use", "constraint": [{"leftOperand": "dst:credentialType",
                                             "operator": "eq", "rightOperand": "X"}]}]}})
    assert policy["id"] == "urn:policy:members"
    await cut.api(http, "POST", "/api/v1/datasets", expect=201, json={
        "id": "urn:offered", "title": "t", "backend": {"address": "https://example.org/o"},
        "access_level": "RESTRICTED"})
    await _problem(cut, http, "POST", "/api/v1/offers", status=404, code="dataset-not-found",
                   json={"dataset_id": "urn:missing", "policy_id": policy["id"]})
    await _problem(cut, http, "POST", "/api/v1/offers", status=404, code="policy-not-found",
                   json={"dataset_id": "urn:offered", "policy_id": "urn:missing"})
    offer = await cut.api(http, "POST", "/api/v1/offers", expect=201, json={
        "dataset_id": "urn:offered", "policy_id": policy["id"]})
    assert offer["approval"] == "manual"
    await _problem(cut, http, "DELETE", f"/api/v1/policies/{policy['id']}", status=409,
                   code="policy-in-use")
    offers = await cut.api(http, "GET", "/api/v1/offers?dataset_id=urn:offered", expect=200)
    assert len(offers["items"]) == 2
    await cut.api(http, "DELETE", f"/api/v1/offers/{offer['id']}", expect=204)
    await cut.api(http, "DELETE", f"/api/v1/policies/{policy['id']}", expect=204)
    await _problem(cut, http, "GET", f"/api/v1/policies/{policy['id']}", status=404,
                   code="policy-not-found")


_PEER = "http://127.0.0.1:9/dsp"  # nothing listens there
_FLY = {"policy": {"permission": [{"action": "fly"}]}}

#: Bad input to the negotiation routes: (method, path, status, code, body).
NEGOTIATION_BAD_INPUT: list[tuple[str, str, int, str, Any]] = [
    ("GET", "/api/v1/negotiations?state=DONE", 400, "filter-invalid", None),
    ("GET", "/api/v1/negotiations?role=broker", 400, "filter-invalid", None),
    ("GET", "/api/v1/negotiations/urn:none", 404, "process-not-found", None),
    ("POST", "/api/v1/negotiations/urn:none/approve", 404, "process-not-found", None),
    ("GET", "/api/v1/negotiations?awaiting=someone", 400, "filter-invalid", None),
    # Rejecting needs a reason (the requester is told); approving takes an optional one.
    *(("POST", "/api/v1/negotiations/urn:none/reject", 400, "validation-failed", body)
      for body in (None, {}, {"reason": ""}, {"reason": "  "}, {"code": "x"})),
    ("POST", "/api/v1/negotiations/urn:none/reject", 404, "process-not-found",
     {"reason": "not for you"}),
    ("POST", "/api/v1/negotiations/urn:none/approve", 400, "validation-failed", {"reason": 7}),
    *(row for move in ("counter-offer", "counter-request") for row in (
        ("POST", f"/api/v1/negotiations/urn:none/{move}", 400, "policy-invalid", _FLY),
        ("POST", f"/api/v1/negotiations/urn:none/{move}", 400, "validation-failed",
         {"terms": {}}))),
    ("POST", "/api/v1/negotiations/urn:none/terminate", 400, "validation-failed",
     {"reason": 7}),
    ("POST", "/api/v1/negotiations/urn:none/accept", 404, "process-not-found", None),
    ("POST", "/api/v1/negotiations", 400, "validation-failed",
     {"counterparty_address": "not-a-url"}),
    ("POST", "/api/v1/negotiations", 400, "offer-missing", {"counterparty_address": _PEER}),
    ("POST", "/api/v1/negotiations", 400, "counterparty-id-missing",
     {"counterparty_address": _PEER, "offer": {"@id": "o", "target": "d"}}),
    ("POST", "/api/v1/negotiations", 400, "dsp-schema-violation",
     {"counterparty_address": _PEER, "counterparty_id": "did:web:x",
      "offer": {"@id": "o", "target": "d"}}),
    ("POST", "/api/v1/negotiations", 502, "peer-unreachable",
     {"counterparty_address": _PEER, "dataset_id": "d", "counterparty_id": "did:web:x"}),
]

#: Bad input to the transfer, agreement and catalog routes: (method, path, status, code, body).
TRANSFER_BAD_INPUT: list[tuple[str, str, int, str, Any]] = [
    ("POST", "/api/v1/transfers", 404, "agreement-not-found", {"agreement_id": "urn:none"}),
    ("POST", "/api/v1/transfers", 400, "validation-failed", {"agreement": "urn:none"}),
    ("GET", "/api/v1/transfers/urn:none/edr", 404, "process-not-found", None),
    ("POST", "/api/v1/transfers/urn:none/suspend", 404, "process-not-found", None),
    *(("POST", f"/api/v1/transfers/urn:none/{move}", 400, "validation-failed",
       {"code": ["not", "a", "string"]}) for move in ("suspend", "terminate")),
    *(("POST", f"/api/v1/transfers/urn:none/{move}", 404, "process-not-found", None)
      for move in ("resume", "complete")),
    ("GET", "/api/v1/transfers/urn:none", 404, "process-not-found", None),
    ("GET", "/api/v1/transfers?state=LOST", 400, "filter-invalid", None),
    ("GET", "/api/v1/agreements?role=x", 400, "filter-invalid", None),
    ("GET", "/api/v1/agreements/urn:none", 404, "agreement-not-found", None),
    ("POST", "/api/v1/catalog/request", 400, "validation-failed",
     {"counterparty_address": "ftp://x"}),
    ("POST", "/api/v1/catalog/dataset", 502, "peer-unreachable",
     {"counterparty_address": _PEER, "dataset_id": "d"}),
]


async def test_negotiation_and_transfer_bad_input(cut: RunningConnector,
                                                  http: aiohttp.ClientSession) -> None:
    for method, path, status, code, body in NEGOTIATION_BAD_INPUT:
        await _problem(cut, http, method, path, status=status, code=code, json=body)
    assert (await cut.api(http, "GET", "/api/v1/negotiations", expect=200))["items"] == []
    for method, path, status, code, body in TRANSFER_BAD_INPUT:
        await _problem(cut, http, method, path, status=status, code=code, json=body)
    assert (await cut.api(http, "GET", "/api/v1/transfers", expect=200))["items"] == []


async def test_service_info_names_both_ports(cut: RunningConnector) -> None:
    assert cut.info["management_url"].startswith("http://127.0.0.1:")
    assert cut.info["did"] == "did:web:owner.example"
    assert cut.info["admin_api_key"].startswith("dsk_")
    assert cut.info["role"] == "provider"
