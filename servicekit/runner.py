"""Run a service: one process, or several worker processes sharing one port.

:func:`run_service` is what ``dataspace <service> serve`` calls. It builds the
app with the service's factory, listens, calls ``on_ready`` once the socket
accepts connections (the service writes ``service.json`` there), and stops
cleanly on SIGINT/SIGTERM. With ``workers > 1`` it starts that many worker
processes that bind the same port with ``SO_REUSEPORT`` (the kernel spreads
connections between them) and supervises them: a worker that dies is
restarted; a signal to the parent stops all of them.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import signal
import socket
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeVar

from aiohttp import web

from servicekit.app import SERVICE_INFO, SETTINGS
from servicekit.errors import Conflict
from servicekit.logging import configure_logging
from servicekit.service_info import SERVICE_FILE, write_private_json
from servicekit.settings import ServiceSettings

__all__ = [
    "AppFactory",
    "PortInUse",
    "ensure_ports_free",
    "run_from_environment",
    "run_service",
    "serve_until_stopped",
    "write_service_json",
]

S = TypeVar("S", bound=ServiceSettings)
AppFactory = Callable[[Any], web.Application | Awaitable[web.Application]]
ReadyHook = Callable[[web.Application, int], None]


class PortInUse(Conflict, code="port-in-use"):
    """Another process listens on a port this service needs."""


def ensure_ports_free(host: str, ports: Iterable[int], *, advice: str = "") -> None:
    """Raise :class:`PortInUse` unless every port can be listened on at ``host``.

    Checked before anything starts: a service (or its workers, or the children
    of ``dataspace up``) that finds its port taken would otherwise crash and be
    restarted over and over, while whoever holds the port answers in its stead.
    The probe binds as the server will (``SO_REUSEADDR``), so a port left in
    TIME_WAIT by a stopped service counts as free.
    """
    for port in ports:
        try:
            probe = socket.create_server((host, port))
        except OSError as exc:
            raise PortInUse(f"port {port} is in use{advice}",
                            extra={"port": port, "reason": exc.strerror}) from None
        probe.close()


def write_service_json(app: web.Application, _worker_index: int = 0) -> None:
    """The default ready hook: write ``<data-dir>/service.json`` (mode 0600)."""
    settings = app[SETTINGS]
    info: dict[str, Any] = app[SERVICE_INFO]
    write_private_json(settings.data_dir / SERVICE_FILE, dict(info))


def _install_uvloop() -> None:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency on Linux
        return
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())


async def serve_until_stopped(
    factory: AppFactory,
    settings: ServiceSettings,
    *,
    reuse_port: bool = False,
    on_ready: ReadyHook | None = write_service_json,
    worker_index: int = 0,
) -> None:
    """Serve ``factory(settings)`` on the settings' host and port until a stop signal."""
    built = factory(settings)
    app = await built if isinstance(built, Awaitable) else built
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    try:
        # A start-up that fails part-way (a cleanup context, the site) still undoes
        # what had started: the cleanup runs the exits of the contexts that began.
        await runner.setup()
        site = web.TCPSite(
            runner, settings.host, settings.port, reuse_port=reuse_port, backlog=1024
        )
        await site.start()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        if on_ready is not None and worker_index == 0:
            on_ready(app, worker_index)
        await stop.wait()
    finally:
        await runner.cleanup()


def _worker_main(
    factory: AppFactory, settings: ServiceSettings, index: int, on_ready: ReadyHook | None
) -> None:
    _install_uvloop()
    asyncio.run(
        serve_until_stopped(
            factory, settings, reuse_port=True, on_ready=on_ready, worker_index=index
        )
    )


def run_service(
    factory: AppFactory,
    settings: ServiceSettings,
    *,
    workers: int = 1,
    on_ready: ReadyHook | None = write_service_json,
) -> None:
    """Run the service in the foreground until SIGINT or SIGTERM.

    Raises :class:`PortInUse` before starting when the port is taken.
    """
    ensure_ports_free(settings.host, [settings.port] if settings.port else [],
                      advice="; use another port")
    if workers <= 1:
        _install_uvloop()
        asyncio.run(serve_until_stopped(factory, settings, on_ready=on_ready))
        return
    _supervise(factory, settings, workers, on_ready)


def run_from_environment(
    factory: AppFactory, settings_cls: type[ServiceSettings], *, workers: int = 1
) -> None:
    """What ``python -m <service>`` does: build the settings once (environment and
    TOML), configure logging, and run the service until stopped."""
    settings = settings_cls()
    configure_logging(settings.log_level, json=settings.log_json, service=settings.name)
    run_service(factory, settings, workers=workers)


def _supervise(
    factory: AppFactory, settings: ServiceSettings, workers: int, on_ready: ReadyHook | None
) -> None:
    context = multiprocessing.get_context("spawn")
    stopping = False

    def start(index: int) -> Any:
        process = context.Process(
            target=_worker_main, args=(factory, settings, index, on_ready), daemon=False
        )
        process.start()
        return process

    def stop_all(_signum: int, _frame: Any) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop_all)
    signal.signal(signal.SIGTERM, stop_all)
    processes = [start(i) for i in range(workers)]
    try:
        while not stopping:
            for i, process in enumerate(processes):
                if not process.is_alive() and not stopping:
                    processes[i] = start(i)
            time.sleep(0.2)
    finally:
        for process in processes:
            if process.is_alive():
                process.terminate()
        deadline = time.monotonic() + 10
        for process in processes:
            process.join(max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                process.kill()
