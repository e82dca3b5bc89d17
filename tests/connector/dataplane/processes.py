"""Data planes in their own processes (``python -m connector.dataplane``), as replicas run."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import aiohttp
import sqlalchemy as sa

from connector.dataplane.store.tables import workers
from connector.settings import ConnectorSettings
from servicekit.db import create_engine
from tests.conftest import REPO_ROOT


def environment(settings: ConnectorSettings, **extra: str) -> dict[str, str]:
    """The environment that makes ``ConnectorSettings()`` equal ``settings`` (what matters)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONNECTOR_")}
    env.update({
        "CONNECTOR_DEV": "true",
        "CONNECTOR_HOST": settings.host,
        "CONNECTOR_PORT": str(settings.port),
        "CONNECTOR_NAME": settings.name,
        "CONNECTOR_DATA_DIR": str(settings.data_dir),
        "CONNECTOR_DATABASE_URL": settings.sqlalchemy_url,
        "CONNECTOR_DID_METHOD": settings.did_method or "key",
        "CONNECTOR_KEY_PASSPHRASE": settings.key_passphrase or "",
        "CONNECTOR_LOG_LEVEL": "WARNING",
        "CONNECTOR_DATA_PLANE__FLUSH_SECONDS": str(settings.data_plane.flush_seconds),
        "CONNECTOR_EDR_TOKEN_SECONDS": str(settings.edr_token_seconds),
        "PYTHONPATH": str(REPO_ROOT),
        **extra,
    })
    if settings.database_schema:
        env["CONNECTOR_DATABASE_SCHEMA"] = settings.database_schema
    if settings.data_plane_url:
        env["CONNECTOR_DATA_PLANE_URL"] = settings.data_plane_url
    return env


class DataPlaneProcess:
    """``python -m connector.dataplane --workers N`` in the background."""

    def __init__(self, settings: ConnectorSettings, *, workers: int = 1,
                 env: Mapping[str, str] | None = None, log: Path | None = None) -> None:
        self.settings = settings
        self.workers = workers
        self._log = open(log or os.devnull, "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "connector.dataplane", "--workers", str(workers)],
            env=dict(env or environment(settings)), stdout=self._log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def base(self) -> str:
        """The base URL the process serves."""
        return self.settings.base_url

    async def ready(self, *, timeout: float = 60.0) -> None:
        """Wait until /readyz answers 200 (and, with workers, all of them have joined)."""
        deadline = time.monotonic() + timeout
        async with aiohttp.ClientSession() as http:
            while True:
                assert self.process.poll() is None, "the data plane process exited"
                try:
                    async with http.get(self.base + "/readyz") as response:
                        if response.status == 200:
                            break
                except aiohttp.ClientError:
                    pass
                assert time.monotonic() < deadline, "the data plane did not become ready"
                await asyncio.sleep(0.1)

    def stop(self) -> None:
        """SIGTERM the process group, wait, close the log."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        self._log.close()


async def live_workers(settings: ConnectorSettings) -> int:
    """How many data-plane workers have a recent heartbeat in the store."""
    engine = create_engine(settings.sqlalchemy_url, schema=settings.database_schema)
    try:
        async with engine.connect() as conn:
            return int((await conn.execute(
                sa.select(sa.func.count()).select_from(workers)
                .where(workers.c.heartbeat > time.time() - 3)
            )).scalar_one())
    finally:
        await engine.dispose()
