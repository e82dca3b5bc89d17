"""The management API client every ``dataspace connector`` command (but ``serve``) uses.

:class:`Management` finds a running connector (``--data-dir``,
``--connector``, ``--url``, ``--api-key``: :func:`client_options`) and ends
the command with one line when the connector refuses or cannot be reached.
aiohttp loads when the first request is made, not when a command's help is
shown.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from dataspace.cli.common import fail, locate_service, service_name_option

if TYPE_CHECKING:
    import aiohttp

__all__ = [
    "FINAL_NEGOTIATION",
    "SETTLED_TRANSFER",
    "Management",
    "awaiting_owner",
    "client_options",
    "describe_problem",
    "follow_args",
]

T = TypeVar("T")

#: The states a negotiation ends in, and a transfer settles in.
FINAL_NEGOTIATION = {"FINALIZED", "TERMINATED"}
SETTLED_TRANSFER = {"STARTED", "COMPLETED", "TERMINATED", "SUSPENDED"}

_client_options = [
    click.option("--data-dir", type=click.Path(path_type=Path, file_okay=False),
                 default=Path(".dataspace"), show_default=True,
                 help="Where the connector's service.json is (or a `dataspace up` folder)."),
    service_name_option("--connector", "connector"),
    click.option("--url", default=None, help="Management API URL (instead of service.json)."),
    click.option("--api-key", default=None, envvar="CONNECTOR_API_KEY",
                 help="Admin API key (instead of service.json)."),
]


def client_options(command: Any) -> Any:
    """The options that locate a running connector."""
    for option in reversed(_client_options):
        command = option(command)
    return command


def describe_problem(status: int, answer: Any) -> str:
    """One line from a problem+json answer: code, title, detail and the reasons given."""
    if not isinstance(answer, dict):
        return f"HTTP {status}"
    code = answer.get("code") or "error"
    title = answer.get("title") or ""
    detail = answer.get("detail") or ""
    same = title.strip().lower() == detail.strip().lower()
    text = f"{code}: {detail or title}" if not (title and detail) or same else (
        f"{code}: {title}: {detail}")
    reasons = [
        str(r.get("message") or r.get("code")) if isinstance(r, dict) else str(r)
        for r in answer.get("reasons") or []
    ]
    if reasons:
        text += " (" + "; ".join(reasons) + ")"
    return text


def _refusal(answer: Any) -> str:
    """One line from the management API's error answer: code, detail, first field errors."""
    if not isinstance(answer, dict):
        return "error: "
    errors = answer.get("errors")
    where = "; ".join(f"{e.get('path') or e.get('loc') or '/'}: "
                      f"{e.get('message') or e.get('msg')}"
                      for e in errors[:3] if isinstance(e, dict)
                      ) if isinstance(errors, list) else ""
    return f"{answer.get('code', 'error')}: {answer.get('detail', '')}" + (
        f" ({where})" if where else "")


def follow_args(data_dir: Path, url: str | None) -> str:
    """The options that reach the same connector again, for a next-step hint."""
    if url is not None:
        return f"--url {url}"
    # ``--connector`` keeps its value in the click context (see service_name_option).
    name = click.get_current_context().meta.get("dataspace.service-name")
    return f"--data-dir {data_dir}" + (f" --connector {name}" if name else "")


def awaiting_owner(negotiation: dict[str, Any], follow: str, timeout: float) -> str:
    """What a consumer is told when its request is still unanswered after ``timeout``."""
    return (f"the negotiation {negotiation['id']} is still {negotiation['state']} after "
            f"{timeout:g} s: the provider has not agreed yet (a restricted dataset awaits "
            "its owner's approval). Follow it with `dataspace connector negotiations "
            f"{negotiation['id']} --wait {follow}`")


class Management:
    """A tiny client of the management API; errors end the command with one line."""

    def __init__(self, data_dir: Path, url: str | None, api_key: str | None) -> None:
        if url is None or api_key is None:
            from dataspace.client import CONNECTOR_ROLES

            _folder, info = locate_service(data_dir, CONNECTOR_ROLES, "connector", "--connector")
            if "management_url" not in info:
                fail(f"no connector service.json in {data_dir}; give --url and --api-key")
            url = url or str(info["management_url"])
            api_key = api_key or str(info["admin_api_key"])
        self.url = url.rstrip("/")
        self.headers = {"Authorization": f"Bearer {api_key}"}

    @staticmethod
    @asynccontextmanager
    async def session() -> AsyncIterator[aiohttp.ClientSession]:
        """An HTTP session for a few calls in a row."""
        import aiohttp

        async with aiohttp.ClientSession() as http:
            yield http

    async def call(self, http: aiohttp.ClientSession, method: str, path: str,
                   body: Any = None) -> Any:
        """One request; a problem+json answer ends the command (exit 2)."""
        import aiohttp

        try:
            async with http.request(method, self.url + path, json=body,
                                    headers=self.headers) as resp:
                answer = await resp.json(content_type=None) if resp.status != 204 else None
                if resp.status >= 400:
                    fail(_refusal(answer))
                return answer
        except aiohttp.ClientError as exc:
            fail(f"cannot reach the connector at {self.url}: {exc}")

    def request(self, method: str, path: str, body: Any = None) -> Any:
        """One request in a session of its own (see :meth:`call`)."""

        async def one(http: aiohttp.ClientSession) -> Any:
            return await self.call(http, method, path, body)

        return self.run(one)

    def run(self, steps: Callable[[aiohttp.ClientSession], Coroutine[Any, Any, T]]) -> T:
        """Run ``steps(http)`` to its end in a session of its own."""

        async def go() -> T:
            async with self.session() as http:
                return await steps(http)

        return asyncio.run(go())

    async def wait(self, http: aiohttp.ClientSession, path: str, done: set[str],
                   seconds: float) -> dict[str, Any]:
        """Poll ``path`` until its state is in ``done`` (or ``seconds`` are up)."""
        deadline = time.monotonic() + seconds
        while True:
            current: dict[str, Any] = await self.call(http, "GET", path)
            if current["state"] in done or time.monotonic() > deadline:
                return current
            await asyncio.sleep(0.1)
