"""A small JSON-over-HTTP client for the toolkit's own APIs (CLI, `up`, examples).

Problem+json answers become :class:`ApiError` with the service's stable
``code``, so callers (and the CLI's one-line errors) can act on it.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Any

import aiohttp

from servicekit.errors import DataspaceError, InvalidRequest
from servicekit.service_info import SERVICE_FILE

__all__ = [
    "CONNECTOR_ROLES",
    "DATASPACE_FILE",
    "ApiClient",
    "ApiError",
    "find_service",
    "load_service",
]


class ApiError(DataspaceError):
    """A service answered with an error."""

    def __init__(self, status: int, code: str, detail: str, body: Any = None) -> None:
        super().__init__(detail, code=code)
        self.http_status = status
        self.body = body


#: What ``dataspace up`` writes in its data directory: every service's service.json.
DATASPACE_FILE = "dataspace.json"
#: The roles a connector writes in its service.json.
CONNECTOR_ROLES = ("provider", "consumer", "connector")


def load_service(data_dir: Path, *, roles: Collection[str] = ("trust-anchor",),
                 name: str | None = None, what: str = "trust anchor",
                 announce: Callable[[str], None] | None = None) -> dict[str, Any]:
    """The ``service.json`` of the service in ``data_dir`` (see :func:`find_service`)."""
    return find_service(data_dir, roles=roles, name=name, what=what, announce=announce)[1]


def find_service(data_dir: Path, *, roles: Collection[str], name: str | None = None,
                 what: str = "service", announce: Callable[[str], None] | None = None,
                 ) -> tuple[Path, dict[str, Any]]:
    """Where a service keeps its state, and its ``service.json``.

    ``data_dir`` is either the service's own data directory (it holds
    ``service.json``) or a ``dataspace up`` folder (it holds ``dataspace.json``):
    there the service is the one called ``name``, or else the only one with one
    of ``roles``; ``announce`` is told which was chosen. ``what`` names the
    kind of service in messages. Raises
    ``service-not-found`` or ``service-ambiguous`` (the message says what to pass).
    """
    own = data_dir / SERVICE_FILE
    described = data_dir / DATASPACE_FILE
    if own.exists():
        info = _read(own)
        found = f"{info.get('name')} ({info.get('role')})"
        if name is not None and info.get("name") != name:
            raise InvalidRequest(f"{data_dir} holds {found}, not {name}",
                                 code="service-not-found")
        if info.get("role") not in roles:
            raise InvalidRequest(f"{data_dir} holds {found}, not a {what}",
                                 code="service-not-found")
        return data_dir, info
    if not described.exists():
        raise InvalidRequest(
            f"no {what} service.json in {data_dir} (nor the dataspace.json of "
            "`dataspace up`): is it running there?", code="service-not-found")
    services: list[dict[str, Any]] = _read(described).get("services", [])
    listed = ", ".join(f"{s.get('name')} ({s.get('role')})" for s in services) or "none"
    if name is not None:
        chosen = [s for s in services if s.get("name") == name]
        if chosen and chosen[0].get("role") not in roles:
            raise InvalidRequest(f"{name} in {data_dir} is a {chosen[0].get('role')}, not a "
                                 f"{what}", code="service-not-found")
    else:
        chosen = [s for s in services if s.get("role") in roles]
    if not chosen:
        wanted = f"{what} called {name}" if name else what
        raise InvalidRequest(f"no {wanted} in the data space in {data_dir} (it has: {listed})",
                             code="service-not-found")
    if len(chosen) > 1:
        names = ", ".join(str(s.get("name")) for s in chosen)
        raise InvalidRequest(f"the data space in {data_dir} has several {what}s: {names}; "
                             "choose one", code="service-ambiguous")
    entry = chosen[0]
    folder = data_dir / str(entry["name"])
    # The service's own file is fresher than the summary (a restart may rewrite it).
    info = _read(folder / SERVICE_FILE) if (folder / SERVICE_FILE).exists() else entry
    if announce is not None:
        announce(f"using {entry['name']} ({entry.get('role')}) in {folder}")
    return folder, info


def _read(path: Path) -> dict[str, Any]:
    try:
        data: dict[str, Any] = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise InvalidRequest(f"cannot read {path}: {exc}", code="service-not-found") from None
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
