"""The connector as its organisation's wallet: signing the organisation in to another
service's console over OpenID4VP, end to end, through the pages.

The other service is the shared console's small test service
(``tests/servicekit/console_app.py``) with "sign in with the organisation's
credential" on: its verifier (a did:key) checks presentations against the real
trust anchor (the provider connector's registry and status-list components).
Analyse AS's data owner pastes the service's request into the connector's
"Sign in elsewhere" page, sees who asks and for what, confirms; the person's
browser then continues at the service and is signed in as Analyse AS. A viewer
cannot confirm, a replayed answer is refused, a revoked member is refused; the
connectors' own consoles accept the organisation's credential (Halden's admits
only Halden, Analyse's its own organisation).
"""

from __future__ import annotations

import asyncio
import html
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import pytest_asyncio
from aiohttp import web
from aiohttp.test_utils import TestServer

from connector.app import IDENTITY
from identity.oid4vp import MembershipCheck, Oid4vpVerifier
from identity.vp import PresentationVerifier
from servicekit.console.install import pending_signins
from servicekit.console.keys import CONSOLE, ORGANISATION_SIGNIN
from tests.conftest import free_port
from tests.connector.conftest import StoreFactory
from tests.connector.harness import RunningConnector
from tests.connector.test_console_consumer_support import Space, data_space
from tests.console_session import ConsoleSession
from tests.identity.test_oid4vp_support import did_key_identity
from tests.servicekit.console_app import make_console_app

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def space(module_stores: StoreFactory,
                tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Space]:
    async with data_space(module_stores, tmp_path_factory.mktemp("wallet")) as running:
        yield running


def _service(tmp: Path, space: Space) -> web.Application:
    """The test service, its verifier checking against the data space's trust anchor."""
    app = make_console_app(tmp)
    trust = space.provider.app[IDENTITY].trust
    registry = trust.registry
    assert registry is not None

    async def organisation_signin(app: web.Application) -> AsyncIterator[None]:
        app[ORGANISATION_SIGNIN] = Oid4vpVerifier(
            identity=did_key_identity(),
            check=MembershipCheck(PresentationVerifier(trust.credentials), registry),
            store=pending_signins(app[CONSOLE]), clock=app[CONSOLE].now)  # type: ignore[arg-type]
        yield

    app.cleanup_ctx.append(organisation_signin)
    return app


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def service(space: Space, tmp_path_factory: pytest.TempPathFactory
                  ) -> AsyncIterator[TestServer]:
    server = TestServer(_service(tmp_path_factory.mktemp("service"), space), host="127.0.0.1",
                        port=free_port())
    await server.start_server()
    yield server
    await server.close()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def owner(space: Space) -> AsyncIterator[ConsoleSession]:
    """Analyse AS's data owner, signed in to Analyse's connector console."""
    browser = await space.person(space.consumer, "dina@analyse.no", ("data_owner",))
    yield browser
    await browser.close()


async def _start(browser: ConsoleSession) -> str:
    """Press "sign in with the organisation's credential": the openid4vp:// URL shown."""
    status, page, _url = await browser.submit("/signin", "/signin/organisation")
    assert status == 200, page
    found = re.search(r'id="authorization-url">([^<]+)<', page)
    assert found is not None, page
    return html.unescape(found.group(1))


def _continue_link(page: str) -> str:
    found = re.search(r'href="([^"]+)" id="continue"', page)
    assert found is not None, page
    return html.unescape(found.group(1))


async def test_the_data_owner_signs_the_organisation_in_to_another_service(
        space: Space, service: TestServer, owner: ConsoleSession) -> None:
    visitor = ConsoleSession(str(service.make_url("")), "/console")
    try:
        url = await _start(visitor)
        assert url.startswith("openid4vp://")
        status, asked = await owner.get(f"/wallet?request={quote(url, safe='')}")
        assert status == 200, asked
        verifier = url.split("client_id=")[1].split("&")[0]
        assert "not in the data space registry" in asked  # a did:key, not a member
        assert "MembershipCredential" in asked
        assert "Analyse AS" in asked
        assert "did:key:" in asked
        assert "decentralized_identifier" in verifier

        status, done, _ = await owner.submit(asked, "/wallet", {"request": url})
        assert status == 200, done
        assert "credential was sent" in done
        link = _continue_link(done)
        assert link.startswith(str(service.make_url("/console/signin/organisation/")))

        # the person's browser continues at the service and is signed in as the organisation
        status, page = await visitor.get(link)
        assert status == 200
        status, home, home_url = await visitor.submit(page, link[len(visitor.base_url):])
        assert status == 200, home
        assert "Signed in as Analyse AS" in home
        assert "/signin" not in home_url

        # the same request answered again: refused (it is no longer pending)
        status, again, _ = await owner.submit(asked, "/wallet", {"request": url})
        assert status == 400
        assert "not completed" in again
        async with space.http.post(space.consumer.management_url +
                                   "/api/v1/wallet/presentations", json={
                                       "authorization_url": url},
                                   headers=space.consumer.admin_headers) as resp:
            problem = await resp.json()
            assert resp.status == 400
            assert problem["code"] == "authorization-request-invalid"
    finally:
        await visitor.close()


