"""Onboarding: apply with a proof of DID control, review, issue, suspend, revoke.

Each operation runs in one transaction: the state change, its audit event,
the credential and its status bits, the credential offer and the registry
entry commit together or not at all.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from identity.errors import VerificationError
from identity.self_issued import SelfIssuedTokenVerifier
from servicekit.auth import hash_api_key
from servicekit.clock import Clock, system_clock
from servicekit.errors import InvalidRequest, Unauthorized
from servicekit.ids import new_id
from trust_anchor.domain.participants import (
    ONBOARDING,
    Application,
    ApplicationState,
    AuditEvent,
    Participant,
    membership_claims,
)
from trust_anchor.errors import ChallengeInvalid, ParticipantNotFound, ProofInvalid
from trust_anchor.services.issuer import Issuer
from trust_anchor.services.registry import Registry
from trust_anchor.settings import CredentialTypeConfig, TrustAnchorSettings
from trust_anchor.store import offers as offer_store
from trust_anchor.store import participants as participant_store
from trust_anchor.store.credentials import CREDENTIALS

__all__ = ["API_KEY_ACTOR", "Applied", "Approved", "Onboarding", "Reviewed"]

#: The actor the audit trail names for steps taken through the admin API (an API
#: key names no person); the operator console passes the signed-in person's email.
API_KEY_ACTOR = "api-key"

#: What the audit trail says when the operator gives no reason for a positive step.
DEFAULT_REASONS = {"approve": "approved", "reinstate": "reinstated"}


def _required(reason: str | None, action: str) -> str:
    """The operator's reason for a negative step: never empty, it is what the member is told."""
    if reason is None or not reason.strip():
        raise InvalidRequest(f"give a reason to {action} a participant (it is kept in the "
                             "audit trail)", code="reason-required", extra={"action": action})
    return reason.strip()


def _or_default(reason: str | None, action: str) -> str:
    return reason.strip() if reason and reason.strip() else DEFAULT_REASONS[action]


@dataclass(frozen=True)
class Applied:
    """A stored application and the applicant's secret for following it."""

    participant: Participant
    status_token: str


@dataclass(frozen=True)
class Reviewed:
    """A participant with every transition it went through."""

    participant: Participant
    audit: list[AuditEvent]


@dataclass(frozen=True)
class Approved:
    """An approval: the participant, its credential and the offer to collect it."""

    participant: Participant
    credential_id: str
    configuration_id: str
    offer_id: str
    pre_authorized_code: str
    tx_code: str | None


