"""DID resolution with a cache: did:key locally, did:web over the guarded client.

did:web fetches go through a :func:`servicekit.http.create_client_session`
session with ``guarded=True``, so private, link-local and (outside
development) loopback addresses are refused before any packet is sent. The
response is capped in size while it is read, the whole fetch in time,
redirects are not followed, and the document's ``id`` must be the DID.
Documents are cached for ``cache_ttl`` seconds; concurrent resolutions of one
DID share a single fetch.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

import aiohttp
import orjson

from identity.did_document import DidDocument, VerificationMethod, parse_did_document
from identity.did_key import resolve_did_key
from identity.did_web import did_web_document_url
from identity.errors import DidResolutionError, VerificationError
from servicekit.clock import Clock, system_clock
from servicekit.http import AddressRefused, GuardedConnector, create_client_session, fetch_capped
from servicekit.singleflight import SingleFlight

__all__ = ["DEFAULT_MAX_DOCUMENT_BYTES", "DidResolver"]

DEFAULT_MAX_DOCUMENT_BYTES = 64 * 1024


class DidResolver:
    """Resolve did:key and did:web DIDs, with a TTL cache and a per-key look-up cache.

    Pass the process's guarded session as ``session`` (one made with
    ``create_client_session(guarded=True, ...)``); without one the resolver
    makes and owns its own. ``allow_loopback`` (development only) allows
    plain HTTP and connections to loopback hosts.
    """

    def __init__(
        self,
        *,
        session: aiohttp.ClientSession | None = None,
        allow_loopback: bool = False,
        cache_ttl: float = 300.0,
        max_entries: int = 1024,
        max_document_bytes: int = DEFAULT_MAX_DOCUMENT_BYTES,
        timeout: float = 5.0,
        clock: Clock = system_clock,
    ) -> None:
        if session is not None and not isinstance(session.connector, GuardedConnector):
            raise ValueError(
                "DidResolver needs a guarded session (create_client_session(guarded=True))"
            )
        self._session = session
        self._owns_session = session is None
        self.allow_loopback = allow_loopback
        self.cache_ttl = cache_ttl
        self.max_entries = max_entries
        self.max_document_bytes = max_document_bytes
        self.timeout = timeout
        self._clock = clock
        self._documents: dict[str, tuple[float, DidDocument]] = {}
        self._methods: dict[
            tuple[str, str | tuple[str, ...]], tuple[float, VerificationMethod]
        ] = {}
        self._flights: SingleFlight[str, DidDocument] = SingleFlight()

    async def close(self) -> None:
        """Close the session if this resolver made it."""
        if self._owns_session and self._session is not None:
            await self._session.close()
            self._session = None

    async def __aenter__(self) -> DidResolver:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def forget(self, did: str | None = None) -> None:
        """Drop cached documents (one DID, or all), e.g. after a key rotation."""
        if did is None:
            self._documents.clear()
            self._methods.clear()
            return
        self._documents.pop(did, None)
        for key in [k for k in self._methods if k[0].split("#", 1)[0] == did]:
            del self._methods[key]

    def preload(
        self, did: str, document: Mapping[str, Any] | DidDocument, *, ttl: float | None = None
    ) -> DidDocument:
        """Seed the cache with a document known locally (e.g. the service's own DID).

        The document is validated like a fetched one (its ``id`` must be
        ``did``) and kept for ``ttl`` seconds (default: until :meth:`forget`
        or eviction, after which ``did`` is resolved normally again). A
        service that verifies its own tokens need not fetch its own document
        over HTTP, possibly before it is ready to serve it.
        """
        parsed = (
            document
            if isinstance(document, DidDocument)
            else parse_did_document(document, expected_id=did)
        )
        if parsed.id != did:
            raise DidResolutionError(
                f"document id {parsed.id} is not {did}", code="did-id-mismatch"
            )
        self.forget(did)
        expires = float("inf") if ttl is None else self._clock() + ttl
        self._store(did, parsed, expires)
        return parsed

    async def resolve(self, did: str) -> DidDocument:
        """The document of ``did`` (cached until ``cache_ttl`` passes)."""
        current = self._clock()
        cached = self._documents.get(did)
        if cached is not None and cached[0] > current:
            return cached[1]
        if did.startswith("did:key:"):
            document = resolve_did_key(did)
            # did:key documents never change: keep them as long as the cache is not full.
            self._store(did, document, float("inf"))
            return document
        if not did.startswith("did:web:"):
            raise DidResolutionError(
                f"unsupported DID method: {did[:40]}", code="did-method-not-supported"
            )
        return await self._flights.run(did, lambda: self._fetch_and_store(did))

    async def _fetch_and_store(self, did: str) -> DidDocument:
        document = await self._fetch_web(did)
        self._store(did, document, self._clock() + self.cache_ttl)
        return document

    async def verification_method(
        self, kid: str | None, relationships: str | Sequence[str], *, did: str | None = None
    ) -> VerificationMethod:
        """The method ``kid`` names, checked against ``relationships`` of its DID.

        ``did`` is the DID to resolve; by default the DID part of ``kid``. A
        relative or missing ``kid`` needs ``did``.
        """
        rel_key = relationships if isinstance(relationships, str) else tuple(relationships)
        if kid is not None and did is None:
            cached = self._methods.get((kid, rel_key))
            if cached is not None and cached[0] > self._clock():
                return cached[1]
        subject = did if did is not None else (kid.split("#", 1)[0] if kid else None)
        if not subject:
            raise VerificationError("no DID to resolve the key from", code="did-malformed")
        if kid is not None and not kid.startswith("#") and kid.split("#", 1)[0] != subject:
            raise VerificationError("kid belongs to another DID", code="issuer-mismatch")
        document = await self.resolve(subject)
        method = document.method(kid, relationships)
        method.public_key  # noqa: B018 - prepare the key once, now, not per verification
        if kid is not None and did is None:
            expires = self._documents.get(subject, (0.0, document))[0]
            if len(self._methods) >= self.max_entries * 4:
                self._methods.clear()
            self._methods[(kid, rel_key)] = (expires, method)
        return method

    def _store(self, did: str, document: DidDocument, expires_at: float) -> None:
        if did not in self._documents and len(self._documents) >= self.max_entries:
            current = self._clock()
            for key in [k for k, v in self._documents.items() if v[0] <= current]:
                del self._documents[key]
            while len(self._documents) >= self.max_entries:
                del self._documents[next(iter(self._documents))]
        self._documents[did] = (expires_at, document)

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = create_client_session(guarded=True, allow_loopback=self.allow_loopback)
        return self._session

    async def _fetch_web(self, did: str) -> DidDocument:
        url = did_web_document_url(did, allow_http_loopback=self.allow_loopback)
        try:
            async with asyncio.timeout(self.timeout):
                body = await self._download(url)
        except AddressRefused as exc:
            raise DidResolutionError(
                f"{did} resolves to a non-public address", code="did-address-refused"
            ) from exc
        except TimeoutError as exc:
            raise DidResolutionError(
                f"resolving {did} timed out", code="did-resolution-failed"
            ) from exc
        except aiohttp.ClientError as exc:
            raise DidResolutionError(
                f"resolving {did} failed: {type(exc).__name__}", code="did-resolution-failed"
            ) from exc
        try:
            raw: Any = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise DidResolutionError(
                "DID document is not JSON", code="did-document-invalid"
            ) from exc
        return parse_did_document(raw, expected_id=did)

    async def _download(self, url: str) -> bytes:
        answer = await fetch_capped(
            self._client(),
            url,
            limit=self.max_document_bytes,
            too_large=lambda: DidResolutionError(
                "DID document is too large", code="did-document-too-large"
            ),
            headers={"Accept": "application/did+json, application/json"},
            check=_only_200,
        )
        return answer.body


def _only_200(status: int) -> None:
    if status != 200:
        raise DidResolutionError(
            f"DID document request answered {status}", code="did-resolution-failed"
        )
