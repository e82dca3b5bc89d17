"""Fuzzing every service's OpenAPI finds no server error (schemathesis, ``not_a_server_error``).

Each service is started the way the README's development section says
(``dataspace ... serve --dev`` on loopback, a temporary ``--data-dir``) and
``schemathesis`` runs against its ``/openapi.json`` with the admin key (the
TCK token on the DSP port, so the DSP handlers are reached), a fixed seed and
few examples per operation: a bounded run that keeps "no 5xx" true in CI.
A new service (the marketplace) joins by adding its entry to :data:`SERVICES`.
The README's command runs the same check with more examples.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT, free_port

pytestmark = pytest.mark.slow

SEED = "20261206"
MAX_EXAMPLES = "5"


@dataclass(frozen=True)
class Api:
    """One OpenAPI a started service serves, and the headers its keys go in."""

    name: str
    port: int
    headers: Callable[[Path], dict[str, str]]


@dataclass(frozen=True)
class Service:
    """How to start a service for fuzzing: its command line and its APIs."""

    argv: Callable[[Path, int], list[str]]
    apis: Callable[[int], list[Api]]
    env: Callable[[Path, int], dict[str, str]] = field(default=lambda _d, _p: {})


def _admin_key(data_dir: Path) -> dict[str, str]:
    key = (data_dir / "admin_api_key").read_text().strip()
    # The data plane's decide/settle endpoints (for an nginx front) take it in their own header.
    return {"Authorization": f"Bearer {key}", "X-Dataplane-Key": key}


def _cli(*words: str) -> Callable[[Path, int], list[str]]:
    def argv(data_dir: Path, port: int) -> list[str]:
        return [sys.executable, "-m", "dataspace", *words, "serve", "--dev", "--host",
                "127.0.0.1", "--port", str(port), "--data-dir", str(data_dir),
                "--log-level", "WARNING"]
    return argv


SERVICES: dict[str, Service] = {
    "trust-anchor": Service(
        argv=_cli("trust-anchor"),
        apis=lambda port: [Api("trust anchor", port, _admin_key)]),
    # --tck: the DSP port then accepts the TCK's token, so fuzzing reaches the handlers.
    "connector": Service(
        argv=lambda data_dir, port: [*_cli("connector")(data_dir, port), "--tck",
                                     "--management-port", str(port + 1)],
        apis=lambda port: [Api("connector management", port + 1, _admin_key),
                           Api("connector DSP", port, lambda _d: {"Authorization": "tck-token"})]),
    "marketplace": Service(
        argv=_cli("marketplace"),
        apis=lambda port: [Api("marketplace", port, _admin_key)]),
    "data-plane": Service(
        argv=lambda _data_dir, _port: [sys.executable, "-m", "connector.dataplane"],
        env=lambda data_dir, port: {"CONNECTOR_DEV": "true", "CONNECTOR_HOST": "127.0.0.1",
                                    "CONNECTOR_PORT": str(port),
                                    "CONNECTOR_DATA_DIR": str(data_dir),
                                    "CONNECTOR_LOG_LEVEL": "WARNING"},
        apis=lambda port: [Api("data plane", port, _admin_key)]),
}


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


@pytest.fixture
def served(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Path, list[Api]]]:
    """The service named by the test's parameter, running until the test ends."""
    service = SERVICES[request.param]
    port = free_port() if request.param != "connector" else _two_free_ports()
    data_dir = tmp_path / request.param
    data_dir.mkdir()
    log = tmp_path / "service.log"
    env = {**os.environ, **service.env(data_dir, port), "PYTHONUNBUFFERED": "1"}
    with log.open("wb") as out:
        process = subprocess.Popen(service.argv(data_dir, port), cwd=REPO_ROOT, env=env,
                                   stdout=out, stderr=subprocess.STDOUT)
    try:
        apis = service.apis(port)
        deadline = time.monotonic() + 60
        while not all(_ready(f"http://127.0.0.1:{api.port}/openapi.json") for api in apis):
            assert process.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.2)
        yield data_dir, apis
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def _two_free_ports() -> int:
    for _ in range(50):
        port = free_port()
        if _port_free(port + 1):
            return port
    raise AssertionError("no two consecutive free ports")


def _port_free(port: int) -> bool:
    import socket

    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


@pytest.mark.parametrize("served", list(SERVICES), indirect=True)
def test_fuzzing_the_openapi_finds_no_server_error(served: tuple[Path, list[Api]],
                                                   tmp_path: Path) -> None:
    data_dir, apis = served
    for api in apis:
        report = tmp_path / f"{api.port}.json"
        headers = [arg for name, value in api.headers(data_dir).items()
                   for arg in ("--header", f"{name}: {value}")]
        result = subprocess.run(
            [sys.executable, "-m", "schemathesis.cli", "run",
             f"http://127.0.0.1:{api.port}/openapi.json", "--checks", "not_a_server_error",
             *headers, "--phases", "coverage,fuzzing", "--max-examples", MAX_EXAMPLES,
             "--seed", SEED, "--workers", "1", "--request-timeout", "20",
             "--report", "json", "--report-json-path", str(report)],
            cwd=tmp_path, capture_output=True, text=True, timeout=240, check=False)
        assert result.returncode == 0, f"{api.name}:\n{result.stdout[-6000:]}"
        # The run reached every documented operation and found nothing.
        summary = json.loads(report.read_text())
        assert summary["operations"]["tested"] == summary["operations"]["total"] > 0, summary
        assert summary["test_cases"]["generated"] > 10 * summary["operations"]["total"], summary
        assert summary["failures"] == [], summary
        assert summary["errors"] == [], summary
