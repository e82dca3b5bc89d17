"""The web consoles in a real browser: headless Debian Chromium driven by playwright.

A persona test asks for the ``browser`` fixture (registered for every test by
``tests/conftest.py``) and walks its task at a desktop and at a phone width::

    @pytest.mark.browser
    @pytest.mark.parametrize("width", [DESKTOP, PHONE])
    async def test_a_provider_publishes_a_dataset(browser: Browser, connector, width: int):
        page = await new_page(browser, width)              # javascript=False: no scripts
        await page.goto(f"{connector.url}/console/datasets")
        await page.get_by_label("Title").fill("Road works 2026")
        await page.get_by_role("button", name="Publish").click()
        await expect(page.get_by_role("status")).to_contain_text("published")
        await assert_no_horizontal_overflow(page)          # nothing sticks out sideways
        await assert_accessible(page, name="dataset published")  # axe-core, WCAG 2.1 AA
        await screenshot(page, "provider-dataset-published")  # test-artifacts/screenshots/

The browser is Debian's (``apt-get install chromium``; ``.ci/run`` installs it),
axe-core comes from ``tests/interop/axe`` (``npm ci`` on first use). Without
either the test is skipped with the hint, and fails in CI (``tests/machine.py``).
Each test gets its own browser (pytest-asyncio runs every test and fixture in
its own event loop here, so a shared one could not be driven); closing it
closes every page :func:`new_page` opened, and the fixture then checks that no
browser process outlived the test.

axe-core is evaluated through the DevTools protocol rather than added as a
``<script>`` element, so the consoles' Content-Security-Policy (no
``'unsafe-inline'``) neither blocks it nor logs an error, and no context needs
``bypass_csp``. It runs on pages opened with ``javascript=False`` too. The
checks raise AssertionError with what is wrong.
"""

from __future__ import annotations

import asyncio
import functools
import os
import re
import signal
import time
import uuid
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.console_session import PASSWORD
from tests.machine import missing
from tests.nodejs import INTEROP, node_with

if TYPE_CHECKING:
    from playwright.async_api import Browser, BrowserContext, Page

__all__ = [
    "AXE_TAGS", "CHROMIUM", "CHROMIUM_ARGS", "DESKTOP", "PASSWORD", "PHONE", "SCREENSHOTS",
    "assert_accessible", "assert_no_horizontal_overflow", "browser", "check_page",
    "choose_password", "follow_menu", "launched_browser", "new_page", "screenshot",
]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
]
#: The two widths every persona task is walked at (CSS pixels); the height is 900.
DESKTOP, PHONE = 1280, 390
HEIGHT = 900
SCREENSHOTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "screenshots"
AXE = INTEROP / "axe"
#: The axe-core rule sets run: WCAG 2.0 and 2.1, levels A and AA, and Deque's best practices.
AXE_TAGS = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice")
#: Impacts that fail a test; "moderate" and "minor" ones are returned, not failed.
FAILING_IMPACTS = ("serious", "critical")


# --- the browser and the processes it starts --------------------------------

_MARK = "DATASPACE_TEST_BROWSER"


