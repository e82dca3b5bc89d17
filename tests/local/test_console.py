"""The web consoles of `dataspace up`, and `dataspace console`, as a newcomer uses them.

One data space for the module (real processes on loopback). `up` lists each console in
dataspace.json and prints one-time sign-in links for each organisation's people; opening
a link (its form with the CSRF token) and choosing a password lands on the console. The
`dataspace console` commands run as processes against the same services.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shlex
import stat
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from dataspace.local.consoles import PEOPLE as SEEDED
from tests.console_session import ConsoleSession
from tests.local.conftest import DATASPACE, Up
from tests.local.test_up_cli import readme_block

pytestmark = pytest.mark.slow

#: Who `up` gives an account, per service (the organisations' admins, Halden's data owner).
PEOPLE = {
    "trust-anchor": {"operator@trust-anchor.local": ["admin"]},
    "marketplace": {"admin@marketplace.local": ["admin"]},
    "halden": {"admin@halden.kommune.no": ["admin", "data_owner"],
               "dataeier@halden.kommune.no": ["data_owner"]},
    "example-analytics": {"admin@example-analytics.no": ["admin"]},
}
LINK = re.compile(r"^(\S+)\s+(http\S+)\s+(\S+@\S+)\s+.*?(http\S+/link/\S+|\(none yet.*\))\s*$")


def dataspace(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*DATASPACE, *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "COLUMNS": "400"})


def printed_links(log: str) -> dict[tuple[str, str], str]:
    """(service, email) -> the one-time link (or the "none yet" note) of the last table."""
    table = log.rsplit("The web consoles", 1)[1].split("To sign in:", 1)[0]
    found = {}
    for line in table.splitlines():
        match = LINK.match(line)
        if match:
            found[(match[1], match[3])] = match[4]
    return found


def wait_for_links(space: Up) -> str:
    deadline = time.monotonic() + 30
    while "To sign in:" not in (log := space.log.read_text()):
        assert time.monotonic() < deadline, log
        time.sleep(0.1)
    return log[log.rindex("The data space is up"):]


def api_get(url: str, token: str) -> tuple[int, Any]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        with error:
            body = error.read()
        try:
            return error.code, json.loads(body or b"null")
        except ValueError:
            return error.code, body.decode(errors="replace")


def accounts(space: Up, name: str) -> list[dict[str, Any]]:
    info = space.services()[name]
    status, body = api_get(f"{info['management_url']}/api/v1/accounts",
                           str(info["admin_api_key"]))
    assert status == 200, body
    found: list[dict[str, Any]] = body
    return found


async def sign_in_with(link: str, console_url: str) -> str:
    """Open the one-time link, press its button (CSRF from the page and the cookie),
    choose a password if there is none yet: the person's account page, signed in."""
    origin = re.match(r"https?://[^/]+", console_url)
    assert origin is not None
    async with ConsoleSession(origin[0], console_url[len(origin[0]):].rstrip("/")) as browser:
        await browser.use_link(link)  # the console's home answers 200
        status, page = await browser.get("/account")
        assert status == 200, page
        return page


def test_dataspace_json_names_every_console_and_no_link(space: Up) -> None:
    services = space.services()
    base = {name: str(s["base_url"]) for name, s in services.items()}
    assert {name: s.get("console_url") for name, s in services.items()} == {
        "trust-anchor": f"{base['trust-anchor']}/operator",
        "marketplace": f"{base['marketplace']}/portal",
        "halden": f"{services['halden']['management_url']}/",
        "example-analytics": f"{services['example-analytics']['management_url']}/",
        "parking-api": None}  # no pages
    wait_for_links(space)
    text = (space.data_dir / "dataspace.json").read_text()
    assert "/link/" not in text
    assert stat.S_IMODE((space.data_dir / "dataspace.json").stat().st_mode) == 0o600


