"""The management API the console stands on: datasets, approvals, dashboard, audit, agreements.

Real connectors on loopback, on SQLite and PostgreSQL: a provider whose data
plane enforces and a consumer, negotiating, pulling and ending agreements.
"""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from aiohttp.test_utils import TestServer

from connector.settings import FixedCaller
from tests.connector.conftest import StoreFactory
from tests.connector.dataplane.harness import bearer, enforcing_pair
from tests.connector.harness import RunningConnector

pytestmark = pytest.mark.asyncio(loop_scope="module")

MEMBER = FixedCaller(id="did:web:consumer.example",
                     credential_types=["MembershipCredential"],
                     claims={"MembershipCredential": {"legalName": "Testfirma AS",
                                                      "organisationNumber": "999 999 999"}})
USE = {"permission": [{"action": "use"}]}
Pair = tuple[RunningConnector, RunningConnector]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def pair(module_stores: StoreFactory,
               tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Pair]:
    """A provider whose data plane enforces, and a consumer (one pair per store)."""
    async with enforcing_pair(module_stores, tmp_path_factory.mktemp("console"),
                              MEMBER) as connectors:
        yield connectors


async def _problem(cut: RunningConnector, http: aiohttp.ClientSession, method: str, path: str,
                   *, status: int, code: str, json: Any = None) -> None:
    async with http.request(method, cut.management_url + path, json=json,
                            headers=cut.admin_headers) as resp:
        body = await resp.json()
        assert resp.status == status, body
        assert resp.content_type == "application/problem+json"
    assert body["code"] == code, body


async def _waiting(provider: RunningConnector, http: aiohttp.ClientSession,
                   consumer_pid: str) -> dict[str, Any]:
    for _ in range(500):
        page = await provider.api(http, "GET", "/api/v1/negotiations?awaiting=owner",
                                  expect=200)
        found = [n for n in page["items"] if n["consumer_pid"] == consumer_pid]
        if found:
            return dict(found[0])
        await asyncio.sleep(0.02)
    raise AssertionError("the request never waited for the owner")


async def test_edit_retire_and_owner(pair: Pair, backend: TestServer) -> None:
    provider, consumer = pair
    async with aiohttp.ClientSession() as http:
        created = await provider.api(http, "POST", "/api/v1/datasets", expect=201, json={
            "id": "urn:console:edit", "title": "Counts", "owner": "kari@halden.kommune.no",
            "backend": {"address": str(backend.make_url("/api/items"))}})
        assert created["dataset"]["owner"] == "kari@halden.kommune.no"
        assert created["dataset"]["retired_at"] is None
        policy = await provider.api(http, "POST", "/api/v1/policies", expect=201,
                                    json={"id": "urn:console:p2", "policy": USE})
        edited = await provider.api(http, "PATCH", "/api/v1/datasets/urn:console:edit",
                                    expect=200, json={
                                        "title": "Traffic counts", "keywords": ["traffic"],
                                        "owner": "ola@halden.kommune.no",
                                        "policy_id": policy["id"]})
        assert edited["title"] == "Traffic counts"
        assert edited["keywords"] == ["traffic"]
        assert edited["owner"] == "ola@halden.kommune.no"
        assert [o["policy_id"] for o in edited["offers"]] == ["urn:console:p2"]
        assert edited["offers"][0]["id"] == created["offer"]["id"]  # the offer keeps its id
        again = await provider.api(http, "GET", "/api/v1/datasets/urn:console:edit", expect=200)
        assert again["title"] == "Traffic counts"
        assert again["description"] == ""
        cleared = await provider.api(http, "PATCH", "/api/v1/datasets/urn:console:edit",
                                     expect=200, json={"owner": None})
        assert cleared["owner"] is None

        seen = await consumer.api(http, "POST", "/api/v1/catalog/dataset", expect=200, json={
            "counterparty_address": provider.dsp_url, "dataset_id": "urn:console:edit"})
        assert seen["dct:title"] == "Traffic counts"
        retired = await provider.api(http, "POST", "/api/v1/datasets/urn:console:edit/retire",
                                     expect=200)
        assert retired["retired_at"] is not None
        await _problem(provider, http, "POST", "/api/v1/datasets/urn:console:edit/retire",
                       status=409, code="dataset-retired")
        async with http.post(consumer.management_url + "/api/v1/catalog/dataset",
                             headers=consumer.admin_headers, json={
                                 "counterparty_address": provider.dsp_url,
                                 "dataset_id": "urn:console:edit"}) as resp:
            assert resp.status >= 400  # no longer offered
        listed = await provider.api(http, "GET", "/api/v1/datasets", expect=200)
        assert any(d["id"] == "urn:console:edit" and d["retired_at"] for d in listed["items"])


