"""Through the real control plane: negotiate, transfer, pull under the agreement, suspend."""

from __future__ import annotations

import asyncio
import collections
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from aiohttp import web
from aiohttp.test_utils import TestServer

from connector.app import create_app
from connector.dataplane.web import DATA_PLANE
from connector.settings import FixedCaller
from tests.connector.conftest import StoreFactory
from tests.connector.dataplane.harness import (
    COMMERCE,
    RESEARCH,
    bearer,
    enforcing_pair,
    pull_transfer,
)
from tests.connector.harness import RunningConnector
from tests.factories import CONSUMER, connector_settings

POLICY = {"permission": [{"action": "use", "constraint": [
    {"leftOperand": "purpose", "operator": "isAnyOf", "rightOperand": [RESEARCH]},
    {"leftOperand": "count", "operator": "lt",
     "rightOperand": {"@value": "3", "@type": "xsd:integer"}},
]}]}


@pytest_asyncio.fixture
async def pair(stores: StoreFactory, tmp_path: Path) -> AsyncIterator[
    tuple[RunningConnector, RunningConnector]
]:
    """A provider whose data plane enforces, and a consumer."""
    member = FixedCaller(id=CONSUMER, credential_types=["MembershipCredential"])
    async with enforcing_pair(stores, tmp_path, member) as connectors:
        yield connectors


async def _agree(provider: RunningConnector, consumer: RunningConnector,
                 http: aiohttp.ClientSession, backend_url: str) -> dict[str, Any]:
    # Purpose and count are only known per use: depending on the control plane's rule the
    # offer is agreed at once or waits for the owner, who approves it.
    return await pull_transfer(provider, consumer, http, {
        "id": "urn:city:counts", "title": "Traffic counts", "policy": POLICY,
        "backend": {"address": backend_url, "properties": {
            "proxyQueryParams": "true", "header.Authorization": "Bearer backend-secret-key"}}},
        approval="if-asked")


async def test_an_agreement_from_the_control_plane_is_enforced_per_request(
    pair: tuple[RunningConnector, RunningConnector], backend: TestServer
) -> None:
    provider, consumer = pair
    async with aiohttp.ClientSession() as http:
        edr = await _agree(provider, consumer, http, str(backend.make_url("/api/items")))
        assert edr["endpoint"] == provider.base_url + "/data"
        research = {**bearer(edr["token"]), "X-Purpose": RESEARCH}

        async def status(headers: dict[str, str]) -> int:
            async with http.get(edr["endpoint"] + "?page=1", headers=headers) as response:
                await response.read()
                return response.status

        assert await status({**bearer(edr["token"]), "X-Purpose": COMMERCE}) == 403
        statuses = await asyncio.gather(*(status(research) for _ in range(5)))
        assert collections.Counter(statuses) == {200: 3, 403: 2}

        # the provider's owner suspends: the consumer's token stops at once
        transfers = (await provider.api(http, "GET", "/api/v1/transfers?role=provider",
                                        expect=200))["items"]
        await provider.api(http, "POST", f"/api/v1/transfers/{transfers[0]['id']}/suspend",
                           expect=200, json={"reason": "maintenance"})
        async with http.get(edr["endpoint"], headers=research) as response:
            assert response.status == 403
            assert (await response.json(content_type=None))["code"] == "transfer-not-active"

        # the decision is also on the management port, for an nginx front
        async with http.post(provider.management_url + "/dataplane/decide",
                             headers={"X-Dataplane-Key": provider.info["admin_api_key"]},
                             json={"token": edr["token"], "purpose": RESEARCH}) as response:
            assert response.status == 403
        async with http.post(provider.base_url + "/dataplane/decide",
                             json={"token": edr["token"]}) as response:
            assert response.status in (404, 405)  # not on the DSP port


async def test_the_policy_monitor_terminates_through_the_control_plane(
    pair: tuple[RunningConnector, RunningConnector], backend: TestServer
) -> None:
    provider, consumer = pair
    async with aiohttp.ClientSession() as http:
        edr = await _agree(provider, consumer, http, str(backend.make_url("/api/items")))
        plane = provider.app[DATA_PLANE]
        assert plane.monitor.terminator is not None
        await plane.monitor.terminator.terminate_transfer(
            await _provider_transfer(provider, http),
            code="agreement-expired", reason="the agreement's time window has closed")
        consumer_transfers = (await consumer.api(http, "GET", "/api/v1/transfers",
                                                 expect=200))["items"]
        await consumer.wait_for(http, "transfers", consumer_transfers[0]["id"], {"TERMINATED"})
        async with http.get(edr["endpoint"], headers={**bearer(edr["token"]),
                                                      "X-Purpose": RESEARCH}) as response:
            assert response.status == 403


async def _provider_transfer(provider: RunningConnector, http: aiohttp.ClientSession) -> str:
    items = (await provider.api(http, "GET", "/api/v1/transfers?role=provider",
                                expect=200))["items"]
    return str(items[0]["id"])


async def test_a_start_up_that_fails_after_the_data_plane_started_stops_it(
    stores: StoreFactory, tmp_path: Path
) -> None:
    # the management port is taken (without SO_REUSEPORT), so serving it fails after the
    # data plane has started; cleaning up the half-started app must stop the data plane
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        settings = connector_settings("provider", tmp_path, stores(), signaling="data-plane",
                                      management_port=taken.getsockname()[1])
        runner = web.AppRunner(create_app(settings), access_log=None)
        with pytest.raises(OSError, match="in use"):
            await runner.setup()
        await runner.cleanup()
    running = [t.get_name() for t in asyncio.all_tasks()
               if t.get_name().startswith("dp-") and not t.done()]
    assert running == []
