"""What a sign-in presentation must prove: a trusted, current MembershipCredential of its holder.

:class:`MembershipCheck` verifies the presentations a wallet sent for one
DCQL credential query with what the identity package already has:
:class:`~identity.vp.PresentationVerifier` (the holder's signature with a key
of the holder DID's ``authentication``, ``aud``, ``nonce``, lifetime, every
presented credential about the holder, each credential's issuer signature,
validity and Bitstring Status List entry) and
:class:`~identity.trusted_issuers.TrustedIssuers` (the trust anchor's
registry accredits the issuer for ``MembershipCredential``). This is the
check the connector and the marketplace make of a member's DCP presentation
(:class:`identity.dcp.DcpVerifier`), applied to an OpenID4VP answer.

Failures become the sign-in codes of :mod:`identity.oid4vp.errors`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Protocol

from identity.errors import VerificationError
from identity.oid4vp.errors import CredentialUntrusted, SignInRefused
from identity.trusted_issuers import TrustedIssuers
from identity.vc import VerifiedCredential
from identity.vp import PresentationVerifier
from servicekit.clock import epoch_from_datetime

__all__ = ["MEMBERSHIP", "MembershipCheck", "OrganisationSignIn", "PresentationCheck"]

MEMBERSHIP = "MembershipCredential"

#: Verification codes a person can act on, kept as they are; the rest is ``vp-invalid``.
_OWN_CODES = {
    "nonce-mismatch": "nonce-mismatch",
    "jwt-audience-mismatch": "audience-mismatch",
    "domain-mismatch": "audience-mismatch",
    "credential-revoked": "credential-revoked",
    "credential-suspended": "credential-suspended",
}


@dataclass(frozen=True)
class OrganisationSignIn:
    """The organisation that signed in: its DID and what its MembershipCredential says."""

    did: str
    legal_name: str
    roles: tuple[str, ...]
    credential_id: str | None
    issuer: str
    #: The MembershipCredential as presented (a JWT), so a session can be checked again.
    credential: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (what :attr:`PendingRecord.result` holds once done)."""
        values = asdict(self)
        values["roles"] = list(self.roles)
        return values

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> OrganisationSignIn:
        """The inverse of :meth:`as_dict`."""
        return cls(did=str(values["did"]), legal_name=str(values["legal_name"]),
                   roles=tuple(str(r) for r in values.get("roles", ())),
                   credential_id=values.get("credential_id"), issuer=str(values["issuer"]),
                   credential=values.get("credential"))


class PresentationCheck(Protocol):
    """Verifies the presentations answering one credential query (see :class:`MembershipCheck`),
    and checks again what a session was opened with."""

    async def still_valid(self, signed_in: OrganisationSignIn) -> bool:
        """Whether the organisation's credential still holds."""
        ...

    async def verify(self, presentations: Sequence[str | Mapping[str, Any]], *,
                     audience: str, nonce: str) -> OrganisationSignIn:
        """The organisation the presentations prove, or a sign-in error."""
        ...


def refusal(exc: VerificationError) -> SignInRefused:
    """The sign-in error for a verification failure (its code kept in ``reason``)."""
    code = _OWN_CODES.get(exc.code, "vp-invalid")
    return SignInRefused(exc.detail, code=code, extra={"reason": exc.code})


class MembershipCheck:
    """Verify a MembershipCredential presentation (see the module docstring).

    ``presentations`` should share its credential verifier (and so the status
    checker) with ``trusted_issuers``; ``credential_type`` is what must be shown.
    """

    def __init__(self, presentations: PresentationVerifier, trusted_issuers: TrustedIssuers, *,
                 credential_type: str = MEMBERSHIP) -> None:
        self.presentations = presentations
        self.trusted_issuers = trusted_issuers
        self.credential_type = credential_type

    async def verify(self, presentations: Sequence[str | Mapping[str, Any]], *,
                     audience: str, nonce: str) -> OrganisationSignIn:
        """The organisation the presentations prove (one holder; the newest trusted credential).

        Raises :class:`~identity.oid4vp.errors.SignInRefused` (401) or
        :class:`~identity.oid4vp.errors.CredentialUntrusted` (403).
        """
        holders: set[str] = set()
        candidates: list[VerifiedCredential] = []
        for item in presentations:
            try:
                verified = await self.presentations.verify(item, audience=audience, nonce=nonce)
            except VerificationError as exc:
                raise refusal(exc) from None
            holders.add(verified.holder)
            candidates.extend(verified.credentials_of_type(self.credential_type))
        if len(holders) > 1:
            raise SignInRefused("the presentations are from different holders",
                                code="vp-invalid", extra={"reason": "holder-mismatch"})
        if not candidates:
            raise SignInRefused(f"no {self.credential_type} was presented",
                                code="credential-missing")
        trusted = [c for c in candidates
                   if await self.trusted_issuers.is_trusted(c.issuer, self.credential_type)]
        if not trusted:
            raise CredentialUntrusted(
                f"the {self.credential_type} is from an issuer not trusted for it",
                extra={"issuer": candidates[0].issuer})
        trusted.sort(key=_issued, reverse=True)
        credential = trusted[0]
        claims = credential.claims
        roles = claims.get("roles")
        return OrganisationSignIn(
            did=holders.pop(),
            legal_name=str(claims.get("legalName") or ""),
            roles=tuple(str(r) for r in roles) if isinstance(roles, list) else (),
            credential_id=credential.id,
            issuer=credential.issuer,
            credential=credential.raw if isinstance(credential.raw, str) else None,
        )

    async def still_valid(self, signed_in: OrganisationSignIn) -> bool:
        """Whether the credential a session was opened with still holds: signature and
        validity period, its status lists (as cached by the status checker) and its issuer
        still trusted for the type. False when there is nothing to check again."""
        if not signed_in.credential:
            return False
        try:
            credential = await self.presentations.credentials.verify(signed_in.credential)
        except VerificationError:
            return False
        return (credential.has_type(self.credential_type)
                and credential.subject_id == signed_in.did
                and await self.trusted_issuers.is_trusted(credential.issuer,
                                                          self.credential_type))


def _issued(credential: VerifiedCredential) -> float:
    start = credential.valid_from
    return epoch_from_datetime(start) if start is not None else float("-inf")
