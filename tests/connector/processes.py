"""Connectors as real processes: ``dataspace connector serve`` in a subprocess."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp

from tests.conftest import REPO_ROOT

__all__ = ["ServedConnector"]


class ServedConnector:
    """One ``dataspace connector serve`` process, started and stopped by pid."""

    def __init__(self, data_dir: Path, port: int, *, env: dict[str, str],
                 args: list[str] | None = None) -> None:
        self.data_dir = data_dir
        self.port = port
        self.env = env
        self.args = args or []
        self.process: subprocess.Popen[bytes] | None = None
        self.info: dict[str, Any] = {}
        self.log = data_dir.parent / f"{data_dir.name}-{port}.log"

    @property
    def dsp_url(self) -> str:
        """The DSP endpoint."""
        return f"http://127.0.0.1:{self.port}/dsp"

    async def start(self, timeout: float = 30.0) -> None:
        """Start the process and wait until it answers /readyz and wrote service.json."""
        service_file = self.data_dir / "service.json"
        service_file.unlink(missing_ok=True)
        env = {**os.environ, **self.env, "PYTHONUNBUFFERED": "1"}
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "dataspace", "connector", "serve", "--dev",
                 "--host", "127.0.0.1", "--port", str(self.port),
                 "--data-dir", str(self.data_dir), "--log-level", "WARNING", *self.args],
                cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        async with aiohttp.ClientSession() as http:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise AssertionError(f"connector exited: {self.log.read_text()[-2000:]}")
                if service_file.exists():
                    try:
                        async with http.get(f"http://127.0.0.1:{self.port}/readyz") as resp:
                            if resp.status == 200:
                                self.info = json.loads(service_file.read_text())
                                return
                    except aiohttp.ClientError:
                        pass
                await asyncio.sleep(0.1)
        raise AssertionError(f"connector did not become ready: {self.log.read_text()[-2000:]}")

    def kill(self) -> None:
        """SIGKILL: no shutdown, no lease release, nothing flushed."""
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        """SIGTERM and wait."""
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()

    async def api(self, http: aiohttp.ClientSession, method: str, path: str, *,
                  json_body: Any = None, expect: int | None = None) -> Any:
        """Call its management API."""
        headers = {"Authorization": f"Bearer {self.info['admin_api_key']}"}
        async with http.request(method, self.info["management_url"] + path, json=json_body,
                                headers=headers) as resp:
            body = await resp.json()
            if expect is not None:
                assert resp.status == expect, body
            return body
