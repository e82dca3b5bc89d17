"""`dataspace up` and `dataspace demo` as a newcomer runs them, as real processes.

One data space for the module (it takes a few seconds to start): the demo
completes; it completes again while a connector is killed and restarted;
Ctrl-C stops every child; a second `up` reuses the state.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.local.conftest import DATASPACE, Up, children_of, free_base_port

pytestmark = pytest.mark.slow


def demo(data_dir: Path, *, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*DATASPACE, "demo", "--data-dir", str(data_dir)],
                          capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "COLUMNS": "200"})


@pytest.fixture(scope="module")
def space(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Up]:
    running = Up(tmp_path_factory.mktemp("up") / "space", free_base_port())
    yield running
    if running.process.poll() is None:
        running.interrupt()


def test_the_story_completes(space: Up) -> None:
    services = space.services()
    assert {name: s["role"] for name, s in services.items()} == {
        "trust-anchor": "trust-anchor", "halden": "provider",
        "example-analytics": "consumer"}
    result = demo(space.data_dir)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Every step behaved as expected" in result.stdout
    assert "call 101: 403" in result.stdout
    assert "'requests': 100" in result.stdout


def test_the_story_survives_a_connector_killed_midway(space: Up) -> None:
    consumer_dir = str(space.data_dir / "example-analytics")
    victims = [pid for pid in children_of(space.process.pid)
               if consumer_dir in Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " ")]
    assert len(victims) == 1
    running = subprocess.Popen([*DATASPACE, "demo", "--data-dir", str(space.data_dir)],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               env={**os.environ, "COLUMNS": "200"})
    time.sleep(1.5)
    os.kill(victims[0], signal.SIGKILL)
    output, _ = running.communicate(timeout=180)
    assert running.returncode == 0, output
    log = space.log.read_text()
    assert "example-analytics: exited with -9; restarting" in log
    assert "example-analytics: ready again" in log


def test_interrupt_stops_everything_and_a_second_up_reuses_the_state(space: Up) -> None:
    before = space.services()
    stopped_in = space.interrupt()
    assert stopped_in < 10
    again = Up(space.data_dir, int(str(before["trust-anchor"]["base_url"]).rsplit(":", 1)[1]))
    try:
        after = again.services()
        for name in ("trust-anchor", "halden", "example-analytics"):
            assert after[name]["did"] == before[name]["did"]
            assert after[name]["admin_api_key"] == before[name]["admin_api_key"]
        assert "onboarded" not in again.log.read_text()  # nothing was applied for again
        import urllib.request

        with urllib.request.urlopen(f"{after['trust-anchor']['base_url']}/participants") as r:
            members = json.loads(r.read())["items"]
        names = sorted(m["legal_name"] for m in members)
        assert names == sorted(set(names))  # no duplicate participants
        assert {"Halden kommune", "Example Analytics AS"} <= set(names)
    finally:
        again.interrupt()


@pytest.mark.postgres
@pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL"), reason="needs PostgreSQL")
def test_the_story_on_postgres(tmp_path: Path) -> None:
    import asyncio

    from tests.conftest import drop_schema

    url = os.environ["TEST_DATABASE_URL"]
    schemas = ("trust_anchor", "halden", "example_analytics")

    async def clean() -> None:
        for schema in schemas:
            await drop_schema(url, schema)

    asyncio.run(clean())
    base = free_base_port()
    log = tmp_path / "up.log"
    with log.open("w") as sink:
        process = subprocess.Popen(
            [*DATASPACE, "up", "--data-dir", str(tmp_path / "space"), "--base-port", str(base),
             "--postgres", url], stdout=sink, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 90
        while "The data space is up" not in log.read_text():
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        assert not list((tmp_path / "space").rglob("*.sqlite3"))  # all state is in PostgreSQL
        result = demo(tmp_path / "space")
        assert result.returncode == 0, result.stdout + result.stderr
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)
        asyncio.run(clean())
