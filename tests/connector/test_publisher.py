"""Who publishes: a dataset's default publisher and the catalog's title are our legal name.

The legal name comes from the settings when configured, else from the
MembershipCredential the trust anchor issued us (its ``legalName``, checked
by the operator at onboarding), else the connector's short name.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest_asyncio

from connector.settings import AuthSettings, FixedCaller
from tests.connector.conftest import StoreFactory
from tests.connector.harness import RunningConnector, halden_at_a_trust_anchor, start_connector
from tests.factories import connector_settings

CONTEXT = ["https://w3id.org/dspace/2025/1/context.jsonld"]
CALLER = {"consumer-token": FixedCaller(id="did:web:consumer.example")}


@pytest_asyncio.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    """A plain HTTP client."""
    async with aiohttp.ClientSession() as session:
        yield session


async def _add(connector: RunningConnector, http: aiohttp.ClientSession,
               **fields: Any) -> dict[str, Any]:
    body = {"title": "Luftkvalitet", "backend": {"address": "https://backend.invalid/air"}}
    return dict(await connector.api(http, "POST", "/api/v1/datasets", json=body | fields,
                                    expect=201))


async def _catalog(connector: RunningConnector, http: aiohttp.ClientSession) -> dict[str, Any]:
    async with http.post(connector.dsp_url + "/catalog/request",
                         headers={"Authorization": "consumer-token"},
                         json={"@context": CONTEXT, "@type": "CatalogRequestMessage",
                               "filter": []}) as resp:
        assert resp.status == 200, await resp.text()
        return dict(await resp.json())


async def test_the_configured_legal_name_publishes_and_titles_the_catalog(
    stores: StoreFactory, tmp_path: Path, http: aiohttp.ClientSession,
) -> None:
    connector = await start_connector(connector_settings(
        "halden", tmp_path, stores(), tokens=CALLER, legal_name="Halden kommune"))
    try:
        created = await _add(connector, http)
        assert created["dataset"]["publisher"] == "Halden kommune"
        # A publisher the owner names stays theirs.
        named = await _add(connector, http, publisher="Østfold fylkeskommune")
        assert named["dataset"]["publisher"] == "Østfold fylkeskommune"
        catalog = await _catalog(connector, http)
        assert catalog["dct:title"] == "Catalog of Halden kommune"
        publishers = {d["@id"]: d["dct:publisher"] for d in catalog["dataset"]}
        assert publishers == {created["dataset"]["id"]: "Halden kommune",
                              named["dataset"]["id"]: "Østfold fylkeskommune"}
    finally:
        await connector.stop()


async def test_without_a_legal_name_or_membership_the_name_stands_in(
    stores: StoreFactory, tmp_path: Path, http: aiohttp.ClientSession,
) -> None:
    connector = await start_connector(connector_settings("halden", tmp_path, stores(),
                                                         tokens=CALLER))
    try:
        assert (await _add(connector, http))["dataset"]["publisher"] == "halden"
        assert (await _catalog(connector, http))["dct:title"] == "Catalog of halden"
    finally:
        await connector.stop()


async def test_an_onboarded_connector_publishes_under_its_membership_legal_name(
    stores: StoreFactory, tmp_path: Path, http: aiohttp.ClientSession,
) -> None:
    async with halden_at_a_trust_anchor(
            tmp_path, stores, AuthSettings(mode="fixed-token", tokens=CALLER)) as (ta, connector):
        before = await _add(connector, http, id="before-onboarding")
        assert before["dataset"]["publisher"] == "halden"
        approved = await ta.approve(http, connector)
        await connector.api(http, "POST", "/api/v1/membership/collect", expect=201,
                            json={"tx_code": approved["tx_code"]})
        after = await _add(connector, http, id="after-onboarding")
        assert after["dataset"]["publisher"] == "Halden kommune"
        assert (await _catalog(connector, http))["dct:title"] == "Catalog of Halden kommune"
