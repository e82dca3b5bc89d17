"""Datasets, policies and offers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from connector.domain.catalog import AccessLevel, Approval, Dataset, Offer, PolicyRecord
from connector.store import _json
from connector.store.tables import datasets, offers, policies
from servicekit.rows import record

__all__ = [
    "dataset_counts",
    "dataset_owners",
    "dataset_page",
    "delete_dataset",
    "delete_offer",
    "delete_policy",
    "get_dataset",
    "get_offer",
    "get_policy",
    "insert_dataset",
    "insert_offer",
    "insert_policy",
    "list_offers",
    "list_policies",
    "offers_for",
    "policy_in_use",
    "repoint_offers",
    "update_dataset",
]


#: The dataset columns that hold JSON text; every other column is its field as is.
_DATASET_JSON = ("keywords", "themes", "extra", "backend")


def _dataset(row: sa.Row[Any]) -> Dataset:
    values = row._asdict()
    for name in _DATASET_JSON:
        values[name] = _json.loads(values[name])
    return Dataset.model_validate(values)


async def insert_dataset(conn: AsyncConnection, dataset: Dataset) -> None:
    """Store a new dataset."""
    values = dataset.model_dump(mode="json")
    for name in _DATASET_JSON:
        values[name] = _json.dumps(values[name])
    await conn.execute(datasets.insert().values(**values))


async def get_dataset(conn: AsyncConnection, dataset_id: str) -> Dataset | None:
    """The dataset ``dataset_id``."""
    row = (await conn.execute(sa.select(datasets).where(datasets.c.id == dataset_id))).first()
    return _dataset(row) if row is not None else None


async def dataset_page(
    conn: AsyncConnection, *, after: str | None, limit: int, offered_only: bool = False
) -> list[Dataset]:
    """Datasets ordered by id, after ``after`` (keyset paging).

    ``offered_only`` leaves out NON_PUBLIC datasets (never offered).
    """
    query = sa.select(datasets).order_by(datasets.c.id).limit(limit)
    if after is not None:
        query = query.where(datasets.c.id > after)
    if offered_only:
        query = query.where(datasets.c.access_level != AccessLevel.NON_PUBLIC.value,
                            datasets.c.retired_at.is_(None))
    return [_dataset(row) for row in (await conn.execute(query)).all()]


async def update_dataset(conn: AsyncConnection, dataset: Dataset) -> None:
    """Store ``dataset``'s fields over the row with its id (the id and creation time stay)."""
    values = dataset.model_dump(mode="json", exclude={"id", "created_at"})
    for name in _DATASET_JSON:
        values[name] = _json.dumps(values[name])
    await conn.execute(datasets.update().where(datasets.c.id == dataset.id).values(**values))


async def dataset_counts(conn: AsyncConnection) -> tuple[int, int]:
    """(all datasets, retired ones)."""
    row = (await conn.execute(sa.select(
        sa.func.count(),
        sa.func.count(datasets.c.retired_at),
    ).select_from(datasets))).one()
    return int(row[0]), int(row[1])


async def dataset_owners(conn: AsyncConnection,
                         dataset_ids: Sequence[str]) -> dict[str, str | None]:
    """The owner of each of ``dataset_ids`` that exists."""
    if not dataset_ids:
        return {}
    rows = (await conn.execute(sa.select(datasets.c.id, datasets.c.owner)
                               .where(datasets.c.id.in_(sorted(set(dataset_ids)))))).all()
    return {row.id: row.owner for row in rows}


async def delete_dataset(conn: AsyncConnection, dataset_id: str) -> bool:
    """Remove a dataset and its offers; False if there was none."""
    await conn.execute(offers.delete().where(offers.c.dataset_id == dataset_id))
    result = await conn.execute(datasets.delete().where(datasets.c.id == dataset_id))
    return bool(result.rowcount)


def _policy(row: sa.Row[Any]) -> PolicyRecord:
    return record(PolicyRecord, row, body=_json.loads(row.body))


async def insert_policy(conn: AsyncConnection, policy: PolicyRecord) -> None:
    """Store a new policy."""
    await conn.execute(
        policies.insert().values(id=policy.id, title=policy.title, body=_json.dumps(policy.body),
                                 created_at=policy.created_at, updated_at=policy.updated_at)
    )


