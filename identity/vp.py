"""Verifiable presentations: ``vp+jwt`` (VC 2.0), VC 1.1 JWT VPs and Data Integrity VPs.

A ``vp+jwt`` is the presentation JSON signed by the holder (header ``typ``
``vp+jwt``, ``kid`` a DID URL in the holder's ``authentication``); its
``verifiableCredential`` holds ``EnvelopedVerifiableCredential`` objects whose
``id`` is ``data:application/vc+jwt,<jwt>``. The audience and the verifier's
nonce travel as the JWT claims ``aud`` and ``nonce``. A VC 1.1 JWT VP carries
the presentation in the ``vp`` claim with the holder as ``iss``.

:class:`PresentationVerifier` also accepts an ``EnvelopedVerifiablePresentation``
object (as Eclipse EDC sends in DCP presentation responses; its ``@context``,
``type`` and ``data:`` URL are checked as VC 2.0 section 4.13 says), and a
VC 2.0 presentation secured with an ``eddsa-rdfc-2022`` Data Integrity proof
by its holder (``proofPurpose`` ``authentication``, the verifier's nonce in
``challenge`` and its identifier in ``domain``). It checks that every
presented credential is about the holder unless told not to.

Holder claims: a Data Integrity presentation may carry credentials its signer
issued about itself; it must then name that signer as ``holder``
(``holder-required``), and such a credential may be written in without a
proof of its own (the presentation's proof covers it). Every other credential
needs its own proof by its issuer.

Withdrawn credentials: by default a revoked or suspended credential refuses
the whole presentation. A verifier that weighs several credentials of a type
(DCP: a buyer presenting a cancelled and a renewed purchase) passes
``keep_withdrawn`` and gets them back as values in
:attr:`VerifiedPresentation.withdrawn`, to accept another credential instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from identity.clock import now
from identity.data_integrity import check_proof_of
from identity.errors import VerificationError
from identity.jose import check_audience, check_time_claims, decode_jws, typ_matches, verify_jws
from identity.vc import (
    VC_V2_CONTEXT,
    CredentialFormat,
    VerifiedCredential,
    describe_valid_credential,
)
from identity.vc_envelope import validate_envelope
from identity.vc_model import (
    as_verification_failure,
    parse_datetime_stamp,
    validate_credential,
    validate_presentation,
)
from identity.vc_verify import WITHDRAWN, CredentialVerifier, Withdrawn

__all__ = ["VP_JWT_TYPES", "PresentationVerifier", "VerifiedPresentation"]

VP_JWT_TYPES = ("vp+jwt", "vp-ld+jwt")


@dataclass(frozen=True, slots=True)
class VerifiedPresentation:
    """A presentation whose holder signature, audience, nonce and credentials were checked.

    ``credentials`` are the good ones; ``withdrawn`` (only with ``keep_withdrawn``)
    the revoked or suspended ones, left out of ``credentials``.
    """

    holder: str
    credentials: tuple[VerifiedCredential, ...]
    nonce: str | None
    kid: str
    format: str
    expires_at: float | None
    presentation: Mapping[str, Any]
    raw: str | Mapping[str, Any]
    withdrawn: tuple[Withdrawn, ...] = ()

    def credentials_of_type(self, credential_type: str) -> list[VerifiedCredential]:
        """The presented credentials of ``credential_type``."""
        return [c for c in self.credentials if c.has_type(credential_type)]

    def __repr__(self) -> str:
        return f"VerifiedPresentation(holder={self.holder!r}, credentials={len(self.credentials)})"


def _is_data_integrity(presentation: Mapping[str, Any]) -> bool:
    """An object with a proof of its own (an enveloped one is read as its JWT)."""
    kinds = presentation.get("type")
    kinds = kinds if isinstance(kinds, list) else [kinds]
    return "EnvelopedVerifiablePresentation" not in kinds and "proof" in presentation


def _token_of(presentation: str | Mapping[str, Any]) -> str:
    """The JWT of a presentation given as a JWT or as an enveloped object."""
    if isinstance(presentation, str):
        return presentation
    if not isinstance(presentation, Mapping):
        raise VerificationError(
            "a presentation is a JWT or an object", code="presentation-malformed"
        )
    kinds = presentation.get("type")
    if "EnvelopedVerifiablePresentation" not in (kinds if isinstance(kinds, list) else [kinds]):
        raise VerificationError(
            "a presentation object is enveloped or carries a Data Integrity proof",
            code="presentation-malformed",
        )
    _media_type, token = validate_envelope(presentation, "EnvelopedVerifiablePresentation")
    return token


def _jwt_body(typ: object, claims: Mapping[str, Any]) -> tuple[Mapping[str, Any], str, str]:
    """The presentation a JWT carries, its holder and its format, by the header's ``typ``."""
    if typ_matches(typ, VP_JWT_TYPES):
        body: Mapping[str, Any] = claims
        presenter = _holder_of(claims.get("holder"))
        fmt = "vp+jwt"
    elif typ_matches(typ, (None, "JWT")) and isinstance(claims.get("vp"), Mapping):
        body = claims["vp"]
        presenter = claims.get("iss") if isinstance(claims.get("iss"), str) else None
        inner = _holder_of(body.get("holder"))
        if presenter is not None and inner is not None and inner != presenter:
            raise VerificationError("vp.holder differs from iss", code="holder-mismatch")
        fmt = "jwt_vp"
    else:
        raise VerificationError(f"typ {typ!r} is not a presentation", code="jwt-typ-mismatch")
    if presenter is None:
        raise VerificationError("presentation names no holder", code="presentation-malformed")
    return body, presenter, fmt


