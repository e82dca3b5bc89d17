"""Participants, their audit trail and DID-control challenges."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from servicekit.db import savepoint
from servicekit.errors import IllegalTransition
from servicekit.rows import record
from trust_anchor.domain.participants import (
    Application,
    ApplicationState,
    AuditAction,
    AuditEvent,
    Contact,
    Participant,
    Role,
)
from trust_anchor.errors import ApplicationExists, ChallengeInvalid, ParticipantNotFound
from trust_anchor.store.tables import audit_events, challenges, participants

__all__ = [
    "audit_trail",
    "consume_challenge",
    "count_by_state",
    "find_by_did",
    "get_participant",
    "history_of_did",
    "insert_application",
    "list_participants",
    "newest_participants",
    "participant_by_did",
    "record_event",
    "save_challenge",
    "set_state",
    "status_token_hash",
]


def _participant(row: Any) -> Participant:
    return record(Participant, row, contact=Contact(name=row.contact_name, email=row.contact_email),
                  roles=[Role(r) for r in json.loads(row.roles)],
                  state=ApplicationState(row.state))


async def save_challenge(conn: AsyncConnection, nonce: str, did: str, expires_at: float) -> None:
    """Remember a challenge handed to ``did``."""
    await conn.execute(challenges.insert().values(nonce=nonce, did=did, expires_at=expires_at,
                                                  used=False))


async def consume_challenge(conn: AsyncConnection, nonce: str, did: str, now: float) -> None:
    """Mark the challenge used; refuse unknown, foreign, used or expired ones."""
    result = await conn.execute(
        challenges.update()
        .where(challenges.c.nonce == nonce, challenges.c.did == did,
               challenges.c.used.is_(False), challenges.c.expires_at >= now)
        .values(used=True)
    )
    if result.rowcount != 1:
        raise ChallengeInvalid("the challenge is unknown, expired, used, or for another DID")


async def insert_application(
    conn: AsyncConnection,
    participant_id: str,
    application: Application,
    token_hash: str,
    state: ApplicationState,
    at: datetime,
) -> Participant:
    """Store a new application in ``state`` (the initial one) and audit it."""
    try:
        async with savepoint(conn):
            await conn.execute(
                participants.insert().values(
                    id=participant_id,
                    did=application.did,
                    legal_name=application.legal_name,
                    organisation_number=application.organisation_number,
                    country=application.country,
                    contact_name=application.contact.name,
                    contact_email=str(application.contact.email),
                    roles=json.dumps([str(r) for r in application.roles]),
                    state=state,
                    status_token_hash=token_hash,
                    submitted_at=at,
                    updated_at=at,
                )
            )
    except IntegrityError:
        raise ApplicationExists(
            f"{application.did} already has an application or membership"
        ) from None
    await _audit(conn, participant_id, None, state, actor=application.did, reason="applied",
                 at=at, action=AuditAction.APPLIED)
    return await get_participant(conn, participant_id)


async def get_participant(
    conn: AsyncConnection, participant_id: str, *, for_update: bool = False
) -> Participant:
    """The participant with ``participant_id``."""
    query = sa.select(participants).where(participants.c.id == participant_id)
    if for_update:
        query = query.with_for_update()
    row = (await conn.execute(query)).first()
    if row is None:
        raise ParticipantNotFound(f"no participant {participant_id}")
    return _participant(row)


async def status_token_hash(conn: AsyncConnection, participant_id: str) -> str | None:
    """The stored hash of the applicant's status token."""
    return (
        await conn.execute(
            sa.select(participants.c.status_token_hash).where(participants.c.id == participant_id)
        )
    ).scalar()


async def find_by_did(conn: AsyncConnection, did: str) -> Participant | None:
    """The live (not rejected) participant with ``did``, if any."""
    row = (
        await conn.execute(
            sa.select(participants)
            .where(participants.c.did == did, participants.c.state != "rejected")
        )
    ).first()
    return _participant(row) if row is not None else None


async def participant_by_did(conn: AsyncConnection, did: str) -> Participant:
    """The live (not rejected) participant with ``did``."""
    participant = await find_by_did(conn, did)
    if participant is None:
        raise ParticipantNotFound(f"no participant with DID {did}")
    return participant


async def list_participants(
    conn: AsyncConnection,
    *,
    states: list[ApplicationState] | None = None,
    after: str | None = None,
    limit: int = 100,
    text: str | None = None,
    role: Role | None = None,
) -> list[Participant]:
    """Participants in the order they applied, ``after`` an id (keyset paging).

    ``text`` matches part of the legal name or the DID, ignoring case;
    ``role`` keeps participants that have it.
    """
    query = sa.select(participants).order_by(participants.c.id).limit(limit)
    if states:
        query = query.where(participants.c.state.in_([str(s) for s in states]))
    if after:
        query = query.where(participants.c.id > after)
    if text:
        needle = text.lower()
        query = query.where(sa.or_(
            sa.func.lower(participants.c.legal_name).contains(needle, autoescape=True),
            sa.func.lower(participants.c.did).contains(needle, autoescape=True)))
    if role is not None:
        # roles is a JSON list of role names; a quoted name matches one element only.
        query = query.where(participants.c.roles.contains(f'"{role}"', autoescape=True))
    rows = (await conn.execute(query)).all()
    return [_participant(r) for r in rows]


