"""The DCP stores on SQLite and PostgreSQL: replay keys shared by replicas, our credentials."""

from __future__ import annotations

import asyncio
import time

from sqlalchemy.ext.asyncio import AsyncEngine

from connector.store import holder as store
from connector.store.replay import DatabaseReplayStore
from identity.replay import ReplayStore
from tests.fakes import FakeClock


async def test_a_key_is_accepted_once_until_it_expires(engine: AsyncEngine) -> None:
    clock = FakeClock(time.time())
    replay = DatabaseReplayStore(engine, clock=clock)
    assert isinstance(replay, ReplayStore)
    assert await replay.check_and_record("did:web:a\njti-1", clock.now + 60)
    assert not await replay.check_and_record("did:web:a\njti-1", clock.now + 60)
    assert await replay.check_and_record("did:web:b\njti-1", clock.now + 60)
    clock.now += 61  # expired: the id may be used again (its token no longer verifies anyway)
    assert await replay.check_and_record("did:web:a\njti-1", clock.now + 60)
    assert not await replay.check_and_record("did:web:a\njti-1", clock.now + 60)


async def test_two_replicas_on_one_database_accept_a_key_once(engine: AsyncEngine) -> None:
    first, second = DatabaseReplayStore(engine), DatabaseReplayStore(engine)
    expires = time.time() + 60
    results = await asyncio.gather(*(
        (first if i % 2 else second).check_and_record("did:web:a\nraced", expires)
        for i in range(12)))
    assert sorted(results) == [False] * 11 + [True]


async def test_expired_keys_are_purged(engine: AsyncEngine) -> None:
    clock = FakeClock(time.time())
    replay = DatabaseReplayStore(engine, clock=clock, purge_seconds=10)
    for i in range(5):
        await replay.check_and_record(f"k{i}", clock.now + (1 if i < 3 else 100))
    clock.now += 11  # past the purge interval: the next call purges what has expired
    assert await replay.check_and_record("k-late", clock.now + 100)
    assert await replay.count() == 3
    assert not await replay.check_and_record("k4", clock.now + 100)


async def test_the_store_keeps_digests_not_token_ids(engine: AsyncEngine) -> None:
    replay = DatabaseReplayStore(engine)
    await replay.check_and_record("did:web:a\nsecret-jti", time.time() + 60)
    from sqlalchemy import select

    from connector.store.tables import replay_keys
    async with engine.connect() as conn:
        keys = (await conn.execute(select(replay_keys.c.key))).scalars().all()
    assert keys == [DatabaseReplayStore.digest("did:web:a\nsecret-jti")]
    assert all("secret" not in key for key in keys)


async def test_a_credential_is_stored_once_and_found_by_type(engine: AsyncEngine) -> None:
    now = time.time()
    record = store.CredentialRecord(
        id="r1", credential_id="urn:uuid:vc-1", types=["MembershipCredential"],
        issuer="did:web:ta", subject="did:web:me", format="vc+jwt", raw="eyJ.a.b",
        claims={"id": "did:web:me"}, valid_until=now + 3600, source="oid4vci", created_at=now)
    json_record = record.model_copy(update={
        "id": "r2", "credential_id": None, "types": ["DataProductPurchaseCredential"],
        "raw": {"type": ["VerifiableCredential"]}, "format": "ldp_vc", "created_at": now + 1})
    async with engine.begin() as conn:
        assert (await store.insert_credential(conn, record)).id == "r1"
        again = record.model_copy(update={"id": "r9"})
        assert (await store.insert_credential(conn, again)).id == "r1"
        await store.insert_credential(conn, json_record)
    async with engine.connect() as conn:
        everything = await store.list_credentials(conn)
        members = await store.list_credentials(conn, credential_type="MembershipCredential")
        second = await store.get_credential(conn, "r2")
    assert [r.id for r in everything] == ["r1", "r2"]
    assert [r.id for r in members] == ["r1"]
    assert second is not None
    assert second.raw == {"type": ["VerifiableCredential"]}
    async with engine.begin() as conn:
        assert await store.delete_credential(conn, "r1")
        assert not await store.delete_credential(conn, "r1")
