"""The search index on SQLite (FTS5) and PostgreSQL (tsvector), behind one interface.

:func:`index` writes a product offering's document, facets and words and
:func:`remove` takes it out, each moving the index's :func:`generation`;
:func:`bitmaps` reads the whole index as bitsets (facet counts are done in
memory, see :class:`~marketplace.domain.search.Bitmaps`); :func:`text_matches`
finds the documents with every word. The documents and facets are plain
SQLAlchemy Core; only the full-text part speaks each database's own language
(the words reaching it are runs of letters and digits, never query syntax):

- SQLite: ``search_fts`` (FTS5, ``unicode61`` with diacritics folded), rowid =
  the document's ``seq``; words match as prefixes (``"park"*``).
- PostgreSQL: ``search_documents.tsv`` (``to_tsvector('simple', ...)``, GIN
  index); words match as prefixes (``park:*``).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from marketplace.domain.search import Bitmaps, SearchDocument, bits_of, title_index
from marketplace.store.tables import search_documents as docs
from marketplace.store.tables import search_facets as facets
from marketplace.store.tables import search_generation as generations
from servicekit.db import is_postgres

__all__ = [
    "bitmaps",
    "generation",
    "index",
    "index_many",
    "remove",
    "summaries",
    "text_matches",
]

_PG_WORDS = ("UPDATE search_documents SET tsv = to_tsvector('simple', :title || ' ' || :text) "
             "WHERE seq = :seq")


async def remove(conn: AsyncConnection, document_id: str) -> None:
    """Take a product offering out of the index (nothing happens if it is not in it)."""
    seq = (await conn.execute(sa.select(docs.c.seq).where(docs.c.id == document_id))
           ).scalar_one_or_none()
    if seq is None:
        return
    await conn.execute(facets.delete().where(facets.c.seq == seq))
    if not is_postgres(conn):
        await conn.execute(sa.text("DELETE FROM search_fts WHERE rowid = :seq"), {"seq": seq})
    await conn.execute(docs.delete().where(docs.c.seq == seq))
    await _bump(conn)


async def index(conn: AsyncConnection, document: SearchDocument) -> None:
    """Put ``document`` in the index, replacing what it held for the same id."""
    await remove(conn, document.id)
    await _bump(conn)
    seq = (await conn.execute(
        docs.insert().values(id=document.id, owner=document.owner, private=document.private,
                             state=document.state, title=document.title[:500],
                             text=document.text)
        .returning(docs.c.seq))).scalar_one()
    rows = [{"seq": seq, "facet": name, "value": value[:200]}
            for name, values in document.facets.items() for value in sorted(set(values))]
    if rows:
        await conn.execute(facets.insert(), rows)
    if is_postgres(conn):
        await conn.execute(sa.text(_PG_WORDS), {"title": document.title,
                                                "text": document.text, "seq": seq})
    else:
        await conn.execute(sa.text(
            "INSERT INTO search_fts (rowid, title, text) VALUES (:seq, :title, :text)"),
            {"seq": seq, "title": document.title, "text": document.text})


async def index_many(conn: AsyncConnection, documents: Sequence[SearchDocument]) -> None:
    """Add many new documents at once (a rebuild or a bulk load; ids must not be indexed yet)."""
    if not documents:
        return
    await _bump(conn)
    seqs = (await conn.execute(
        docs.insert().returning(docs.c.seq, sort_by_parameter_order=True),
        [{"id": d.id, "owner": d.owner, "private": d.private, "state": d.state,
          "title": d.title[:500], "text": d.text} for d in documents])).scalars().all()
    rows = [{"seq": seq, "facet": name, "value": value[:200]}
            for seq, d in zip(seqs, documents, strict=True)
            for name, values in d.facets.items() for value in sorted(set(values))]
    if rows:
        await conn.execute(facets.insert(), rows)
    words = [{"seq": seq, "title": d.title, "text": d.text}
             for seq, d in zip(seqs, documents, strict=True)]
    if is_postgres(conn):
        await conn.execute(sa.text(_PG_WORDS), [
            {"seq": w["seq"], "title": w["title"], "text": w["text"]} for w in words])
    else:
        await conn.execute(sa.text(
            "INSERT INTO search_fts (rowid, title, text) VALUES (:seq, :title, :text)"),
            [{"seq": w["seq"], "title": w["title"], "text": w["text"]} for w in words])


async def _bump(conn: AsyncConnection) -> None:
    await conn.execute(generations.update().where(generations.c.id == 1)
                       .values(generation=generations.c.generation + 1))


async def generation(conn: AsyncConnection) -> int:
    """The index's generation: it moves with every change."""
    return int((await conn.execute(sa.select(generations.c.generation)
                                   .where(generations.c.id == 1))).scalar_one())


async def bitmaps(conn: AsyncConnection, public_states: frozenset[str]) -> Bitmaps:
    """The whole index as bitsets (visibility, owners, facet values, title order)."""
    at = await generation(conn)
    public: list[int] = []
    everything: list[int] = []
    owners: dict[str, list[int]] = {}
    by_title: list[int] = []
    titles: list[tuple[int, str]] = []
    rows = await conn.execute(sa.select(docs.c.seq, docs.c.owner, docs.c.private, docs.c.state,
                                        docs.c.title).order_by(docs.c.title, docs.c.id))
    for seq, owner, private, state, title in rows:
        by_title.append(seq)
        titles.append((seq, title))
        everything.append(seq)
        owners.setdefault(owner, []).append(seq)
        if not private and state in public_states:
            public.append(seq)
    values: dict[str, dict[str, list[int]]] = {}
    for seq, facet, value in await conn.execute(
            sa.select(facets.c.seq, facets.c.facet, facets.c.value)):
        values.setdefault(facet, {}).setdefault(value, []).append(seq)
    words, index = title_index(titles)
    return Bitmaps(
        generation=at,
        facets={f: {v: bits_of(s) for v, s in vs.items()} for f, vs in values.items()},
        public=bits_of(public), everything=bits_of(everything),
        owners={o: bits_of(s) for o, s in owners.items()}, by_title=by_title,
        title_words=words, title_index=index)


async def text_matches(conn: AsyncConnection, words: Sequence[str]) -> list[int]:
    """The documents with every word (as a prefix) anywhere in their title or text.

    The list comes back as one aggregated string, so a common word that
    matches tens of thousands of products costs one row, not one per product.
    """
    if not words:
        return []
    if is_postgres(conn):
        joined = (await conn.execute(sa.text(
            "SELECT string_agg(seq::text, ',') FROM search_documents "
            "WHERE tsv @@ to_tsquery('simple', :q)"),
            {"q": " & ".join(f"{w}:*" for w in words)})).scalar_one()
    else:
        joined = (await conn.execute(sa.text(
            "SELECT group_concat(rowid) FROM search_fts WHERE search_fts MATCH :q"),
            {"q": " ".join(f'"{w}"*' for w in words)})).scalar_one()
    return _ints(joined)


def _ints(joined: str | None) -> list[int]:
    return [int(s) for s in joined.split(",")] if joined else []


async def summaries(conn: AsyncConnection, seqs: Sequence[int]) -> dict[int, tuple[str, str]]:
    """``seq -> (id, title)`` of the given documents."""
    if not seqs:
        return {}
    rows = await conn.execute(sa.select(docs.c.seq, docs.c.id, docs.c.title)
                              .where(docs.c.seq.in_(list(seqs))))
    return {seq: (doc_id, title) for seq, doc_id, title in rows}
