"""Verifiable credentials: the result type, building a VC 2.0, and issuing it as a JWT.

Two JWT forms are issued:

* :func:`issue_vc_jwt` - W3C VC 2.0 secured with VC-JOSE-COSE: the credential
  JSON is the JWS payload, header ``typ`` ``vc+jwt`` and ``kid`` the issuer's
  DID URL (listed in its ``assertionMethod``).
* :func:`issue_jwt_vc_11` - VC Data Model 1.1 JWT (the ``vc`` claim with
  ``iss``/``sub``/``nbf``/``exp``/``jti``), for peers that still speak 1.1.

Verification lives in :mod:`identity.vc_verify`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from identity.clock import epoch_from_datetime
from identity.errors import VerificationError
from identity.signer import Signer

__all__ = [
    "VC_V1_CONTEXT",
    "VC_V2_CONTEXT",
    "CredentialFormat",
    "VerifiedCredential",
    "build_credential",
    "check_validity_period",
    "describe_credential",
    "describe_valid_credential",
    "envelope_credential",
    "format_datetime",
    "issue_jwt_vc_11",
    "issue_vc_jwt",
    "issuer_id",
    "parse_datetime",
    "unwrap_enveloped",
]

VC_V2_CONTEXT = "https://www.w3.org/ns/credentials/v2"
VC_V1_CONTEXT = "https://www.w3.org/2018/credentials/v1"
ENVELOPED_VC_PREFIXES = ("data:application/vc+jwt,", "data:application/vc-ld+jwt,")


class CredentialFormat(StrEnum):
    """How a credential was secured."""

    VC_JWT = "vc+jwt"  # VC 2.0, VC-JOSE-COSE
    JWT_VC_11 = "jwt_vc"  # VC 1.1 JWT (``vc`` claim)
    LDP_VC = "ldp_vc"  # Data Integrity / Linked Data proof


@dataclass(frozen=True, slots=True)
class VerifiedCredential:
    """A credential whose proof, issuer binding and validity period were checked.

    ``claims`` is the (first) ``credentialSubject``; ``credential`` the whole
    VC as JSON (for 1.1 JWTs, rebuilt from the ``vc`` claim and the JWT
    claims); ``status`` the ``credentialStatus`` entries (checked when the
    verifier has a status checker); ``raw`` the token or JSON as received.
    """

    issuer: str
    subject_id: str | None
    types: tuple[str, ...]
    claims: Mapping[str, Any]
    credential: Mapping[str, Any]
    valid_from: datetime | None
    valid_until: datetime | None
    status: tuple[Mapping[str, Any], ...]
    format: CredentialFormat
    raw: str | Mapping[str, Any]
    id: str | None = None
    kid: str | None = None

    def has_type(self, credential_type: str) -> bool:
        """True when ``credential_type`` is one of the VC's types."""
        return credential_type in self.types

    def __repr__(self) -> str:
        return (
            f"VerifiedCredential(issuer={self.issuer!r}, subject_id={self.subject_id!r}, "
            f"types={self.types!r}, format={self.format.value!r})"
        )


def format_datetime(value: datetime) -> str:
    """An XML Schema dateTimeStamp in UTC with ``Z`` (``2025-01-31T12:00:00Z``)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    text = value.astimezone(UTC).isoformat()
    return text.replace("+00:00", "Z")


def parse_datetime(value: object, name: str) -> datetime:
    """Parse a VC date-time (``Z`` or offset; naive is taken as UTC)."""
    if not isinstance(value, str):
        raise VerificationError(f"{name} is not a date-time string", code="credential-malformed")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise VerificationError(f"{name} is not a date-time", code="credential-malformed") from exc
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def issuer_id(credential: Mapping[str, Any]) -> str:
    """The issuer's id, whether ``issuer`` is a string or an object."""
    issuer = credential.get("issuer")
    if isinstance(issuer, Mapping):
        issuer = issuer.get("id")
    if not isinstance(issuer, str) or not issuer:
        raise VerificationError("credential has no issuer", code="credential-malformed")
    return issuer


def build_credential(
    *,
    issuer: str,
    subject: Mapping[str, Any],
    types: Sequence[str] = (),
    id: str | None = None,
    valid_from: datetime | None = None,
    valid_until: datetime | None = None,
    status: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None = None,
    contexts: Iterable[str | Mapping[str, Any]] = (),
    **extra: Any,
) -> dict[str, Any]:
    """A VC 2.0 credential JSON: ``types`` are added after ``VerifiableCredential``."""
    credential: dict[str, Any] = {
        "@context": [VC_V2_CONTEXT, *contexts],
        "type": ["VerifiableCredential", *[t for t in types if t != "VerifiableCredential"]],
    }
    if id is not None:
        credential["id"] = id
    credential["issuer"] = issuer
    if valid_from is not None:
        credential["validFrom"] = format_datetime(valid_from)
    if valid_until is not None:
        credential["validUntil"] = format_datetime(valid_until)
    credential["credentialSubject"] = dict(subject)
    if status is not None:
        credential["credentialStatus"] = (
            dict(status) if isinstance(status, Mapping) else [dict(s) for s in status]
        )
    credential.update(extra)
    return credential


def issue_vc_jwt(credential: Mapping[str, Any], signer: Signer, *, cty: bool = False) -> str:
    """Secure a VC 2.0 credential as a ``vc+jwt`` (VC-JOSE-COSE).

    The credential's ``issuer`` must be the signer's DID.
    """
    contexts = credential.get("@context")
    if not isinstance(contexts, list) or not contexts or contexts[0] != VC_V2_CONTEXT:
        raise VerificationError("a vc+jwt carries a VC 2.0 credential", code="credential-malformed")
    if issuer_id(credential) != signer.did:
        raise VerificationError("the credential's issuer is not the signer", code="issuer-mismatch")
    return signer.sign_jwt(credential, typ="vc+jwt", extra_header={"cty": "vc"} if cty else None)