async def test_a_dataset_made_restricted_waits_for_its_owner_again(
        pair: Pair, backend: TestServer) -> None:
    provider, _consumer = pair
    async with aiohttp.ClientSession() as http:
        created = await provider.api(http, "POST", "/api/v1/datasets", expect=201, json={
            "id": "urn:console:level", "title": "Counts",
            "backend": {"address": str(backend.make_url("/api/items"))}})
        assert created["offer"]["approval"] == "auto"
        edited = await provider.api(http, "PATCH", "/api/v1/datasets/urn:console:level",
                                    expect=200, json={"access_level": "RESTRICTED"})
        assert [o["approval"] for o in edited["offers"]] == ["manual"]
        opened = await provider.api(http, "PATCH", "/api/v1/datasets/urn:console:level",
                                    expect=200, json={"access_level": "PUBLIC"})
        assert [o["approval"] for o in opened["offers"]] == ["auto"]


async def test_dataset_bad_input(pair: Pair) -> None:
    provider, _consumer = pair
    async with aiohttp.ClientSession() as http:
        await provider.api(http, "POST", "/api/v1/datasets", expect=201, json={
            "id": "urn:console:bad", "title": "Kept", "backend": {"address": "https://x.org"}})
        path = "/api/v1/datasets/urn:console:bad"
        for body, code in (({"title": None}, "field-required"),
                           ({}, "nothing-to-change"),
                           ({"owner": "not-an-email"}, "validation-failed"),
                           ({"id": "urn:other"}, "validation-failed"),
                           ({"extra": {"title": "x"}}, "validation-failed"),
                           ({"policy_id": "urn:no-such-policy"}, "policy-not-found")):
            await _problem(provider, http, "PATCH", path, status=400 if code != "policy-not-found"
                           else 404, code=code, json=body)
        await _problem(provider, http, "PATCH", "/api/v1/datasets/urn:none", status=404,
                       code="dataset-not-found", json={"title": "x"})
        await _problem(provider, http, "POST", "/api/v1/datasets/urn:none/retire", status=404,
                       code="dataset-not-found")
        await _problem(provider, http, "POST", "/api/v1/datasets", status=400,
                       code="validation-failed", json={
                           "title": "t", "owner": "a b@c.d", "backend": {"address": "https://x"}})
        kept = await provider.api(http, "GET", path, expect=200)
        assert kept["title"] == "Kept"
        assert kept["owner"] is None
        assert kept["retired_at"] is None