def _processes() -> dict[int, tuple[int, str]]:
    """Live (non-zombie) processes: pid -> (parent pid, start time, which guards pid reuse)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue  # it ended while we looked
            if fields[0] != "Z":
                found[int(entry.name)] = (int(fields[1]), fields[19])
    return found


def _started_by(roots: set[int], token: str) -> dict[int, str]:
    """The processes under ``roots`` plus those marked with ``token``: pid -> start time.

    Chromium's crash handlers detach from the process tree (re-parented to
    init); they keep the environment the browser was launched with, so the
    mark finds them. The zygote's children rewrite theirs but stay in the tree.
    """
    table = _processes()
    needle = f"{_MARK}={token}".encode()
    ours: set[int] = set()
    for pid in table:
        try:
            if needle in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0"):
                ours.add(pid)
        except OSError:
            continue
    frontier = list(roots | ours)
    while frontier:
        parent = frontier.pop()
        children = {pid for pid, (ppid, _) in table.items() if ppid == parent} - ours
        ours |= children
        frontier.extend(children)
    return {pid: table[pid][1] for pid in ours if pid in table}


def _still_running(processes: dict[int, str]) -> list[int]:
    table = _processes()
    return [pid for pid, start in processes.items() if pid in table and table[pid][1] == start]


@asynccontextmanager
async def launched_browser() -> AsyncIterator[Browser]:
    """Headless Chromium; on exit, every process it and playwright started has ended.

    Skips (fails in CI) without Debian's Chromium. Processes still running 10 s
    after closing are killed and fail the test.
    """
    if not CHROMIUM.is_file():
        missing(f"Debian's Chromium ({CHROMIUM}, for the browser tests)",
                "apt-get install chromium")
    try:
        from playwright.async_api import async_playwright
    except ImportError:
        pytest.fail("playwright is missing: pip install -e '.[test]'", pytrace=False)
    token = uuid.uuid4().hex
    before = _started_by({os.getpid()}, token)
    started: dict[int, str] = {}
    playwright = await async_playwright().start()
    try:
        launched = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS,
            env={**os.environ, _MARK: token})
        try:
            yield launched
        finally:
            started = _started_by({os.getpid()}, token)
            await launched.close()
    finally:
        await playwright.stop()
    ours = {pid: t for pid, t in started.items() if before.get(pid) != t}
    assert ours, "found none of the browser's processes: the leftover check is blind"
    deadline = time.monotonic() + 10
    while (left := _still_running(ours)) and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    assert not left, f"browser processes outlived the test (now killed): {left}"


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    """Headless Chromium for one test; afterwards none of its processes is left."""
    async with launched_browser() as launched:
        yield launched


# --- pages --------------------------------------------------------------------

#: Contexts opened with JavaScript off: axe needs its timers shimmed there.
_WITHOUT_JS: weakref.WeakSet[BrowserContext] = weakref.WeakSet()


async def new_page(browser: Browser, width: int, *, javascript: bool = True) -> Page:
    """A page in a fresh context, ``width`` × 900 CSS pixels.

    ``width`` is :data:`DESKTOP` (1280) or :data:`PHONE` (390, a phone: mobile
    viewport meta handling and touch). ``javascript=False`` opens it with
    scripts disabled, to check a page works without them. Playwright waits at
    most 10 s for anything. The context closes with the browser; close it
    earlier with ``await page.context.close()``.
    """
    if width not in (DESKTOP, PHONE):
        raise ValueError(f"walk the tasks at {DESKTOP} or {PHONE} px, not {width}")
    phone = width == PHONE
    context = await browser.new_context(
        viewport={"width": width, "height": HEIGHT}, is_mobile=phone, has_touch=phone,
        java_script_enabled=javascript)
    if not javascript:
        _WITHOUT_JS.add(context)
    page = await context.new_page()
    page.set_default_timeout(10_000)
    return page


def _width(page: Page) -> int:
    viewport = page.viewport_size
    assert viewport is not None, "the page has no fixed viewport: open it with new_page()"
    return viewport["width"]


# The limit is the screen's width, not innerWidth: a phone (is_mobile) zooms out
# to fit content wider than the screen, and innerWidth grows with it.
_OVERFLOW = """limit => {
  const width = document.scrollingElement.scrollWidth;
  if (width <= limit) return {width, limit, offenders: []};
  const name = el => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '')
    + [...el.classList].map(c => '.' + c).join('');
  // Inside a scrolling or clipping box an element widens that box, not the page.
  const contained = el => {
    for (let up = el.parentElement; up && up !== document.body; up = up.parentElement)
      if (getComputedStyle(up).overflowX !== 'visible') return true;
    return false;
  };
  const boxes = new Map();
  for (const el of document.body.querySelectorAll('*')) {
    const box = el.getBoundingClientRect();
    if (box.width > 0 && box.right + window.scrollX > limit + 0.5 && !contained(el))
      boxes.set(el, box);
  }
  // A child exactly as wide as its offending parent (tbody, tr) adds nothing.
  const offenders = [...boxes].filter(([el, box]) => {
    const up = boxes.get(el.parentElement);
    return !(up && Math.abs(up.left - box.left) < 1 && Math.abs(up.width - box.width) < 1);
  });
  offenders.sort((a, b) => b[1].width - a[1].width);
  return {width, limit, offenders: offenders.slice(0, 5).map(([el, box]) =>
    `${el.parentElement ? name(el.parentElement) + ' > ' : ''}${name(el)}`
    + ` (${Math.round(box.width)}px wide,`
    + ` right edge at ${Math.round(box.right + window.scrollX)}px)`)};
}"""


async def assert_no_horizontal_overflow(page: Page) -> None:
    """Nothing makes the page wider than the screen (``scrollWidth`` <= the viewport width).

    Raises AssertionError naming the widest elements past the right edge
    (those inside a box that scrolls or clips sideways do not count).
    """
    found: dict[str, Any] = await page.evaluate(_OVERFLOW, _width(page))
    if found["width"] > found["limit"]:
        culprits = "\n".join(f"- {offender}" for offender in found["offenders"])
        raise AssertionError(
            f"{page.url} is {found['width']}px wide on a {found['limit']}px screen; "
            f"widest elements past the edge:\n{culprits}")


# --- accessibility ------------------------------------------------------------

@functools.cache
def _axe_source() -> str:
    node_with(AXE, "axe-core")  # skips (fails in CI) without Node.js and npm
    return (AXE / "node_modules" / "axe-core" / "axe.min.js").read_text()


# With scripts disabled Chromium runs DevTools' own code but fires no timers,
# animation frames or queued microtasks, and axe.run waits on those. The page
# has no scripts of its own that could notice the substitutes.
_NO_JS_TIMERS = """() => {
  const soon = (f, ...args) => { Promise.resolve().then(() => f(...args)); return 0; };
  Object.assign(window, {
    setTimeout: soon, clearTimeout: () => {}, queueMicrotask: f => soon(f),
    requestAnimationFrame: f => soon(f, performance.now()), cancelAnimationFrame: () => {},
    requestIdleCallback: f => soon(f, {didTimeout: false, timeRemaining: () => 50}),
    cancelIdleCallback: () => {},
  });
}"""

_AXE_RUN = """tags => axe.run(document, {runOnly: tags}).then(result => result.violations.map(
  v => ({id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
         targets: v.nodes.map(node => node.target.join(' '))})))"""


async def assert_accessible(page: Page, *, name: str) -> list[dict[str, Any]]:
    """axe-core finds no serious or critical WCAG 2.1 A/AA or best-practice violation.

    ``name`` says which page or step this is in the AssertionError, which
    lists each violation's rule id, impact, help text and first targets. Returns
    every violation found (moderate and minor ones included), for a stricter
    test to look at.
    """
    source = _axe_source()
    if await page.evaluate("typeof window.axe") == "undefined":
        if page.context in _WITHOUT_JS:
            await page.evaluate(_NO_JS_TIMERS)
        await page.evaluate(source + "\n;0")
    violations: list[dict[str, Any]] = await page.evaluate(_AXE_RUN, list(AXE_TAGS))
    failing = [v for v in violations if v["impact"] in FAILING_IMPACTS]
    if failing:
        lines = []
        for v in failing:
            more = f" (+{len(v['targets']) - 3} more)" if len(v["targets"]) > 3 else ""
            lines.append(f"- {v['id']} ({v['impact']}): {v['help']} at "
                         f"{', '.join(v['targets'][:3])}{more} [{v['helpUrl']}]")
        raise AssertionError(
            f"{len(failing)} serious or critical accessibility violation(s) on {name!r} "
            f"({page.url}, {_width(page)}px):\n" + "\n".join(lines))
    return violations


# --- screenshots --------------------------------------------------------------

async def screenshot(page: Page, name: str) -> Path:
    """Save the whole page as ``test-artifacts/screenshots/<name>-<width>.png``; its path."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{safe}-{_width(page)}.png"
    await page.screenshot(path=str(path), full_page=True)
    return path


async def check_page(page: Page, name: str) -> Path:
    """What every step of a persona's walk checks: the page fits its width, axe finds
    nothing serious, and its screenshot is saved (``name``-<width>.png); the screenshot."""
    await assert_no_horizontal_overflow(page)
    await assert_accessible(page, name=name)
    return await screenshot(page, name)




async def choose_password(page: Page, link: str, password: str = PASSWORD) -> None:
    """Open a one-time sign-in link and choose a password, as a new person does."""
    await page.goto(link)
    await page.get_by_role("button", name="Continue and choose a password").click()
    await page.get_by_label("New password").fill(password)
    await page.get_by_label("The same password again").fill(password)
    await page.get_by_role("button", name="Save the password").click()


async def follow_menu(page: Page, name: str) -> None:
    """Follow the main menu's link ``name`` as a person does: on a phone the menu is
    folded under "Menu", which is opened first."""
    nav = page.get_by_role("navigation", name="Main")
    folded = nav.locator(".menu-narrow > summary")
    if await folded.is_visible():
        await folded.click()
    await nav.get_by_role("link", name=name, exact=True).click()
