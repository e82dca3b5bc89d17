"""The wallet side: a connector answering a sign-in request with its MembershipCredential.

:func:`resolve_request` reads the ``openid4vp://`` URL the person pasted or
scanned, fetches the request object from its ``request_uri`` and verifies it
(signature with a key of the DID in ``client_id``, header ``typ``, the
``decentralized_identifier`` prefix, ``exp``, the response mode);
:func:`select_credentials` picks our credentials for each DCQL credential
query; after the person confirms, :func:`build_vp_token` makes one holder-bound
presentation per credential and :func:`submit` posts them to ``response_uri``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp
import orjson

from identity.errors import VerificationError
from identity.holder_store import CredentialRecord
from identity.jose import DEFAULT_SKEW, check_time_claims, decode_jws, verify_jws
from identity.oid4vp.errors import NoMatchingCredential, WalletRequestInvalid
from identity.oid4vp.request import (
    CLIENT_ID_PREFIX,
    CREDENTIAL_FORMAT,
    REQUEST_TYP,
    SELF_ISSUED_AUDIENCE,
    VC2_VOCAB,
)
from identity.resolver import DidResolver
from identity.service_identity import ServiceIdentity
from identity.vp_issue import issue_jwt_vp_11
from servicekit.clock import Clock, system_clock
from servicekit.errors import DataspaceError, UpstreamError, peer_refused
from servicekit.http import fetch_capped

__all__ = ["WalletRequest", "build_vp_token", "resolve_request", "select_credentials", "submit"]

_MAX_REQUEST_OBJECT = 64 * 1024
_MAX_ANSWER = 64 * 1024
_TIMEOUT = 10.0
_LIFETIME = 300.0
#: Credential formats (as the holder store records them) that are JWTs ``jwt_vc_json`` covers.
_JWT_FORMATS = frozenset({"vc+jwt", "jwt_vc_json", "jwt_vc"})


@dataclass(frozen=True)
class WalletRequest:
    """A verified authorization request: who asks (``verifier_did``), for what, where to answer."""

    client_id: str
    verifier_did: str
    response_uri: str
    nonce: str
    state: str
    dcql_query: dict[str, Any]
    raw: str = field(repr=False)


def _refuse(detail: str, reason: str) -> WalletRequestInvalid:
    return WalletRequestInvalid(detail, extra={"reason": reason})


def _parse_url(authorization_url: str) -> tuple[str, str]:
    """``client_id`` and ``request_uri`` of an ``openid4vp://`` URL."""
    parts = urlsplit(authorization_url.strip())
    if parts.scheme != "openid4vp":
        raise _refuse("not an openid4vp:// authorization request", "url-scheme")
    params = parse_qs(parts.query)
    values = {k: v[0] for k, v in params.items() if len(v) == 1}
    client_id, request_uri = values.get("client_id"), values.get("request_uri")
    if not client_id or not request_uri:
        raise _refuse("the request names no client_id or request_uri", "url-parameters")
    method = values.get("request_uri_method", "get").lower()
    if method != "get":
        raise _refuse("only request_uri_method get is supported", "request-uri-method")
    return client_id, request_uri


def _check_url(url: str, what: str, *, allow_loopback: bool) -> None:
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return
    if allow_loopback and parts.scheme == "http" and parts.hostname in {
            "127.0.0.1", "localhost", "::1"}:
        return
    raise _refuse(f"the {what} must be an https URL", f"{what.replace(' ', '-')}-insecure")


async def _fetch(http: aiohttp.ClientSession, request_uri: str) -> str:
    def only_200(status: int) -> None:
        if status != 200:
            raise _refuse(f"the request URI answered {status}", "request-uri-status")

    try:
        async with asyncio.timeout(_TIMEOUT):
            answer = await fetch_capped(
                http, request_uri, limit=_MAX_REQUEST_OBJECT, check=only_200,
                too_large=lambda: _refuse("the request object is too large", "too-large"),
                headers={"Accept": "application/oauth-authz-req+jwt"})
    except (TimeoutError, aiohttp.ClientError) as exc:
        raise UpstreamError(f"the request URI could not be read: {type(exc).__name__}",
                            code="request-uri-unavailable") from None
    return answer.body.decode("ascii", errors="replace").strip()