def test_up_prints_a_working_one_time_link_for_each_organisation(space: Up) -> None:
    log = wait_for_links(space)
    assert "open your link in a browser and choose a password" in log
    printed = printed_links(log)
    assert set(printed) == {(name, email) for name, people in PEOPLE.items()
                            for email in people}
    services = space.services()
    for (name, email), link in printed.items():
        if not link.startswith("http"):
            # A service of a version without the console says so instead of failing up.
            status, _ = api_get(f"{services[name]['base_url']}/admin/accounts",
                                str(services[name]["admin_api_key"]))
            assert (name, status) in (("trust-anchor", 404), ("marketplace", 404)), link
            continue
        assert link.startswith(str(services[name]["console_url"]).rstrip("/") + "/link/")
        home = asyncio.run(sign_in_with(link, str(services[name]["console_url"])))
        [person] = [p for p in SEEDED[name] if p.email == email]
        assert person.name in home  # signed in: the console names the person
        with pytest.raises(urllib.error.HTTPError) as used:  # it worked once
            urllib.request.urlopen(link)
        assert used.value.code == 401
        used.value.close()
    for name in ("halden", "example-analytics"):  # the connectors have their consoles
        assert all(link.startswith("http") for (n, _e), link in printed.items() if n == name)
        assert {a["email"]: a["roles"] for a in accounts(space, name)} == PEOPLE[name]


def test_the_readme_console_commands(space: Up, tmp_path: Path) -> None:
    commands = readme_block("### Consoles")
    assert [args[:3] for args in commands] == [["dataspace", "console", "link"],
                                               ["dataspace", "console", "accounts"],
                                               ["dataspace", "console", "token"]]
    (tmp_path / ".dataspace").symlink_to(space.data_dir)
    outputs = []
    for args in commands:
        result = subprocess.run([*DATASPACE, *args[1:]], capture_output=True, text=True,
                                timeout=120, cwd=tmp_path)
        assert result.returncode == 0, f"{shlex.join(args)}: {result.stderr}"
        outputs.append(result.stdout)
    assert re.search(r"http://127\.0\.0\.1:\d+/link/\S+", outputs[0]), outputs[0]
    assert "forvalter@halden.kommune.no" in outputs[1]
    assert re.search(r"\bdst_\S+", outputs[2]), outputs[2]


def test_console_link_makes_the_account_then_new_links(space: Up) -> None:
    folder = str(space.data_dir / "halden")
    made = dataspace("console", "link", "--data-dir", folder, "--email",
                     "saksbehandler@halden.kommune.no", "--name", "Sara Saksbehandler",
                     "--role", "data_steward", "--role", "viewer")
    assert made.returncode == 0, made.stderr
    assert "saksbehandler@halden.kommune.no" in made.stdout
    assert "data_steward, viewer" in made.stdout
    assert "Next: made the account; open the link" in made.stdout
    [link] = re.findall(r"http\S+/link/\S+", made.stdout)
    again = dataspace("console", "link", "--data-dir", str(space.data_dir), "--service",
                      "halden", "--email", "Saksbehandler@halden.kommune.no", "--json")
    assert again.returncode == 0, again.stderr
    assert again.stderr == f"using halden (provider) in {space.data_dir / 'halden'}\n"
    answer = json.loads(again.stdout)
    assert answer["created"] is False
    assert answer["account"]["roles"] == ["data_steward", "viewer"]  # kept
    assert answer["signin_link"] != link
    assert answer["console_url"] == space.services()["halden"]["console_url"]
    home = asyncio.run(sign_in_with(answer["signin_link"], answer["console_url"]))
    assert "Sara Saksbehandler" in home
    listed = dataspace("console", "accounts", "--data-dir", folder)
    assert listed.returncode == 0, listed.stderr
    assert re.search(r"saksbehandler@halden\.kommune\.no\s+Sara Saksbehandler\s+data_steward, "
                     r"viewer\s+active", listed.stdout), listed.stdout
    assert [a["email"] for a in accounts(space, "halden")].count(
        "saksbehandler@halden.kommune.no") == 1