async def test_approval_records_who_and_the_request_shows_what_was_presented(
    pair: Pair, backend: TestServer
) -> None:
    provider, consumer = pair
    async with aiohttp.ClientSession() as http:
        await provider.api(http, "POST", "/api/v1/datasets", expect=201, json={
            "id": "urn:console:yellow", "title": "Yellow", "access_level": "RESTRICTED",
            "owner": "kari@halden.kommune.no", "policy": USE,
            "backend": {"address": str(backend.make_url("/api/items"))}})
        started = await consumer.api(http, "POST", "/api/v1/negotiations", expect=201, json={
            "counterparty_address": provider.dsp_url, "dataset_id": "urn:console:yellow"})
        waiting = await _waiting(provider, http, started["id"])
        request = waiting["request"]
        assert request["dataset_id"] == "urn:console:yellow"
        assert request["dataset_owner"] == "kari@halden.kommune.no"
        assert request["requester_did"] == MEMBER.id
        assert request["requester_legal_name"] == "Testfirma AS"
        assert request["purposes"] == []
        assert request["credentials"]["types"] == ["MembershipCredential"]
        assert waiting["decision"] is None
        dashboard = await provider.api(http, "GET", "/api/v1/dashboard", expect=200)
        assert dashboard["requests_waiting"] >= 1

        path = f"/api/v1/negotiations/{waiting['id']}"
        await _problem(provider, http, "POST", path + "/approve", status=400,
                       code="validation-failed", json={"approver": "  "})
        await _problem(provider, http, "POST", path + "/approve", status=400,
                       code="validation-failed", json={"approver": "x" * 321})
        assert (await provider.api(http, "GET", path, expect=200))["decision"] is None
        approved = await provider.api(http, "POST", path + "/approve", expect=200, json={
            "approver": "kari@halden.kommune.no", "reason": "known partner"})
        assert approved["decision"]["approver"] == "kari@halden.kommune.no"
        shown = await provider.api(http, "GET", path, expect=200)
        assert shown["decision"]["decision"] == "approved"
        assert shown["decision"]["reason"] == "known partner"
        done = await consumer.wait_for(http, "negotiations", started["id"], {"FINALIZED"})

        # pull, see it on the dashboard and in the audit log
        transfer = await consumer.api(http, "POST", "/api/v1/transfers", expect=201,
                                      json={"agreement_id": done["agreement_id"]})
        await consumer.wait_for(http, "transfers", transfer["id"], {"STARTED"})
        edr = await consumer.api(http, "GET", f"/api/v1/transfers/{transfer['id']}/edr",
                                 expect=200)
        for _ in range(3):
            async with http.get(edr["endpoint"], headers=bearer(edr["token"])) as resp:
                assert resp.status == 200
        async with http.get(edr["endpoint"], headers=bearer("not-a-token")) as resp:
            assert resp.status == 401
        figures: dict[str, Any] = {}
        for _ in range(200):
            figures = await provider.api(http, "GET", "/api/v1/dashboard?days=3", expect=200)
            if figures["calls_today"] >= 3:
                break
            await asyncio.sleep(0.05)
        assert figures["calls_today"] >= 3
        assert figures["transfers_active"] >= 1
        assert figures["agreements_live"] >= 1
        series = {s["dataset_id"]: s for s in figures["usage"]["datasets"]}
        assert len(series["urn:console:yellow"]["days"]) == 3
        assert series["urn:console:yellow"]["days"][-1]["requests"] == 3

        agreement = done["agreement_id"]
        page = await provider.api(http, "GET",
                                  f"/api/v1/audit?agreement_id={agreement}&limit=2", expect=200)
        assert [r["decision"] for r in page["items"]] == ["permit", "permit"]
        assert page["items"][0]["seq"] > page["items"][1]["seq"]  # newest first
        assert page["items"][0]["dataset_id"] == "urn:console:yellow"
        rest = await provider.api(
            http, "GET", f"/api/v1/audit?agreement_id={agreement}&before={page['next_before']}",
            expect=200)
        assert len(rest["items"]) == 1
        assert rest["next_before"] is None
        by_dataset = await provider.api(http, "GET",
                                        "/api/v1/audit?dataset_id=urn:console:yellow&"
                                        "decision=permit&since=2000-01-01T00:00:00Z",
                                        expect=200)
        assert len(by_dataset["items"]) == 3
        verified = await provider.api(http, "GET", "/api/v1/audit/verify", expect=200)
        assert verified["ok"] is True
        assert verified["first_broken"] is None
        assert verified["count"] >= 3
        async with http.get(provider.management_url + "/api/v1/audit.csv?decision=permit&"
                            f"agreement_id={agreement}", headers=provider.admin_headers) as resp:
            assert resp.status == 200
            assert resp.content_type == "text/csv"
            rows = list(csv.DictReader(io.StringIO(await resp.text())))
        assert [r["decision"] for r in rows] == ["permit"] * 3
        assert {r["dataset_id"] for r in rows} == {"urn:console:yellow"}

        # the consumer keeps the provider's receipt
        receipt = await consumer.api(http, "POST",
                                     f"/api/v1/transfers/{transfer['id']}/receipt", expect=201)
        assert receipt["content"]["usage"]["requests"] == 3
        kept = await consumer.api(http, "GET", f"/api/v1/receipts?transfer_id={transfer['id']}",
                                  expect=200)
        assert [r["id"] for r in kept["items"]] == [receipt["id"]]
        # (the test DIDs do not resolve, so the signature cannot be checked: it says so)
        assert kept["items"][0]["verified"] is False
        assert kept["items"][0]["problem"]

        # ending the agreement ends its transfer and refuses new ones
        ended = await provider.api(http, "POST", f"/api/v1/agreements/{agreement}/terminate",
                                   expect=200, json={"reason": "contract ended"})
        assert ended["transfers_terminated"]
        assert ended["agreement"]["terminated_at"] is not None
        await consumer.wait_for(http, "transfers", transfer["id"], {"TERMINATED"})
        async with http.get(edr["endpoint"], headers=bearer(edr["token"])) as resp:
            assert resp.status in (401, 403)
        second = await consumer.api(http, "POST", "/api/v1/transfers", expect=201,
                                    json={"agreement_id": agreement})
        await consumer.wait_for(http, "transfers", second["id"], {"TERMINATED"})
        await _problem(provider, http, "POST", f"/api/v1/agreements/{agreement}/terminate",
                       status=409, code="agreement-terminated", json={"reason": "again"})