async def resolve_request(http: aiohttp.ClientSession, authorization_url: str,
                          resolver: DidResolver, *, clock: Clock = system_clock,
                          allow_loopback: bool = False) -> WalletRequest:
    """Fetch and verify the request object an ``openid4vp://`` URL points to.

    Raises :class:`~identity.oid4vp.errors.WalletRequestInvalid` (``reason``
    names the failed check; a signature or key failure keeps its verification
    code there). ``allow_loopback`` (development) accepts plain-HTTP loopback URLs.
    """
    client_id, request_uri = _parse_url(authorization_url)
    if not client_id.startswith(CLIENT_ID_PREFIX) or not client_id[
            len(CLIENT_ID_PREFIX):].startswith("did:"):
        raise _refuse("the client_id is not a decentralized_identifier", "client-id-prefix")
    did = client_id[len(CLIENT_ID_PREFIX):]
    _check_url(request_uri, "request uri", allow_loopback=allow_loopback)
    token = await _fetch(http, request_uri)
    try:
        jws = decode_jws(token, typ=(REQUEST_TYP,))
        kid = jws.kid
        if kid is None or kid.split("#", 1)[0] != did or "#" not in kid:
            raise _refuse("the request object is not signed by the client's DID", "kid")
        method = await resolver.verification_method(kid, ("authentication", "assertionMethod"))
        verify_jws(jws, method.public_key, key_alg=method.declared_alg)
        claims = jws.claims()
        check_time_claims(claims, clock(), skew=DEFAULT_SKEW, require=("exp",))
    except VerificationError as exc:
        raise _refuse(f"the request object does not verify: {exc.detail}", exc.code) from None
    return _request_of(claims, client_id, did, token, allow_loopback=allow_loopback)


def _request_of(claims: dict[str, Any], client_id: str, did: str, token: str, *,
                allow_loopback: bool) -> WalletRequest:
    if claims.get("client_id") != client_id:
        raise _refuse("the request object names another client_id", "client-id-mismatch")
    aud = claims.get("aud")
    if aud is not None and aud != SELF_ISSUED_AUDIENCE and not (
            isinstance(aud, list) and SELF_ISSUED_AUDIENCE in aud):
        raise _refuse("the request object is addressed to another wallet", "aud")
    if claims.get("response_type") != "vp_token":
        raise _refuse("only response_type vp_token is supported", "response-type")
    if claims.get("response_mode") != "direct_post":
        raise _refuse("only response_mode direct_post is supported", "response-mode")
    response_uri, nonce, state = (_text(claims, k) for k in ("response_uri", "nonce", "state"))
    _check_url(response_uri, "response uri", allow_loopback=allow_loopback)
    query = claims.get("dcql_query")
    credentials = query.get("credentials") if isinstance(query, dict) else None
    if not isinstance(query, dict) or not isinstance(credentials, list) or not credentials \
            or not all(isinstance(c, dict) and isinstance(c.get("id"), str) for c in credentials):
        raise _refuse("the request carries no dcql_query with credential queries", "dcql-query")
    return WalletRequest(client_id=client_id, verifier_did=did, response_uri=response_uri,
                         nonce=nonce, state=state, dcql_query=query, raw=token)


def _text(claims: dict[str, Any], name: str) -> str:
    value = claims.get(name)
    if not isinstance(value, str) or not value:
        raise _refuse(f"the request object has no {name}", "request-claims")
    return value


def _type_names(record: CredentialRecord) -> set[str]:
    """A credential's types as written and expanded under the VC 2.0 vocabulary."""
    names = {"VerifiableCredential", *record.types}
    return names | {VC2_VOCAB + n for n in names if ":" not in n}


