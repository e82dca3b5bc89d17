"""Which clients get the root's HTML page: those whose Accept ranks text/html above JSON."""

from __future__ import annotations

import pytest

from servicekit.home import Home, HomeLink, prefers_html, render_html

CHROMIUM = ("text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,"
            "image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7")
FIREFOX = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


@pytest.mark.parametrize(("accept", "html"), [
    (CHROMIUM, True),
    (FIREFOX, True),
    ("text/*", True),
    ("text/html;q=0.9, application/json;q=0.5", True),
    (None, False),
    ("", False),
    ("*/*", False),  # curl, aiohttp, requests: a tie goes to JSON
    ("application/json", False),
    ("application/json, text/html;q=0.9", False),
    ("text/html;q=0, */*", False),
    ("text/html;q=nonsense, application/json;q=0.1", False),
])
def test_a_browser_gets_html_and_a_script_json(accept: str | None, html: bool) -> None:
    assert prefers_html(accept) is html


def test_the_page_escapes_what_it_shows() -> None:
    page = render_html(Home(service="<Halden>", description="a & b", links=[
        HomeLink(href='/x?a=1&b="2"', title="<b>bold</b>", description="it's")]))
    assert "<title>&lt;Halden&gt;</title>" in page
    assert '<a href="/x?a=1&amp;b=&quot;2&quot;">&lt;b&gt;bold&lt;/b&gt;</a>' in page
    assert "<b>" not in page
