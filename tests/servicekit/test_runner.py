"""The runner refuses a taken port before building anything, and undoes a failed start."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from servicekit.runner import PortInUse, ensure_ports_free, run_service, serve_until_stopped
from servicekit.settings import ServiceSettings


def test_a_taken_port_is_refused_before_the_app_is_built(tmp_path: Path) -> None:
    built: list[object] = []

    def factory(settings: object) -> web.Application:
        built.append(settings)
        return web.Application()

    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        settings = ServiceSettings(port=port, data_dir=tmp_path)
        for workers in (1, 4):  # workers would otherwise crash and be restarted for ever
            with pytest.raises(PortInUse, match=f"^port {port} is in use; use another port$"):
                run_service(factory, settings, workers=workers)
    assert built == []
    assert not (tmp_path / "service.json").exists()


def test_a_port_left_in_time_wait_is_free() -> None:
    # A stopped service's port lingers in TIME_WAIT; a restart must not be refused.
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        client = socket.create_connection(("127.0.0.1", port))
        accepted, _ = server.accept()
        accepted.close()  # the server side closes first: its end waits in TIME_WAIT
        client.close()
    ensure_ports_free("127.0.0.1", [port])


@pytest.mark.parametrize("failure", ["a later cleanup context", "the site"])
async def test_a_start_that_fails_part_way_undoes_what_had_started(
    failure: str, tmp_path: Path
) -> None:
    events: list[str] = []

    async def started(app: web.Application) -> AsyncIterator[None]:
        events.append("started")
        yield
        events.append("stopped")

    async def broken(app: web.Application) -> AsyncIterator[None]:
        raise RuntimeError("cannot start")
        yield  # pragma: no cover

    def factory(settings: object) -> web.Application:
        app = web.Application()
        app.cleanup_ctx.append(started)
        if failure == "a later cleanup context":
            app.cleanup_ctx.append(broken)
        return app

    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1] if failure == "the site" else 0
        settings = ServiceSettings(port=port, data_dir=tmp_path)
        with pytest.raises((RuntimeError, OSError)):
            await serve_until_stopped(factory, settings, on_ready=None)
    assert events == ["started", "stopped"]