async def test_a_viewer_reads_but_cannot_confirm(space: Space, service: TestServer) -> None:
    viewer = await space.person(space.consumer, "vera@analyse.no", ("viewer",))
    visitor = ConsoleSession(str(service.make_url("")), "/console")
    try:
        url = await _start(visitor)
        status, asked = await viewer.get(f"/wallet?request={quote(url, safe='')}")
        assert status == 200
        assert "Only an administrator or a data owner" in asked
        assert "Confirm" not in asked
        status, refused, _ = await viewer.submit(asked, "/wallet", {"request": url})
        assert status == 403
        status, nav = await viewer.get("/wallet")
        assert 'href="/wallet"' not in nav  # not in a viewer's menu
        # nothing was sent: the service still waits
        status, waiting, _ = await visitor.submit(f"/signin/organisation/{_state(url)}",
                                                  f"/signin/organisation/{_state(url)}")
        assert "has not answered yet" in waiting
    finally:
        await viewer.close()
        await visitor.close()


def _state(url: str) -> str:
    from urllib.parse import parse_qs, urlsplit

    return parse_qs(urlsplit(url).query)["request_uri"][0].rsplit("/", 1)[1]


async def test_bad_requests_are_refused_clearly(space: Space, owner: ConsoleSession) -> None:
    for bad in ("https://example.org/not-openid4vp", "openid4vp://?client_id=x"):
        status, page = await owner.get(f"/wallet?request={quote(bad, safe='')}")
        assert status == 400
        assert "cannot be answered" in page
    async with owner.http.post(owner.url("/wallet"), data={"request": "x"}) as resp:
        assert resp.status == 403  # no CSRF token
    consumer, http = space.consumer, space.http
    for body, code in (({}, "validation-failed"),
                       ({"authorization_url": "https://x.org"}, "validation-failed"),
                       ({"authorization_url": "openid4vp://?client_id=decentralized_identifier"
                         "%3Adid%3Aweb%3Ax&request_uri=http%3A%2F%2F10.0.0.1%2Fr"},
                        "authorization-request-invalid")):
        for path in ("/api/v1/wallet/presentations", "/api/v1/wallet/requests"):
            async with http.post(consumer.management_url + path, json=body,
                                 headers=consumer.admin_headers) as resp:
                problem = await resp.json()
                assert resp.status == 400, problem
                assert resp.content_type == "application/problem+json"
                assert problem["code"] == code


async def _connector_signin(browser: ConsoleSession) -> str:
    status, page, _ = await browser.submit("/signin", "/signin/organisation")
    assert status == 200, page
    found = re.search(r'id="authorization-url">([^<]+)<', page)
    assert found is not None
    return html.unescape(found.group(1))


async def test_connector_consoles_take_the_organisations_credential(
        space: Space, owner: ConsoleSession) -> None:
    # Halden's console names its verifier as the registry does, and admits only Halden
    at_halden = ConsoleSession(space.provider.management_url)
    own = ConsoleSession(space.consumer.management_url)
    try:
        url = await _connector_signin(at_halden)
        read = await space.consumer.api(space.http, "POST", "/api/v1/wallet/requests",
                                        expect=200, json={"authorization_url": url})
        assert read["verifier_name"] == "Halden kommune"
        assert read["verifier_did"] == space.provider.info["did"]
        assert read["asked"] == ["MembershipCredential"]
        assert [c["legal_name"] for c in read["presenting"]] == ["Analyse AS"]
        presented = await space.consumer.api(space.http, "POST", "/api/v1/wallet/presentations",
                                             expect=201, json={"authorization_url": url})
        link = presented["redirect_uri"]
        status, page, _ = await at_halden.submit(link, link[len(at_halden.base_url):])
        assert "organisation-not-allowed" in page

        # Analyse's own console admits Analyse (as a viewer)
        url = await _connector_signin(own)
        status, asked = await owner.get(f"/wallet?request={quote(url, safe='')}")
        assert "Analyse AS" in asked
        status, done, _ = await owner.submit(asked, "/wallet", {"request": url})
        assert status == 200, done
        link = _continue_link(done)
        status, home, _ = await own.submit(link, link[len(own.base_url):])
        assert status == 200, home
        assert "Signed in as Analyse AS" in home
    finally:
        await at_halden.close()
        await own.close()


async def test_a_revoked_members_presentation_is_refused(
        space: Space, service: TestServer) -> None:
    leaver: RunningConnector = await space.start("leaver", role="consumer")
    await space.onboard(leaver, "Leaver AS", ["consumer"])
    status = await leaver.api(space.http, "GET", "/api/v1/membership", expect=200)
    await space.ta("POST", f"/admin/applications/{status['application_id']}/revoke",
                   {"reason": "left the data space"})
    visitor = ConsoleSession(str(service.make_url("")), "/console")
    problem: dict[str, Any] = {}
    try:
        for _ in range(12):  # the status lists refresh every second here
            await asyncio.sleep(0.25)
            url = await _start(visitor)
            async with space.http.post(leaver.management_url + "/api/v1/wallet/presentations",
                                       json={"authorization_url": url},
                                       headers=leaver.admin_headers) as resp:
                problem = await resp.json()
                if resp.status != 201:
                    break
        assert problem.get("code") == "presentation-refused", problem
        assert "credential-revoked" in str(problem)
    finally:
        await visitor.close()
