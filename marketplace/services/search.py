"""Searching the data products: free text and facets, with counts, for every caller.

The full text is the database's (FTS5 or tsvector, :mod:`marketplace.store.search`);
visibility, facet filters and facet counts are bitset operations on
:class:`~marketplace.domain.search.Bitmaps`, kept in memory per process and
rebuilt when the index's generation moves (one cheap read per search tells).
So a search is at most three statements: the generation, the words (one
aggregated row however many products match), the titles of the page.
Relevance is what a catalogue needs: products with the words in their title
first, then the others with them anywhere, each in title order.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from marketplace.domain.search import (
    Bitmaps,
    FacetCount,
    Membership,
    SearchDocument,
    SearchHit,
    SearchQuery,
    bits_of,
    document_of,
)
from marketplace.services.callers import Caller
from marketplace.store import resources
from marketplace.store import search as store

__all__ = ["PUBLIC_STATES", "Search", "SearchResult"]

#: Others' products are found in these states.
PUBLIC_STATES = frozenset({"launched"})


@dataclass(frozen=True)
class SearchResult:
    """One page of hits, how many matched, and the facet counts over the matches."""

    hits: list[SearchHit]
    total: int
    facets: list[FacetCount]


class Search:
    """Find data products; keep the index current as products change."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._bitmaps: Bitmaps | None = None
        self._loading = asyncio.Lock()

    async def index(self, conn: AsyncConnection, document: SearchDocument) -> None:
        """(Re)index a product offering in the caller's transaction."""
        await store.index(conn, document)

    async def remove(self, conn: AsyncConnection, document_id: str) -> None:
        """Take a product offering out of the index in the caller's transaction."""
        await store.remove(conn, document_id)

    async def sync(self, conn: AsyncConnection, offering_id: str) -> None:
        """Index the current version of offering ``offering_id`` as it now stands (or drop it)."""
        offering = await resources.get(conn, "productOffering", offering_id)
        if offering is None:
            await store.remove(conn, offering_id)
            return
        spec_ref = offering.body.get("productSpecification") or {}
        spec = (await resources.get(conn, "productSpecification", str(spec_ref["id"]))
                if isinstance(spec_ref, dict) and spec_ref.get("id") else None)
        plans = []
        for ref in offering.body.get("productOfferingPrice") or []:
            if isinstance(ref, dict) and ref.get("id"):
                plan = await resources.get(conn, "productOfferingPrice", str(ref["id"]),
                                           ref.get("version"))
                if plan is not None:
                    plans.append(plan.body)
        await store.index(conn, document_of(
            offering.body, spec.body if spec else None, plans, owner=offering.owner,
            private=offering.private, state=offering.state))

    async def sync_related(self, conn: AsyncConnection, kind: str, row_id: str) -> None:
        """Re-index the offerings a changed catalog item shows in."""
        if kind == "productOffering":
            await self.sync(conn, row_id)
            return
        if kind == "productOfferingPrice":
            plan = await resources.get(conn, kind, row_id)
            if plan is not None and plan.parent:
                await self.sync(conn, plan.parent)
        elif kind == "productSpecification":
            for offering_id in await resources.ids_where(
                    conn, "productOffering", ("productSpecification", "id"), row_id):
                await self.sync(conn, offering_id)

    async def _current(self, conn: AsyncConnection) -> Bitmaps:
        at = await store.generation(conn)
        if self._bitmaps is None or self._bitmaps.generation != at:
            async with self._loading:
                if self._bitmaps is None or self._bitmaps.generation != at:
                    self._bitmaps = await store.bitmaps(conn, PUBLIC_STATES)
        return self._bitmaps

    async def find(self, query: SearchQuery, caller: Caller) -> SearchResult:
        """The products ``caller`` may see that match ``query``."""
        async with self.engine.connect() as conn:
            maps = await self._current(conn)
            bits = maps.narrow(maps.visible(caller.did or None, caller.operator), query.facets)
            titled = 0
            if query.words:
                bits &= bits_of(await store.text_matches(conn, query.words))
                titled = bits & maps.titled(query.words)
            total = bits.bit_count()
            # relevance: the words in the title first, then elsewhere; title order within each
            first = maps.in_title_order(titled, query.offset, query.limit)
            skip = max(0, query.offset - titled.bit_count())
            page = first + maps.in_title_order(bits & ~titled, skip, query.limit - len(first))
            titles = await store.summaries(conn, page)
        in_title = Membership(titled)
        hits = [SearchHit(id=titles[s][0], title=titles[s][1],
                          score=1.0 if s in in_title else 0.5 if query.words else 0.0)
                for s in page if s in titles]
        return SearchResult(hits=hits, total=total, facets=maps.counts(bits))
