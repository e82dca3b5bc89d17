"""The verifier of "sign in with the organisation's credential" (OpenID4VP 1.0, ``direct_post``).

The sign-in page calls :meth:`Oid4vpVerifier.start` and shows
``authorization_url`` as a link and a QR code; the wallet (the organisation's
connector) fetches the signed request object from ``request_uri``
(:meth:`Oid4vpVerifier.request_object`), asks the person, and posts its
answer to ``response_uri`` (:meth:`Oid4vpVerifier.accept`); the page polls
:meth:`Oid4vpVerifier.outcome` until the record is ``done`` or ``failed``.

Every request is answered at most once: the first answer finishes its record
(compare-and-set in the :class:`~identity.oid4vp.store.PendingStore`), a
refusal too, so a replayed state or a second try with the same nonce is
refused with ``request-used``. See :mod:`identity.oid4vp.request` for the
protocol choices and :mod:`identity.oid4vp.errors` for the codes.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from identity.oid4vp.check import OrganisationSignIn, PresentationCheck
from identity.oid4vp.errors import RequestNotFound, RequestUsed, ResponseMalformed, SignInRefused
from identity.oid4vp.request import (
    QUERY_ID,
    authorization_url,
    client_id_of,
    membership_query,
    request_claims,
    sign_request,
)
from identity.oid4vp.store import DONE, FAILED, PENDING, Pending, PendingRecord, PendingStore
from identity.service_identity import ServiceIdentity
from servicekit.clock import Clock, system_clock
from servicekit.errors import DataspaceError

__all__ = ["Oid4vpVerifier", "StartedRequest"]

#: The largest ``vp_token`` we read (a presentation of one credential is a few kB).
MAX_VP_TOKEN = 64 * 1024
_MAX_PRESENTATIONS = 8


@dataclass(frozen=True)
class StartedRequest:
    """A request the sign-in page shows: ``authorization_url`` as a link and a QR code."""

    state: str
    nonce: str
    request_uri: str
    authorization_url: str
    expires_at: float


class Oid4vpVerifier:
    """Start sign-in requests, serve their request objects, accept the wallets' answers.

    ``identity`` is the service's DID and key (the request objects are signed
    with it); ``check`` verifies the presentations
    (:class:`~identity.oid4vp.check.MembershipCheck`); ``store`` keeps the
    pending requests; a request lives ``ttl_seconds``.
    """

    def __init__(self, *, identity: ServiceIdentity, check: PresentationCheck,
                 store: PendingStore, clock: Clock = system_clock,
                 ttl_seconds: int = 300, query_id: str = QUERY_ID) -> None:
        self.identity = identity
        self.check = check
        self.store = store
        self.clock = clock
        self.ttl_seconds = ttl_seconds
        self.query_id = query_id
        self.client_id = client_id_of(identity.did)
        self.dcql_query = membership_query(query_id=query_id)

    @staticmethod
    def _request_uri(request_uri_base: str, state: str) -> str:
        return f"{request_uri_base.rstrip('/')}/{state}"

    def authorization_url(self, state: str, *, request_uri_base: str) -> str:
        """The ``openid4vp://`` link of the request ``state`` (what the page shows again)."""
        return authorization_url(self.client_id, self._request_uri(request_uri_base, state))

    async def start(self, *, request_uri_base: str, response_uri: str) -> StartedRequest:
        """A new request: its signed request object is kept and served at ``request_uri``
        (``{request_uri_base}/{state}``); the wallet answers at ``response_uri``."""
        state = secrets.token_urlsafe(32)
        nonce = secrets.token_urlsafe(32)
        issued = int(self.clock())
        expires = issued + self.ttl_seconds
        claims = request_claims(did=self.identity.did, response_uri=response_uri, nonce=nonce,
                                state=state, issued_at=issued, expires_at=expires,
                                dcql_query=self.dcql_query)
        token = sign_request(self.identity.signer, claims)
        await self.store.create(PendingRecord(state=state, nonce=nonce, expires_at=expires,
                                              status=PENDING, request_object=token, result=None))
        request_uri = self._request_uri(request_uri_base, state)
        return StartedRequest(state=state, nonce=nonce, request_uri=request_uri,
                              authorization_url=self.authorization_url(
                                  state, request_uri_base=request_uri_base),
                              expires_at=float(expires))

    async def request_object(self, state: str) -> str:
        """The signed request object of ``state`` (served as ``application/oauth-authz-req+jwt``).

        Raises :class:`~identity.oid4vp.errors.RequestNotFound` (404) when the
        state is unknown, expired or already answered.
        """
        record = await self.store.get(state)
        if record is None or record.status != PENDING or self.clock() >= record.expires_at:
            raise RequestNotFound("no pending sign-in request with this state")
        return record.request_object

    async def accept(self, form: Mapping[str, str]) -> OrganisationSignIn:
        """Verify a wallet's ``direct_post`` answer (form fields ``vp_token`` and ``state``).

        On success the record is finished ``done`` with the
        :class:`OrganisationSignIn` (as a dict) and that is returned; every
        refusal of a known, pending request finishes it ``failed`` with
        ``{"error": code}`` and raises the error (see :mod:`identity.oid4vp.errors`).
        """
        state = form.get("state")
        if not isinstance(state, str) or not state:
            raise ResponseMalformed("the answer carries no state")
        record = await self.store.get(state)
        if record is None:
            raise RequestNotFound("no sign-in request with this state")
        if record.status != PENDING:
            raise RequestUsed("this sign-in request was answered before")
        try:
            signed_in = await self._verify(record, form)
        except DataspaceError as exc:
            await self.store.finish(state, FAILED, {"error": exc.code})
            raise
        if not await self.store.finish(state, DONE, signed_in.as_dict()):
            raise RequestUsed("this sign-in request was answered before")
        return signed_in

    async def still_valid(self, organisation: Mapping[str, Any]) -> bool:
        """Whether the organisation a session was opened for (its sign-in result, as a dict)
        still holds a valid, trusted, unrevoked credential."""
        try:
            signed_in = OrganisationSignIn.from_dict(organisation)
        except (KeyError, TypeError):
            return False
        return await self.check.still_valid(signed_in)

    async def outcome(self, state: str) -> Pending | None:
        """The record of ``state`` (``pending``, ``done`` or ``failed``), or None."""
        return await self.store.get(state)

    async def _verify(self, record: Pending, form: Mapping[str, str]) -> OrganisationSignIn:
        if self.clock() >= record.expires_at:
            raise SignInRefused("the sign-in request has expired", code="request-expired")
        error = form.get("error")
        if error:
            raise SignInRefused(f"the wallet declined: {str(error)[:100]}",
                                code="wallet-declined", extra={"wallet_error": str(error)[:100]})
        presentations = self._presentations(form.get("vp_token"))
        return await self.check.verify(presentations, audience=self.client_id,
                                       nonce=record.nonce)

    def _presentations(self, raw: object) -> Sequence[str | Mapping[str, Any]]:
        """The presentations answering our credential query, from the ``vp_token`` JSON."""
        if not isinstance(raw, str) or not raw or len(raw) > MAX_VP_TOKEN:
            raise ResponseMalformed("vp_token is missing or too large")
        try:
            token = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise ResponseMalformed("vp_token is not JSON") from None
        if not isinstance(token, dict):
            raise ResponseMalformed("vp_token is not an object keyed by credential query id")
        answer = token.get(self.query_id)
        if answer is None:
            raise SignInRefused("no presentation answers the credential query",
                                code="credential-missing")
        items = answer if isinstance(answer, list) else [answer]
        if not items or len(items) > _MAX_PRESENTATIONS or not all(
                isinstance(i, str | dict) for i in items):
            raise ResponseMalformed(f"vp_token.{self.query_id} is not a list of presentations")
        return items