def _matches(query: dict[str, Any], record: CredentialRecord, now: float) -> bool:
    if query.get("format") != CREDENTIAL_FORMAT:
        return False
    if not isinstance(record.raw, str) or record.format not in _JWT_FORMATS:
        return False
    if record.valid_until is not None and record.valid_until <= now:
        return False
    meta = query.get("meta")
    alternatives = meta.get("type_values") if isinstance(meta, dict) else None
    if not isinstance(alternatives, list) or not alternatives:
        return False
    names = _type_names(record)
    return any(isinstance(alt, list) and alt and set(map(str, alt)) <= names
               for alt in alternatives)


def select_credentials(request: WalletRequest, credentials: Sequence[CredentialRecord], *,
                       clock: Clock = system_clock) -> dict[str, list[CredentialRecord]]:
    """Our credentials for each DCQL credential query id (the newest first; one unless the
    query says ``multiple``). Every query is treated as required (``credential_sets`` are
    not read); one we cannot answer raises
    :class:`~identity.oid4vp.errors.NoMatchingCredential` naming it."""
    now = clock()
    selected: dict[str, list[CredentialRecord]] = {}
    for query in request.dcql_query["credentials"]:
        found = sorted((c for c in credentials if _matches(query, c, now)),
                       key=lambda c: c.created_at, reverse=True)
        if not found:
            raise NoMatchingCredential(
                f"we hold no credential for the query {query['id']!r}",
                extra={"query_id": query["id"]})
        selected[query["id"]] = found if query.get("multiple") is True else found[:1]
    return selected


def build_vp_token(request: WalletRequest, selected: dict[str, list[CredentialRecord]],
                   holder: ServiceIdentity, *, clock: Clock = system_clock,
                   lifetime: float = _LIFETIME) -> dict[str, list[str]]:
    """The ``vp_token``: per query id, one JWT VP per credential, signed by ``holder`` with
    ``aud`` the request's ``client_id`` and its ``nonce``. A credential about someone else
    is refused (:class:`~identity.oid4vp.errors.NoMatchingCredential`)."""
    token: dict[str, list[str]] = {}
    for query_id, records in selected.items():
        for record in records:
            if record.subject not in (None, holder.did) or not isinstance(record.raw, str):
                raise NoMatchingCredential(f"credential {record.id} cannot be presented by us",
                                           extra={"query_id": query_id})
        token[query_id] = [
            issue_jwt_vp_11(holder.signer, [str(r.raw)], audience=request.client_id,
                            nonce=request.nonce, clock=clock, lifetime=lifetime)
            for r in records]
    return token


async def submit(http: aiohttp.ClientSession, request: WalletRequest,
                 vp_token: dict[str, list[str]]) -> dict[str, Any]:
    """Post the answer (form ``vp_token``, ``state``) to ``response_uri``; the verifier's JSON.

    A refusal (4xx) raises an error of the same family whose ``upstream_code``
    is the verifier's code; anything else not 2xx is an ``UpstreamError``.
    """
    form = {"vp_token": orjson.dumps(vp_token).decode(), "state": request.state}
    try:
        async with asyncio.timeout(_TIMEOUT), http.post(
                request.response_uri, data=form, allow_redirects=False,
                headers={"Accept": "application/json"}) as response:
            body = await response.content.read(_MAX_ANSWER + 1)
            status = response.status
    except (TimeoutError, aiohttp.ClientError) as exc:
        raise UpstreamError(f"the verifier could not be reached: {type(exc).__name__}",
                            code="response-uri-unavailable") from None
    try:
        answer = orjson.loads(body) if body and len(body) <= _MAX_ANSWER else {}
    except orjson.JSONDecodeError:
        answer = {}
    if not 200 <= status < 300:
        error: DataspaceError = peer_refused(status, answer, "the verifier refused the answer",
                                             code="presentation-refused")
        raise error
    return answer if isinstance(answer, dict) else {}
