"""The authentication seam of the DSP endpoints, inbound and outbound.

Inbound, an :class:`Authenticator` turns a request into a verified
:class:`~connector.domain.caller.Caller` or raises
:class:`~servicekit.errors.Unauthorized` (the DSP app renders it as the
protocol's error body with status 401; a caller lacking a required
credential is a 403). The endpoint may name credential types the caller
must prove on top of the mode's own (a contract request: what its offer's
policy names). Outbound, a :class:`TokenProvider` gives the
``Authorization`` value for a message to a peer.

Implementations are chosen by ``settings.auth.mode`` from a registry:
:func:`register_auth` adds a factory, :func:`create_auth` builds the one
configured. The connector ships ``fixed-token`` (development and the TCK)
and ``dcp`` (:mod:`connector.auth.dcp`). A factory receives an
:class:`AuthContext` with what an implementation may need (our identity, the
HTTP clients, the database, the process's DCP components).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import aiohttp
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from connector.domain.caller import Caller
from connector.settings import ConnectorSettings
from connector.trust import Trust
from identity.signer import Signer

__all__ = [
    "AuthContext",
    "AuthFactory",
    "AuthSeam",
    "Authenticator",
    "TokenProvider",
    "create_auth",
    "known_modes",
    "register_auth",
]


@runtime_checkable
class Authenticator(Protocol):
    """Verifies who sent an inbound DSP request."""

    async def authenticate(self, request: web.Request,
                           required: Collection[str] = ()) -> Caller:
        """The verified caller, or raise ``Unauthorized`` (401, DSP error body).

        ``required`` are credential types this request needs the caller to
        prove (an implementation without credentials may ignore them).
        """
        ...


@runtime_checkable
class TokenProvider(Protocol):
    """Makes the credential we present to a peer."""

    async def token_for(self, audience: str, scopes: Sequence[str] = ()) -> str:
        """The ``Authorization`` header value for a message to ``audience`` (a DID)."""
        ...


@dataclass(frozen=True)
class AuthSeam:
    """One configured implementation: both directions, plus what we advertise.

    ``protocol`` is the ``auth`` member of ``/.well-known/dspace-version``
    (``{"protocol": "DCP", "version": "1.0", ...}``), or None.
    ``close`` releases resources (caches, sessions) at shutdown.
    ``participant_id``, when a mode can tell, is the participant id bound to
    a peer's DSP URL (DCP: the did:web of that host); a catalog naming
    another ``participantId`` is not believed.
    """

    authenticator: Authenticator
    tokens: TokenProvider
    protocol: Mapping[str, Any] | None = None
    close: Callable[[], Awaitable[None]] | None = None
    participant_id: Callable[[str], Awaitable[str]] | None = None


@dataclass(frozen=True)
class AuthContext:
    """What an implementation may use."""

    settings: ConnectorSettings
    did: str
    signer: Signer
    engine: AsyncEngine
    http: aiohttp.ClientSession
    guarded_http: aiohttp.ClientSession
    trust: Trust | None = None
    extra: dict[str, Any] = field(default_factory=dict)


AuthFactory = Callable[[AuthContext], AuthSeam | Awaitable[AuthSeam]]
_FACTORIES: dict[str, AuthFactory] = {}


def register_auth(mode: str, factory: AuthFactory) -> None:
    """Make ``mode`` selectable in ``settings.auth.mode``."""
    _FACTORIES[mode] = factory


def known_modes() -> list[str]:
    """The registered modes."""
    return sorted(_FACTORIES)


async def create_auth(context: AuthContext) -> AuthSeam:
    """Build the implementation ``context.settings.auth.mode`` names."""
    mode = context.settings.auth.mode or "fixed-token"
    factory = _FACTORIES.get(mode)
    if factory is None:
        raise ValueError(
            f"unknown auth mode {mode!r}; available: {', '.join(known_modes()) or 'none'}"
        )
    built = factory(context)
    if isinstance(built, AuthSeam):
        return built
    return await built
