"""The holder side of DCP 1.0: what a Credential Service does with its library calls.

:class:`DcpHolder` serves one holder DID:

* :meth:`~DcpHolder.issue_access_token` - the access token the holder's own
  connector puts in the ``token`` claim of its self-issued token, so that a
  verifier may read the named scopes (see :mod:`identity.dcp.access`);
* :meth:`~DcpHolder.answer_query` - ``POST {base}/presentations/query``:
  verifies the verifier's self-issued token (``aud`` = holder DID, key under
  ``capabilityInvocation``, replay) and the access token inside it (ours,
  issued to that verifier), validates the ``PresentationQueryMessage``,
  selects the stored credentials the query asks for *and* the token grants,
  leaves out the expired and (while a good one of their types remains) the
  revoked or suspended ones (:mod:`identity.dcp.presentable`), and answers
  one ``vp+jwt`` signed by the holder with ``aud`` = the verifier. Asking
  for more than was granted is not an error: the answer simply holds fewer
  (or no) presentations;
* :meth:`~DcpHolder.accept_offer` - ``POST {base}/offers``: verifies the
  issuer's self-issued token and the ``CredentialOfferMessage`` it sends
  (the holder then decides whether to request what is offered);
* :meth:`~DcpHolder.accept_credentials` - ``POST {base}/credentials`` (the
  Storage API): verifies the issuer's self-issued token and, when present,
  the write access token we gave it, validates the ``CredentialMessage`` and
  verifies every delivered credential (issuer, subject = holder, type).

HTTP handlers stay thin: read the body and the ``Authorization`` header,
call one of these, serialise the result (errors render as problem+json).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import orjson

from identity.dcp.access import (
    AccessGrant,
    dcp_token_verifier,
    issue_access_token,
    parse_bearer,
    verify_access_token,
)
from identity.dcp.errors import NotSupported
from identity.dcp.messages import presentation_response_message
from identity.dcp.presentable import presentable
from identity.dcp.schemas import (
    CREDENTIAL_MESSAGE,
    CREDENTIAL_OFFER_MESSAGE,
    PRESENTATION_QUERY_MESSAGE,
    PRESENTATION_RESPONSE_MESSAGE,
    validate_dcp,
)
from identity.dcp.scopes import VC_TYPE_ALIAS, Scope
from identity.errors import VerificationError
from identity.jose import DEFAULT_SKEW, decode_jws
from identity.replay import ReplayStore
from identity.resolver import DidResolver
from identity.self_issued import SelfIssuedToken
from identity.signer import Signer
from identity.vc import (
    ENVELOPED_VC_PREFIXES,
    VerifiedCredential,
    issuer_id,
    parse_datetime,
    unwrap_enveloped,
)
from identity.vc_verify import CredentialVerifier
from identity.vp_issue import envelope_presentation, issue_vp_jwt
from servicekit.clock import Clock, epoch_from_datetime, system_clock
from servicekit.errors import Forbidden, InvalidRequest

__all__ = ["CredentialOffer", "DcpHolder", "DeliveredCredentials", "StoredCredential"]

_READ = ("read", "all")
_MAX_CONTAINERS = 32


@dataclass(frozen=True, slots=True)
class StoredCredential:
    """A credential in the holder's store, with what selection needs to know.

    ``raw`` is what is presented: a ``vc+jwt`` / VC 1.1 JWT string or a JSON
    credential. Build one with :meth:`from_credential` (reads, does not
    verify: verify before storing) or :meth:`from_verified`.
    """

    raw: str | Mapping[str, Any]
    types: tuple[str, ...]
    id: str | None = None
    issuer: str | None = None
    subject: str | None = None
    valid_until: float | None = None

    @classmethod
    def from_verified(cls, credential: VerifiedCredential) -> StoredCredential:
        """The store entry of a verified credential."""
        until = credential.valid_until
        return cls(
            raw=credential.raw,
            types=credential.types,
            id=credential.id,
            issuer=credential.issuer,
            subject=credential.subject_id,
            valid_until=epoch_from_datetime(until) if until is not None else None,
        )

    @classmethod
    def from_credential(cls, credential: str | Mapping[str, Any]) -> StoredCredential:
        """Read (without verifying) a JWT, enveloped or JSON credential."""
        raw: str | Mapping[str, Any] = credential
        if isinstance(credential, Mapping):
            token = unwrap_enveloped(credential, ENVELOPED_VC_PREFIXES)
            raw = token if token is not None else credential
        body: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
        until: float | None = None
        issuer: str | None = None
        if isinstance(raw, str):
            claims = decode_jws(raw).claims()
            vc = claims.get("vc")
            body = vc if isinstance(vc, Mapping) else claims
            if isinstance(claims.get("exp"), int | float):
                until = float(claims["exp"])
            if isinstance(claims.get("iss"), str):
                issuer = claims["iss"]
        kinds = body.get("type")
        types = (kinds,) if isinstance(kinds, str) else tuple(
            k for k in kinds or () if isinstance(k, str)
        )
        valid_until = body.get("validUntil") or body.get("expirationDate")
        if isinstance(valid_until, str):
            until = epoch_from_datetime(parse_datetime(valid_until, "validUntil"))
        subject = body.get("credentialSubject")
        subject_id = subject.get("id") if isinstance(subject, Mapping) else None
        credential_id = body.get("id")
        if "issuer" in body:
            issuer = issuer_id(body)
        return cls(
            raw=raw,
            types=types,
            id=credential_id if isinstance(credential_id, str) else None,
            issuer=issuer,
            subject=subject_id if isinstance(subject_id, str) else None,
            valid_until=until,
        )

    def matches(self, scope: Scope) -> bool:
        """True when ``scope`` names this credential (by type or by id)."""
        if scope.credential_type is not None:
            return scope.credential_type in self.types
        return scope.credential_id is not None and scope.credential_id == self.id


@dataclass(frozen=True, slots=True)
class DeliveredCredentials:
    """A verified ``CredentialMessage``: who sent it, for which request, and what."""

    issuer: str
    issuer_pid: str
    holder_pid: str | None
    status: str
    credentials: tuple[StoredCredential, ...]
    rejection_reason: str | None = None


@dataclass(frozen=True, slots=True)
class CredentialOffer:
    """A verified ``CredentialOfferMessage``: who offers, and (object id, credential type) pairs."""

    issuer: str
    credentials: tuple[tuple[str, str], ...]


class DcpHolder:
    """A holder's Credential Service logic (see the module docstring).

    ``signer`` is the holder's identity (its key signs access tokens and
    presentations); ``resolver`` and ``replay_store`` verify the callers'
    self-issued tokens; ``credential_verifier`` verifies delivered credentials
    and judges stored ones before they are presented.
    ``max_access_lifetime`` caps the access tokens accepted back: read tokens
    live minutes, but a write token for an issuer may wait for a manual
    approval (it is still bound to that issuer).
    ``envelope`` answers ``EnvelopedVerifiablePresentation`` objects instead
    of compact ``vp+jwt`` strings.
    """

    def __init__(
        self,
        signer: Signer,
        resolver: DidResolver,
        replay_store: ReplayStore,
        *,
        credential_verifier: CredentialVerifier | None = None,
        clock: Clock = system_clock,
        skew: float = DEFAULT_SKEW,
        access_token_lifetime: float = 300.0,
        presentation_lifetime: float = 300.0,
        max_access_lifetime: float = 86400.0,
        envelope: bool = False,
    ) -> None:
        self.signer = signer
        self.did = signer.did
        self.credential_verifier = credential_verifier
        self.clock = clock
        self.skew = skew
        self.access_token_lifetime = access_token_lifetime
        self.presentation_lifetime = presentation_lifetime
        self.max_access_lifetime = max_access_lifetime
        self.envelope = envelope
        self.tokens = dcp_token_verifier(resolver, replay_store, audience=signer.did,
                                         clock=clock, skew=skew)

    def issue_access_token(self, verifier_did: str, scopes: Iterable[str]) -> str:
        """An access token letting ``verifier_did`` read ``scopes`` (types or scope strings)."""
        return issue_access_token(
            self.signer, verifier_did, scopes, clock=self.clock, lifetime=self.access_token_lifetime
        )

    async def _caller(self, authorization: str | None, *, require_token: bool) -> SelfIssuedToken:
        return await self.tokens.verify(parse_bearer(authorization), require_token=require_token)

    def _grant(self, caller: SelfIssuedToken) -> AccessGrant:
        if caller.access_token is None:  # callers pass require_token; kept for the type checker
            raise VerificationError("token claim is required", code="token-missing")
        return verify_access_token(
            caller.access_token,
            self.signer,
            caller.issuer,
            clock=self.clock,
            skew=self.skew,
            max_lifetime=self.max_access_lifetime,
        )

    async def authorize_query(self, authorization: str | None) -> AccessGrant:
        """Verify a presentation query's ``Authorization``; the grant it carries."""
        return self._grant(await self._caller(authorization, require_token=True))

    async def answer_query(
        self,
        authorization: str | None,
        query_message: Any,
        credentials: Sequence[StoredCredential],
    ) -> dict[str, Any]:
        """The ``PresentationResponseMessage`` for a verifier's query (see the module docstring).

        Raises ``VerificationError`` (401) for a bad token, ``ValidationFailed``
        (400) for a bad message, ``NotSupported`` (501) for a presentation
        definition.
        """
        grant = await self.authorize_query(authorization)
        validate_dcp(PRESENTATION_QUERY_MESSAGE, query_message, what="PresentationQueryMessage")
        if "presentationDefinition" in query_message:
            if "scope" in query_message:
                raise InvalidRequest(
                    "a query holds scope or presentationDefinition, not both",
                    code="query-invalid",
                )
            raise NotSupported(
                "presentation definitions are not supported; query by scope",
                code="presentation-definition-not-supported",
            )
        wanted = [Scope.parse(s) for s in query_message["scope"]]
        entitled = [s for s in wanted if s.access in _READ and grant.allows(s)]
        selected = self.select(credentials, entitled)
        if self.credential_verifier is not None:
            selected = await presentable(selected, self.credential_verifier)
        presentations: list[str | dict[str, Any]] = []
        if selected:
            token = issue_vp_jwt(
                self.signer,
                [c.raw for c in selected],
                audience=grant.verifier,
                nonce=None,
                clock=self.clock,
                lifetime=self.presentation_lifetime,
            )
            presentations.append(envelope_presentation(token) if self.envelope else token)
        response = presentation_response_message(presentations)
        validate_dcp(PRESENTATION_RESPONSE_MESSAGE, response)
        return response

    def select(
        self, credentials: Sequence[StoredCredential], scopes: Sequence[Scope]
    ) -> list[StoredCredential]:
        """The unexpired stored credentials one of ``scopes`` names, in store order."""
        current = self.clock()
        return [
            c
            for c in credentials
            if (c.valid_until is None or c.valid_until > current)
            and any(c.matches(s) for s in scopes)
        ]

    async def accept_offer(self, authorization: str | None, message: Any) -> CredentialOffer:
        """Verify an issuer's ``CredentialOfferMessage`` (``POST {base}/offers``).

        The self-issued token must name us as ``aud``, and its issuer must be
        the message's ``issuer``; every offered object must name its
        ``credentialType``. Whether to request them is the caller's choice.
        """
        caller = await self._caller(authorization, require_token=False)
        validate_dcp(CREDENTIAL_OFFER_MESSAGE, message, what="CredentialOfferMessage")
        if message["issuer"] != caller.issuer:
            raise VerificationError("the offer names another issuer", code="issuer-mismatch")
        objects = message["credentials"]
        if not objects or len(objects) > _MAX_CONTAINERS or not all(
            isinstance(o.get("credentialType"), str) for o in objects
        ):
            raise InvalidRequest("an offer names 1 to 32 credential objects, each with its "
                                 "credentialType", code="credential-offer-invalid")
        return CredentialOffer(caller.issuer,
                               tuple((o["id"], o["credentialType"]) for o in objects))

    async def accept_credentials(
        self,
        authorization: str | None,
        message: Any,
        *,
        expected_issuer: str | None = None,
        require_access_token: bool = True,
    ) -> DeliveredCredentials:
        """Verify a ``CredentialMessage`` an issuer delivers; the credentials to store.

        The issuer's self-issued token must name us as ``aud``; with
        ``require_access_token`` its ``token`` claim must be a write access
        token we issued to that issuer for every delivered type. The caller
        matches ``holder_pid`` to its pending request and stores the result.
        """
        verifier = self.credential_verifier
        if verifier is None:
            raise ValueError("accept_credentials needs a credential_verifier")
        caller = await self._caller(authorization, require_token=require_access_token)
        if expected_issuer is not None and caller.issuer != expected_issuer:
            raise VerificationError("not the issuer we asked", code="issuer-mismatch")
        grant = self._grant(caller) if caller.access_token is not None else None
        validate_dcp(CREDENTIAL_MESSAGE, message, what="CredentialMessage")
        status = message["status"]
        holder_pid = message.get("holderPid")
        delivered = DeliveredCredentials(
            issuer=caller.issuer,
            issuer_pid=message["issuerPid"],
            holder_pid=holder_pid if isinstance(holder_pid, str) else None,
            status=status,
            credentials=(),
            rejection_reason=message.get("rejectionReason"),
        )
        if status != "ISSUED":
            return delivered
        containers = message.get("credentials") or []
        if not containers or len(containers) > _MAX_CONTAINERS:
            raise VerificationError(
                "an ISSUED message carries 1 to 32 credentials", code="credential-message-invalid"
            )
        stored = [await self._accept(verifier, c, caller.issuer, grant) for c in containers]
        return replace(delivered, credentials=tuple(stored))

    async def _accept(
        self,
        verifier: CredentialVerifier,
        container: Mapping[str, Any],
        issuer: str,
        grant: AccessGrant | None,
    ) -> StoredCredential:
        """One delivered credential, verified: ours, from ``issuer``, of the type it claims."""
        kind = container["credentialType"]
        if grant is not None and not grant.allows(Scope(VC_TYPE_ALIAS, kind, "write")):
            raise Forbidden(f"no write access granted for {kind}", code="scope-not-granted")
        verified = await verifier.verify(_payload(container["payload"]))
        if verified.issuer != issuer:
            raise VerificationError(
                "a delivered credential is from another issuer", code="issuer-mismatch"
            )
        if verified.subject_id != self.did:
            raise VerificationError(
                "a delivered credential is about someone else", code="subject-mismatch"
            )
        if not verified.has_type(kind):
            raise VerificationError(
                f"a delivered credential is not a {kind}", code="credential-message-invalid"
            )
        return StoredCredential.from_verified(verified)


def _payload(payload: str) -> str | Mapping[str, Any]:
    """A container payload: a JWT, or a JSON-LD credential as a JSON literal string."""
    text = payload.strip()
    if not text.startswith("{"):
        return text
    try:
        parsed = orjson.loads(text)
    except orjson.JSONDecodeError:
        parsed = None
    if not isinstance(parsed, dict):
        raise VerificationError("payload is not a credential", code="credential-message-invalid")
    return parsed
