"""MET and CAT: the version endpoint and the catalog protocol (we are the provider)."""

from __future__ import annotations

import pytest

from tests.connector.conformance.peer import Peer
from tests.connector.harness import RunningConnector

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def test_met_01_01_metadata_request(cut: RunningConnector, peer: Peer) -> None:
    """MET:01-01: the version document lists 2025-1 with a path and the HTTPS binding."""
    assert peer.http is not None
    async with peer.http.get(cut.base_url + "/.well-known/dspace-version") as resp:
        assert resp.status == 200
        document = await resp.json()
    for error in peer.schemas.errors(document, "VersionResponse"):
        pytest.fail(f"version document: {error}")
    versions = document["protocolVersions"]
    entry = next(v for v in versions if v["version"] == "2025-1")
    assert entry["path"] == "/dsp"
    assert entry["binding"] == "HTTPS"


async def test_cat_01_01_catalog_request(peer: Peer) -> None:
    """CAT:01-01: a catalog request returns a Catalog with the seeded dataset CAT0101."""
    catalog = await peer.send(
        "/catalog/request", peer.message("CatalogRequestMessage", filter=[]), expect=200)
    assert catalog["@type"] == "Catalog"
    ids = [d["@id"] for d in catalog["dataset"]]
    assert "CAT0101" in ids
    assert catalog["participantId"]


async def test_cat_01_02_dataset_request(peer: Peer) -> None:
    """CAT:01-02: a dataset request returns the Dataset CAT0102 with its offer."""
    dataset = await peer.get("/catalog/datasets/CAT0102")
    assert dataset["@id"] == "CAT0102"
    assert dataset["hasPolicy"][0]["@id"] == "CD123:CAT0102:456"
    assert dataset["distribution"][0]["format"] == "HttpData-PULL"


async def test_cat_01_03_dataset_request_not_found(peer: Peer) -> None:
    """CAT:01-03: an unknown dataset is a 404 with a CatalogError body."""
    error = await peer.get("/catalog/datasets/CAT0103", expect=404)
    assert error["@type"] == "CatalogError"
    assert error["code"] == "dataset-not-found"
