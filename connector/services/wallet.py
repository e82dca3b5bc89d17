"""The connector as its organisation's wallet: signing the organisation in elsewhere.

Another service's sign-in page (a marketplace, the trust anchor's console,
another connector's console) shows an ``openid4vp://`` authorization URL. A
person of the organisation pastes it into our console (or arrives with it);
:meth:`WalletService.read` fetches and verifies the signed request object
(:func:`identity.oid4vp.resolve_request` with our DID resolver), names the
verifier (its DID and, when the trust anchor's registry lists it, its legal
name) and what it asks for (the DCQL credential queries), and which of our
credentials would answer. Once the person confirms, :meth:`WalletService.present`
reads the request again, builds the holder-bound presentations
(:func:`~identity.oid4vp.build_vp_token`, signed with our key) and posts them
to the verifier's ``response_uri``; the verifier's answer says where the
person's browser continues (``redirect_uri``).

Nothing is stored here: a request is answered once by the verifier's rule (a
second answer, or reading an answered request, is refused there).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import structlog
from aiohttp import web

from connector.services.holder import HolderService
from connector.services.members import MembersService
from identity.oid4vp import (
    NoMatchingCredential,
    WalletRequest,
    WalletRequestInvalid,
    build_vp_token,
    resolve_request,
    select_credentials,
    submit,
)
from identity.resolver import DidResolver
from identity.service_identity import ServiceIdentity
from servicekit.clock import Clock
from servicekit.errors import DataspaceError, UpstreamError

__all__ = ["WALLET", "Presented", "SignInRequest", "WalletService", "asked_types"]

_log = structlog.get_logger("connector.wallet")
_MAX_URL = 4000


@dataclass(frozen=True)
class SignInRequest:
    """A verified sign-in request, as the person is asked to confirm it."""

    authorization_url: str
    verifier_did: str
    #: The verifier's legal name in the trust anchor's registry (None: not listed there).
    verifier_name: str | None
    #: Where the verifier's site is (the response URI's origin).
    verifier_site: str
    #: The credential types asked for, one entry per credential query.
    asked: tuple[str, ...]
    #: What we would present: ``{"id", "types", "issuer", "legal_name"}`` per credential.
    presenting: tuple[dict[str, Any], ...]
    #: Why we cannot answer (a query we hold nothing for), or None.
    missing: str | None

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape of the API."""
        return {"verifier_did": self.verifier_did, "verifier_name": self.verifier_name,
                "verifier_site": self.verifier_site, "asked": list(self.asked),
                "presenting": list(self.presenting), "missing": self.missing}


