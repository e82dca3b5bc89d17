"""A small JSON-over-HTTP client for the toolkit's own APIs (CLI, `up`, examples).

Problem+json answers become :class:`ApiError` with the service's stable
``code``, so callers (and the CLI's one-line errors) can act on it.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import aiohttp

from servicekit.errors import DataspaceError

__all__ = ["ApiClient", "ApiError", "load_service"]


class ApiError(DataspaceError):
    """A service answered with an error."""

    def __init__(self, status: int, code: str, detail: str, body: Any = None) -> None:
        super().__init__(detail, code=code)
        self.http_status = status
        self.body = body


def load_service(data_dir: Path) -> dict[str, Any]:
    """A running service's ``service.json`` from its data directory."""
    path = data_dir / "service.json"
    try:
        data: dict[str, Any] = json.loads(path.read_text())
    except FileNotFoundError:
        raise DataspaceError(f"no service.json in {data_dir}: is the service running there?",
                             code="service-not-found") from None
    return data


class ApiClient:
    """Calls one service: ``await client.get("/path")`` returns the decoded JSON."""

    def __init__(self, base_url: str, *, api_key: str | None = None,
                 session: aiohttp.ClientSession | None = None, timeout: float = 30.0,
                 unreachable_grace: float = 0.0) -> None:
        self.base_url = base_url.rstrip("/")
        #: Keep retrying this long while the service cannot be reached (it may be
        #: restarting); 0 fails at once.
        self.unreachable_grace = unreachable_grace
        self._headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._session = session
        self._owns = session is None
        self._timeout = aiohttp.ClientTimeout(total=timeout)

    async def __aenter__(self) -> ApiClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def session(self) -> aiohttp.ClientSession:
        """The HTTP session (made on first use)."""
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        return self._session

    async def close(self) -> None:
        """Close the session if this client made it."""
        if self._owns and self._session is not None:
            await self._session.close()
            self._session = None

    async def request(self, method: str, path: str, *, json_body: Any = None,
                      headers: dict[str, str] | None = None,
                      params: dict[str, Any] | None = None) -> Any:
        """Send a request; return JSON (or text), raise :class:`ApiError` on 4xx/5xx."""
        deadline = time.monotonic() + self.unreachable_grace
        while True:
            try:
                return await self._request(method, path, json_body=json_body,
                                           headers=headers, params=params)
            except DataspaceError as error:
                if error.code != "service-unreachable" or time.monotonic() >= deadline:
                    raise
            await asyncio.sleep(0.25)

    async def _request(self, method: str, path: str, *, json_body: Any,
                       headers: dict[str, str] | None, params: dict[str, Any] | None) -> Any:
        all_headers = {**self._headers, **(headers or {})}
        url = path if path.startswith("http") else self.base_url + path
        try:
            async with self.session.request(method, url, json=json_body, headers=all_headers,
                                            params=params) as response:
                text = await response.text()
                try:
                    body: Any = json.loads(text) if text else None
                except ValueError:
                    body = text
                if response.status >= 400:
                    if isinstance(body, dict):
                        code = str(body.get("code") or body.get("error") or response.status)
                        detail = str(body.get("detail") or body.get("error_description")
                                     or body.get("title") or text)
                    else:
                        code, detail = str(response.status), text[:200]
                    raise ApiError(response.status, code, detail, body)
                return body
        except aiohttp.ClientConnectionError as exc:
            raise DataspaceError(f"cannot reach {self.base_url}: {exc}",
                                 code="service-unreachable") from None

    async def get(self, path: str, **kwargs: Any) -> Any:
        """GET ``path``."""
        return await self.request("GET", path, **kwargs)

    async def post(self, path: str, body: Any = None, **kwargs: Any) -> Any:
        """POST ``body`` as JSON to ``path``."""
        return await self.request("POST", path, json_body=body, **kwargs)

    async def put(self, path: str, body: Any = None, **kwargs: Any) -> Any:
        """PUT ``body`` as JSON to ``path``."""
        return await self.request("PUT", path, json_body=body, **kwargs)

    async def delete(self, path: str, **kwargs: Any) -> Any:
        """DELETE ``path``."""
        return await self.request("DELETE", path, **kwargs)
