"""Checking a ``BitstringStatusListEntry``: fetch, verify and cache the list.

The list credential is fetched through an injectable async ``fetcher`` or
the shared guarded client session, verified like any credential (signature,
issuer, validity), checked to be a ``BitstringStatusListCredential`` of the
entry's purpose from the same issuer, and cached for ``ttl`` seconds (less if
the list says so or expires sooner).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit

import aiohttp
import orjson

from identity.did_web import is_loopback_host
from identity.errors import VerificationError
from identity.status_list import StatusList, parse_entry
from identity.vc import VerifiedCredential
from servicekit.clock import Clock, epoch_from_datetime, system_clock
from servicekit.http import AddressRefused, create_client_session, fetch_capped

__all__ = ["Fetcher", "ListVerifier", "StatusListChecker", "StatusResult"]

Fetcher = Callable[[str], Awaitable[bytes | str]]
"""Fetches a status list credential by URL: returns the body (a JWT or JSON)."""


class ListVerifier(Protocol):
    """Verifies a status list credential (a :class:`~identity.vc_verify.CredentialVerifier`)."""

    async def verify(
        self, credential: str | Mapping[str, Any], *, check_status: bool = True
    ) -> VerifiedCredential:
        """Verify ``credential``."""
        ...


@dataclass(frozen=True, slots=True)
class StatusResult:
    """The answer for one status entry: is its bit set?"""

    purpose: str
    index: int
    is_set: bool
    list_credential: str

    @property
    def revoked(self) -> bool:
        """True for a set revocation bit."""
        return self.is_set and self.purpose == "revocation"

    @property
    def suspended(self) -> bool:
        """True for a set suspension bit."""
        return self.is_set and self.purpose == "suspension"


@dataclass(frozen=True, slots=True)
class _CachedList:
    expires_at: float
    issuer: str
    purposes: frozenset[str]
    bits: StatusList


class StatusListChecker:
    """Resolve status entries against their (cached) status list credentials."""

    def __init__(
        self,
        *,
        fetcher: Fetcher | None = None,
        session: aiohttp.ClientSession | None = None,
        allow_loopback: bool = False,
        ttl: float = 300.0,
        max_bytes: int = 2 * 1024 * 1024,
        timeout: float = 10.0,
        max_lists: int = 256,
        clock: Clock = system_clock,
    ) -> None:
        self._fetcher = fetcher
        self._session = session
        self._owns_session = fetcher is None and session is None
        self.allow_loopback = allow_loopback
        self.ttl = ttl
        self.max_bytes = max_bytes
        self.timeout = timeout
        self.max_lists = max_lists
        self.clock = clock
        self._lists: dict[str, _CachedList] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def close(self) -> None:
        """Close the session if this checker made it."""
        if self._owns_session and self._session is not None:
            await self._session.close()
            self._session = None

    def forget(self, url: str | None = None) -> None:
        """Drop cached lists (one URL or all)."""
        if url is None:
            self._lists.clear()
        else:
            self._lists.pop(url, None)

    def cached_until(self, url: str) -> float | None:
        """When the cached list at ``url`` will be fetched again (``None``: not cached).

        A verifier that caches its own conclusions bounds them by this, so a
        revocation is seen within one refresh of the list.
        """
        cached = self._lists.get(url)
        return cached.expires_at if cached is not None else None

    async def check(
        self, entry: Mapping[str, Any], verifier: ListVerifier, *, issuer: str | None = None
    ) -> StatusResult:
        """The status of ``entry``; ``issuer`` (the credential's) must also issue the list."""
        url, index, purpose = parse_entry(entry)
        cached = await self._list(url, verifier)
        if issuer is not None and cached.issuer != issuer:
            raise VerificationError(
                "status list is not from the credential's issuer", code="issuer-mismatch"
            )
        if purpose not in cached.purposes:
            raise VerificationError(
                f"status list does not serve purpose {purpose}", code="status-list-invalid"
            )
        if index >= len(cached.bits):
            raise VerificationError("status index is outside the list", code="status-list-invalid")
        return StatusResult(purpose, index, cached.bits.get(index), url)

    async def _list(self, url: str, verifier: ListVerifier) -> _CachedList:
        cached = self._lists.get(url)
        if cached is not None and cached.expires_at > self.clock():
            return cached
        lock = self._locks.setdefault(url, asyncio.Lock())
        async with lock:  # one fetch per list, however many credentials wait
            cached = self._lists.get(url)
            if cached is not None and cached.expires_at > self.clock():
                return cached
            fresh = await self._load(url, verifier)
            if url not in self._lists and len(self._lists) >= self.max_lists:
                del self._lists[next(iter(self._lists))]
            self._lists[url] = fresh
        self._locks.pop(url, None)
        return fresh

    async def _load(self, url: str, verifier: ListVerifier) -> _CachedList:
        body = await self._fetch(url)
        text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
        text = text.strip()
        document: str | Mapping[str, Any]
        if text.startswith("{"):
            try:
                document = orjson.loads(text)
            except orjson.JSONDecodeError as exc:
                raise VerificationError(
                    "status list is not JSON", code="status-list-invalid"
                ) from exc
        else:
            document = text
        verified = await verifier.verify(document, check_status=False)
        if verified.id is not None and verified.id != url:
            raise VerificationError(
                "status list credential id is not its URL", code="status-list-invalid"
            )
        if not verified.has_type("BitstringStatusListCredential"):
            raise VerificationError(
                "not a BitstringStatusListCredential", code="status-list-invalid"
            )
        subject = verified.claims
        if subject.get("type") != "BitstringStatusList":
            raise VerificationError(
                "subject is not a BitstringStatusList", code="status-list-invalid"
            )
        purposes = subject.get("statusPurpose")
        purpose_set = frozenset([purposes] if isinstance(purposes, str) else purposes or [])
        if not purpose_set or not all(isinstance(p, str) for p in purpose_set):
            raise VerificationError("status list has no statusPurpose", code="status-list-invalid")
        bits = StatusList.decode(str(subject.get("encodedList", "")))
        expires_at = self.clock() + self.ttl
        ttl_ms = subject.get("ttl")
        if isinstance(ttl_ms, int) and not isinstance(ttl_ms, bool) and ttl_ms > 0:
            expires_at = min(expires_at, self.clock() + ttl_ms / 1000)
        if verified.valid_until is not None:
            expires_at = min(expires_at, epoch_from_datetime(verified.valid_until))
        return _CachedList(expires_at, verified.issuer, purpose_set, bits)

    async def _fetch(self, url: str) -> bytes | str:
        try:
            async with asyncio.timeout(self.timeout):
                if self._fetcher is not None:
                    return await self._fetcher(url)
                return await self._download(url)
        except AddressRefused as exc:
            raise VerificationError(
                "status list URL points to a non-public address", code="status-list-unavailable"
            ) from exc
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise VerificationError(
                f"status list could not be fetched: {type(exc).__name__}",
                code="status-list-unavailable",
            ) from exc

    async def _download(self, url: str) -> bytes:
        parts = urlsplit(url)
        plain_ok = self.allow_loopback and is_loopback_host(parts.hostname or "")
        if parts.scheme != "https" and not (parts.scheme == "http" and plain_ok):
            raise VerificationError("status list URL must be https", code="status-list-unavailable")
        if self._session is None:
            self._session = create_client_session(guarded=True, allow_loopback=self.allow_loopback)
        answer = await fetch_capped(
            self._session,
            url,
            limit=self.max_bytes,
            too_large=lambda: VerificationError(
                "status list is too large", code="status-list-invalid"
            ),
            headers={"Accept": "application/vc+jwt, application/vc, application/json"},
            check=_only_200,
        )
        return answer.body


def _only_200(status: int) -> None:
    if status != 200:
        raise VerificationError(
            f"status list request answered {status}", code="status-list-unavailable"
        )
