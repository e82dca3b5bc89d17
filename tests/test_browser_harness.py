"""The browser harness itself: it passes a sound page and fails a broken one for the right reasons.

Two tiny pages on loopback, served with the strict Content-Security-Policy the
consoles send (no inline scripts or styles): one good (landmarks, labels, fits
a phone), one bad (a 1000 px table, an unlabeled input, grey-on-white text).
"""

from __future__ import annotations

import struct
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

import tests.browser
from tests.browser import (
    DESKTOP,
    PHONE,
    SCREENSHOTS,
    assert_accessible,
    assert_no_horizontal_overflow,
    launched_browser,
    new_page,
    screenshot,
)

if TYPE_CHECKING:
    from playwright.async_api import Browser, ConsoleMessage

pytestmark = pytest.mark.browser

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
       "form-action 'self'; base-uri 'none'; frame-ancestors 'none'")

HEAD = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title><link rel="stylesheet" href="/style.css">
<script src="/app.js" defer></script></head>"""

GOOD = HEAD.format(title="Datasets – Halden kommune") + """<body>
<header><nav aria-label="Main"><a href="/good">Datasets</a> <a href="/good#new">New</a></nav>
</header>
<main><h1>Datasets</h1>
<p id="scripted">Served without scripts.</p>
<form method="post" action="/good"><label for="title">Title</label>
<input id="title" name="title" autocomplete="off"><button type="submit">Publish</button></form>
<table><caption>Published</caption><thead><tr><th scope="col">Title</th>
<th scope="col">Price</th></tr></thead>
<tbody><tr><td>Road works 2026</td><td>NOK 120</td></tr></tbody></table>
</main><footer><p>Halden kommune</p></footer></body></html>"""

BAD = HEAD.format(title="Bad") + """<body><main><h1>Readings</h1>
<p>Sensor readings from the river.</p>
<p class="faint">Faint grey words nobody can read.</p>
<input id="nameless" name="q">
<table class="wide"><tr><td>A reading</td><td>Another</td></tr></table>
</main></body></html>"""

STYLE = """body { font: 16px/1.5 sans-serif; color: #1a1a1a; background: #fff; margin: 0 1rem; }
a { color: #0b57d0; }
input, button { font: inherit; max-width: 100%; }
.faint { color: #c8c8c8; }
.wide { width: 1000px; border-collapse: collapse; }"""

# With JavaScript the page says so; without it the server's words stay.
SCRIPT = "document.getElementById('scripted')?.replaceChildren('Scripts ran.');"


@pytest.fixture
async def site() -> AsyncIterator[str]:
    """The two pages and their style and script, on loopback; the base URL."""
    def answer(body: str, content_type: str) -> web.Response:
        return web.Response(text=body, content_type=content_type,
                            headers={"Content-Security-Policy": CSP})

    async def good(_: web.Request) -> web.Response:
        return answer(GOOD, "text/html")

    async def bad(_: web.Request) -> web.Response:
        return answer(BAD, "text/html")

    async def style(_: web.Request) -> web.Response:
        return answer(STYLE, "text/css")

    async def script(_: web.Request) -> web.Response:
        return answer(SCRIPT, "text/javascript")

    app = web.Application()
    app.router.add_get("/good", good)
    app.router.add_get("/bad", bad)
    app.router.add_get("/style.css", style)
    app.router.add_get("/app.js", script)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        yield str(server.make_url("")).rstrip("/")
    finally:
        await server.close()


def png_size(data: bytes) -> tuple[int, int]:
    """(width, height) from a PNG's header."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", data[:8]
    width, height = struct.unpack(">II", data[16:24])
    return width, height


async def test_the_good_page_passes_at_both_widths_under_a_strict_csp(
    browser: Browser, site: str,
) -> None:
    errors: list[str] = []

    def complaint(message: ConsoleMessage) -> None:
        # The browser asks for /favicon.ico on its own; the page has none.
        if message.type == "error" and not message.location.get("url", "").endswith(
                "/favicon.ico"):
            errors.append(message.text)

    for width in (DESKTOP, PHONE):
        page = await new_page(browser, width)
        page.on("console", complaint)
        await page.goto(f"{site}/good")
        assert await page.locator("#scripted").inner_text() == "Scripts ran."
        assert await page.evaluate("window.innerWidth") == width
        await assert_no_horizontal_overflow(page)
        assert await assert_accessible(page, name="good page") == []
        # axe went in past the CSP without tripping it (an injected <script> would).
        assert errors == []
        path = await screenshot(page, "harness good page")
        assert path == SCREENSHOTS / f"harness-good-page-{width}.png"
        shot_width, shot_height = png_size(path.read_bytes())
        assert shot_width == width
        assert shot_height >= 900
    assert await page.evaluate("matchMedia('(pointer: coarse)').matches")  # the phone
    with pytest.raises(ValueError, match="1280 or 390"):
        await new_page(browser, 800)


async def test_the_wide_table_overflows_a_phone_and_is_named(browser: Browser, site: str) -> None:
    desktop = await new_page(browser, DESKTOP)
    await desktop.goto(f"{site}/bad")
    await assert_no_horizontal_overflow(desktop)  # 1000 px fits 1280

    phone = await new_page(browser, PHONE)
    await phone.goto(f"{site}/bad")
    with pytest.raises(AssertionError) as failed:
        await assert_no_horizontal_overflow(phone)
    message = str(failed.value)
    assert "on a 390px screen" in message
    lines = message.splitlines()[1:]
    # The table first; its rows and bodies (just as wide) are not repeated.
    assert lines[0].startswith("- main > table.wide (1000px wide"), message
    assert not any("tbody" in line or "> tr" in line for line in lines), message


async def test_axe_fails_the_unlabeled_input_and_the_faint_text(
    browser: Browser, site: str,
) -> None:
    page = await new_page(browser, DESKTOP)
    await page.goto(f"{site}/bad")
    with pytest.raises(AssertionError) as failed:
        await assert_accessible(page, name="bad page")
    message = str(failed.value)
    assert "violation(s) on 'bad page'" in message
    assert "- label (critical): Form elements must have labels at #nameless" in message
    assert "- color-contrast (serious): " in message
    assert ".faint" in message
    # The page's own layout problem is the overflow check's business, not axe's.
    assert "table" not in message.split("\n", 1)[1]


async def test_without_javascript_the_checks_still_run(browser: Browser, site: str) -> None:
    for path, sound in (("/good", True), ("/bad", False)):
        page = await new_page(browser, PHONE, javascript=False)
        await page.goto(f"{site}{path}")
        # The page's script did not run (the server's words are there).
        if sound:
            assert await page.locator("#scripted").inner_text() == "Served without scripts."
            await assert_no_horizontal_overflow(page)
            assert await assert_accessible(page, name="good page without scripts") == []
        else:
            with pytest.raises(AssertionError, match=r"label \(critical\)"):
                await assert_accessible(page, name="bad page without scripts")
            with pytest.raises(AssertionError, match=r"table\.wide"):
                await assert_no_horizontal_overflow(page)


@pytest.mark.parametrize("ci", [None, "true"])
async def test_without_chromium_it_skips_outside_ci_and_fails_in_ci(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, ci: str | None,
) -> None:
    monkeypatch.setattr(tests.browser, "CHROMIUM", tmp_path / "chromium")
    if ci is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", ci)
    outcome = pytest.skip.Exception if ci is None else pytest.fail.Exception
    with pytest.raises(outcome, match="apt-get install chromium"):
        async with launched_browser():
            pass
