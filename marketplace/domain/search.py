"""Searching the data products: what is indexed, what is asked, what comes back.

One :class:`SearchDocument` per product offering (its current version): the
words people search for (title, description, keywords, the provider's name)
and the facets they narrow by. Facets are multi-valued (a product has
several themes and formats). A query is free text plus facet filters: values
of one facet are alternatives ("theme is transport or environment"), different
facets must all hold. Facet counts are computed over the final matches (one
query's worth of work; what a shop's sidebar shows).
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from servicekit.errors import InvalidRequest

__all__ = [
    "FACETS",
    "Bitmaps",
    "FacetCount",
    "Membership",
    "SearchDocument",
    "SearchHit",
    "SearchQuery",
    "bits_of",
    "document_of",
    "fold",
    "search_query",
    "title_index",
]

#: The facets a product can be narrowed by.
FACETS = ("theme", "publisher", "accessLevel", "licence", "format", "priceType")
_MAX_TEXT = 200
_MAX_VALUES = 20
_WORD = re.compile(r"\w+", re.UNICODE)
#: A title word on more documents than this keeps a bitset; rarer ones a tuple of seqs.
_DENSE = 256


@dataclass(frozen=True)
class SearchDocument:
    """What the index holds of one product offering."""

    id: str
    owner: str
    private: bool
    state: str
    title: str
    text: str
    facets: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class SearchQuery:
    """Free text (any word order; every word must match, prefixes allowed) and facet filters."""

    text: str = ""
    facets: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    limit: int = 20
    offset: int = 0

    @property
    def words(self) -> list[str]:
        """The query's words (letters and digits; punctuation is not syntax here)."""
        return _WORD.findall(self.text.lower())[:20]


@dataclass(frozen=True)
class SearchHit:
    """One matching product offering."""

    id: str
    title: str
    score: float


@dataclass(frozen=True)
class FacetCount:
    """How many matches have ``value`` for ``facet``."""

    facet: str
    value: str
    count: int


def search_query(params: Mapping[str, str], *, limit: int, offset: int) -> SearchQuery:
    """The query of ``q`` and one parameter per facet (comma-separated alternatives)."""
    text = params.get("q", "")
    if len(text) > _MAX_TEXT:
        raise InvalidRequest(f"q: at most {_MAX_TEXT} characters", code="search-invalid")
    facets: dict[str, tuple[str, ...]] = {}
    for name in FACETS:
        raw = params.get(name)
        if raw is None:
            continue
        values = tuple(v.strip() for v in raw.split(",") if v.strip())
        if not values or len(values) > _MAX_VALUES:
            raise InvalidRequest(f"{name}: 1 to {_MAX_VALUES} comma-separated values",
                                 code="search-invalid")
        facets[name] = values
    return SearchQuery(text=text, facets=facets, limit=limit, offset=offset)