def _check_body(body: Mapping[str, Any]) -> None:
    """The VC 2.0 data model of a JWT's presentation, and its type in every version."""
    contexts = body.get("@context")
    if (contexts[0] if isinstance(contexts, list) and contexts else contexts) == VC_V2_CONTEXT:
        validate_presentation(body, expand=False,
                              credential_check=lambda _credential, _pointer: None)
    kinds = body.get("type")
    if kinds != "VerifiablePresentation" and not (
        isinstance(kinds, list) and "VerifiablePresentation" in kinds
    ):
        raise VerificationError(
            "type must include VerifiablePresentation", code="presentation-malformed"
        )


def _holder_of(value: object) -> str | None:
    if isinstance(value, Mapping):
        value = value.get("id")
    return value if isinstance(value, str) else None


def _embedded_issuers(presentation: Mapping[str, Any]) -> list[str | None]:
    """The issuer of each credential written into ``presentation`` (enveloped ones: None)."""
    listed = presentation.get("verifiableCredential", [])
    issuers: list[str | None] = []
    for item in listed if isinstance(listed, list) else [listed]:
        kinds = item.get("type") if isinstance(item, Mapping) else None
        enveloped = "EnvelopedVerifiableCredential" in (
            kinds if isinstance(kinds, list) else [kinds])
        issuers.append(None if enveloped or not isinstance(item, Mapping)
                       else _holder_of(item.get("issuer")))
    return issuers


def _subject_ids(credential: VerifiedCredential) -> set[str]:
    subjects = credential.credential.get("credentialSubject")
    items = subjects if isinstance(subjects, list) else [subjects]
    return {s["id"] for s in items if isinstance(s, Mapping) and isinstance(s.get("id"), str)}