@dataclass(frozen=True, eq=False)
class Onboarding:
    """The onboarding workflow over the store."""

    engine: AsyncEngine
    settings: TrustAnchorSettings
    issuer: Issuer
    registry: Registry
    proofs: SelfIssuedTokenVerifier
    clock: Clock = system_clock

    def _now(self) -> datetime:
        return self.issuer.now()

    async def challenge(self, did: str) -> tuple[str, float]:
        """A single-use challenge the applicant signs to prove control of ``did``."""
        nonce = secrets.token_urlsafe(24)
        expires_at = self.clock() + self.settings.challenge_ttl_seconds
        async with self.engine.begin() as conn:
            await participant_store.save_challenge(conn, nonce, did, expires_at)
        return nonce, expires_at

    async def apply(self, application: Application, proof: str) -> Applied:
        """Verify the proof of DID control and store the application (SUBMITTED).

        The proof is a self-issued ID token from the applicant's DID to the
        trust anchor's DID with the challenge as its ``nonce`` claim.
        """
        try:
            verified = await self.proofs.verify(proof)
        except VerificationError as exc:
            raise ProofInvalid(f"the proof of DID control does not verify: {exc.detail}",
                               extra={"reason": exc.code}) from None
        if verified.issuer != application.did:
            raise ProofInvalid("the proof is signed by another DID than the application names")
        nonce = verified.claims.get("nonce")
        if not isinstance(nonce, str):
            raise ChallengeInvalid("the proof carries no challenge (nonce claim)")
        token = secrets.token_urlsafe(32)
        async with self.engine.begin() as conn:
            await participant_store.consume_challenge(conn, nonce, application.did, self.clock())
            participant = await participant_store.insert_application(
                conn, new_id("p-"), application, hash_api_key(token),
                ONBOARDING.check(None, ApplicationState.SUBMITTED), self._now()
            )
        return Applied(participant, token)

    async def approve(self, participant_id: str, *, actor: str = API_KEY_ACTOR,
                      reason: str | None = None) -> Approved:
        """Approve, issue the on-approval credentials and an offer to collect them.

        Without a reason the audit trail records "approved"; the approval's
        event names the offer, the next one the credential.
        """
        reason = _or_default(reason, "approve")
        membership = self._on_approval_type()
        offer_id = new_id("o-")
        async with self.engine.begin() as conn:
            participant = await self._move(conn, participant_id, ApplicationState.APPROVED,
                                           actor=actor, reason=reason,
                                           detail={"offer_id": offer_id})
            credential = await self.issuer.issue(
                conn,
                subject_did=participant.did,
                credential_type=membership.type,
                claims=membership_claims(participant, self._now()),
                validity=timedelta(days=membership.validity_days),
                owner=participant.id,
            )
            participant = await self._move(
                conn, participant_id, ApplicationState.ACTIVE, actor=actor,
                reason="membership credential issued",
                detail={"credential_id": credential.id, "credential_type": membership.type})
            code = self.issuer.offer_code(offer_id)
            tx_code = self.issuer.tx_code(offer_id) if self.settings.require_tx_code else None
            await offer_store.create_offer(
                conn,
                offer_id=offer_id,
                participant_id=participant.id,
                credential_id=credential.id,
                configuration_id=membership.type,
                code=code,
                tx_code=tx_code,
                expires_at=self.clock() + self.settings.offer_ttl_seconds,
            )
            await self.registry.accredit_roles(conn, participant)
        return Approved(participant, credential.id, membership.type, offer_id, code, tx_code)

    async def reject(self, participant_id: str, *, actor: str = API_KEY_ACTOR,
                     reason: str | None) -> Participant:
        """Reject a submitted application (final); ``reason`` is required."""
        reason = _required(reason, "reject")
        async with self.engine.begin() as conn:
            participant = await self._move(conn, participant_id, ApplicationState.REJECTED,
                                           actor=actor, reason=reason)
        return participant

    async def suspend(self, participant_id: str, *, actor: str = API_KEY_ACTOR,
                      reason: str | None) -> Participant:
        """Suspend: set the suspension bit of every credential; ``reason`` is required."""
        reason = _required(reason, "suspend")
        return await self._flip(participant_id, ApplicationState.SUSPENDED, "suspension", True,
                                actor=actor, reason=reason)

    async def reinstate(
        self, participant_id: str, *, actor: str = API_KEY_ACTOR, reason: str | None = None
    ) -> Participant:
        """Lift a suspension: clear the suspension bits ("reinstated" without a reason)."""
        reason = _or_default(reason, "reinstate")
        return await self._flip(participant_id, ApplicationState.ACTIVE, "suspension", False,
                                actor=actor, reason=reason)

    async def revoke(self, participant_id: str, *, actor: str = API_KEY_ACTOR,
                     reason: str | None) -> Participant:
        """Revoke (final): set the revocation bit of every credential; ``reason`` is required."""
        reason = _required(reason, "revoke")
        return await self._flip(participant_id, ApplicationState.REVOKED, "revocation", True,
                                actor=actor, reason=reason)

    async def _flip(
        self,
        participant_id: str,
        target: ApplicationState,
        purpose: str,
        value: bool,
        *,
        actor: str,
        reason: str | None,
    ) -> Participant:
        at = self._now()
        async with self.engine.begin() as conn:
            participant = await self._move(conn, participant_id, target, actor=actor,
                                           reason=reason, at=at)
            for credential in await CREDENTIALS.find(conn, owner=participant_id):
                await self.issuer.set_status(conn, credential, purpose, value)
            await self.registry.follow_participant(conn, participant)
        return participant

    async def _move(
        self,
        conn: AsyncConnection,
        participant_id: str,
        target: ApplicationState,
        *,
        actor: str,
        reason: str | None,
        at: datetime | None = None,
        detail: dict[str, str] | None = None,
    ) -> Participant:
        """Lock the participant, check the transition, move and audit it.

        The row lock (PostgreSQL) keeps two operators from both approving.
        """
        current = await participant_store.get_participant(conn, participant_id, for_update=True)
        ONBOARDING.check(current.state, target)
        return await participant_store.set_state(conn, current, target, actor=actor,
                                                 reason=reason, at=at or self._now(),
                                                 detail=detail)

    async def reviewed(self, participant_id: str) -> Reviewed:
        """A participant and its audit trail."""
        async with self.engine.connect() as conn:
            participant = await participant_store.get_participant(conn, participant_id)
            return Reviewed(participant, await participant_store.audit_trail(conn,
                                                                             participant_id))

    async def member_reviewed(self, did: str) -> Reviewed:
        """The live (not rejected) participant with ``did`` and its audit trail."""
        async with self.engine.connect() as conn:
            participant = await participant_store.participant_by_did(conn, did)
            return Reviewed(participant, await participant_store.audit_trail(conn,
                                                                             participant.id))

    async def history(self, did: str) -> list[AuditEvent]:
        """Every event of every application of ``did``, oldest first (404 when it never
        applied)."""
        async with self.engine.connect() as conn:
            events = await participant_store.history_of_did(conn, did)
        if not events:
            raise ParticipantNotFound(f"no participant with DID {did}")
        return events

    async def followed(self, participant_id: str, token: str | None, *,
                       operator: bool) -> Reviewed:
        """The application as its applicant (with the status token) or the operator sees it."""
        if not operator:
            async with self.engine.connect() as conn:
                stored = await participant_store.status_token_hash(conn, participant_id)
            if stored is None or token is None or hash_api_key(token) != stored:
                # Same answer for "no such application" and "not yours".
                raise Unauthorized("present the application's status token",
                                   code="status-token-required")
        return await self.reviewed(participant_id)

    def _on_approval_type(self) -> CredentialTypeConfig:
        for config in self.settings.credential_types:
            if config.on_approval:
                return config
        raise RuntimeError("no credential type is issued on approval")  # settings validate this
