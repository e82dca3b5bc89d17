"""The DCP replay store in the connector's database, shared by every replica.

:class:`DatabaseReplayStore` implements :class:`identity.replay.ReplayStore`:
``check_and_record(key, expires_at)`` inserts the key's digest and reports
whether it was new. The insert is ``ON CONFLICT DO NOTHING`` on the primary
key, so of two replicas recording one token id at once exactly one wins; a
row whose token has expired is taken over by a conditional update (the same
race, the same single winner). Both statements run in autocommit mode (one
round trip on the hot path). Expired rows are deleted at most once per
``purge_seconds`` by whichever replica notices first.
"""

from __future__ import annotations

import hashlib

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncEngine

from connector.store.tables import replay_keys
from servicekit.clock import Clock, system_clock

__all__ = ["DatabaseReplayStore"]


class DatabaseReplayStore:
    """Seen token ids in the ``replay_keys`` table (see the module docstring)."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        clock: Clock = system_clock,
        purge_seconds: float = 60.0,
    ) -> None:
        self._engine = engine
        self._clock = clock
        self._purge_seconds = purge_seconds
        self._next_purge = clock() + purge_seconds
        self._insert = (
            postgresql_insert if engine.dialect.name == "postgresql" else sqlite_insert
        )

    @staticmethod
    def digest(key: str) -> str:
        """What is stored for ``key`` (fixed length; no token material kept)."""
        return hashlib.sha256(key.encode()).hexdigest()

    async def check_and_record(self, key: str, expires_at: float) -> bool:
        """Record ``key`` until ``expires_at``; False if it is recorded and not yet expired."""
        digest = self.digest(key)
        current = self._clock()
        # Each statement is atomic on its own, so no transaction is needed around
        # them: autocommit saves the BEGIN/COMMIT round trips on every DSP request.
        async with self._engine.connect() as connection:
            conn = await connection.execution_options(isolation_level="AUTOCOMMIT")
            inserted = await conn.execute(
                self._insert(replay_keys)
                .values(key=digest, expires_at=expires_at)
                .on_conflict_do_nothing(index_elements=["key"])
            )
            fresh = inserted.rowcount == 1
            if not fresh:
                taken = await conn.execute(
                    sa.update(replay_keys)
                    .where(replay_keys.c.key == digest, replay_keys.c.expires_at <= current)
                    .values(expires_at=expires_at)
                )
                fresh = taken.rowcount == 1
        if current >= self._next_purge:
            await self.purge()
        return fresh

    async def purge(self) -> int:
        """Delete the rows of expired tokens; how many went."""
        current = self._clock()
        self._next_purge = current + self._purge_seconds
        async with self._engine.begin() as conn:
            result = await conn.execute(
                sa.delete(replay_keys).where(replay_keys.c.expires_at <= current)
            )
        return int(result.rowcount or 0)

    async def count(self) -> int:
        """How many token ids are remembered (expired ones not yet purged included)."""
        async with self._engine.connect() as conn:
            return int((await conn.execute(
                sa.select(sa.func.count()).select_from(replay_keys))).scalar_one())
