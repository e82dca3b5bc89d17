"""The conformance suite's two parties: the connector under test (TCK mode) and the peer."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from tests.conftest import SHARED
from tests.connector.conformance.peer import Peer
from tests.connector.conftest import StoreFactory
from tests.connector.harness import RunningConnector, start_connector
from tests.factories import connector_settings

SCHEMAS = SHARED / "specs" / "dsp-2025-1"


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def cut(
    module_stores: StoreFactory, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[RunningConnector]:
    """The connector under test, in TCK mode, shared by the tests of a module."""
    settings = connector_settings(
        "cut", tmp_path_factory.mktemp("cut"), module_stores(),
        tck={"enabled": True, "token": "tck-token", "participant_id": "TCK_PARTICIPANT"},
    )
    running = await start_connector(settings)
    yield running
    await running.stop()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def peer_server(cut: RunningConnector) -> AsyncIterator[Peer]:
    """The counter-party server, shared by the tests of a module."""
    peer = Peer(SCHEMAS)
    await peer.start(cut.dsp_url)
    yield peer
    await peer.stop()


@pytest_asyncio.fixture(loop_scope="module")
async def peer(peer_server: Peer) -> AsyncIterator[Peer]:
    """The peer, with a clean message log; fails the test on any schema violation."""
    peer_server.reset()
    yield peer_server
    assert peer_server.violations == []
