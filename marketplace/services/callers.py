"""Who is calling: the operator (its admin API key), a member (DCP), or nobody.

Members call the marketplace as they call a connector: a DCP self-issued ID
token addressed to the marketplace's DID, and a presentation of their
MembershipCredential fetched from their Credential Service
(:class:`identity.dcp.DcpVerifier`, with the trust anchor's trusted-issuers
registry and the status lists). The operator uses its admin key. A request
with neither is anonymous: it may only browse launched public offerings.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from identity.dcp import DcpVerifier
from marketplace.errors import NotSignedIn
from servicekit.auth import ApiKeyVerifier

__all__ = ["ANONYMOUS", "MEMBERSHIP", "OPERATOR", "Caller", "Callers"]

MEMBERSHIP = "MembershipCredential"


@dataclass(frozen=True)
class Caller:
    """The party behind a request."""

    #: "operator", "member" or "anonymous".
    kind: str
    #: A member's DID ("" for the operator and anonymous callers).
    did: str = ""
    #: The subject claims of the member's MembershipCredential (legalName, roles...).
    claims: Mapping[str, Any] = field(default_factory=dict)

    @property
    def operator(self) -> bool:
        """The data-space operator (sees and may change everything)."""
        return self.kind == "operator"

    @property
    def member(self) -> bool:
        """An authenticated member."""
        return self.kind == "member"

    @property
    def name(self) -> str:
        """A member's legal name, else its DID."""
        return str(self.claims.get("legalName") or self.did)

    def require(self) -> Caller:
        """This caller, if signed in (member or operator); else 401 ``sign-in-required``."""
        if self.kind == "anonymous":
            raise NotSignedIn("sign in: a DCP self-issued token (members) or the admin key")
        return self

    def require_member(self) -> Caller:
        """This caller, if it is a member (it acts as a party: buys, sells, reports)."""
        if not self.member:
            raise NotSignedIn("this action is a member's: present a DCP self-issued token")
        return self


ANONYMOUS = Caller("anonymous")
OPERATOR = Caller("operator")


@dataclass
class Callers:
    """Tell the operator, a member and an anonymous caller apart."""

    api_keys: ApiKeyVerifier
    #: None while the marketplace has no trust anchor to ask (members cannot sign in).
    verifier: DcpVerifier | None

    async def identify(self, authorization: str | None) -> Caller:
        """The caller of a request with this ``Authorization`` header.

        A bearer that is one of the operator's keys is the operator; any other
        bearer must be a member's DCP token (401 when it does not verify or the
        membership credential is revoked, ``credential-revoked``; 403 when the
        credential's issuer is not trusted for it); no header is anonymous.
        """
        if not authorization:
            return ANONYMOUS
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() == "bearer" and self.api_keys.verify(token.strip()):
            return OPERATOR
        if self.verifier is None:
            raise NotSignedIn("members cannot sign in: no trust anchor is configured")
        verified = await self.verifier.verify_caller(authorization, [MEMBERSHIP])
        return Caller("member", verified.did, verified.claims.get(MEMBERSHIP, {}))
