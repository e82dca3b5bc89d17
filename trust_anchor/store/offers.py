"""OID4VCI credential offers (pre-authorized codes, access tokens) and nonces.

Codes, transaction codes and access tokens are stored as SHA-256 hashes:
a copy of the database does not let anyone collect a credential.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from servicekit.rows import record
from trust_anchor.store.tables import credential_offers, nonces

__all__ = [
    "MAX_TX_CODE_ATTEMPTS",
    "Offer",
    "consume_nonce",
    "create_offer",
    "digest",
    "latest_offer_of",
    "mark_delivered",
    "offer_by_access_token",
    "offer_by_id",
    "pending_offer_of",
    "redeem_code",
    "save_nonce",
]


#: Wrong transaction codes an offer survives.
MAX_TX_CODE_ATTEMPTS = 5


def digest(secret: str) -> str:
    """The stored form of a code or token."""
    return "sha256:" + hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Offer:
    """A credential offer as stored."""

    id: str
    participant_id: str
    credential_id: str
    configuration_id: str
    has_tx_code: bool
    expires_at: float
    code_used_at: float | None
    access_token_expires_at: float | None
    delivered_at: float | None
    tx_code_hash: str | None = None


def _offer(row: Any) -> Offer:
    return record(Offer, row, has_tx_code=row.tx_code_hash is not None)


async def create_offer(
    conn: AsyncConnection,
    *,
    offer_id: str,
    participant_id: str,
    credential_id: str,
    configuration_id: str,
    code: str,
    tx_code: str | None,
    expires_at: float,
) -> None:
    """Store a new offer."""
    await conn.execute(
        credential_offers.insert().values(
            id=offer_id,
            participant_id=participant_id,
            credential_id=credential_id,
            configuration_id=configuration_id,
            code_hash=digest(code),
            tx_code_hash=digest(tx_code) if tx_code is not None else None,
            expires_at=expires_at,
        )
    )


async def offer_by_id(conn: AsyncConnection, offer_id: str) -> Offer | None:
    """The offer ``offer_id``, if any."""
    row = (
        await conn.execute(sa.select(credential_offers).where(credential_offers.c.id == offer_id))
    ).first()
    return _offer(row) if row is not None else None


async def redeem_code(
    conn: AsyncConnection,
    code: str,
    tx_code: str | None,
    *,
    access_token: str,
    access_token_expires_at: float,
    now: float,
) -> Offer | None:
    """Exchange a pre-authorized code (once) for an access token.

    Returns None when the code is unknown, used, expired, or the
    transaction code does not match; the caller answers ``invalid_grant``.
    A wrong transaction code counts against the offer: after
    ``MAX_TX_CODE_ATTEMPTS`` the code is burned, so a six-digit code cannot
    be guessed by trying them all.
    """
    row = (
        await conn.execute(
            sa.select(credential_offers).where(credential_offers.c.code_hash == digest(code))
        )
    ).first()
    if row is None or row.code_used_at is not None or row.expires_at < now:
        return None
    if row.tx_code_hash is not None and (tx_code is None or digest(tx_code) != row.tx_code_hash):
        attempts = row.failed_attempts + 1
        values: dict[str, Any] = {"failed_attempts": attempts}
        if attempts >= MAX_TX_CODE_ATTEMPTS:
            values["code_used_at"] = now  # burned: the operator must make a new offer
        await conn.execute(
            credential_offers.update().where(credential_offers.c.id == row.id).values(**values)
        )
        return None
    result = await conn.execute(
        credential_offers.update()
        .where(credential_offers.c.id == row.id, credential_offers.c.code_used_at.is_(None))
        .values(
            code_used_at=now,
            access_token_hash=digest(access_token),
            access_token_expires_at=access_token_expires_at,
        )
    )
    if result.rowcount != 1:
        return None  # redeemed concurrently
    offer = await offer_by_id(conn, row.id)
    return offer


async def offer_by_access_token(
    conn: AsyncConnection, access_token: str, now: float
) -> Offer | None:
    """The offer an unexpired access token was issued for."""
    row = (
        await conn.execute(
            sa.select(credential_offers).where(
                credential_offers.c.access_token_hash == digest(access_token)
            )
        )
    ).first()
    if row is None or (row.access_token_expires_at or 0) < now:
        return None
    return _offer(row)


async def mark_delivered(conn: AsyncConnection, offer_id: str, now: float) -> bool:
    """Record that the wallet collected the credential; True the first time."""
    result = await conn.execute(
        credential_offers.update()
        .where(credential_offers.c.id == offer_id, credential_offers.c.delivered_at.is_(None))
        .values(delivered_at=now)
    )
    return result.rowcount == 1


async def save_nonce(conn: AsyncConnection, value: str, expires_at: float) -> None:
    """Remember a ``c_nonce`` handed out by the nonce endpoint."""
    await conn.execute(nonces.insert().values(value=value, expires_at=expires_at, used=False))


async def consume_nonce(conn: AsyncConnection, value: str, now: float) -> bool:
    """Use a nonce once; False when unknown, used or expired."""
    result = await conn.execute(
        nonces.update()
        .where(nonces.c.value == value, nonces.c.used.is_(False), nonces.c.expires_at >= now)
        .values(used=True)
    )
    return result.rowcount == 1


async def pending_offer_of(conn: AsyncConnection, participant_id: str, now: float) -> Offer | None:
    """The newest offer of a participant that is not collected and not expired."""
    row = (
        await conn.execute(
            sa.select(credential_offers)
            .where(
                credential_offers.c.participant_id == participant_id,
                credential_offers.c.delivered_at.is_(None),
                credential_offers.c.expires_at >= now,
            )
            .order_by(credential_offers.c.id.desc())
            .limit(1)
        )
    ).first()
    return _offer(row) if row is not None else None


async def latest_offer_of(conn: AsyncConnection, participant_id: str) -> Offer | None:
    """The newest offer of a participant, collected, expired or not."""
    row = (
        await conn.execute(
            sa.select(credential_offers)
            .where(credential_offers.c.participant_id == participant_id)
            .order_by(credential_offers.c.id.desc())
            .limit(1)
        )
    ).first()
    return _offer(row) if row is not None else None
