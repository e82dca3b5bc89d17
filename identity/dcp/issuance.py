"""The holder's client for DCP 1.0 credential issuance.

The holder finds the issuer's ``IssuerService`` base URL in the issuer's DID
document (:func:`issuer_service_url`), may read its ``/metadata``
(:func:`fetch_issuer_metadata`), and asks for credentials with a
``CredentialRequestMessage`` POSTed to ``{base}/credentials``
(:func:`request_credentials`) under its self-issued token (``aud`` = issuer
DID). That token's ``token`` claim is a write access token for the holder's
Credential Service, so the issuer can later deliver the credentials there
(``POST {credential service}/credentials``, verified by
:meth:`identity.dcp.holder.DcpHolder.accept_credentials`). The issuer
answers ``201 Created`` with ``Location`` naming the request status,
readable with :func:`request_status`.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin

import aiohttp
import orjson

from identity.dcp.access import issue_access_token
from identity.dcp.discovery import ISSUER_SERVICE, service_base_url
from identity.dcp.messages import credential_request_message
from identity.dcp.schemas import (
    CREDENTIAL_REQUEST_MESSAGE,
    CREDENTIAL_STATUS,
    ISSUER_METADATA,
    validate_dcp,
)
from identity.dcp.scopes import scopes_for
from identity.resolver import DidResolver
from identity.self_issued import create_self_issued_token
from identity.signer import Signer
from servicekit.clock import Clock, system_clock
from servicekit.errors import UpstreamError, UpstreamTimeout, ValidationFailed, peer_refused
from servicekit.http import fetch_capped

__all__ = [
    "CredentialRequestReceipt",
    "fetch_issuer_metadata",
    "issuer_service_url",
    "request_credentials",
    "request_status",
]

_MAX_BYTES = 256 * 1024
_TIMEOUT = 10.0


@dataclass(frozen=True, slots=True)
class CredentialRequestReceipt:
    """An accepted credential request: our id for it, and where its status lives."""

    holder_pid: str
    status_url: str
    issuer_pid: str


async def issuer_service_url(
    resolver: DidResolver, issuer_did: str, *, allow_loopback: bool = False
) -> str:
    """The ``IssuerService`` base URL in ``issuer_did``'s document."""
    document = await resolver.resolve(issuer_did)
    return service_base_url(document, ISSUER_SERVICE, allow_loopback=allow_loopback)


async def _call(
    session: aiohttp.ClientSession,
    method: str,
    url: str,
    *,
    token: str | None = None,
    body: Mapping[str, Any] | None = None,
) -> tuple[int, Mapping[str, str], Any]:
    headers = {"Accept": "application/json"}
    if token is not None:
        headers["Authorization"] = "Bearer " + token
    if body is not None:
        headers["Content-Type"] = "application/json"
    try:
        async with asyncio.timeout(_TIMEOUT):
            answer = await fetch_capped(
                session,
                url,
                method=method,
                limit=_MAX_BYTES,
                too_large=lambda: UpstreamError(
                    "the issuer's answer is too large", code="issuer-service-invalid"
                ),
                headers=headers,
                data=orjson.dumps(body) if body is not None else None,
            )
    except TimeoutError:
        raise UpstreamTimeout("the issuer service did not answer in time",
                              code="issuer-service-timeout") from None
    except aiohttp.ClientError as exc:
        raise UpstreamError(f"the issuer service could not be reached: {type(exc).__name__}",
                            code="issuer-service-unavailable") from None
    status, answer_headers = answer.status, answer.headers
    parsed: Any = None
    if answer.body.strip():
        try:
            parsed = orjson.loads(answer.body)
        except orjson.JSONDecodeError:
            parsed = None
    if status >= 400:
        raise peer_refused(status, parsed, f"the issuer service refused ({status})",
                           code="issuer-service-refused")
    return status, answer_headers, parsed


def _checked(schema: str, document: Any, what: str) -> dict[str, Any]:
    try:
        validate_dcp(schema, document, what=what)
    except ValidationFailed as exc:
        raise UpstreamError(
            f"the issuer answered an invalid {what}",
            code="issuer-service-invalid",
            extra={"errors": exc.errors},
        ) from None
    result: dict[str, Any] = document
    return result


async def fetch_issuer_metadata(
    session: aiohttp.ClientSession, issuer_base: str
) -> dict[str, Any]:
    """``GET {issuer_base}/metadata``: the ``IssuerMetadata`` (schema-checked)."""
    _, _, body = await _call(session, "GET", issuer_base.rstrip("/") + "/metadata")
    return _checked(ISSUER_METADATA, body, "IssuerMetadata")


async def request_credentials(
    session: aiohttp.ClientSession,
    issuer_base: str,
    signer: Signer,
    issuer_did: str,
    credential_ids: Sequence[str],
    *,
    write_types: Sequence[str] = (),
    holder_pid: str | None = None,
    clock: Clock = system_clock,
    access_lifetime: float = 86400.0,
) -> CredentialRequestReceipt:
    """Ask the issuer for the credential objects ``credential_ids`` (ids from its metadata).

    ``write_types`` are the credential types the issuer may deliver to our
    Credential Service (the write access token in the ``token`` claim; it
    lives ``access_lifetime``, long enough for a manual approval, and our
    holder accepts up to its ``max_access_lifetime``).
    """
    access = None
    if write_types:
        access = issue_access_token(
            signer, issuer_did, scopes_for(write_types, "write"), clock=clock,
            lifetime=access_lifetime,
        )
    token = create_self_issued_token(signer, issuer_did, clock=clock, token=access)
    pid = holder_pid or secrets.token_urlsafe(12)
    message = credential_request_message(pid, credential_ids)
    validate_dcp(CREDENTIAL_REQUEST_MESSAGE, message)
    url = issuer_base.rstrip("/") + "/credentials"
    status, headers, _ = await _call(session, "POST", url, token=token, body=message)
    location = headers.get("Location")
    if status != 201 or not location:
        raise UpstreamError(
            f"the issuer answered {status} without a Location", code="issuer-service-invalid"
        )
    status_url = urljoin(url, location)
    return CredentialRequestReceipt(pid, status_url, status_url.rstrip("/").rsplit("/", 1)[-1])


async def request_status(
    session: aiohttp.ClientSession,
    status_url: str,
    signer: Signer,
    issuer_did: str,
    *,
    clock: Clock = system_clock,
) -> dict[str, Any]:
    """``GET`` a request's status (only its requester may): the ``CredentialStatus``."""
    token = create_self_issued_token(signer, issuer_did, clock=clock)
    _, _, body = await _call(session, "GET", status_url, token=token)
    return _checked(CREDENTIAL_STATUS, body, "CredentialStatus")
