"""The supervisor behind `dataspace up`: ready in order, restart on death, clean stop."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path

import aiohttp

from dataspace.local.supervisor import ServiceSpec, Supervisor
from tests.conftest import free_port


def specs(tmp_path: Path) -> list[ServiceSpec]:
    ta_port, parking_port = free_port(), free_port()
    return [
        ServiceSpec("trust-anchor", "trust-anchor",
                    ["trust-anchor", "serve", "--dev", "--port", str(ta_port),
                     "--data-dir", str(tmp_path / "ta")],
                    ta_port, tmp_path / "ta", env={"TA_KEY_SCRYPT_N": "1024"}),
        ServiceSpec("parking", "backend", ["--port", str(parking_port)], parking_port,
                    tmp_path / "parking", module="dataspace.local.parking"),
    ]


async def test_children_start_restart_and_stop(tmp_path: Path) -> None:
    events: list[tuple[str, str]] = []
    supervisor = Supervisor(specs(tmp_path), env=dict(os.environ),
                            on_event=lambda name, message: events.append((name, message)))
    await supervisor.start()
    try:
        ta, parking = supervisor.specs
        assert sorted(name for name, _ in events) == ["parking", "trust-anchor"]
        assert ta.service_json() is not None
        async with aiohttp.ClientSession() as http:
            async with http.get(parking.base_url + "/parking") as response:
                assert response.status == 200
                assert (await response.json())[0]["type"] == "OffStreetParking"
            first = supervisor.process("trust-anchor")
            assert first is not None
            first.send_signal(signal.SIGKILL)
            deadline = time.monotonic() + 30
            while supervisor.restarts("trust-anchor") == 0 or (
                    "trust-anchor", "ready again") not in events:
                assert time.monotonic() < deadline, events
                await asyncio.sleep(0.1)
            async with http.get(ta.base_url + "/readyz") as response:
                assert response.status == 200
            assert supervisor.process("trust-anchor") is not first
    finally:
        started = time.monotonic()
        await supervisor.stop()
        assert time.monotonic() - started < 10
    for spec in supervisor.specs:
        process = supervisor.process(spec.name)
        assert process is not None
        assert process.returncode is not None
