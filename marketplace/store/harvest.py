"""The federated view: datasets harvested from the providers' DSP catalogs.

One row per (publisher DID, dataset id). A harvest replaces a publisher's
rows as a whole, so a dataset the provider withdrew disappears with the
next harvest; publishers that left the data space are dropped.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from marketplace.domain.federation import HarvestedDataset
from marketplace.store.tables import harvested_datasets

__all__ = ["drop_publishers_except", "find", "publisher_names", "publishers",
           "replace_publisher"]

_T = harvested_datasets


def _row(row: sa.Row[Any]) -> HarvestedDataset:
    return HarvestedDataset(publisher=row.publisher, publisher_name=row.publisher_name,
                            dataset_id=row.dataset_id, title=row.title, text=row.text,
                            dsp_address=row.dsp_address, body=dict(row.body),
                            harvested_at=row.harvested_at)


async def replace_publisher(conn: AsyncConnection, publisher: str,
                            datasets: Sequence[HarvestedDataset]) -> None:
    """Make ``datasets`` the publisher's whole harvested catalog."""
    await conn.execute(sa.delete(_T).where(_T.c.publisher == publisher))
    if datasets:
        await conn.execute(sa.insert(_T), [
            {"publisher": d.publisher, "publisher_name": d.publisher_name[:500],
             "dataset_id": d.dataset_id, "title": d.title[:500], "text": d.text,
             "dsp_address": d.dsp_address, "body": d.body, "harvested_at": d.harvested_at}
            for d in datasets])


async def drop_publishers_except(conn: AsyncConnection, keep: Collection[str]) -> int:
    """Forget the datasets of every publisher not in ``keep``; how many rows went."""
    query = sa.delete(_T)
    if keep:
        query = query.where(_T.c.publisher.not_in(list(keep)))
    return (await conn.execute(query)).rowcount or 0


async def publishers(conn: AsyncConnection) -> list[str]:
    """The publishers with harvested datasets."""
    return list((await conn.execute(sa.select(_T.c.publisher).distinct())).scalars())


async def publisher_names(conn: AsyncConnection) -> dict[str, str]:
    """Each harvested publisher's legal name, by DID."""
    rows = await conn.execute(sa.select(_T.c.publisher, _T.c.publisher_name).distinct())
    return {row.publisher: row.publisher_name for row in rows if row.publisher_name}


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def find(conn: AsyncConnection, *, q: str | None = None, publisher: str | None = None,
               limit: int = 50, offset: int = 0) -> tuple[list[HarvestedDataset], int]:
    """A page of harvested datasets (by title, then publisher and id) and how many match.

    ``q`` matches words of the title, description or keywords (case-insensitive,
    every word must occur); ``publisher`` is a DID.
    """
    conditions: list[sa.ColumnElement[bool]] = []
    if publisher is not None:
        conditions.append(_T.c.publisher == publisher)
    for word in (q or "").lower().split()[:10]:
        conditions.append(_T.c.text.like(f"%{_escape(word)}%", escape="\\"))
    total = (await conn.execute(
        sa.select(sa.func.count()).select_from(_T).where(*conditions))).scalar_one()
    rows = (await conn.execute(
        sa.select(_T).where(*conditions)
        .order_by(_T.c.title, _T.c.publisher, _T.c.dataset_id).limit(limit).offset(offset)
    )).all()
    return [_row(row) for row in rows], int(total)