def envelope_credential(token: str) -> dict[str, Any]:
    """An ``EnvelopedVerifiableCredential`` holding a ``vc+jwt``."""
    return {
        "@context": [VC_V2_CONTEXT],
        "id": "data:application/vc+jwt," + token,
        "type": "EnvelopedVerifiableCredential",
    }


def unwrap_enveloped(value: Mapping[str, Any], prefixes: Sequence[str]) -> str | None:
    """The token inside an Enveloped VC/VP object, or ``None`` if it is not one."""
    kind = value.get("type")
    if kind not in ("EnvelopedVerifiableCredential", "EnvelopedVerifiablePresentation") and not (
        isinstance(kind, list)
        and {"EnvelopedVerifiableCredential", "EnvelopedVerifiablePresentation"} & set(kind)
    ):
        return None
    data = value.get("id")
    if isinstance(data, str):
        for prefix in prefixes:
            if data.startswith(prefix):
                return data[len(prefix) :]
    raise VerificationError(
        "enveloped object holds no supported data: URL", code="credential-malformed"
    )


def issue_jwt_vc_11(
    credential: Mapping[str, Any],
    signer: Signer,
    *,
    issued_at: float | None = None,
) -> str:
    """Sign a VC 1.1 credential as a JWT with the ``vc`` claim (VC-JWT 1.1 mapping).

    ``issuer`` -> ``iss``, ``issuanceDate`` -> ``nbf``, ``expirationDate`` ->
    ``exp``, ``id`` -> ``jti``, ``credentialSubject.id`` -> ``sub``. The
    credential keeps those members too, as didkit does.
    """
    if issuer_id(credential) != signer.did:
        raise VerificationError("the credential's issuer is not the signer", code="issuer-mismatch")
    claims: dict[str, Any] = {"iss": signer.did}
    if "issuanceDate" in credential:
        claims["nbf"] = int(
            epoch_from_datetime(parse_datetime(credential["issuanceDate"], "issuanceDate"))
        )
    if "expirationDate" in credential:
        claims["exp"] = int(
            epoch_from_datetime(parse_datetime(credential["expirationDate"], "expirationDate"))
        )
    if isinstance(credential.get("id"), str):
        claims["jti"] = credential["id"]
    subject = credential.get("credentialSubject")
    if isinstance(subject, Mapping) and isinstance(subject.get("id"), str):
        claims["sub"] = subject["id"]
    if issued_at is not None:
        claims["iat"] = int(issued_at)
    claims["vc"] = dict(credential)
    return signer.sign_jwt(claims, typ="JWT")


def check_validity_period(
    valid_from: datetime | None, valid_until: datetime | None, current: float, skew: float
) -> None:
    """Refuse a credential outside its validity period (with ``skew`` seconds of grace)."""
    if valid_from is not None and current + skew < epoch_from_datetime(valid_from):
        raise VerificationError("credential is not valid yet", code="credential-not-yet-valid")
    if valid_until is not None and current - skew >= epoch_from_datetime(valid_until):
        raise VerificationError("credential has expired", code="credential-expired")


def _types(credential: Mapping[str, Any]) -> tuple[str, ...]:
    kinds = credential.get("type")
    if isinstance(kinds, str):
        kinds = [kinds]
    if not isinstance(kinds, list) or "VerifiableCredential" not in kinds:
        raise VerificationError(
            "type must include VerifiableCredential", code="credential-malformed"
        )
    return tuple(k for k in kinds if isinstance(k, str))


def describe_credential(
    credential: Mapping[str, Any],
    *,
    issuer: str,
    valid_from: datetime | None,
    valid_until: datetime | None,
    fmt: CredentialFormat,
    raw: str | Mapping[str, Any],
    kid: str | None,
) -> VerifiedCredential:
    """Build the :class:`VerifiedCredential` of an already verified credential."""
    subject = credential.get("credentialSubject")
    first = subject[0] if isinstance(subject, list) and subject else subject
    if not isinstance(first, Mapping):
        raise VerificationError("credentialSubject is missing", code="credential-malformed")
    status = credential.get("credentialStatus")
    if isinstance(status, Mapping):
        entries: tuple[Mapping[str, Any], ...] = (status,)
    elif isinstance(status, list):
        entries = tuple(s for s in status if isinstance(s, Mapping))
    else:
        entries = ()
    subject_id = first.get("id")
    credential_id = credential.get("id")
    return VerifiedCredential(
        issuer=issuer,
        subject_id=subject_id if isinstance(subject_id, str) else None,
        types=_types(credential),
        claims=first,
        credential=credential,
        valid_from=valid_from,
        valid_until=valid_until,
        status=entries,
        format=fmt,
        raw=raw,
        id=credential_id if isinstance(credential_id, str) else None,
        kid=kid,
    )


def describe_valid_credential(
    credential: Mapping[str, Any],
    *,
    issuer: str,
    period: tuple[datetime | None, datetime | None],
    current: float,
    skew: float,
    fmt: CredentialFormat,
    raw: str | Mapping[str, Any],
    kid: str | None,
) -> VerifiedCredential:
    """:func:`describe_credential` of a verified credential, once ``current`` is inside its
    validity ``period`` (``valid_from``, ``valid_until``; see :func:`check_validity_period`)."""
    start, end = period
    check_validity_period(start, end, current, skew)
    return describe_credential(credential, issuer=issuer, valid_from=start, valid_until=end,
                               fmt=fmt, raw=raw, kid=kid)