def fold(word: str) -> str:
    """A word as titles are indexed in memory: lower case, accents dropped (é → e; ø stays)."""
    decomposed = unicodedata.normalize("NFKD", word.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


#: Documents as a bitset, or (when few) as a tuple of seqs.
Postings = int | tuple[int, ...]


def title_index(titles: Iterable[tuple[int, str]]) -> tuple[list[str], dict[str, Postings]]:
    """The sorted title words and, for each, its documents (sparse as a tuple when few)."""
    postings: dict[str, list[int]] = {}
    for seq, title in titles:
        for word in set(_WORD.findall(title)):
            postings.setdefault(fold(word), []).append(seq)
    index: dict[str, Postings] = {
        word: bits_of(seqs) if len(seqs) > _DENSE else tuple(seqs)
        for word, seqs in postings.items()}
    return sorted(index), index


def bits_of(seqs: Iterable[int]) -> int:
    """The bitset (a Python int) with bit ``seq`` set for each of ``seqs``."""
    seqs = list(seqs)
    if not seqs:
        return 0
    buffer = bytearray(max(seqs) // 8 + 1)
    for seq in seqs:
        buffer[seq >> 3] |= 1 << (seq & 7)
    return int.from_bytes(buffer, "little")


@dataclass
class Bitmaps:
    """The index's facets and visibility as bitsets, so facet counts cost microseconds.

    A bitset is a Python ``int`` with bit ``seq`` set for each document; an
    intersection is ``&`` and a count is ``int.bit_count``, so counting every
    facet value over tens of thousands of matches is a few hundred
    operations on 12 KiB integers rather than a ``GROUP BY`` over every facet
    row of every match. Built from the store at one ``generation`` of the
    index and rebuilt when the generation moves.
    """

    generation: int
    #: facet -> value -> documents with that value.
    facets: dict[str, dict[str, int]]
    #: Public documents in a publicly visible state.
    public: int
    #: Every document.
    everything: int
    #: owner DID -> its documents.
    owners: dict[str, int]
    #: Every document's seq in title order (the order of a browse).
    by_title: list[int]
    #: The words of the titles (folded as :func:`fold` folds them), sorted, and for
    #: each the documents whose title has it (a bitset, or a short tuple of seqs).
    title_words: list[str] = field(default_factory=list)
    title_index: dict[str, Postings] = field(default_factory=dict)

    def titled(self, words: Iterable[str]) -> int:
        """The documents whose title has every one of ``words`` (each as a prefix)."""
        result = -1
        for word in words:
            word = fold(word)
            start = bisect.bisect_left(self.title_words, word)
            either = 0
            for token in self.title_words[start:]:
                if not token.startswith(word):
                    break
                members = self.title_index[token]
                either |= members if isinstance(members, int) else bits_of(members)
            result &= either
        return max(result, 0)

    def visible(self, viewer: str | None, operator: bool) -> int:
        """What a caller may see: all (operator), or the public ones and its own."""
        if operator:
            return self.everything
        return self.public | (self.owners.get(viewer, 0) if viewer else 0)

    def narrow(self, bits: int, facets: Mapping[str, tuple[str, ...]]) -> int:
        """``bits`` with every facet filter applied (values of one facet are alternatives)."""
        for name, values in facets.items():
            known = self.facets.get(name, {})
            either = 0
            for value in values:
                either |= known.get(value, 0)
            bits &= either
        return bits

    def counts(self, bits: int, shown: int = 20) -> list[FacetCount]:
        """For each facet, the values most common among ``bits`` (with their counts)."""
        counted: list[FacetCount] = []
        for name in FACETS:
            values = [(value, (bits & members).bit_count())
                      for value, members in self.facets.get(name, {}).items()]
            values = sorted((v for v in values if v[1]), key=lambda v: (-v[1], v[0]))[:shown]
            counted.extend(FacetCount(name, value, n) for value, n in values)
        return counted

    def in_title_order(self, bits: int, offset: int, limit: int) -> list[int]:
        """The ``offset``-th to ``offset + limit``-th documents of ``bits`` in title order."""
        if limit <= 0 or not bits:
            return []
        member = Membership(bits)
        page: list[int] = []
        skipped = 0
        for seq in self.by_title:
            if seq in member:
                if skipped < offset:
                    skipped += 1
                    continue
                page.append(seq)
                if len(page) == limit:
                    break
        return page


class Membership:
    """O(1) ``seq in bits`` (a shift of a large int is O(size); a byte look-up is not)."""

    __slots__ = ("_bytes",)

    def __init__(self, bits: int) -> None:
        self._bytes = bits.to_bytes(max(1, (bits.bit_length() + 7) // 8), "little")

    def __contains__(self, seq: int) -> bool:
        index = seq >> 3
        return index < len(self._bytes) and bool(self._bytes[index] >> (seq & 7) & 1)


def _characteristics(spec: Mapping[str, Any]) -> dict[str, list[str]]:
    values: dict[str, list[str]] = {}
    for item in spec.get("productSpecCharacteristic") or []:
        if not isinstance(item, Mapping):
            continue
        found = [str(v.get("value")) for v in item.get("productSpecCharacteristicValue") or []
                 if isinstance(v, Mapping) and v.get("value") is not None]
        values[str(item.get("name"))] = found
    return values


def _price_type(plan: Mapping[str, Any]) -> str:
    price = plan.get("price") or {}
    if plan.get("priceType") == "oneTime" and str(price.get("value", "")) in {"0", "0.0", "0.00"}:
        return "free"
    return str(plan.get("priceType") or "")


def _publisher(*bodies: Mapping[str, Any], default: str) -> str:
    for body in bodies:
        for party in body.get("relatedParty") or []:
            if isinstance(party, Mapping) and party.get("name"):
                return str(party["name"])
    return default


def document_of(offering: Mapping[str, Any], spec: Mapping[str, Any] | None,
                plans: Iterable[Mapping[str, Any]], *, owner: str, private: bool,
                state: str) -> SearchDocument:
    """The search document of a product offering (TMF620 bodies as served)."""
    spec = spec or {}
    traits = _characteristics(spec)
    words = [str(offering.get("description") or ""), str(spec.get("name") or ""),
             str(spec.get("description") or ""), str(spec.get("brand") or ""),
             *traits.get("theme", []), *traits.get("keyword", [])]
    return SearchDocument(
        id=str(offering["id"]), owner=owner, private=private, state=state,
        title=str(offering.get("name") or spec.get("name") or offering["id"]),
        text=" ".join(w for w in words if w),
        facets={"theme": tuple(traits.get("theme", [])),
                "format": tuple(traits.get("format", [])),
                "licence": tuple(traits.get("licence", [])),
                "accessLevel": tuple(traits.get("accessLevel", [])),
                "publisher": (_publisher(offering, spec, default=owner),),
                "priceType": tuple(sorted({t for t in map(_price_type, plans) if t}))})
