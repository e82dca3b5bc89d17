"""Run services as child processes, keep them alive, stop them cleanly.

Each :class:`ServiceSpec` is one ``dataspace <service> serve ...`` process
with its own data directory and log file. The supervisor starts them all at
once and waits until each answers ``/readyz``, restarts a child that dies
(with back-off), and on stop sends SIGTERM to all children, then SIGKILL to
any still alive after the grace period.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from servicekit.errors import DataspaceError

__all__ = ["ServiceSpec", "Supervisor"]


@dataclass
class ServiceSpec:
    """One service of the local data space."""

    name: str
    role: str
    args: list[str]
    port: int
    data_dir: Path
    env: dict[str, str] = field(default_factory=dict)
    #: Python module to run instead of ``dataspace`` (e.g. a seeded backend).
    module: str = "dataspace"
    #: Path answered with 200 once ready (``/readyz`` for our services).
    ready_path: str = "/readyz"

    @property
    def base_url(self) -> str:
        """Where the service listens."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_file(self) -> Path:
        """The child's stdout and stderr."""
        return self.data_dir / f"{self.name}.log"

    def service_json(self) -> dict[str, Any] | None:
        """The service's ``service.json`` (None for helper processes)."""
        path = self.data_dir / "service.json"
        if not path.exists():
            return None
        data: dict[str, Any] = json.loads(path.read_text())
        return data


class Supervisor:
    """Starts, watches and stops the children."""

    def __init__(self, specs: Sequence[ServiceSpec], *, env: dict[str, str] | None = None,
                 ready_timeout: float = 30.0, grace: float = 8.0,
                 on_event: Callable[[str, str], None] | None = None) -> None:
        self.specs = list(specs)
        self._env = env or {}
        self._ready_timeout = ready_timeout
        self._grace = grace
        self._on_event = on_event or (lambda _name, _message: None)
        self._processes: dict[str, asyncio.subprocess.Process] = {}
        self._restarts: dict[str, int] = {}
        self._stopping = False
        self._watch: asyncio.Task[None] | None = None

    def process(self, name: str) -> asyncio.subprocess.Process | None:
        """The running child called ``name``."""
        return self._processes.get(name)

    def restarts(self, name: str) -> int:
        """How many times ``name`` was restarted."""
        return self._restarts.get(name, 0)

    async def _spawn(self, spec: ServiceSpec) -> asyncio.subprocess.Process:
        spec.data_dir.mkdir(parents=True, exist_ok=True)
        log = spec.log_file.open("ab")
        try:
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", spec.module, *spec.args,
                stdout=log, stderr=log, stdin=asyncio.subprocess.DEVNULL,
                env={**self._env, **spec.env},
                start_new_session=True,  # Ctrl-C reaches the supervisor, not the children
            )
        finally:
            log.close()
        self._processes[spec.name] = process
        return process

    async def _wait_ready(self, spec: ServiceSpec, process: asyncio.subprocess.Process) -> None:
        deadline = time.monotonic() + self._ready_timeout
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as http:
            while time.monotonic() < deadline:
                if process.returncode is not None:
                    raise DataspaceError(
                        f"{spec.name} exited with {process.returncode}; see {spec.log_file}",
                        code="service-failed")
                try:
                    async with http.get(spec.base_url + spec.ready_path) as response:
                        if response.status == 200:
                            return
                except (aiohttp.ClientError, TimeoutError):
                    pass
                await asyncio.sleep(0.1)
        raise DataspaceError(f"{spec.name} was not ready within {self._ready_timeout:.0f} s; "
                             f"see {spec.log_file}", code="service-not-ready")

    async def start(self) -> None:
        """Start every service at once, wait until all are ready; then watch them.

        Services find each other by URL when they need to, not at start-up,
        so they can start together (which is what makes ``up`` quick).
        """
        processes = [await self._spawn(spec) for spec in self.specs]

        async def ready(spec: ServiceSpec, process: asyncio.subprocess.Process) -> None:
            await self._wait_ready(spec, process)
            self._on_event(spec.name, f"ready at {spec.base_url}")

        results = await asyncio.gather(
            *(ready(spec, process) for spec, process in zip(self.specs, processes, strict=True)),
            return_exceptions=True)
        failures = [r for r in results if isinstance(r, BaseException)]
        if failures:
            raise failures[0]
        self._watch = asyncio.create_task(self._watch_children())

    async def _watch_children(self) -> None:
        while not self._stopping:
            for spec in self.specs:
                process = self._processes.get(spec.name)
                if process is None or process.returncode is None or self._stopping:
                    continue
                count = self._restarts.get(spec.name, 0) + 1
                self._restarts[spec.name] = count
                self._on_event(spec.name,
                               f"exited with {process.returncode}; restarting (#{count})")
                await asyncio.sleep(min(5.0, 0.2 * count))
                if self._stopping:
                    return
                try:
                    await self._wait_ready(spec, await self._spawn(spec))
                    self._on_event(spec.name, "ready again")
                except DataspaceError as error:
                    self._on_event(spec.name, error.detail)
            await asyncio.sleep(0.2)

    async def stop(self) -> None:
        """SIGTERM every child, wait up to the grace period, then SIGKILL the rest."""
        self._stopping = True
        if self._watch is not None:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch
        alive = [p for p in self._processes.values() if p.returncode is None]
        for process in alive:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
        if alive:
            _done, pending = await asyncio.wait([asyncio.create_task(p.wait()) for p in alive],
                                               timeout=self._grace)
            for process in alive:
                if process.returncode is None:
                    with contextlib.suppress(ProcessLookupError):
                        process.kill()
            for task in pending:
                await task
