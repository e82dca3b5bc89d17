"""Seeding the consoles' people (what `dataspace up` does after start), against real servers
on loopback: a service with the shared console, and one of a version without it."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from dataspace.local.consoles import ConsolePerson, seed_consoles
from dataspace.local.supervisor import ServiceSpec
from servicekit.errors import DataspaceError
from tests.servicekit.console_app import ADMIN_KEY, make_console_app

ADMIN = ConsolePerson("admin@marketplace.local", "Drift", ("admin",))
VIEWER = ConsolePerson("lesar@marketplace.local", "Lesar", ("viewer",))
PEOPLE = {"marketplace": (ADMIN, VIEWER), "trust-anchor": (ADMIN,)}


def spec(tmp_path: Path, name: str, role: str, server: TestServer,
         key: str = ADMIN_KEY) -> ServiceSpec:
    """A service of the data space whose service.json names ``server``."""
    folder = tmp_path / name
    folder.mkdir()
    (folder / "service.json").write_text(json.dumps({
        "name": name, "role": role, "base_url": str(server.make_url("")).rstrip("/"),
        "admin_api_key": key}))
    return ServiceSpec(name, role, [], server.port or 0, folder)


@pytest.fixture
async def console(tmp_path: Path) -> AsyncIterator[TestServer]:
    """A service with the shared console (accounts API under /admin)."""
    server = TestServer(make_console_app(tmp_path / "db"))
    await server.start_server()
    yield server
    await server.close()


@pytest.fixture
async def older(tmp_path: Path) -> AsyncIterator[TestServer]:
    """A service of a version without the console: every path answers 404."""
    server = TestServer(web.Application())
    await server.start_server()
    yield server
    await server.close()


async def test_each_account_is_made_once_and_each_start_gives_fresh_links(
        tmp_path: Path, console: TestServer) -> None:
    specs = [spec(tmp_path, "marketplace", "marketplace", console)]
    said: list[str] = []
    first = await seed_consoles(specs, grace=0, log=said.append, people_of=PEOPLE)
    assert said == ["  marketplace: made the console account admin@marketplace.local (admin)",
                    "  marketplace: made the console account lesar@marketplace.local (viewer)"]
    again = await seed_consoles(specs, grace=0, log=said.append, people_of=PEOPLE)
    assert len(said) == 2  # nobody made twice
    assert [(s.email, s.roles) for s in again] == [("admin@marketplace.local", ("admin",)),
                                                   ("lesar@marketplace.local", ("viewer",))]
    assert all(s.link and s.link.startswith(f"{s.console_url[:-len('/portal')]}/console/link/")
               for s in again)
    assert {s.link for s in first}.isdisjoint({s.link for s in again})
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{console.make_url('/admin/accounts')}",
                            headers={"Authorization": f"Bearer {ADMIN_KEY}"}) as answer:
            assert sorted(a["email"] for a in await answer.json()) == [
                "admin@marketplace.local", "lesar@marketplace.local"]
        for signin in again:
            assert signin.link is not None
            async with http.get(signin.link) as page:  # the link's page: "sign in"
                assert page.status == 200
                assert signin.email in await page.text()


async def test_a_service_without_the_console_gets_no_link_and_the_rest_goes_on(
        tmp_path: Path, console: TestServer, older: TestServer) -> None:
    specs = [spec(tmp_path, "trust-anchor", "trust-anchor", older),
             spec(tmp_path, "marketplace", "marketplace", console)]
    said: list[str] = []
    found = await seed_consoles(specs, grace=0, log=said.append, people_of=PEOPLE)
    [none] = [s for s in found if s.service == "trust-anchor"]
    assert none.link is None
    assert "trust-anchor has no console accounts API" in none.problem
    assert "(it answered 404)" in none.problem
    assert none.console_url == f"{str(older.make_url('')).rstrip('/')}/operator"
    assert any("trust-anchor has no console accounts API" in line for line in said)
    assert [s.link is not None for s in found if s.service == "marketplace"] == [True, True]


async def test_a_refusal_ends_the_seeding_with_one_readable_line(
        tmp_path: Path, console: TestServer) -> None:
    specs = [spec(tmp_path, "marketplace", "marketplace", console, key="dsk_wrong")]
    with pytest.raises(DataspaceError) as refused:
        await seed_consoles(specs, grace=0, people_of=PEOPLE)
    assert refused.value.code == "console-seed-failed"
    assert refused.value.detail.startswith(
        "marketplace: could not make the console account admin@marketplace.local: ")
    assert "\n" not in refused.value.detail


async def test_roles_the_service_does_not_know_are_refused_and_nothing_is_made(
        tmp_path: Path, console: TestServer) -> None:
    specs = [spec(tmp_path, "marketplace", "marketplace", console)]
    wrong = {"marketplace": (ConsolePerson("x@marketplace.local", "X", ("wizard",)),)}
    with pytest.raises(DataspaceError, match="unknown role 'wizard'"):
        await seed_consoles(specs, grace=0, people_of=wrong)
    async with aiohttp.ClientSession() as http, http.get(
            f"{console.make_url('/admin/accounts')}",
            headers={"Authorization": f"Bearer {ADMIN_KEY}"}) as answer:
        assert await answer.json() == []
