"""The one size-capped fetch: an answer stops being read at the cap, with the caller's error."""

from __future__ import annotations

import ast
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from servicekit.http import fetch_capped
from tests.conftest import REPO_ROOT


class TooLarge(Exception):
    pass


class Refused(Exception):
    pass


@pytest.fixture
async def server() -> AsyncIterator[tuple[TestServer, list[int]]]:
    sent: list[int] = []  # bytes the streaming handler managed to write

    async def small(request: web.Request) -> web.Response:
        return web.json_response({"method": request.method, "body": (await request.text())})

    async def declared(_: web.Request) -> web.Response:
        return web.Response(body=b"x" * 5000)

    async def endless(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()  # chunked: no Content-Length to refuse up front
        await response.prepare(request)
        try:
            for _ in range(100_000):  # 400 MB: more than any buffer between us holds
                await response.write(b"y" * 4096)
                sent.append(4096)
        except (ConnectionResetError, aiohttp.ClientConnectionResetError):
            pass
        return response

    async def missing(_: web.Request) -> web.Response:
        return web.Response(status=404, body=b"z" * 5000)

    app = web.Application()
    app.router.add_route("*", "/small", small)
    app.router.add_get("/declared", declared)
    app.router.add_get("/endless", endless)
    app.router.add_get("/missing", missing)
    async with TestServer(app, host="127.0.0.1") as srv:
        yield srv, sent


async def test_an_answer_under_the_cap_is_read_whole(server: tuple[TestServer, list[int]]) -> None:
    srv, _ = server
    async with aiohttp.ClientSession() as session:
        answer = await fetch_capped(session, str(srv.make_url("/small")), method="POST",
                                    data=b"hello", limit=1000, too_large=TooLarge)
    assert answer.status == 200
    assert answer.headers["Content-Type"].startswith("application/json")
    assert answer.body == b'{"method": "POST", "body": "hello"}'


async def test_a_declared_length_over_the_cap_is_refused(
        server: tuple[TestServer, list[int]]) -> None:
    srv, _ = server
    async with aiohttp.ClientSession() as session:
        with pytest.raises(TooLarge):
            await fetch_capped(session, str(srv.make_url("/declared")), limit=4999,
                               too_large=TooLarge)
        exact = await fetch_capped(session, str(srv.make_url("/declared")), limit=5000,
                                   too_large=TooLarge)
    assert len(exact.body) == 5000


async def test_a_stream_stops_being_read_at_the_cap(server: tuple[TestServer, list[int]]) -> None:
    srv, sent = server
    async with aiohttp.ClientSession() as session:
        with pytest.raises(TooLarge):
            await fetch_capped(session, str(srv.make_url("/endless")), limit=10_000,
                               too_large=TooLarge)
    assert sum(sent) < 100_000 * 4096  # the reader hung up long before the end


async def test_the_status_check_runs_before_the_body(server: tuple[TestServer, list[int]]) -> None:
    srv, _ = server
    seen: list[int] = []

    def check(status: int) -> None:
        seen.append(status)
        raise Refused(status)

    async with aiohttp.ClientSession() as session:
        # 5000 bytes over a cap of 10: the refusal of the status wins.
        with pytest.raises(Refused):
            await fetch_capped(session, str(srv.make_url("/missing")), limit=10,
                               too_large=TooLarge, check=check)
    assert seen == [404]


def test_no_copy_of_the_capped_read_loop_remains() -> None:
    """Reading an answer chunk by chunk against a cap happens in servicekit.http only.

    (The data plane streams bodies through; it does not read answers whole.)
    """
    copies = []
    for package in ("identity", "servicekit", "connector", "trust_anchor", "marketplace",
                    "dataspace", "policies"):
        for path in sorted((REPO_ROOT / package).rglob("*.py")):
            name = path.relative_to(REPO_ROOT).as_posix()
            if name == "servicekit/http.py" or name.startswith("connector/dataplane/"):
                continue
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Attribute) and node.attr == "iter_chunked":
                    copies.append(f"{name}:{node.lineno}")
    assert copies == []
