"""The verifier side of DCP 1.0: who is calling, and may it?

For every inbound DSP request, :meth:`DcpVerifier.verify_caller`:

1. takes the ``Bearer`` token and verifies it as the caller's self-issued ID
   token: ``aud`` is our DID, ``iss == sub``, ``exp``/``iat``/``nbf``
   (bounded skew and lifetime), the key from the caller's DID document under
   ``capabilityInvocation`` (never a header ``jwk``), the signature; then
   its ``jti`` is recorded in the replay store, before any credential query.
   A token without the ``token`` claim (the access token to the caller's
   Credential Service) is refused (``token-missing``);
2. reuses a recent answer for the same caller and required types, if one is
   cached (the token check and the replay check above are never skipped);
3. otherwise resolves the caller's ``CredentialService`` and POSTs a
   ``PresentationQueryMessage`` for ``org.eclipse.dspace.dcp.vc.type:<T>:read``
   to ``{base}/presentations/query`` with our own self-issued token
   (``aud`` = caller DID, ``token`` = the caller's access token);
4. validates the ``PresentationResponseMessage`` against the DCP schema and
   verifies each presentation (``vp+jwt``, VC 1.1 JWT VP or
   ``EnvelopedVerifiablePresentation``): holder = caller, ``aud`` = our DID,
   key under ``authentication``; and each credential in it: signature,
   validity period, Bitstring status (revoked/suspended), subject = caller;
5. requires, per required type, a credential whose issuer the trusted-issuers
   registry accredits for that type. A missing type is ``credential-missing``,
   an untrusted issuer ``issuer-not-trusted`` (both 403); anything that fails
   verification refuses the whole request with its 401 code, except a revoked
   or suspended credential: that one is only left out, and refuses the
   request (``credential-revoked``/``credential-suspended``, 401) when no
   other good and trusted credential of a type it was presented for remains.
   A buyer who cancelled a purchase and bought again may present both; a
   member whose membership was revoked and who holds no other is refused.

The answer is cached per (caller, required types) until the earliest of
``cache_ttl``, the status lists' and the registry's refresh intervals, and
the credentials' and presentations' expiry: a revocation is seen within one
refresh, as with a fresh query.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp
import orjson

from identity.dcp.access import dcp_token_verifier, parse_bearer
from identity.dcp.discovery import service_base_url
from identity.dcp.errors import CredentialsRefused
from identity.dcp.messages import presentation_query_message
from identity.dcp.schemas import PRESENTATION_RESPONSE_MESSAGE, validate_dcp
from identity.dcp.scopes import type_scope
from identity.errors import VerificationError
from identity.jose import DEFAULT_SKEW
from identity.replay import ReplayStore
from identity.resolver import DidResolver
from identity.self_issued import SelfIssuedToken, create_self_issued_token
from identity.signer import Signer
from identity.trusted_issuers import TrustedIssuers
from identity.vc import VerifiedCredential
from identity.vc_verify import CredentialVerifier
from identity.vp import PresentationVerifier, VerifiedPresentation
from servicekit.clock import Clock, epoch_from_datetime
from servicekit.errors import UpstreamError, UpstreamTimeout, ValidationFailed
from servicekit.http import AddressRefused, GuardedConnector, fetch_capped
from servicekit.singleflight import SingleFlight

__all__ = ["DcpVerifier", "VerifiedCaller"]

_MAX_PRESENTATIONS = 16


@dataclass(frozen=True, slots=True)
class VerifiedCaller:
    """An authenticated caller and the credentials it proved.

    ``credentials`` are the trusted credentials of the required types;
    ``claims`` maps each required type to the subject claims of the newest
    such credential (what a policy usually reads); ``token`` is this
    request's verified self-issued token; ``cached`` says the credentials
    came from the cache (no query was sent for this request).
    """

    did: str
    credentials: tuple[VerifiedCredential, ...]
    claims: Mapping[str, Mapping[str, Any]]
    token: SelfIssuedToken
    expires_at: float
    cached: bool = False

    def credentials_of_type(self, credential_type: str) -> list[VerifiedCredential]:
        """The verified credentials of ``credential_type``."""
        return [c for c in self.credentials if c.has_type(credential_type)]

    def __repr__(self) -> str:
        return f"VerifiedCaller(did={self.did!r}, types={sorted(self.claims)!r})"


@dataclass(frozen=True, slots=True)
class _Proof:
    credentials: tuple[VerifiedCredential, ...]
    claims: Mapping[str, Mapping[str, Any]]
    expires_at: float


_Key = tuple[str, tuple[str, ...]]


class DcpVerifier:
    """Authenticate DSP callers with DCP (see the module docstring for the steps).

    ``signer`` is our identity (its DID is the audience of callers' tokens);
    ``session`` must be the guarded client session (credential service URLs
    come from other parties); ``allow_loopback`` (development only) accepts
    plain-HTTP credential services on loopback. ``credential_verifier``
    should carry the status checker; ``presentation_verifier`` wraps it.
    """

    def __init__(
        self,
        signer: Signer,
        resolver: DidResolver,
        credential_verifier: CredentialVerifier,
        presentation_verifier: PresentationVerifier,
        trusted_issuers: TrustedIssuers,
        replay_store: ReplayStore,
        session: aiohttp.ClientSession,
        *,
        allow_loopback: bool = False,
        clock: Clock | None = None,
        skew: float = DEFAULT_SKEW,
        max_token_lifetime: float = 600.0,
        cache_ttl: float = 60.0,
        max_cached_callers: int = 10_000,
        query_timeout: float = 10.0,
        max_response_bytes: int = 1024 * 1024,
        query_token_lifetime: float = 60.0,
    ) -> None:
        if not isinstance(session.connector, GuardedConnector):
            raise ValueError(
                "DcpVerifier needs the guarded session (create_client_session(guarded=True))"
            )
        self.signer = signer
        self.did = signer.did
        self.resolver = resolver
        self.credential_verifier = credential_verifier
        self.presentation_verifier = presentation_verifier
        self.trusted_issuers = trusted_issuers
        self.session = session
        self.allow_loopback = allow_loopback
        self.clock = clock or credential_verifier.clock
        self.cache_ttl = cache_ttl
        self.max_cached_callers = max_cached_callers
        self.query_timeout = query_timeout
        self.max_response_bytes = max_response_bytes
        self.query_token_lifetime = query_token_lifetime
        self.tokens = dcp_token_verifier(resolver, replay_store, audience=signer.did,
                                         clock=self.clock, skew=skew,
                                         max_lifetime=max_token_lifetime)
        self._cache: dict[_Key, _Proof] = {}
        self._flights: SingleFlight[_Key, _Proof] = SingleFlight()

    def forget(self, did: str | None = None) -> None:
        """Drop cached answers (of one caller, or all), e.g. after a revocation notice."""
        if did is None:
            self._cache.clear()
            return
        for key in [k for k in self._cache if k[0] == did]:
            del self._cache[key]

    async def verify_caller(
        self, authorization: str | None, required_types: Sequence[str], *, fresh: bool = False
    ) -> VerifiedCaller:
        """The verified caller of a request whose ``Authorization`` header is ``authorization``.

        ``required_types`` are the credential types the caller must prove
        (e.g. ``["MembershipCredential"]``). Raises ``VerificationError``
        (401), :class:`~identity.dcp.errors.CredentialsRefused` (403) or
        ``UpstreamError`` (502/504) when the caller's services fail.
        ``fresh`` asks the caller's Credential Service even when a recent answer
        is cached (a credential it has just been issued would not be in that
        answer); the new answer replaces the cached one.
        """
        token = await self.tokens.verify(parse_bearer(authorization), require_token=True)
        key: _Key = (token.issuer, tuple(sorted(set(required_types))))
        proof = None if fresh else self._cache.get(key)
        if proof is not None and proof.expires_at > self.clock():
            return VerifiedCaller(
                token.issuer, proof.credentials, proof.claims, token, proof.expires_at, True
            )
        proof = await self._shared_proof(key, token)
        return VerifiedCaller(
            token.issuer, proof.credentials, proof.claims, token, proof.expires_at
        )

    async def _shared_proof(self, key: _Key, token: SelfIssuedToken) -> _Proof:
        """One query per caller and types at a time; concurrent requests share its answer."""
        proof = await self._flights.run(key, lambda: self._prove(token, key[1]))
        if proof.expires_at > self.clock():
            if key not in self._cache and len(self._cache) >= self.max_cached_callers:
                del self._cache[next(iter(self._cache))]
            self._cache[key] = proof
        return proof

    async def _prove(self, token: SelfIssuedToken, types: tuple[str, ...]) -> _Proof:
        current = self.clock()
        expires = current + self.cache_ttl
        if not types:
            return _Proof((), {}, expires)
        presentations = await self._query(token, types)
        accepted: list[VerifiedCredential] = []
        claims: dict[str, Mapping[str, Any]] = {}
        for credential_type in types:
            candidates = [
                c for vp in presentations for c in vp.credentials if c.has_type(credential_type)
            ]
            trusted = [
                c for c in candidates
                if await self.trusted_issuers.is_trusted(c.issuer, credential_type)
            ]
            withdrawn = [w for vp in presentations for w in vp.withdrawn
                         if w.credential.has_type(credential_type)]
            if not trusted and withdrawn:
                raise withdrawn[0].refusal()
            if not candidates:
                raise CredentialsRefused(
                    f"no {credential_type} was presented", code="credential-missing",
                    extra={"credential_type": credential_type},
                )
            if not trusted:
                raise CredentialsRefused(
                    f"the {credential_type} presented is from an issuer not trusted for it",
                    code="issuer-not-trusted",
                    extra={"credential_type": credential_type},
                )
            trusted.sort(key=_issued, reverse=True)  # the newest first: its claims are read
            claims[credential_type] = trusted[0].claims
            accepted.extend(c for c in trusted if all(c is not a for a in accepted))
        return _Proof(tuple(accepted), claims, self._expiry(expires, presentations, accepted))

    def _expiry(
        self,
        expires: float,
        presentations: Sequence[VerifiedPresentation],
        accepted: Sequence[VerifiedCredential],
    ) -> float:
        """Keep an answer no longer than any fact it rests on stays cached or valid."""
        current = self.clock()
        registry = self.trusted_issuers
        checker = self.credential_verifier.status_checker
        for credential in accepted:
            expires = min(expires, registry.cached_until(credential.issuer) or current)
            if credential.valid_until is not None:
                expires = min(expires, epoch_from_datetime(credential.valid_until))
            if checker is None:
                continue
            for entry in credential.status:
                url = entry.get("statusListCredential")
                if entry.get("type") == "BitstringStatusListEntry" and isinstance(url, str):
                    expires = min(expires, checker.cached_until(url) or current)
        for presentation in presentations:
            if presentation.expires_at is not None:
                expires = min(expires, presentation.expires_at)
        return expires

    async def _query(
        self, token: SelfIssuedToken, types: tuple[str, ...]
    ) -> list[VerifiedPresentation]:
        caller = token.issuer
        document = await self.resolver.resolve(caller)
        base = service_base_url(document, allow_loopback=self.allow_loopback)
        ours = create_self_issued_token(
            self.signer,
            caller,
            clock=self.clock,
            token=token.access_token,
            lifetime=self.query_token_lifetime,
        )
        message = presentation_query_message([type_scope(t) for t in types])
        body = await self._post(base + "/presentations/query", ours, message)
        try:
            validate_dcp(PRESENTATION_RESPONSE_MESSAGE, body)
        except ValidationFailed as exc:
            raise VerificationError(
                "the credential service answered no valid PresentationResponseMessage",
                code="presentation-response-invalid",
                extra={"errors": exc.errors},
            ) from None
        items = body["presentation"]
        if len(items) > _MAX_PRESENTATIONS:
            raise VerificationError(
                "too many presentations in the answer", code="presentation-response-invalid"
            )
        return [
            await self.presentation_verifier.verify(
                item, audience=self.did, nonce=None, holder=caller, keep_withdrawn=True
            )
            for item in items
        ]

    async def _post(self, url: str, token: str, message: Mapping[str, Any]) -> Any:
        headers = {
            "Authorization": "Bearer " + token,
            "Content-Type": "application/json",
            "Accept": "application/json",
        }
        try:
            async with asyncio.timeout(self.query_timeout):
                answer = await fetch_capped(
                    self.session,
                    url,
                    method="POST",
                    limit=self.max_response_bytes,
                    too_large=lambda: VerificationError(
                        "the presentation response is too large",
                        code="presentation-response-invalid",
                    ),
                    headers=headers,
                    data=orjson.dumps(message),
                    check=_query_answered,
                )
        except AddressRefused:
            raise VerificationError(
                "the caller's credential service is at a non-public address",
                code="credential-service-missing",
            ) from None
        except TimeoutError:
            raise UpstreamTimeout(
                "the caller's credential service did not answer in time",
                code="credential-service-timeout",
            ) from None
        except aiohttp.ClientError as exc:
            raise UpstreamError(
                f"the caller's credential service could not be reached: {type(exc).__name__}",
                code="credential-service-unavailable",
            ) from None
        try:
            return orjson.loads(answer.body)
        except orjson.JSONDecodeError:
            raise VerificationError(
                "the presentation response is not JSON", code="presentation-response-invalid"
            ) from None


def _issued(credential: VerifiedCredential) -> float:
    """When ``credential`` took effect (its ``validFrom``), for preferring the newest."""
    start = credential.valid_from
    return epoch_from_datetime(start) if start is not None else float("-inf")


def _query_answered(status: int) -> None:
    if 400 <= status < 500:
        raise VerificationError(
            f"the caller's credential service refused the query ({status})",
            code="presentation-query-refused",
            extra={"upstream_status": status},
        )
    if not 200 <= status < 300:
        raise UpstreamError(
            f"the caller's credential service answered {status}",
            code="credential-service-unavailable",
        )
