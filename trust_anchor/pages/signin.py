"""A member organisation signs in to the operator console with its MembershipCredential.

The presentation is checked as every relying party checks it
(:class:`identity.oid4vp.MembershipCheck`: the holder's signature, our nonce and
audience, the credential's signature and its status list entries, and the
trusted-issuers registry accrediting its issuer), then against our own
participant list: the holder must be an *active* member right now. The status
lists and the registry are read over HTTP like any verifier reads them (cached
for their max-age); the participant list is our own database, so a member
suspended or revoked a moment ago is refused at once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import aiohttp

from identity.oid4vp import (
    MembershipCheck,
    Oid4vpVerifier,
    OrganisationSignIn,
    PresentationCheck,
    SignInRefused,
)
from identity.service_identity import ServiceIdentity
from identity.trusted_issuers import TrustedIssuers
from identity.vp import PresentationVerifier
from servicekit.console.accounts import Console
from servicekit.console.install import pending_signins
from servicekit.errors import NotFound
from trust_anchor.domain.participants import ApplicationState
from trust_anchor.services.registry import Registry
from trust_anchor.settings import TrustAnchorSettings

__all__ = ["ActiveMemberCheck", "organisation_signin"]


class ActiveMemberCheck:
    """A verified membership presentation whose holder is an active member in our list."""

    def __init__(self, membership: PresentationCheck, registry: Registry) -> None:
        self.membership = membership
        self.registry = registry

    async def verify(self, presentations: Sequence[str | Mapping[str, Any]], *,
                     audience: str, nonce: str) -> OrganisationSignIn:
        """The organisation, or ``member-not-active`` (401) when it is not an active member."""
        signed_in = await self.membership.verify(presentations, audience=audience, nonce=nonce)
        if not await self._active(signed_in.did):
            raise SignInRefused(f"{signed_in.did} is not an active member of the data space",
                                code="member-not-active")
        return signed_in

    async def still_valid(self, signed_in: OrganisationSignIn) -> bool:
        """Whether a session's organisation still holds its credential and is still an
        active member here (suspended or revoked a moment ago: no longer)."""
        return (await self.membership.still_valid(signed_in)
                and await self._active(signed_in.did))

    async def _active(self, did: str) -> bool:
        try:
            participant = await self.registry.member(did)
        except NotFound:
            return False
        return participant.state is ApplicationState.ACTIVE


def organisation_signin(*, identity: ServiceIdentity, presentations: PresentationVerifier,
                        session: aiohttp.ClientSession, registry: Registry,
                        settings: TrustAnchorSettings, console: Console) -> Oid4vpVerifier:
    """The OpenID4VP verifier of the console's "sign in with the organisation's credential"."""
    trusted = TrustedIssuers(session, settings.base_url, presentations.credentials,
                             identity.did, ttl=float(settings.status_list_max_age))
    check = ActiveMemberCheck(MembershipCheck(presentations, trusted), registry)
    # The console's table keeps identity.oid4vp's records (and the browser they are bound
    # to); servicekit cannot name identity's types, so the protocol is matched by shape.
    store = pending_signins(console)
    return Oid4vpVerifier(identity=identity, check=check, store=store, clock=console.now)
