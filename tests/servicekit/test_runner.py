"""The runner refuses a taken port before it builds or starts anything."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from aiohttp import web

from servicekit.runner import PortInUse, ensure_ports_free, run_service
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
