"""Verifying credentials: ``vc+jwt`` (VC 2.0), VC 1.1 JWT and Data Integrity.

Data Integrity proofs of the ``eddsa-rdfc-2022`` cryptosuite are checked by
:mod:`identity.data_integrity` with keys from our resolver; other Linked
Data proofs go to didkit (did:key issuers only).

:class:`CredentialVerifier` checks, for every form: the proof with a key from
the issuer DID's ``assertionMethod``; that the issuer is the DID that signed
(``issuer-mismatch`` otherwise); the validity period (``validFrom``/
``validUntil``, or 1.1 ``nbf``/``exp``/``issuanceDate``/``expirationDate``)
with a bounded skew; and, with a status checker, each
``BitstringStatusListEntry`` (``credential-revoked``/``credential-suspended``).

With a :class:`~identity.cache.TokenCache` a JWT seen before is answered
from the cache until the earliest of its expiry, the cache's own limit and
(when its status was checked) the status list's refresh time.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from identity.cache import TokenCache
from identity.clock import Clock, datetime_from_epoch, epoch_from_datetime, now, system_clock
from identity.data_integrity import (
    is_eddsa_rdfc_2022,
    verify_eddsa_rdfc_2022,
)
from identity.errors import VerificationError
from identity.jose import DEFAULT_SKEW, Jws, check_time_claims, decode_jws, typ_matches, verify_jws
from identity.linked_data_proofs import verify_data_integrity
from identity.resolver import DidResolver
from identity.status_check import StatusListChecker
from identity.vc import (
    VC_V1_CONTEXT,
    VC_V2_CONTEXT,
    CredentialFormat,
    VerifiedCredential,
    describe_valid_credential,
    issuer_id,
    parse_datetime,
)
from identity.vc_envelope import validate_envelope
from identity.vc_model import SchemaStore, as_verification_failure, validate_credential

__all__ = ["VC_JWT_TYPES", "WITHDRAWN", "CredentialVerifier", "Withdrawn"]

VC_JWT_TYPES = ("vc+jwt", "vc-ld+jwt")
#: The codes of a credential its issuer withdrew through its status list.
WITHDRAWN = frozenset({"credential-revoked", "credential-suspended"})
_JWT_VC_11_TYPES = (None, "JWT")


@dataclass(frozen=True, slots=True)
class Withdrawn:
    """A credential that verifies but that its issuer revoked or suspended (a value, for a
    caller weighing several credentials: :class:`~identity.vp.PresentationVerifier`'s
    ``keep_withdrawn``). ``code`` is one of :data:`WITHDRAWN`; ``detail`` says so in words.
    """

    credential: VerifiedCredential
    code: str
    detail: str

    def refusal(self) -> VerificationError:
        """The error that refuses a request resting on this credential alone."""
        return VerificationError(self.detail, code=self.code)


class CredentialVerifier:
    """Verify credentials in any supported form (see the module docstring).

    ``cache`` makes repeated JWTs cost a dictionary look-up; ``status_checker``
    turns on Bitstring Status List checks; ``max_cache_seconds`` bounds how
    long a result is reused.
    """

    def __init__(
        self,
        resolver: DidResolver,
        *,
        clock: Clock = system_clock,
        skew: float = DEFAULT_SKEW,
        cache: TokenCache[VerifiedCredential] | None = None,
        status_checker: StatusListChecker | None = None,
        max_cache_seconds: float = 300.0,
    ) -> None:
        self.resolver = resolver
        self.skew = skew
        self.cache = cache
        self.status_checker = status_checker
        self.max_cache_seconds = max_cache_seconds
        self.clock = clock
        # JWTs whose payload passed the full data-model check (it never changes).
        self._model_ok: OrderedDict[tuple[str, bool, tuple[str, ...]], None] = OrderedDict()

    async def verify(
        self,
        credential: str | Mapping[str, Any],
        *,
        check_status: bool = True,
        expand: bool = False,
        schemas: SchemaStore | None = None,
    ) -> VerifiedCredential:
        """Verify a JWT, an ``EnvelopedVerifiableCredential`` or a Data Integrity VC.

        Every VC 2.0 credential is checked against the data model
        (:func:`~identity.vc_model.validate_credential`): its structure always,
        its JSON-LD expansion too with ``expand`` (Data Integrity proofs
        expand it anyway), against the JSON Schemas in ``schemas``. A
        data-model refusal is a ``VerificationError`` (401) like every other
        verification failure, with the rule's code and ``pointer`` in ``extra``.
        """
        with as_verification_failure():
            return await self._verify(credential, check_status=check_status, expand=expand,
                                      schemas=schemas)

    async def _verify(
        self,
        credential: str | Mapping[str, Any],
        *,
        check_status: bool,
        expand: bool,
        schemas: SchemaStore | None,
    ) -> VerifiedCredential:
        if isinstance(credential, str):
            result = await self.verify_jwt(credential, check_status=check_status)
            return self._model_checked(result, expand, schemas)
        if not isinstance(credential, Mapping):
            raise VerificationError(
                "a credential is a JWT or a JSON object", code="credential-malformed"
            )
        kinds = credential.get("type")
        if "EnvelopedVerifiableCredential" in (kinds if isinstance(kinds, list) else [kinds]):
            _media_type, token = validate_envelope(credential, "EnvelopedVerifiableCredential")
            result = await self.verify_jwt(token, check_status=check_status)
            return self._model_checked(result, expand, schemas)
        if "proof" in credential:
            if not _is_v1(credential):
                validate_credential(credential, expand=expand, schemas=schemas)
            if is_eddsa_rdfc_2022(credential):
                result = await verify_eddsa_rdfc_2022(
                    credential, self.resolver, current=now(self.clock), skew=self.skew
                )
            else:
                result = await verify_data_integrity(
                    credential, current=now(self.clock), skew=self.skew
                )
            if check_status:
                await self._check_status(result)
            return result
        if not _is_v1(credential):
            validate_credential(credential, expand=expand, schemas=schemas)
        raise VerificationError("credential carries no proof", code="credential-malformed")

    def _model_checked(
        self, result: VerifiedCredential, expand: bool, schemas: SchemaStore | None
    ) -> VerifiedCredential:
        """The full data-model check of a JWT's payload, once per token and schema set.

        Schemas are told apart by URL: the contents behind a URL do not change
        while the process runs.
        """
        if not (expand or schemas) or not _is_v2(result.credential):
            return result
        key = (result.raw if isinstance(result.raw, str) else "", expand,
               tuple(sorted(schemas or ())))
        if key[0] and key in self._model_ok:
            self._model_ok.move_to_end(key)
            return result
        validate_credential(result.credential, expand=expand, schemas=schemas)
        if key[0]:
            self._model_ok[key] = None
            while len(self._model_ok) > 4096:
                self._model_ok.popitem(last=False)
        return result

    async def verify_jwt(self, token: str, *, check_status: bool = True) -> VerifiedCredential:
        """Verify a ``vc+jwt`` or a VC 1.1 JWT (told apart by header ``typ``)."""
        cache = self.cache
        if cache is not None:
            hit = cache.get(token)
            if hit is not None:
                return hit
        jws = decode_jws(token)
        typ = jws.header.get("typ")
        current = now(self.clock)
        if typ_matches(typ, VC_JWT_TYPES):
            result, exp = await self._verify_vc_jwt(jws, current)
        elif typ_matches(typ, _JWT_VC_11_TYPES):
            result, exp = await self._verify_jwt_vc_11(jws, current)
        else:
            raise VerificationError(f"typ {typ!r} is not a credential", code="jwt-typ-mismatch")
        checked = False
        expires = current + self.max_cache_seconds
        if check_status and result.status and self.status_checker is not None:
            expires = min(expires, await self._check_status(result))
            checked = True
        if cache is not None and (checked or not result.status or self.status_checker is None):
            if exp is not None:
                expires = min(expires, exp)
            if result.valid_until is not None:
                expires = min(expires, epoch_from_datetime(result.valid_until))
            cache.put(token, result, expires)
        return result

    async def _verify_vc_jwt(
        self, jws: Jws, current: float
    ) -> tuple[VerifiedCredential, float | None]:
        kid = jws.kid
        if kid is None or "#" not in kid or kid.startswith("#"):
            raise VerificationError("a vc+jwt needs a kid DID URL", code="jwt-malformed")
        method = await self.resolver.verification_method(kid, "assertionMethod")
        verify_jws(jws, method.public_key, key_alg=method.declared_alg)
        credential = jws.claims()
        validate_credential(credential, expand=False)  # a vc+jwt carries a VC 2.0 credential
        issuer = issuer_id(credential)
        if issuer != kid.split("#", 1)[0]:
            raise VerificationError(
                "the credential's issuer did not sign it", code="issuer-mismatch"
            )
        iss = credential.get("iss")
        if iss is not None and iss != issuer:
            raise VerificationError("iss differs from the issuer", code="issuer-mismatch")
        exp = check_time_claims(credential, current, skew=self.skew)
        valid_from = credential.get("validFrom")
        valid_until = credential.get("validUntil")
        start = parse_datetime(valid_from, "validFrom") if valid_from is not None else None
        end = parse_datetime(valid_until, "validUntil") if valid_until is not None else None
        described = describe_valid_credential(
            credential, issuer=issuer, period=(start, end), current=current, skew=self.skew,
            fmt=CredentialFormat.VC_JWT, raw=jws.token, kid=kid)
        return described, exp

    async def _verify_jwt_vc_11(
        self, jws: Jws, current: float
    ) -> tuple[VerifiedCredential, float | None]:
        claims = jws.claims()
        iss = claims.get("iss")
        vc = claims.get("vc")
        if not isinstance(iss, str) or not isinstance(vc, Mapping):
            raise VerificationError("a VC 1.1 JWT needs iss and vc claims", code="jwt-malformed")
        kid = jws.kid
        if kid is not None and not kid.startswith("#"):
            if kid.split("#", 1)[0] != iss:
                raise VerificationError(
                    "the JWT was signed by another DID than iss", code="issuer-mismatch"
                )
            method = await self.resolver.verification_method(kid, "assertionMethod")
        else:
            method = await self.resolver.verification_method(kid, "assertionMethod", did=iss)
        verify_jws(jws, method.public_key, key_alg=method.declared_alg)
        exp = check_time_claims(claims, current, skew=self.skew)
        credential = _credential_of_jwt_11(claims, iss, vc)
        start = (
            parse_datetime(credential["issuanceDate"], "issuanceDate")
            if "issuanceDate" in credential
            else None
        )
        end = (
            parse_datetime(credential["expirationDate"], "expirationDate")
            if "expirationDate" in credential
            else None
        )
        described = describe_valid_credential(
            credential, issuer=iss, period=(start, end), current=current, skew=self.skew,
            fmt=CredentialFormat.JWT_VC_11, raw=jws.token, kid=method.id)
        return described, exp

    async def _check_status(self, result: VerifiedCredential) -> float:
        """Refuse a revoked or suspended credential; answer until when the answer holds.

        That is the earliest refresh of the lists consulted: a conclusion cached
        beyond it would hide a revocation the next fetch of the list shows.
        """
        checker = self.status_checker
        holds_until = float("inf")
        if checker is None:
            return holds_until
        for entry in result.status:
            if entry.get("type") != "BitstringStatusListEntry":
                continue  # other status mechanisms are not ours to judge
            status = await checker.check(entry, self, issuer=result.issuer)
            if status.revoked:
                raise VerificationError("credential has been revoked", code="credential-revoked")
            if status.suspended:
                raise VerificationError("credential is suspended", code="credential-suspended")
            url = entry.get("statusListCredential")
            refresh = checker.cached_until(url) if isinstance(url, str) else None
            holds_until = min(holds_until, refresh if refresh is not None else 0.0)
        return holds_until


def _credential_of_jwt_11(
    claims: Mapping[str, Any], iss: str, vc: Mapping[str, Any]
) -> dict[str, Any]:
    """The credential a VC 1.1 JWT carries, with what its registered claims say filled in."""
    credential = dict(vc)
    if _is_v2(credential):
        validate_credential({"issuer": iss, **credential}, expand=False)
    if "issuer" in credential and issuer_id(credential) != iss:
        raise VerificationError("vc.issuer differs from iss", code="issuer-mismatch")
    credential.setdefault("issuer", iss)
    if isinstance(claims.get("jti"), str):
        credential.setdefault("id", claims["jti"])
    nbf, exp_claim = claims.get("nbf"), claims.get("exp")
    if isinstance(nbf, int | float) and "issuanceDate" not in credential:
        credential["issuanceDate"] = datetime_from_epoch(float(nbf)).isoformat()
    if isinstance(exp_claim, int | float) and "expirationDate" not in credential:
        credential["expirationDate"] = datetime_from_epoch(float(exp_claim)).isoformat()
    subject = credential.get("credentialSubject")
    if isinstance(claims.get("sub"), str) and isinstance(subject, Mapping):
        if "id" in subject and subject["id"] != claims["sub"]:
            raise VerificationError(
                "sub differs from credentialSubject.id", code="subject-mismatch"
            )
        credential["credentialSubject"] = {**subject, "id": claims["sub"]}
    return credential


def _is_v2(credential: Mapping[str, Any]) -> bool:
    contexts = credential.get("@context")
    first = contexts[0] if isinstance(contexts, list) and contexts else contexts
    return bool(first == VC_V2_CONTEXT)


def _is_v1(credential: Mapping[str, Any]) -> bool:
    """A VC 1.1 credential (its own rules; :mod:`identity.vc_model` is VC 2.0)."""
    contexts = credential.get("@context")
    first = contexts[0] if isinstance(contexts, list) and contexts else contexts
    return bool(first == VC_V1_CONTEXT)