class PresentationVerifier:
    """Verify presentations and the credentials inside them.

    Keys come from the holder DID's ``authentication``; credentials are
    verified by ``credentials`` (a :class:`CredentialVerifier`, whose resolver,
    clock and skew this verifier shares). ``max_lifetime`` caps ``exp - iat``.
    """

    def __init__(
        self, credentials: CredentialVerifier, *, max_lifetime: float | None = 3600.0
    ) -> None:
        self.credentials = credentials
        self.resolver = credentials.resolver
        self.max_lifetime = max_lifetime

    async def verify(
        self,
        presentation: str | Mapping[str, Any],
        *,
        audience: str | None,
        nonce: str | None,
        holder: str | None = None,
        check_status: bool = True,
        bind_subjects: bool = True,
        expand: bool = False,
        keep_withdrawn: bool = False,
    ) -> VerifiedPresentation:
        """Verify a VP JWT, an ``EnvelopedVerifiablePresentation`` or a Data Integrity VP.

        ``audience`` (the verifier's DID; a Data Integrity ``domain``) and
        ``nonce`` (``challenge``) are checked unless passed as ``None``;
        ``holder`` pins the expected holder DID; ``bind_subjects`` requires
        every credential to be about the holder; ``expand`` checks JSON-LD
        expansion of the presentation and its credentials too.
        ``keep_withdrawn`` answers revoked or suspended credentials in
        ``withdrawn`` instead of refusing the presentation (see the module docstring).
        """
        with as_verification_failure():
            return await self._verify(presentation, audience=audience, nonce=nonce,
                                      holder=holder, check_status=check_status,
                                      bind_subjects=bind_subjects, expand=expand,
                                      withdrawn=[] if keep_withdrawn else None)

    async def _verify(
        self,
        presentation: str | Mapping[str, Any],
        *,
        audience: str | None,
        nonce: str | None,
        holder: str | None,
        check_status: bool,
        bind_subjects: bool,
        expand: bool,
        withdrawn: list[Withdrawn] | None,
    ) -> VerifiedPresentation:
        if isinstance(presentation, Mapping) and _is_data_integrity(presentation):
            return await self._verify_data_integrity(
                presentation, audience=audience, nonce=nonce, holder=holder,
                check_status=check_status, bind_subjects=bind_subjects, expand=expand,
                withdrawn=withdrawn)
        token = _token_of(presentation)
        jws = decode_jws(token)
        claims = jws.claims()
        body, presenter, fmt = _jwt_body(jws.header.get("typ"), claims)
        _check_body(body)
        if holder is not None and presenter != holder:
            raise VerificationError("presentation is from another holder", code="holder-mismatch")
        kid = jws.kid
        if kid is not None and not kid.startswith("#") and kid.split("#", 1)[0] != presenter:
            raise VerificationError(
                "the holder did not sign the presentation", code="holder-mismatch"
            )
        # Bind time, audience and nonce before calling anyone.
        current = now(self.credentials.clock)
        exp = check_time_claims(
            claims, current, skew=self.credentials.skew, max_lifetime=self.max_lifetime
        )
        if audience is not None:
            check_audience(claims, audience)
        presented_nonce = claims.get("nonce")
        if nonce is not None and presented_nonce != nonce:
            raise VerificationError("nonce is missing or wrong", code="nonce-mismatch")
        relative = kid is None or kid.startswith("#")
        method = await self.resolver.verification_method(
            kid, "authentication", did=presenter if relative else None
        )
        verify_jws(jws, method.public_key, key_alg=method.declared_alg)
        verified = await self._credentials(body, presenter, check_status=check_status,
                                           bind_subjects=bind_subjects, expand=expand,
                                           withdrawn=withdrawn)
        return VerifiedPresentation(
            holder=presenter,
            credentials=tuple(verified),
            nonce=presented_nonce if isinstance(presented_nonce, str) else None,
            kid=method.id,
            format=fmt,
            expires_at=exp,
            presentation=body,
            raw=token,
            withdrawn=tuple(withdrawn or ()),
        )

    async def _credentials(
        self, body: Mapping[str, Any], presenter: str, *, check_status: bool,
        bind_subjects: bool, expand: bool, withdrawn: list[Withdrawn] | None,
        holder_claims: bool = False,
    ) -> list[VerifiedCredential]:
        """The presented credentials, verified; with ``withdrawn`` (a list), the revoked or
        suspended ones go there instead of refusing the presentation."""
        items = body.get("verifiableCredential", [])
        if not isinstance(items, list):
            items = [items]
        verified = []
        for item in items:
            if not isinstance(item, str | Mapping):
                raise VerificationError(
                    "bad verifiableCredential entry", code="presentation-malformed"
                )
            withdrawal = None
            if (holder_claims and isinstance(item, Mapping) and "proof" not in item
                    and _embedded_issuers({"verifiableCredential": [item]}) == [presenter]):
                credential = self._holder_claim(item, presenter, expand=expand)
            else:
                credential, withdrawal = await self._credential(
                    item, check_status=check_status, expand=expand,
                    keep_withdrawn=withdrawn is not None)
            if bind_subjects and presenter not in _subject_ids(credential):
                raise VerificationError(
                    "a presented credential is not about the holder", code="subject-mismatch"
                )
            if withdrawal is not None and withdrawn is not None:
                withdrawn.append(withdrawal)
            else:
                verified.append(credential)
        return verified

    async def _credential(
        self, item: str | Mapping[str, Any], *, check_status: bool, expand: bool,
        keep_withdrawn: bool,
    ) -> tuple[VerifiedCredential, Withdrawn | None]:
        """One presented credential, verified; and, with ``keep_withdrawn``, why its issuer
        withdrew it (the good ones take the usual, cached path)."""
        try:
            return await self.credentials.verify(
                item, check_status=check_status, expand=expand), None
        except VerificationError as exc:
            if not keep_withdrawn or exc.code not in WITHDRAWN:
                raise
            credential = await self.credentials.verify(item, check_status=False, expand=expand)
            return credential, Withdrawn(credential, exc.code, exc.detail)

    def _holder_claim(self, credential: Mapping[str, Any], holder: str, *, expand: bool
                      ) -> VerifiedCredential:
        """A credential the holder issued about itself, secured only by the presentation's
        proof (VC 2.0, presentations including holder claims): the data model and the
        validity period are checked; the presentation's proof covers its content."""
        validate_credential(credential, expand=expand)
        start = (parse_datetime_stamp(credential["validFrom"], "/validFrom")
                 if "validFrom" in credential else None)
        end = (parse_datetime_stamp(credential["validUntil"], "/validUntil")
               if "validUntil" in credential else None)
        return describe_valid_credential(
            credential, issuer=holder, period=(start, end), current=now(self.credentials.clock),
            skew=self.credentials.skew, fmt=CredentialFormat.LDP_VC, raw=credential, kid=None)

    async def _verify_data_integrity(
        self, presentation: Mapping[str, Any], *, audience: str | None, nonce: str | None,
        holder: str | None, check_status: bool, bind_subjects: bool, expand: bool,
        withdrawn: list[Withdrawn] | None,
    ) -> VerifiedPresentation:
        validate_presentation(presentation, expand=expand,
                              credential_check=lambda _credential, _pointer: None)
        proofs = presentation.get("proof")
        proof = proofs[0] if isinstance(proofs, list) and len(proofs) == 1 else proofs
        if not isinstance(proof, Mapping):
            raise VerificationError("one proof object is expected", code="presentation-malformed")
        # Bind challenge and domain before calling anyone.
        if nonce is not None and proof.get("challenge") != nonce:
            raise VerificationError("challenge is missing or wrong", code="nonce-mismatch")
        domain = proof.get("domain")
        if audience is not None and audience != domain and not (
            isinstance(domain, list) and audience in domain
        ):
            raise VerificationError("domain does not name this verifier", code="domain-mismatch")
        named = _holder_of(presentation.get("holder"))
        method = proof.get("verificationMethod")
        signer_did = method.split("#", 1)[0] if isinstance(method, str) else None
        if named is not None and signer_did != named:
            raise VerificationError("the holder did not sign the presentation",
                                    code="holder-mismatch")
        if holder is not None and signer_did != holder:
            raise VerificationError("presentation is from another holder", code="holder-mismatch")
        verifier = self.credentials
        proof, presenter = await check_proof_of(
            presentation, self.resolver, purpose="authentication",
            current=now(verifier.clock), skew=verifier.skew)
        # VC 2.0 (presentations including holder claims): credentials the signer issued
        # itself, written into the presentation, need the presentation to name its holder.
        if named is None and presenter in _embedded_issuers(presentation):
            raise VerificationError(
                "the presentation holds a credential its signer issued: it must name "
                "that signer as its holder", code="holder-required")
        verified = await self._credentials(presentation, presenter, check_status=check_status,
                                           bind_subjects=bind_subjects, expand=expand,
                                           withdrawn=withdrawn, holder_claims=named is not None)
        challenge = proof.get("challenge")
        return VerifiedPresentation(
            holder=presenter,
            credentials=tuple(verified),
            nonce=challenge if isinstance(challenge, str) else None,
            kid=str(proof["verificationMethod"]),
            format="ldp_vp",
            expires_at=None,
            presentation=presentation,
            raw=presentation,
            withdrawn=tuple(withdrawn or ()),
        )
