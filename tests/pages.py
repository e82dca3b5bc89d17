"""What the tests of the services' HTML pages share: a browser's Accept header, the links."""

from __future__ import annotations

from html.parser import HTMLParser

__all__ = ["BROWSER_ACCEPT", "links"]

#: What Chromium sends when a person opens the address.
BROWSER_ACCEPT = ("text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,"
                  "image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7")


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self.hrefs += [value for name, value in attrs if name == "href" and value]


def links(page: str) -> list[str]:
    """Every link (``<a href>``) of the HTML ``page``, in order."""
    parser = _Links()
    parser.feed(page)
    return parser.hrefs
