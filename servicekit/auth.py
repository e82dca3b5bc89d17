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

from servicekit.console.keys import API_CALLER, CONSOLE, ApiCaller
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
    *,
    scope: str | None = None,
) -> Callable[[Handler], Handler]:
    """Decorate a handler so it answers 401 problem+json without a valid key.

    The admin API key passes; so does a console API token (``dst_...``) whose
    scopes include ``scope`` (by default ``read`` for GET and HEAD, ``manage``
    otherwise); a token without it gets 403 ``token-scope``. The caller is put
    at ``request[API_CALLER]``.
    """

    def decorate(handler: Handler) -> Handler:
        async def wrapped(request: web.Request) -> web.StreamResponse:
            token = bearer_token(request)
            if get_verifier(request).verify(token):
                request[API_CALLER] = ApiCaller(kind="api-key", scopes=_ALL_SCOPES)
                return await handler(request)
            console = request.config_dict.get(CONSOLE)
            wanted = scope or ("read" if request.method in ("GET", "HEAD") else "manage")
            caller = (await console.authenticate_token(token, wanted)
                      if console is not None and token else None)
            if caller is None:
                raise Unauthorized(
                    "this route needs an administrative API key or an API token "
                    "(Authorization: Bearer ...)",
                    code="api-key-required",
                )
            request[API_CALLER] = caller
            return await handler(request)

        wrapped.__name__ = getattr(handler, "__name__", "handler")
        wrapped.__doc__ = handler.__doc__
        for attr in ("__openapi_operation__",):
            if hasattr(handler, attr):
                setattr(wrapped, attr, getattr(handler, attr))
        return wrapped

    return decorate


_ALL_SCOPES = frozenset({"read", "manage", "approve"})