async def count_by_state(conn: AsyncConnection) -> dict[ApplicationState, int]:
    """How many participants are in each state (states with none are absent)."""
    rows = (await conn.execute(sa.select(participants.c.state, sa.func.count())
                               .group_by(participants.c.state))).all()
    return {ApplicationState(row[0]): int(row[1]) for row in rows}


async def newest_participants(conn: AsyncConnection, *, limit: int) -> list[Participant]:
    """The ``limit`` most recent applications, newest first."""
    query = sa.select(participants).order_by(participants.c.submitted_at.desc(),
                                             participants.c.id.desc()).limit(limit)
    return [_participant(r) for r in (await conn.execute(query)).all()]


async def set_state(
    conn: AsyncConnection,
    current: Participant,
    target: ApplicationState,
    *,
    actor: str,
    reason: str | None,
    at: datetime,
    detail: dict[str, str] | None = None,
) -> Participant:
    """Move ``current`` (read ``for_update``) to ``target`` and audit it.

    The caller has checked the transition against the state machine; the
    update only lands while the stored state is still ``current.state``.
    """
    values: dict[str, Any] = {"state": str(target), "updated_at": at}
    if target is ApplicationState.ACTIVE and current.member_since is None:
        values["member_since"] = at
    result = await conn.execute(
        participants.update()
        .where(participants.c.id == current.id, participants.c.state == str(current.state))
        .values(**values)
    )
    if result.rowcount != 1:
        # SQLite has no row locks: the state guard in the WHERE clause is the lock.
        raise IllegalTransition(f"participant {current.id} changed state meanwhile")
    await _audit(conn, current.id, current.state, target, actor=actor, reason=reason, at=at,
                 action=AuditAction.of_transition(current.state, target), detail=detail)
    return await get_participant(conn, current.id)


async def record_event(
    conn: AsyncConnection,
    participant_id: str,
    action: AuditAction,
    *,
    actor: str,
    at: datetime,
    reason: str | None = None,
    detail: dict[str, str] | None = None,
) -> None:
    """Audit a step that changes no state (e.g. a credential collected) in the current state."""
    current = await get_participant(conn, participant_id)
    await _audit(conn, participant_id, current.state, current.state, actor=actor,
                 reason=reason, at=at, action=action, detail=detail)


async def _audit(
    conn: AsyncConnection,
    participant_id: str,
    from_state: ApplicationState | None,
    to_state: ApplicationState,
    *,
    actor: str,
    reason: str | None,
    at: datetime,
    action: AuditAction,
    detail: dict[str, str] | None = None,
) -> None:
    await conn.execute(
        audit_events.insert().values(
            participant_id=participant_id,
            from_state=str(from_state) if from_state else None,
            to_state=str(to_state),
            actor=actor[:200],
            reason=reason,
            at=at,
            action=str(action),
            detail=json.dumps(detail, sort_keys=True) if detail else None,
        )
    )


def _event(row: Any) -> AuditEvent:
    from_state = ApplicationState(row.from_state) if row.from_state else None
    to_state = ApplicationState(row.to_state)
    return AuditEvent(
        participant_id=row.participant_id,
        # Events stored before ta0004 have no action: their states say it.
        action=(AuditAction(row.action) if row.action
                else AuditAction.of_transition(from_state, to_state)),
        from_state=from_state,
        to_state=to_state,
        actor=row.actor,
        reason=row.reason,
        at=row.at,
        detail=json.loads(row.detail) if row.detail else None,
    )


async def audit_trail(conn: AsyncConnection, participant_id: str) -> list[AuditEvent]:
    """Every event of a participant, oldest first."""
    rows = (
        await conn.execute(
            sa.select(audit_events)
            .where(audit_events.c.participant_id == participant_id)
            .order_by(audit_events.c.id)
        )
    ).all()
    return [_event(r) for r in rows]


async def history_of_did(conn: AsyncConnection, did: str) -> list[AuditEvent]:
    """Every event of every application of ``did`` (a rejected one, then a new one), oldest
    first; empty when the DID never applied."""
    rows = (
        await conn.execute(
            sa.select(audit_events)
            .join(participants, participants.c.id == audit_events.c.participant_id)
            .where(participants.c.did == did)
            .order_by(audit_events.c.id)
        )
    ).all()
    return [_event(r) for r in rows]
