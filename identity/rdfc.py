"""RDF Dataset Canonicalization (RDFC-1.0) with canonical N-Quads and a bound on its work.

pyld's URDNA2015 does the blank-node labelling; serializing the quads is ours,
so literals with control characters come out as RDFC-1.0 writes them, and a
crafted graph (RDFC-1.0 section 4.4, "poison graphs") is refused with
:class:`TooComplex` rather than allowed to run for hours.
:func:`identity.jsonld.canonicalize` is the entry point.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import Any

from pyld.canon import URDNA2015

__all__ = ["Rdfc10", "TooComplex"]

# Blank-node labelling limits. Credentials are trees with few anonymous
# nodes; only indistinguishable blank nodes reach the n-degree step at all.
_MAX_N_DEGREE_CALLS = 2_000
_MAX_RELATED_GROUP = 6  # 6! = 720 orderings tried per group, at most


class TooComplex(Exception):
    """The graph's blank-node labelling would take too long: refused, not run."""


_RDF_LANGSTRING = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"
_XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
# Canonical N-Quads (RDFC-1.0, RDF 1.2 N-Quads): these get ECHARs, the other
# C0 controls and DEL get \u00XX. pyld escapes only tab, LF, CR, " and \.
_ECHAR = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f"}
_NEEDS_ESCAPE = re.compile(r'[\x00-\x1f\x7f"\\]')


def _escape_literal(value: str) -> str:
    return _NEEDS_ESCAPE.sub(lambda m: _ECHAR.get(m.group(), f"\\u{ord(m.group()):04X}"), value)


def _term(component: Mapping[str, Any]) -> str:
    kind, value = component["type"], component["value"]
    if kind == "IRI":
        return f"<{value}>"
    if kind == "blank node":
        return str(value)
    text = f'"{_escape_literal(value)}"'
    datatype = component.get("datatype") or _XSD_STRING
    if datatype == _RDF_LANGSTRING:
        return f"{text}@{component.get('language', '')}"
    return text if datatype == _XSD_STRING else f"{text}^^<{datatype}>"


def _nquad(quad: Mapping[str, Any]) -> str:
    parts = [_term(quad["subject"]), _term(quad["predicate"]), _term(quad["object"])]
    graph = quad.get("name")
    if graph is not None and graph.get("value") not in (None, "@default"):
        parts.append(_term(graph))
    return " ".join(parts) + " .\n"


class Rdfc10(URDNA2015):  # type: ignore[misc]  # pyld ships no types
    """pyld's URDNA2015 with canonical N-Quads escaping and a bound on its work.

    The labelling steps are pyld's; serializing quads (for the first-degree
    hashes and the output) is ours, so literals with control characters come
    out as RDFC-1.0 writes them. Graphs whose labelling would explode are
    refused (:class:`TooComplex`).
    """

    def __init__(self) -> None:
        super().__init__()
        self._n_degree_calls = 0

    def canonical_nquads(self, dataset: Any) -> str:
        self.main(dataset, {"format": "application/n-quads"})
        # main() relabelled self.quads in place with the canonical identifiers.
        return "".join(sorted(_nquad(q) for q in self.quads))

    def hash_first_degree_quads(self, id_: str) -> str:
        info = self.blank_node_info[id_]
        if "hash" not in info:
            lines = []
            for quad in info["quads"]:
                relabelled = {
                    key: (
                        {**c, "value": "_:a" if c["value"] == id_ else "_:z"}
                        if key != "predicate" and c["type"] == "blank node"
                        else c
                    )
                    for key, c in quad.items()
                }
                lines.append(_nquad(relabelled))
            info["hash"] = hashlib.sha256("".join(sorted(lines)).encode()).hexdigest()
        return str(info["hash"])

    def hash_n_degree_quads(self, id_: str, issuer: Any) -> Any:
        self._n_degree_calls += 1
        if self._n_degree_calls > _MAX_N_DEGREE_CALLS:
            raise TooComplex
        return super().hash_n_degree_quads(id_, issuer)

    def create_hash_to_related(self, id_: str, issuer: Any) -> Any:
        related = super().create_hash_to_related(id_, issuer)
        if any(len(nodes) > _MAX_RELATED_GROUP for nodes in related.values()):
            raise TooComplex
        return related