async def get_policy(conn: AsyncConnection, policy_id: str) -> PolicyRecord | None:
    """The policy ``policy_id``."""
    row = (await conn.execute(sa.select(policies).where(policies.c.id == policy_id))).first()
    return _policy(row) if row is not None else None


async def list_policies(conn: AsyncConnection, *, limit: int, offset: int) -> list[PolicyRecord]:
    """Policies by id."""
    rows = (await conn.execute(
        sa.select(policies).order_by(policies.c.id).limit(limit).offset(offset)
    )).all()
    return [_policy(row) for row in rows]


async def policy_in_use(conn: AsyncConnection, policy_id: str) -> bool:
    """True when an offer refers to the policy."""
    row = (await conn.execute(
        sa.select(offers.c.id).where(
            sa.or_(offers.c.policy_id == policy_id, offers.c.access_policy_id == policy_id)
        ).limit(1)
    )).first()
    return row is not None


async def delete_policy(conn: AsyncConnection, policy_id: str) -> bool:
    """Remove a policy; False if there was none."""
    result = await conn.execute(policies.delete().where(policies.c.id == policy_id))
    return bool(result.rowcount)


async def insert_offer(conn: AsyncConnection, offer: Offer) -> None:
    """Store a new offer."""
    await conn.execute(
        offers.insert().values(
            id=offer.id, dataset_id=offer.dataset_id, policy_id=offer.policy_id,
            access_policy_id=offer.access_policy_id, approval=offer.approval.value,
            created_at=offer.created_at,
        )
    )


_contract = policies.alias("contract_policy")
_access = policies.alias("access_policy")
_OFFER_QUERY = (
    sa.select(
        offers,
        _contract.c.body.label("policy_body"),
        _access.c.body.label("access_body"),
    )
    .select_from(
        offers.join(_contract, _contract.c.id == offers.c.policy_id).outerjoin(
            _access, _access.c.id == offers.c.access_policy_id
        )
    )
)


def _offer(row: sa.Row[Any]) -> Offer:
    return record(Offer, row, approval=Approval(row.approval),
                  policy=_json.loads(row.policy_body), access_policy=_json.loads(row.access_body))


async def get_offer(conn: AsyncConnection, offer_id: str) -> Offer | None:
    """The offer ``offer_id`` with its policies."""
    row = (await conn.execute(_OFFER_QUERY.where(offers.c.id == offer_id))).first()
    return _offer(row) if row is not None else None


async def offers_for(conn: AsyncConnection, dataset_ids: Sequence[str]) -> dict[str, list[Offer]]:
    """The offers of each dataset, oldest first."""
    found: dict[str, list[Offer]] = {}
    if not dataset_ids:
        return found
    rows = (await conn.execute(
        _OFFER_QUERY.where(offers.c.dataset_id.in_(list(dataset_ids)))
        .order_by(offers.c.dataset_id, offers.c.created_at, offers.c.id)
    )).all()
    for row in rows:
        found.setdefault(row.dataset_id, []).append(_offer(row))
    return found


async def list_offers(
    conn: AsyncConnection, *, dataset_id: str | None, limit: int, offset: int
) -> list[Offer]:
    """Offers, optionally of one dataset."""
    query = _OFFER_QUERY.order_by(offers.c.created_at, offers.c.id).limit(limit).offset(offset)
    if dataset_id is not None:
        query = query.where(offers.c.dataset_id == dataset_id)
    return [_offer(row) for row in (await conn.execute(query)).all()]


async def delete_offer(conn: AsyncConnection, offer_id: str) -> bool:
    """Remove an offer; False if there was none."""
    result = await conn.execute(offers.delete().where(offers.c.id == offer_id))
    return bool(result.rowcount)


async def set_offers_approval(conn: AsyncConnection, dataset_id: str, approval: str) -> int:
    """Give every offer of ``dataset_id`` the approval mode ``approval``; how many."""
    result = await conn.execute(offers.update().where(offers.c.dataset_id == dataset_id)
                                .values(approval=approval))
    return int(result.rowcount)


async def repoint_offers(conn: AsyncConnection, dataset_id: str, policy_id: str) -> int:
    """Give every offer of ``dataset_id`` the contract policy ``policy_id``; how many."""
    result = await conn.execute(offers.update().where(offers.c.dataset_id == dataset_id)
                                .values(policy_id=policy_id))
    return int(result.rowcount)