@dataclass(frozen=True)
class Presented:
    """What was sent, to whom, and where the person continues."""

    verifier_did: str
    verifier_name: str | None
    redirect_uri: str | None
    presented: tuple[dict[str, Any], ...]

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape of the API."""
        return {"verifier_did": self.verifier_did, "verifier_name": self.verifier_name,
                "redirect_uri": self.redirect_uri, "presented": list(self.presented)}


def asked_types(request: WalletRequest) -> tuple[str, ...]:
    """The credential types each DCQL credential query asks for ("MembershipCredential")."""
    asked: list[str] = []
    for query in request.dcql_query.get("credentials", []):
        meta = query.get("meta") if isinstance(query, dict) else None
        values = meta.get("type_values") if isinstance(meta, dict) else None
        names: list[str] = []
        for alternative in values if isinstance(values, list) else []:
            for name in alternative if isinstance(alternative, list) else []:
                short = str(name).rsplit("#", 1)[-1].rsplit("/", 1)[-1]  # the IRI's name
                if short != "VerifiableCredential" and short not in names:
                    names.append(short)
        asked.append(" or ".join(names) or str(query.get("id", "a credential")))
    return tuple(asked)


def _check_url(authorization_url: str) -> str:
    url = authorization_url.strip() if isinstance(authorization_url, str) else ""
    if not url or len(url) > _MAX_URL:
        raise WalletRequestInvalid("paste the openid4vp:// sign-in request (at most "
                                   f"{_MAX_URL} characters)", extra={"reason": "url-missing"})
    return url


class WalletService:
    """Answer OpenID4VP sign-in requests with our credentials (see the module docstring)."""

    def __init__(self, holder: HolderService, members: MembersService, identity: ServiceIdentity,
                 *, session: aiohttp.ClientSession, resolver: DidResolver, allow_loopback: bool,
                 clock: Clock) -> None:
        self.holder = holder
        self.members = members
        self.identity = identity
        self.session = session
        self.resolver = resolver
        self.allow_loopback = allow_loopback
        self.clock = clock

    async def _resolve(self, authorization_url: str) -> WalletRequest:
        return await resolve_request(self.session, _check_url(authorization_url), self.resolver,
                                     clock=self.clock, allow_loopback=self.allow_loopback)

    async def verifier_name(self, did: str) -> str | None:
        """The verifier's legal name in the trust anchor's registry, if it is listed there."""
        try:
            found = await self.members.member(did)
        except DataspaceError:
            return None
        return str(found["legal_name"]) if found and found.get("legal_name") else None

    async def read(self, authorization_url: str) -> SignInRequest:
        """The verified request and what we would answer (nothing is sent)."""
        request = await self._resolve(authorization_url)
        missing = None
        presenting: tuple[dict[str, Any], ...] = ()
        try:
            selected = select_credentials(request, await self.holder.find(limit=10_000),
                                          clock=self.clock)
            presenting = tuple(_shown(r) for records in selected.values() for r in records)
        except NoMatchingCredential as exc:
            missing = exc.detail
        return SignInRequest(
            authorization_url=authorization_url.strip(), verifier_did=request.verifier_did,
            verifier_name=await self.verifier_name(request.verifier_did),
            verifier_site=_origin(request.response_uri), asked=asked_types(request),
            presenting=presenting, missing=missing)

    async def present(self, authorization_url: str, *, actor: str) -> Presented:
        """Answer the request with our credentials; where the person's browser continues.

        Raises the wallet's refusals (400 ``authorization-request-invalid``,
        409 ``no-matching-credential``) and the verifier's (its status family,
        ``presentation-refused``, with its ``error_description``).
        """
        request = await self._resolve(authorization_url)
        selected = select_credentials(request, await self.holder.find(limit=10_000),
                                      clock=self.clock)
        token = build_vp_token(request, selected, self.identity, clock=self.clock)
        name = await self.verifier_name(request.verifier_did)
        try:
            answer = await submit(self.session, request, token)
        except DataspaceError as exc:
            _log.warning("wallet_presentation_refused", verifier=request.verifier_did,
                         actor=actor, code=exc.code, detail=exc.detail)
            raise
        redirect = answer.get("redirect_uri")
        if redirect is not None and not (isinstance(redirect, str) and urlsplit(
                redirect).scheme in ("https", "http") and (
                urlsplit(redirect).scheme == "https" or self.allow_loopback)):
            raise UpstreamError("the verifier named an unusable redirect_uri",
                                code="redirect-uri-invalid")
        presented = tuple(_shown(r) for records in selected.values() for r in records)
        _log.info("wallet_presented", verifier=request.verifier_did, actor=actor,
                  credentials=[p["id"] for p in presented])
        return Presented(verifier_did=request.verifier_did, verifier_name=name,
                         redirect_uri=redirect, presented=presented)


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _shown(record: Any) -> dict[str, Any]:
    claims = record.claims if isinstance(record.claims, dict) else {}
    return {"id": record.id, "types": list(record.types), "issuer": record.issuer,
            "legal_name": claims.get("legalName")}


#: The wallet, on the management app (set with the control plane).
WALLET = web.AppKey("connector_wallet", WalletService)
