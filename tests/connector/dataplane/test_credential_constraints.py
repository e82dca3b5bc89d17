"""Credential constraints of an agreement are enforced on each use.

The consumer's credentials are verified (over DCP; here the fixed-token seam
stands in) when the contract is made; the data plane evaluates
``dst:credentialType`` and ``dst:claim`` constraints against them per request.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest_asyncio
from aiohttp import web
from aiohttp.test_utils import TestServer

from connector.settings import FixedCaller
from tests.connector.conftest import StoreFactory
from tests.connector.dataplane.harness import RESEARCH, bearer, enforcing_pair, pull_transfer
from tests.connector.harness import RunningConnector
from tests.factories import CONSUMER

PROFILE = "https://w3id.org/dataspace-toolkit/odrl/profile"


def policy(country: str) -> dict[str, Any]:
    return {"profile": PROFILE, "permission": [{"action": "use", "constraint": [
        {"leftOperand": "dst:credentialType", "operator": "eq",
         "rightOperand": "MembershipCredential"},
        {"leftOperand": "dst:claim/MembershipCredential/country", "operator": "eq",
         "rightOperand": country},
        {"leftOperand": "purpose", "operator": "eq", "rightOperand": RESEARCH},
    ]}]}


@pytest_asyncio.fixture
async def backend() -> AsyncIterator[TestServer]:
    async def items(_request: web.Request) -> web.Response:
        return web.json_response([{"count": 42}])

    app = web.Application()
    app.router.add_get("/items", items)
    async with TestServer(app, host="127.0.0.1") as server:
        yield server


@pytest_asyncio.fixture
async def pair(stores: StoreFactory, tmp_path: Path) -> AsyncIterator[
    tuple[RunningConnector, RunningConnector]
]:
    member = FixedCaller(id=CONSUMER, credential_types=["MembershipCredential"],
                         claims={"MembershipCredential": {"country": "NO",
                                                          "legalName": "Example Analytics AS"}})
    async with enforcing_pair(stores, tmp_path, member) as connectors:
        yield connectors


async def pull_under(provider: RunningConnector, consumer: RunningConnector,
                     http: aiohttp.ClientSession, dataset: str, terms: dict[str, Any],
                     backend_url: str, *, owner_approves: bool = False) -> tuple[int, Any]:
    # When the claim is not met the provider waits for its owner, who approves anyway.
    edr = await pull_transfer(provider, consumer, http, {
        "id": dataset, "title": dataset, "policy": terms, "backend": {"address": backend_url}},
        approval="required" if owner_approves else "none")
    async with http.get(edr["endpoint"], headers={**bearer(edr["token"]),
                                                  "X-Purpose": RESEARCH}) as response:
        return response.status, await response.json()


async def test_verified_claims_reach_the_data_plane(
    pair: tuple[RunningConnector, RunningConnector], backend: TestServer
) -> None:
    provider, consumer = pair
    async with aiohttp.ClientSession() as http:
        status, body = await pull_under(provider, consumer, http, "urn:members:no",
                                        policy("NO"), str(backend.make_url("/items")))
    # Before the credentials were carried to the data plane, this was a 403:
    # the per-request context held no credentials, so dst:credentialType failed.
    assert status == 200, body
    assert body == [{"count": 42}]


async def test_a_claim_the_consumer_does_not_have_is_refused(
    pair: tuple[RunningConnector, RunningConnector], backend: TestServer
) -> None:
    provider, consumer = pair
    async with aiohttp.ClientSession() as http:
        status, body = await pull_under(provider, consumer, http, "urn:members:se",
                                        policy("SE"), str(backend.make_url("/items")),
                                        owner_approves=True)
    # The owner's approval does not change the terms: each use is still refused.
    assert status == 403
    assert body["code"] == "policy-denied"
    assert "country" in body["detail"]
