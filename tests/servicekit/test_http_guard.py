"""The outbound address guard: non-public addresses are refused before connecting."""

from __future__ import annotations

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from servicekit.http import (
    AddressRefused,
    GuardedResolver,
    create_client_session,
    is_public_address,
)


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("8.8.8.8", True),
        ("2001:4860:4860::8888", True),
        ("10.0.0.1", False),
        ("172.16.5.4", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),
        ("127.0.0.1", False),
        ("::1", False),
        ("fe80::1", False),
        ("fc00::1", False),
        ("::ffff:10.0.0.1", False),
        ("0.0.0.0", False),
        ("100.64.0.1", False),
        ("224.0.0.1", False),
    ],
)
def test_public_addresses(address: str, public: bool) -> None:
    assert is_public_address(address) is public


async def test_metadata_endpoint_is_refused_without_connecting() -> None:
    async with create_client_session(guarded=True) as session:
        with pytest.raises(AddressRefused):
            await session.get("http://169.254.169.254/latest/meta-data/")


async def test_loopback_only_with_the_development_flag() -> None:
    hits: list[str] = []

    async def hello(request: web.Request) -> web.Response:
        hits.append(request.path)
        return web.Response(text="hi")

    app = web.Application()
    app.router.add_get("/", hello)
    async with TestServer(app, host="127.0.0.1") as server:
        url = f"http://localhost:{server.port}/"
        async with create_client_session(guarded=True) as session:
            with pytest.raises(AddressRefused):
                await session.get(url)
        assert hits == []  # refused before any request reached the server
        async with create_client_session(guarded=True, allow_loopback=True) as session:
            async with session.get(url) as response:
                assert await response.text() == "hi"
        assert hits == ["/"]


async def test_private_ranges_stay_refused_in_development() -> None:
    resolver = GuardedResolver(allow_loopback=True)
    try:
        with pytest.raises(AddressRefused):
            await resolver.resolve("10.0.0.1", 80)
        assert (await resolver.resolve("127.0.0.1", 80))[0]["host"] == "127.0.0.1"
    finally:
        await resolver.close()