async def test_reject_records_who(pair: Pair, backend: TestServer) -> None:
    provider, consumer = pair
    async with aiohttp.ClientSession() as http:
        await provider.api(http, "POST", "/api/v1/datasets", expect=201, json={
            "id": "urn:console:no", "title": "No", "access_level": "RESTRICTED", "policy": USE,
            "backend": {"address": str(backend.make_url("/api/items"))}})
        started = await consumer.api(http, "POST", "/api/v1/negotiations", expect=201, json={
            "counterparty_address": provider.dsp_url, "dataset_id": "urn:console:no"})
        waiting = await _waiting(provider, http, started["id"])
        path = f"/api/v1/negotiations/{waiting['id']}/reject"
        await _problem(provider, http, "POST", path, status=400, code="validation-failed",
                       json={"approver": "ola@x.no"})
        rejected = await provider.api(http, "POST", path, expect=200, json={
            "reason": "not for you", "approver": "ola@x.no"})
        assert rejected["decision"] == {**rejected["decision"], "decision": "rejected",
                                         "approver": "ola@x.no", "reason": "not for you"}


async def test_console_bad_input(pair: Pair) -> None:
    provider, consumer = pair
    async with aiohttp.ClientSession() as http:
        for path in ("/api/v1/dashboard?days=0", "/api/v1/dashboard?days=x",
                     "/api/v1/audit?decision=maybe", "/api/v1/audit?since=yesterday",
                     "/api/v1/audit?since=2025-01-01T00:00:00", "/api/v1/audit?before=x",
                     "/api/v1/audit.csv?until=soon", "/api/v1/members?role=king"):
            await _problem(provider, http, "GET", path, status=400, code="filter-invalid")
        await _problem(provider, http, "GET", "/api/v1/members", status=409,
                       code="trust-anchor-not-configured")
        await _problem(provider, http, "POST", "/api/v1/agreements/urn:none/terminate",
                       status=400, code="validation-failed", json={"reason": " "})
        await _problem(provider, http, "POST", "/api/v1/agreements/urn:none/terminate",
                       status=404, code="agreement-not-found", json={"reason": "why"})
        await _problem(consumer, http, "POST", "/api/v1/transfers/urn:none/receipt",
                       status=404, code="process-not-found")
        await _problem(consumer, http, "GET", "/api/v1/receipts?limit=0", status=400,
                       code="paging-invalid")
