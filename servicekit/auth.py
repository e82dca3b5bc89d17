"""Administrative API keys: generated once, kept hashed, checked in constant time.

A service generates its admin key on first start, gives it to the operator
once (``service.json``, mode 0600) and keeps only the SHA-256 hash for
checking. Keys are 256-bit random, so a fast hash is enough (no password
stretching needed) and lets the check stay cheap.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable, Iterable

from aiohttp import web

from servicekit.errors import Unauthorized
from servicekit.web import Handler

__all__ = [
    "ApiKeyVerifier",
    "bearer_token",
    "generate_api_key",
    "hash_api_key",
    "require_api_key",
]

_PREFIX = "dsk_"


def generate_api_key() -> str:
    """A new random API key (``dsk_`` + 43 base64url characters)."""
    return _PREFIX + secrets.token_urlsafe(32)


def hash_api_key(key: str) -> str:
    """The stored form of ``key``: ``sha256:<hex>``."""
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()


def bearer_token(request: web.Request) -> str | None:
    """The token of an ``Authorization: Bearer`` header, if any."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


class ApiKeyVerifier:
    """Checks presented keys against a set of stored hashes."""

    def __init__(self, hashes: Iterable[str] = ()) -> None:
        self._hashes: set[str] = set(hashes)

    def add(self, stored_hash: str) -> None:
        """Accept keys with this hash from now on."""
        self._hashes.add(stored_hash)

    def remove(self, stored_hash: str) -> None:
        """Stop accepting keys with this hash."""
        self._hashes.discard(stored_hash)

    def verify(self, key: str | None) -> bool:
        """True when ``key`` hashes to one of the stored hashes."""
        if not key:
            return False
        presented = hash_api_key(key)
        # compare_digest against each, so timing does not reveal which prefix matched
        matched = False
        for stored in self._hashes:
            matched |= hmac.compare_digest(presented, stored)
        return matched


def require_api_key(
    get_verifier: Callable[[web.Request], ApiKeyVerifier],
) -> Callable[[Handler], Handler]:
    """Decorate a handler so it answers 401 problem+json without a valid key."""

    def decorate(handler: Handler) -> Handler:
        async def wrapped(request: web.Request) -> web.StreamResponse:
            if not get_verifier(request).verify(bearer_token(request)):
                raise Unauthorized(
                    "this route needs an administrative API key (Authorization: Bearer ...)",
                    code="api-key-required",
                )
            return await handler(request)

        wrapped.__name__ = getattr(handler, "__name__", "handler")
        wrapped.__doc__ = handler.__doc__
        for attr in ("__openapi_operation__",):
            if hasattr(handler, attr):
                setattr(wrapped, attr, getattr(handler, attr))
        return wrapped

    return decorate
