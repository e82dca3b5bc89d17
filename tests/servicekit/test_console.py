"""The shared console's sign-in, sessions, CSRF and API tokens, on a small service.

Every test signs in through the real pages (tests/console_session.py) against a
real server on loopback and a real database (SQLite, and PostgreSQL when
``TEST_DATABASE_URL`` is set). The clock is the only fake: the console's
``clock`` is swapped where time must pass.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from pathlib import Path

import aiohttp
import pyotp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from yarl import URL

from servicekit.console.accounts import Console
from servicekit.console.keys import CONSOLE, CONSOLE_CONFIG
from tests.conftest import Database
from tests.console_session import PASSWORD, ConsoleSession, csrf_of, first_admin
from tests.servicekit.console_app import ADMIN_KEY, make_console_app

ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}


@dataclass
class Service:
    base_url: str
    app: web.Application
    http: aiohttp.ClientSession

    @property
    def console(self) -> Console:
        return self.app[CONSOLE]

    def browser(self) -> ConsoleSession:
        return ConsoleSession(self.base_url, "/console")

    async def person(self, email: str, roles: tuple[str, ...]) -> ConsoleSession:
        """A browser signed in as a new person with ``roles`` (via a one-time link)."""
        made = await first_admin(self.http, self.base_url + "/admin", ADMIN_KEY, email=email,
                                 name=email.split("@")[0].title(), roles=roles)
        browser = self.browser()
        await browser.use_link(made["signin_link"])
        return browser


@pytest.fixture
async def service(database: Database, tmp_path: Path) -> AsyncIterator[Service]:
    app = make_console_app(tmp_path, database_url=database.url, schema=database.schema)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    async with aiohttp.ClientSession() as http:
        yield Service(str(server.make_url("")).rstrip("/"), app, http)
    await server.close()


async def test_the_admin_key_makes_the_first_admin_who_chooses_a_password(
        service: Service) -> None:
    made = await first_admin(service.http, service.base_url + "/admin", ADMIN_KEY,
                             email="ada@halden.no", name="Ada")
    assert made["account"]["status"] == "invited"
    async with service.browser() as browser:
        home = await browser.use_link(made["signin_link"])
        assert "<h1>Home of Ada</h1>" in home
        # the link works once
        status, page = await browser.get(made["signin_link"])
        assert status == 401
        assert "not valid" in page
    async with service.browser() as other:
        status, _page, url = await other.sign_in("ada@halden.no")
        assert status == 200
        assert url.endswith("/console")


async def test_wrong_passwords_lock_the_account_for_a_while(service: Service) -> None:
    async with await service.person("bo@halden.no", ("viewer",)) as _signed_in, \
            service.browser() as browser:
        for _ in range(5):
            status, page, _url = await browser.sign_in("bo@halden.no", "not the password!")
            assert status == 401
            assert "wrong email or password" in page
        status, page, _url = await browser.sign_in("bo@halden.no")  # the right one
        assert status == 401
        assert "locked" in page
        later = service.console.now() + 16 * 60
        service.console.clock = lambda: later
        status, page, url = await browser.sign_in("bo@halden.no")
        assert status == 200, page
        assert url.endswith("/console")


async def test_an_unknown_email_gets_the_same_answer_as_a_wrong_password(
        service: Service) -> None:
    async with service.browser() as browser:
        status, page, _url = await browser.sign_in("nobody@halden.no", "whatever it is")
        assert status == 401
        assert "wrong email or password" in page


async def test_a_form_without_or_with_a_wrong_csrf_token_is_refused(service: Service) -> None:
    async with await service.person("cy@halden.no", ("admin",)) as browser:
        status, page = await browser.get("/console/people")
        assert status == 200
        invite = {"name": "Eve", "email": "eve@halden.no", "roles": "viewer"}
        async with browser.http.post(browser.url("/console/people"), data=invite) as resp:
            assert resp.status == 403
            assert "security token" in await resp.text()
        async with browser.http.post(browser.url("/console/people"),
                                     data={**invite, "csrf_token": "forged"}) as resp:
            assert resp.status == 403
        async with browser.http.post(browser.url("/console/people"),
                                     data={**invite, "csrf_token": csrf_of(page)},
                                     headers={"Origin": "https://evil.example"}) as resp:
            assert resp.status == 403
        # a script gets problem+json
        async with browser.http.post(browser.url("/console/people"), data=invite,
                                     headers={"Accept": "application/json"}) as resp:
            assert resp.status == 403
            assert (await resp.json())["code"] == "csrf-refused"
    assert [a.email for a in await service.console.store.accounts()] == ["cy@halden.no"]


async def test_a_session_cookie_planted_before_sign_in_is_not_the_one_after(
        service: Service) -> None:
    made = await first_admin(service.http, service.base_url + "/admin", ADMIN_KEY,
                             email="di@halden.no", name="Di")
    async with service.browser() as victim:
        await victim.get("/console/signin")
        port = service.base_url.rsplit(":", 1)[1]
        victim.http.cookie_jar.update_cookies({f"ds_session{port}": "attacker-chosen"},
                                              response_url=URL(service.base_url))
        await victim.use_link(made["signin_link"])
        cookies = {c.key: c.value for c in victim.http.cookie_jar}
        assert cookies[f"ds_session{port}"] != "attacker-chosen"
    async with service.browser() as attacker:
        attacker.http.cookie_jar.update_cookies({f"ds_session{port}": "attacker-chosen"},
                                                response_url=URL(service.base_url))
        status, page = await attacker.get("/console")
        assert "Sign in</h1>" in page
        assert status == 200


async def test_a_cookie_copied_before_sign_out_is_worthless_after(service: Service) -> None:
    async with await service.person("ed@halden.no", ("viewer",)) as browser:
        stolen = {c.key: c.value for c in browser.http.cookie_jar}
        status, page = await browser.get("/console")
        await browser.submit(page, "/console/signout")
    async with service.browser() as thief:
        thief.http.cookie_jar.update_cookies(stolen, response_url=URL(service.base_url))
        status, page = await thief.get("/console")
        assert status == 200
        assert "Sign in</h1>" in page


async def test_signing_out_everywhere_ends_the_other_devices(service: Service) -> None:
    async with await service.person("fi@halden.no", ("viewer",)) as phone, \
            service.browser() as laptop:
        await laptop.sign_in("fi@halden.no")
        assert "Home of Fi" in (await laptop.get("/console"))[1]
        _status, page = await phone.get("/console/account")
        status, page, _url = await phone.submit(page, "/console/signout/everywhere")
        assert "Signed out everywhere (2 sessions ended)" in page
        assert "Sign in</h1>" in (await laptop.get("/console"))[1]


async def test_the_second_factor_refuses_a_wrong_or_replayed_code(service: Service) -> None:
    async with await service.person("gu@halden.no", ("viewer",)) as browser:
        _status, page = await browser.get("/console/account")
        _status, page, _url = await browser.submit(page, "/console/account/totp")
        secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', page).group(1)  # type: ignore[union-attr]
        totp = pyotp.TOTP(secret)
        code = totp.at(service.console.now())
        _status, page, _url = await browser.submit(page, "/console/account/totp/confirm",
                                                   {"code": code})
        assert "Second factor on." in page
    async with service.browser() as browser:
        status, page, url = await browser.sign_in("gu@halden.no")
        assert url.split("?")[0].endswith("/console/signin/totp")
        # not signed in yet: the home page sends back to the code
        _s, home = await browser.get("/console")
        assert "One-time code" in home
        status, page, _url = await browser.submit(page, "/console/signin/totp",
                                                  {"code": "000000" if code != "000000"
                                                   else "111111"})
        assert status == 401
        assert "wrong" in page
        # the code used to turn it on cannot be used again
        status, page, _url = await browser.submit(page, "/console/signin/totp", {"code": code})
        assert status == 401
        later = service.console.now() + 30
        service.console.clock = lambda: later
        status, page, url = await browser.submit(page, "/console/signin/totp",
                                                 {"code": totp.at(later)})
        assert status == 200, page
        assert "Home of Gu" in page


async def test_a_viewer_cannot_open_an_approvers_page_or_manage_people(
        service: Service) -> None:
    async with await service.person("hu@halden.no", ("viewer",)) as browser:
        status, page = await browser.get("/console/approvals")
        assert status == 403
        assert "Approver" in page
        status, _page = await browser.get("/console/people")
        assert status == 403
    async with await service.person("ia@halden.no", ("approver",)) as browser:
        status, _page = await browser.get("/console/approvals")
        assert status == 200


async def test_api_tokens_are_scoped_shown_once_and_revocable(service: Service) -> None:
    async with await service.person("jo@halden.no", ("approver",)) as browser:
        _status, page = await browser.get("/console/account")
        assert 'value="manage"' not in page  # an approver's roles do not allow it
        _status, page, _url = await browser.submit(
            page, "/console/account/tokens", {"name": "nightly", "scopes": "read", "days": "30"})
        token = re.search(r'id="new-token" class="secret">(dst_[^<]+)<', page).group(1)  # type: ignore[union-attr]
        assert token not in (await browser.get("/console/account"))[1]  # shown once
        bearer = {"Authorization": f"Bearer {token}"}
        async with service.http.get(service.base_url + "/admin/read", headers=bearer) as resp:
            assert resp.status == 200
            assert (await resp.json())["by"] == "jo@halden.no"
        async with service.http.post(service.base_url + "/admin/approve",
                                     headers=bearer) as resp:
            body = await resp.json()
            assert resp.status == 403
            assert body["code"] == "token-scope"
        # a scope beyond the roles is refused, and nothing is stored
        _status, page = await browser.get("/console/account")
        status, page, _url = await browser.submit(
            page, "/console/account/tokens", {"name": "too much", "scopes": "manage"})
        assert "allow the scopes" in page
        tokens = await service.console.store.tokens()
        assert [t.name for t in tokens] == ["nightly"]
        assert tokens[0].last_used_at is not None
        _status, page, _url = await browser.submit(
            page, f"/console/account/tokens/{tokens[0].id}/revoke")
        assert "Token revoked." in page
        async with service.http.get(service.base_url + "/admin/read", headers=bearer) as resp:
            assert resp.status == 401


async def test_a_token_loses_what_its_accounts_roles_lose(service: Service) -> None:
    async with await service.person("ka@halden.no", ("approver",)) as browser:
        _status, page = await browser.get("/console/account")
        _status, page, _url = await browser.submit(
            page, "/console/account/tokens", {"name": "ci", "scopes": "approve"})
        token = re.search(r'id="new-token" class="secret">(dst_[^<]+)<', page).group(1)  # type: ignore[union-attr]
    account = await service.console.store.account_by_email("ka@halden.no")
    assert account is not None
    async with service.http.patch(service.base_url + f"/admin/accounts/{account.id}",
                                  json={"roles": ["viewer"]}, headers=ADMIN) as resp:
        assert resp.status == 200
    async with service.http.post(service.base_url + "/admin/approve",
                                 headers={"Authorization": f"Bearer {token}"}) as resp:
        assert resp.status == 403


async def test_a_password_reset_link_sets_a_new_password(service: Service) -> None:
    async with await service.person("li@halden.no", ("viewer",)):
        pass
    async with service.browser() as browser:
        _status, page = await browser.get("/console/reset")
        status, page, _url = await browser.submit(page, "/console/reset",
                                                  {"email": "li@halden.no"})
        assert "on its way" in page
        status, page, _url = await browser.submit("/console/reset", "/console/reset",
                                                  {"email": "nobody@halden.no"})
        assert "on its way" in page  # the same answer
        mail = service.console.mailer.outbox
        assert len(mail) == 1
        assert mail[0]["To"] == "li@halden.no"
        link = re.search(r"(http://\S+/console/link/\S+)", mail[0].get_content()).group(1)  # type: ignore[union-attr]
        await browser.use_link(link, password="a brand new passphrase")
    async with service.browser() as browser:
        status, _page, _url = await browser.sign_in("li@halden.no")
        assert status == 401
        status, page, _url = await browser.sign_in("li@halden.no", "a brand new passphrase")
        assert status == 200
        assert "Home of Li" in page


async def test_a_disabled_account_loses_its_sessions_and_tokens(service: Service) -> None:
    async with await service.person("ma@halden.no", ("admin",)) as admin, \
            await service.person("no@halden.no", ("viewer",)) as viewer:
        account = await service.console.store.account_by_email("no@halden.no")
        assert account is not None
        async with service.http.post(service.base_url + "/admin/tokens", headers=ADMIN, json={
                "name": "script", "scopes": ["read"], "account_id": account.id}) as resp:
            bearer = {"Authorization": f"Bearer {(await resp.json())['token']}"}
        async with service.http.get(service.base_url + "/admin/read", headers=bearer) as resp:
            assert resp.status == 200
        _status, page = await admin.get("/console/people")
        _status, page, _url = await admin.submit(page, f"/console/people/{account.id}",
                                                 {"action": "disable"})
        assert "Account disabled." in page
        assert "Sign in</h1>" in (await viewer.get("/console"))[1]
        status, page, _url = await viewer.sign_in("no@halden.no")
        assert status == 401
        async with service.http.get(service.base_url + "/admin/read", headers=bearer) as resp:
            assert resp.status == 401


async def test_an_admin_invites_a_person_with_roles(service: Service) -> None:
    async with await service.person("ol@halden.no", ("admin",)) as admin:
        _status, page = await admin.get("/console/people")
        status, page, _url = await admin.submit(
            page, "/console/people", {"name": "Per", "email": "per@halden.no",
                                      "roles": "approver"})
        link = re.search(r'id="invite-link" class="secret">([^<]+)<', page).group(1)  # type: ignore[union-attr]
        # bad input shows the error and stores nothing more
        status, page, _url = await admin.submit(
            page, "/console/people", {"name": "X", "email": "x@halden.no", "roles": "pilot"})
        assert "unknown role" in page
    assert sorted(a.email for a in await service.console.store.accounts()) == \
        ["ol@halden.no", "per@halden.no"]
    async with service.browser() as per:
        page = await per.use_link(link)
        assert "approver" in page


async def test_sign_in_never_redirects_to_another_site(service: Service) -> None:
    async with await service.person("pa@halden.no", ("viewer",)):
        pass
    async with service.browser() as browser:
        _status, page = await browser.get("/console/signin?next=https://evil.example/")
        status, _page, url = await browser.submit(
            page, "/console/signin", {"email": "pa@halden.no", "password": PASSWORD,
                                      "next": "https://evil.example/"})
        assert url.startswith(service.base_url)


async def test_pages_carry_the_security_headers(service: Service) -> None:
    async with service.http.get(service.base_url + "/console/signin",
                                headers={"Accept": "text/html"}) as resp:
        csp = resp.headers["Content-Security-Policy"]
        assert "unsafe-inline" not in csp
        assert "default-src 'none'" in csp
        assert "form-action 'self'" in csp
        assert "frame-ancestors 'none'" in csp
        assert resp.headers["X-Frame-Options"] == "DENY"
        assert resp.headers["Cache-Control"] == "no-store"
        cookie = resp.headers["Set-Cookie"]
        assert "HttpOnly" in cookie
        assert "SameSite=Strict" in cookie


async def test_the_accounts_api_refuses_bad_input_and_stores_nothing(service: Service) -> None:
    cases = [
        ({"email": "not-an-email", "name": "X", "roles": ["viewer"]}, 400),
        ({"email": "x@halden.no", "name": "X", "roles": []}, 400),
        ({"email": "x@halden.no", "name": "X", "roles": ["pilot"]}, 400),
    ]
    for body, status in cases:
        async with service.http.post(service.base_url + "/admin/accounts", json=body,
                                     headers=ADMIN) as resp:
            problem = await resp.json()
            assert resp.status == status, problem
            assert resp.content_type == "application/problem+json"
    async with service.http.post(service.base_url + "/admin/accounts",
                                 json={"email": "x@halden.no", "name": "X",
                                       "roles": ["viewer"]}) as resp:
        assert resp.status == 401
    assert await service.console.store.accounts() == []
    await first_admin(service.http, service.base_url + "/admin", ADMIN_KEY, email="x@halden.no")
    async with service.http.post(service.base_url + "/admin/accounts",
                                 json={"email": "X@halden.no", "name": "X",
                                       "roles": ["viewer"]}, headers=ADMIN) as resp:
        assert resp.status == 409
        assert (await resp.json())["code"] == "email-taken"


async def test_a_body_that_is_not_a_form_is_refused_cleanly(service: Service) -> None:
    for content_type in ("text/plain", "application/json", "multipart/form-data"):
        async with service.http.post(service.base_url + "/console/signin", data=b"a=1",
                                     headers={"Content-Type": content_type}) as resp:
            problem = await resp.json()
            assert resp.status in (400, 403), problem
            assert problem["code"] in ("csrf-refused", "form-invalid")


async def test_a_role_for_organisations_only_is_never_a_persons(tmp_path: Path,
                                                                database: Database) -> None:
    from servicekit.console.config import Role

    app = make_console_app(tmp_path, database_url=database.url, schema=database.schema)
    config = app[CONSOLE_CONFIG]
    app[CONSOLE_CONFIG] = replace(config, roles=(*config.roles, Role(
        "member", "Member organisation", "Organisations only", frozenset(),
        for_people=False)))
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        async with aiohttp.ClientSession() as http:
            async with http.post(str(server.make_url("/admin/accounts")), headers=ADMIN,
                                 json={"email": "m@x.no", "name": "M",
                                       "roles": ["member"]}) as resp:
                assert resp.status == 400
                assert (await resp.json())["code"] == "role-unknown"
    finally:
        await server.close()


async def test_a_sign_in_clears_away_what_has_expired(service: Service) -> None:
    async with await service.person("qa@halden.no", ("viewer",)):
        pass
    first = await service.console.store.account_by_email("qa@halden.no")
    assert first is not None
    assert len(await service.console.store.sessions_of(first.id)) == 1
    later = service.console.now() + 13 * 3600  # past the session's 12 hours
    service.console.clock = lambda: later
    async with await service.person("ra@halden.no", ("viewer",)):
        pass
    assert await service.console.store.sessions_of(first.id) == []
