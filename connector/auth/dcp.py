"""The ``dcp`` auth mode: every DSP request proves who sent it with DCP 1.0.

Inbound, :class:`DcpAuth` hands the ``Authorization`` header to
:class:`identity.dcp.DcpVerifier`: the caller's self-issued ID token is
verified and its ``jti`` recorded in the shared replay store on *every*
request; the caller's credentials are queried from its Credential Service
only when no recent answer for the same caller and credential types is
cached. The types asked for are ``auth.dcp.required_credentials``
(MembershipCredential) plus whatever the endpoint adds (a contract request:
the types its offer's policy names; such a request is always answered afresh,
since the caller may just have been issued the credential it names). The verified caller becomes a
:class:`~connector.domain.caller.Caller` whose credential types and subject
claims the offer policy is evaluated against.

Outbound, a fresh self-issued token (``aud`` = the peer's DID) carries an
access token to our Credential Service for exactly the scopes the peer will
ask for: the required types plus the ones a message's offer names. A peer
known only by its DSP URL is looked up in its ``/.well-known/dspace-version``
(the ``serviceId`` DID, believed only if it is a did:web of that very host,
so a peer cannot make us address a token to someone else), falling back to
the did:web of its origin.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Sequence
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import orjson
import structlog
from aiohttp import web

from connector.auth.base import AuthContext, AuthSeam
from connector.domain.caller import Caller, Standing
from identity.dcp import DcpTokenProvider, DcpVerifier, VerifiedCaller
from identity.did_web import did_web_base_url, did_web_from_url
from identity.vp import PresentationVerifier
from servicekit.errors import DataspaceError
from servicekit.http import parse_http_url

__all__ = ["DCP_PROTOCOL", "DcpAuth", "caller_of", "create_dcp_auth"]

_log = structlog.get_logger("connector.auth")

#: What ``/.well-known/dspace-version`` advertises as ``auth``.
DCP_PROTOCOL = {"protocol": "DCP", "version": "1.0"}
_BASE_TYPE = "VerifiableCredential"
_MAX_PARTICIPANTS = 4096


def caller_of(verified: VerifiedCaller) -> Caller:
    """The :class:`Caller` a verified DCP caller stands for."""
    types = set(verified.claims)
    subjects: dict[str, list[dict[str, Any]]] = {}
    for credential in verified.credentials:
        own = [t for t in credential.types if t != _BASE_TYPE]
        types.update(own)
        for kind in own:
            subjects.setdefault(kind, []).append(dict(credential.claims))
    return Caller(
        id=verified.did,
        credential_types=frozenset(types),
        claims={kind: dict(subject) for kind, subject in verified.claims.items()},
        expires_at=verified.expires_at,
        method="dcp",
        subjects={kind: tuple(items) for kind, items in subjects.items()},
        standing=tuple(
            Standing(issuer=credential.issuer,
                     types=tuple(t for t in credential.types if t != _BASE_TYPE),
                     id=credential.id,
                     valid_until=(credential.valid_until.timestamp()
                                  if credential.valid_until is not None else None),
                     status=credential.status)
            for credential in verified.credentials),
    )


class DcpAuth:
    """Both directions of the ``dcp`` seam (see the module docstring)."""

    def __init__(
        self,
        verifier: DcpVerifier,
        tokens: DcpTokenProvider,
        session: aiohttp.ClientSession,
        *,
        required: Sequence[str] = ("MembershipCredential",),
    ) -> None:
        self.verifier = verifier
        self.tokens = tokens
        self.required = tuple(dict.fromkeys(required))
        self._session = session
        self._participants: dict[str, str] = {}

    def _types(self, extra: Collection[str]) -> list[str]:
        return sorted(set(self.required).union(extra))

    async def authenticate(self, request: web.Request,
                           required: Collection[str] = ()) -> Caller:
        """The verified caller; 401 (token), 403 (credentials) or 502 (its services)."""
        types = self._types(required)
        # A request whose offer names credentials beyond the usual ones (a purchase)
        # asks afresh: the caller may have been issued one since its last answer.
        fresh = not set(required) <= set(self.required)
        try:
            verified = await self.verifier.verify_caller(request.headers.get("Authorization"),
                                                         types, fresh=fresh)
        except DataspaceError as exc:
            _log.info("dsp_caller_refused", code=exc.code, status=exc.status, required=types)
            raise
        return caller_of(verified)

    async def token_for(self, audience: str, scopes: Sequence[str] = ()) -> str:
        """``Bearer <self-issued token>`` for ``audience`` (a DID, or a peer's DSP URL)."""
        did = audience if audience.startswith("did:") else await self.participant_id(audience)
        return await self.tokens.token_for(did, self._types(scopes))

    async def participant_id(self, address: str) -> str:
        """The DID of the connector whose DSP endpoint is ``address`` (400 if it is no URL)."""
        parse_http_url(address, code="counterparty-address-invalid", name="the peer's address")
        parts = urlsplit(address)
        origin = f"{parts.scheme}://{parts.netloc}"
        known = self._participants.get(origin)
        if known is not None:
            return known
        did = await self._advertised_did(origin) or did_web_from_url(origin)
        if len(self._participants) >= _MAX_PARTICIPANTS:
            self._participants.clear()
        self._participants[origin] = did
        return did

    async def _advertised_did(self, origin: str) -> str | None:
        try:
            async with asyncio.timeout(10):
                async with self._session.get(origin + "/.well-known/dspace-version",
                                             allow_redirects=False) as response:
                    if response.status != 200:
                        return None
                    body: Any = orjson.loads(await response.content.read(64 * 1024))
        except (aiohttp.ClientError, TimeoutError, orjson.JSONDecodeError, ValueError):
            return None
        versions = body.get("protocolVersions") if isinstance(body, dict) else None
        for entry in versions if isinstance(versions, list) else []:
            service = entry.get("serviceId") if isinstance(entry, dict) else None
            if isinstance(service, str) and service.startswith("did:web:"):
                did = service.split("#", 1)[0]
                if _same_origin(did, origin):
                    return did
        return None


def _same_origin(did: str, origin: str) -> bool:
    try:
        base = urlsplit(did_web_base_url(did, allow_http_loopback=True))
    except DataspaceError:  # not a well-formed did:web
        return False
    return urlsplit(origin).netloc.lower() == base.netloc.lower()


def create_dcp_auth(context: AuthContext) -> AuthSeam:
    """The ``dcp`` mode, on the process's :class:`~connector.trust.Trust` components."""
    trust = context.trust
    if trust is None or trust.registry is None:
        raise ValueError("auth mode 'dcp' needs a trust anchor (trust_anchor_url)")
    settings = context.settings
    dcp = settings.auth.dcp
    verifier = DcpVerifier(
        trust.signer,
        trust.resolver,
        trust.credentials,
        PresentationVerifier(trust.credentials),
        trust.registry,
        trust.replay,
        trust.session,
        allow_loopback=settings.dev,
        cache_ttl=dcp.cache_seconds,
        max_token_lifetime=max(600.0, dcp.token_seconds),
        query_timeout=settings.http_timeout_seconds,
    )
    tokens = DcpTokenProvider(trust.signer, token_lifetime=dcp.token_seconds,
                              default_scopes=tuple(dcp.required_credentials))
    auth = DcpAuth(verifier, tokens, trust.session, required=dcp.required_credentials)
    _log.info("dcp_auth_ready", trust_anchor=trust.trust_anchor_url,
              root=trust.trust_anchor_did, required=list(auth.required))
    return AuthSeam(authenticator=auth, tokens=auth, protocol=DCP_PROTOCOL,
                    participant_id=auth.participant_id)