@pytest.mark.parametrize(("args", "message"), [
    (["--email", "ny@halden.kommune.no", "--name", "Ny"],
     "account-roles-missing: halden has no account for ny@halden.kommune.no; give its roles"),
    (["--email", "ny@halden.kommune.no", "--role", "wizard"], "role-unknown: unknown role"),
    (["--email", "not-an-address", "--role", "viewer"], "is not an email address"),
], ids=["no-roles", "unknown-role", "bad-email"])
def test_console_link_refuses_bad_input_and_stores_nothing(space: Up, args: list[str],
                                                           message: str) -> None:
    before = accounts(space, "halden")
    result = dataspace("console", "link", "--data-dir", str(space.data_dir / "halden"), *args)
    assert result.returncode == 2, result.stdout
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("error: ")
    assert message in result.stderr
    assert result.stdout == ""
    assert accounts(space, "halden") == before


def test_console_commands_need_a_service_and_its_key(space: Up, tmp_path: Path) -> None:
    ambiguous = dataspace("console", "accounts", "--data-dir", str(space.data_dir))
    assert ambiguous.returncode == 2
    assert "--service NAME" in ambiguous.stderr
    assert ambiguous.stderr.count("\n") == 1
    # A service.json whose admin key is wrong: the service refuses (exit 1).
    info = json.loads((space.data_dir / "halden" / "service.json").read_text())
    (tmp_path / "service.json").write_text(json.dumps({**info, "admin_api_key": "wrong"}))
    refused = dataspace("console", "accounts", "--data-dir", str(tmp_path))
    assert refused.returncode == 1
    assert refused.stderr.count("\n") == 1
    assert refused.stderr.startswith("error: ")


def test_console_token_is_shown_once_and_works(space: Up) -> None:
    folder = str(space.data_dir / "halden")
    result = dataspace("console", "token", "--data-dir", folder, "--email",
                       "dataeier@halden.kommune.no", "--name", "nightly report",
                       "--scope", "read", "--days", "30", "--json")
    assert result.returncode == 0, result.stderr
    made = json.loads(result.stdout)
    assert made["token"].startswith("dst_")
    assert made["scopes"] == ["read"]
    assert 29 * 86400 < made["expires_at"] - time.time() <= 30 * 86400
    api = f"{space.services()['halden']['management_url']}/api/v1"
    status, datasets = api_get(f"{api}/datasets", made["token"])
    assert status == 200, datasets
    assert "halden-air-quality" in {d["id"] for d in datasets["items"]}
    table = dataspace("console", "token", "--data-dir", folder, "--email",
                      "dataeier@halden.kommune.no", "--name", "another", "--scope", "read")
    assert table.returncode == 0, table.stderr
    assert "it is not shown again" in table.stdout
    unknown = dataspace("console", "token", "--data-dir", folder, "--email",
                        "ingen@halden.kommune.no", "--name", "x", "--scope", "read")
    assert unknown.returncode == 2
    assert "account-unknown: halden has no account for ingen@halden.kommune.no" in \
        unknown.stderr
    beyond = dataspace("console", "token", "--data-dir", folder, "--email",
                       "admin@halden.kommune.no", "--name", "x", "--scope", "everything")
    assert beyond.returncode == 2
    assert "everything" in beyond.stderr


def test_a_second_up_makes_no_account_twice_and_prints_fresh_links(space: Up) -> None:
    first = printed_links(wait_for_links(space))
    before = {name: accounts(space, name) for name in ("halden", "example-analytics")}
    space.interrupt()
    again = Up(space.data_dir, int(str(space.services()["trust-anchor"]["base_url"])
                                   .rsplit(":", 1)[1]))
    try:
        log = wait_for_links(again)
        # the accounts were made by the first up only
        assert "made the console account" not in again.log.read_text()
        printed = printed_links(log)
        assert set(printed) == set(first)
        assert {name: accounts(again, name) for name in before} == before
        link = printed[("halden", "admin@halden.kommune.no")]
        assert link != first[("halden", "admin@halden.kommune.no")]
        home = asyncio.run(sign_in_with(link, str(again.services()["halden"]["console_url"])))
        # it has its password already: signed in
        assert "Halden kommune, administrator" in home
    finally:
        again.interrupt()
