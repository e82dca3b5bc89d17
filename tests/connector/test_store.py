"""The store on SQLite and PostgreSQL: compare-and-set updates, keyset pages, idempotent inserts."""

from __future__ import annotations

import time

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from connector.domain.catalog import Backend, Dataset
from connector.domain.negotiation import Negotiation, NegotiationState, Role
from connector.store import catalog, outbox, processes
from connector.store.agreements import Agreement, get_agreement, insert_agreement


def _negotiation(pid: str) -> Negotiation:
    now = time.time()
    return Negotiation(id=pid, role=Role.PROVIDER, state=NegotiationState.REQUESTED,
                       provider_pid=pid, consumer_pid="c-" + pid, counterparty_id="did:c",
                       counterparty_address="http://c", offer={"@id": "o"},
                       created_at=now, updated_at=now)


async def test_a_stale_update_is_refused(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await processes.NEGOTIATION_ROWS.insert(conn, _negotiation("n1"))
    async with engine.connect() as conn:
        first = await processes.NEGOTIATION_ROWS.get(conn, "n1")
        second = await processes.NEGOTIATION_ROWS.get(conn, "n1")
    assert first is not None
    assert second is not None
    async with engine.begin() as conn:
        moved = await processes.NEGOTIATION_ROWS.update(conn, first, state=NegotiationState.AGREED)
    assert moved.version == 1
    with pytest.raises(processes.StaleProcess):
        async with engine.begin() as conn:
            await processes.NEGOTIATION_ROWS.update(conn, second,
                                               state=NegotiationState.TERMINATED)
    async with engine.connect() as conn:
        stored = await processes.NEGOTIATION_ROWS.get(conn, "n1")
        assert await processes.NEGOTIATION_ROWS.get(conn, "n1", role=Role.CONSUMER) is None
    assert stored is not None
    assert stored.state is NegotiationState.AGREED
    assert stored.offer == {"@id": "o"}


async def test_datasets_page_by_id_and_skip_red_ones(engine: AsyncEngine) -> None:
    now = time.time()
    async with engine.begin() as conn:
        for index, level in enumerate(["PUBLIC", "NON_PUBLIC", "RESTRICTED", "PUBLIC"]):
            await catalog.insert_dataset(conn, Dataset(
                id=f"d{index}", title="t", access_level=level,
                backend=Backend(address="http://b"), created_at=now, updated_at=now))
    async with engine.connect() as conn:
        first = await catalog.dataset_page(conn, after=None, limit=2, offered_only=True)
        rest = await catalog.dataset_page(conn, after=first[-1].id, limit=2,
                                          offered_only=True)
    assert [d.id for d in first] == ["d0", "d2"]
    assert [d.id for d in rest] == ["d3"]


async def test_a_dataset_reads_back_as_stored(engine: AsyncEngine) -> None:
    dataset = Dataset(
        id="full", title="Full", description="every field set", keywords=["a", "b"],
        themes=["t"], publisher="P", contact_point="mailto:x@example.org", license="CC-BY-4.0",
        access_level="RESTRICTED", media_type="text/csv", extra={"k": [1, {"v": None}]},
        backend=Backend(type="file", address="/data/x.csv", properties={"h": "v"}),
        created_at=1.5, updated_at=2.5)
    async with engine.begin() as conn:
        await catalog.insert_dataset(conn, dataset)
    async with engine.connect() as conn:
        assert await catalog.get_dataset(conn, "full") == dataset


async def test_agreements_and_outbox(engine: AsyncEngine) -> None:
    agreement = Agreement(id="a1", negotiation_id="n1", role=Role.CONSUMER, dataset_id="d",
                          assigner="did:p", assignee="did:c", policy={"@id": "a1"},
                          counterparty_id="did:p", counterparty_address="http://p",
                          created_at=time.time())
    async with engine.begin() as conn:
        await insert_agreement(conn, agreement)
        await insert_agreement(conn, agreement.model_copy(update={"dataset_id": "other"}))
        first = await outbox.add_message(conn, process_kind="negotiation", process_id="n1",
                                         url="http://p/x", audience="did:p", message={"a": 1})
        second = await outbox.add_message(conn, process_kind="negotiation", process_id="n1",
                                          url="http://p/y", audience="did:p", message={"b": 2})
    async with engine.connect() as conn:
        stored = await get_agreement(conn, "a1")
        assert stored is not None
        assert stored.dataset_id == "d"  # the first copy is kept
        later = await outbox.get_message(conn, second)
        assert later is not None
        assert await outbox.earlier_undelivered(conn, later)
    async with engine.begin() as conn:
        await outbox.mark_delivered(conn, first)
    async with engine.connect() as conn:
        assert not await outbox.earlier_undelivered(conn, later)
        pending = await outbox.pending_for(conn, "n1")
        count = (await conn.execute(sa.text("SELECT count(*) FROM agreements"))).scalar()
    assert [m.id for m in pending] == [second]
    assert count == 1
