"""``dataspace connector``: the management client commands against running connectors.

Each command runs as its own ``python -m dataspace`` process, as a user runs it.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio

from connector.settings import FixedCaller
from servicekit.service_info import write_private_json
from tests.conftest import REPO_ROOT
from tests.connector.conftest import StoreFactory
from tests.connector.harness import RunningConnector, connector_settings, start_connector

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def pair(
    module_stores: StoreFactory, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[tuple[RunningConnector, RunningConnector]]:
    """A provider and a consumer; each has a service.json in its data dir."""
    tmp = tmp_path_factory.mktemp("cli")
    provider = await start_connector(connector_settings(
        "provider", tmp, module_stores(),
        tokens={"consumer-token": FixedCaller(id="did:web:consumer.example")},
        outbound_token="provider-token"))
    consumer = await start_connector(connector_settings(
        "consumer", tmp, module_stores(),
        tokens={"provider-token": FixedCaller(id="did:web:provider.example")},
        outbound_token="consumer-token"))
    for running in (provider, consumer):
        write_private_json(running.settings.data_dir / "service.json", running.info)
    yield provider, consumer
    await consumer.stop()
    await provider.stop()


@dataclass
class Result:
    """How a ``dataspace`` process ended."""

    exit_code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


async def _run(*args: str) -> Result:
    """Run ``dataspace <args>`` as its own process (as a user would)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "dataspace", *args, cwd=REPO_ROOT,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await process.communicate()
    assert process.returncode is not None
    return Result(process.returncode, out.decode(), err.decode())


def _json(result: Result) -> Any:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


async def test_dataset_add_list_negotiate_and_transfer(
    pair: tuple[RunningConnector, RunningConnector], tmp_path: Path
) -> None:
    provider, consumer = pair
    policy = tmp_path / "policy.json"
    policy.write_text(json.dumps({"permission": [{"action": "use"}]}))
    added = _json(await _run(
        "connector", "dataset", "add", "--data-dir", str(provider.settings.data_dir),
        "--id", "urn:cli:1", "--title", "Bridges", "--keyword", "bridges",
        "--backend", "https://example.org/bridges", "--policy", str(policy)))
    assert added["dataset"]["id"] == "urn:cli:1"
    assert added["offer"]["policy"] == {"permission": [{"action": "use"}]}
    listed = _json(await _run("connector", "dataset", "list", "--url",
                              provider.management_url, "--api-key",
                              provider.info["admin_api_key"]))
    assert [d["id"] for d in listed["items"]] == ["urn:cli:1"]

    negotiated = _json(await _run(
        "connector", "negotiate", "--data-dir", str(consumer.settings.data_dir),
        "--provider", provider.dsp_url, "--dataset", "urn:cli:1"))
    assert negotiated["state"] == "FINALIZED"
    transferred = _json(await _run(
        "connector", "transfer", "--data-dir", str(consumer.settings.data_dir),
        "--agreement", negotiated["agreement_id"]))
    assert transferred["state"] == "STARTED"
    assert transferred["edr"]["endpoint"] == provider.base_url + "/data"
    assert transferred["edr"]["token"]


async def test_cli_errors_are_one_line_and_exit_2(
    pair: tuple[RunningConnector, RunningConnector], tmp_path: Path
) -> None:
    provider, _consumer = pair
    missing = await _run("connector", "dataset", "list", "--data-dir", str(tmp_path))
    assert missing.exit_code == 2
    assert "no connector service.json" in missing.stderr
    refused = await _run("connector", "dataset", "list", "--url", provider.management_url,
                         "--api-key", "dsk_wrong")
    assert refused.exit_code == 2
    assert refused.stderr.startswith("error: api-key-required")
    bad = await _run("connector", "dataset", "add", "--data-dir",
                     str(provider.settings.data_dir), "--title", "x", "--backend", "",)
    assert bad.exit_code == 2
    assert "validation-failed" in bad.stderr
    usage = await _run("connector", "pull", "--data-dir", str(provider.settings.data_dir))
    assert usage.exit_code == 2


async def test_a_terminated_negotiation_exits_1(
    pair: tuple[RunningConnector, RunningConnector]
) -> None:
    provider, consumer = pair
    created = await _run(
        "connector", "dataset", "add", "--data-dir", str(provider.settings.data_dir),
        "--id", "urn:cli:yellow", "--title", "Restricted", "--access-level", "RESTRICTED",
        "--backend", "https://example.org/r")
    assert created.exit_code == 0, created.output
    negotiate = asyncio.create_task(_run(
        "connector", "negotiate", "--data-dir", str(consumer.settings.data_dir),
        "--provider", provider.dsp_url, "--dataset", "urn:cli:yellow", "--timeout", "20"))
    async with aiohttp.ClientSession() as http:
        theirs: dict[str, Any] | None = None
        for _ in range(500):
            found = await provider.api(http, "GET", "/api/v1/negotiations?awaiting=owner")
            if found["items"]:
                theirs = found["items"][0]
                break
            await asyncio.sleep(0.02)
        assert theirs is not None
        await provider.api(http, "POST", f"/api/v1/negotiations/{theirs['id']}/terminate",
                           json={"reason": "no"}, expect=200)
    result = await negotiate
    assert result.exit_code == 1, result.output
    assert json.loads(result.stdout)["state"] == "TERMINATED"
