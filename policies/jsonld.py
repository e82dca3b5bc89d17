"""Full JSON-LD input: expand with pyld (local contexts only), then read as compact JSON.

A policy written with the W3C ODRL context, an inline context, ``odrl:``
prefixes or expanded IRIs is expanded by pyld with a document loader that
serves only bundled contexts (see ``data/README.md``); any other remote
context is an ``unknown-context`` issue, never a network call. Properties
that expansion would drop (terms the contexts do not define) are reported
as ``unknown-property`` instead of vanishing. The expanded graph is turned
back into the compact form :mod:`policies.parse` reads.

pyld is imported only here, and only when such a document arrives.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from importlib import resources
from typing import Any

from policies.errors import Issue
from policies.profile import DST_CONTEXT, Terms
from policies.values import xsd_name
from policies.vocabulary import ODRL_CONTEXT, ODRL_NS, RDF_NS

__all__ = ["LOCAL_CONTEXTS", "expand_to_compact"]

#: Context URL -> bundled file name.
LOCAL_CONTEXTS: Mapping[str, str] = {
    ODRL_CONTEXT: "odrl.jsonld",
    ODRL_CONTEXT.replace("http://", "https://"): "odrl.jsonld",
    DST_CONTEXT: "dataspace-profile.jsonld",
}
_POLICY_TYPES = frozenset(
    ODRL_NS + t for t in ("Set", "Offer", "Agreement", "Policy", "Request", "Ticket")
)
_MULTI = frozenset(
    {
        "permission",
        "prohibition",
        "obligation",
        "duty",
        "constraint",
        "refinement",
        "consequence",
        "remedy",
        "and",
        "or",
        "xone",
        "andSequence",
        "profile",
        "inheritFrom",
    }
)


class UnknownContext(Exception):
    """Raised by the loader for a context URL that is not bundled."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.url = url


def _load_document(url: str, options: dict[str, Any] | None = None) -> dict[str, Any]:
    name = LOCAL_CONTEXTS.get(url)
    if name is None:
        raise UnknownContext(url)
    text = resources.files("policies").joinpath("data", name).read_text("utf-8")
    return {
        "contentType": "application/ld+json",
        "contextUrl": None,
        "documentUrl": url,
        "document": json.loads(text),
    }


class _Compactor:
    def __init__(self, terms: Terms) -> None:
        self.terms = terms

    def iri(self, iri: str) -> str:
        if iri.startswith(ODRL_NS):
            return iri[len(ODRL_NS) :]
        if iri == RDF_NS + "value":
            return "rdf:value"
        for profile in self.terms.profiles.values():
            if iri.startswith(profile.namespace):
                return profile.compact(iri[len(profile.namespace) :])
        return xsd_name(iri) or iri

    def value(self, item: Any) -> Any:
        if not isinstance(item, Mapping):
            return item
        if "@list" in item:
            return [self.value(v) for v in item["@list"]]
        if "@value" in item:
            if "@type" in item:
                return {"@value": item["@value"], "@type": self.iri(item["@type"])}
            return item["@value"]
        if set(item) == {"@id"}:
            return {"@id": item["@id"]}
        return self.node(item)

    def node(self, node: Mapping[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, values in node.items():
            if key == "@id":
                out["@id"] = values
                continue
            if key == "@type":
                types = [self.iri(t) for t in values]
                out["@type"] = types[0] if len(types) == 1 else types
                continue
            name = self.iri(key)
            converted = [self.value(v) for v in values]
            out[name] = converted[0] if len(converted) == 1 and name not in _MULTI else converted
        return out


def _policy_nodes(expanded: list[Any]) -> list[Mapping[str, Any]]:
    nodes: list[Mapping[str, Any]] = []
    for node in expanded:
        if not isinstance(node, Mapping):
            continue
        if "@graph" in node:
            nodes.extend(_policy_nodes(node["@graph"]))
        elif _POLICY_TYPES & set(node.get("@type", ())) or len(expanded) == 1:
            nodes.append(node)
    return nodes


def expand_to_compact(document: Any, terms: Terms) -> tuple[dict[str, Any] | None, list[Issue]]:
    """Expand a JSON-LD policy and return its compact form (or the issues that stop it)."""
    from pyld import jsonld

    dropped: list[str] = []
    try:
        expanded = jsonld.expand(
            document,
            {"documentLoader": _load_document, "base": ""},
            on_property_dropped=lambda prop: dropped.append(str(prop)),
        )
    except jsonld.JsonLdError as exc:
        cause: BaseException | None = exc
        while cause is not None and not isinstance(cause, UnknownContext):
            cause = cause.__cause__ or getattr(cause, "cause", None)
        if isinstance(cause, UnknownContext):
            message = f"context {cause.url} is not available locally; contexts are never fetched"
            return None, [Issue("unknown-context", "/@context", message)]
        return None, [Issue("invalid-jsonld", "", f"JSON-LD expansion failed: {exc}")]
    issues = [
        Issue("unknown-property", "", f"{prop!r} is not defined by the document's context")
        for prop in dropped
    ]
    nodes = _policy_nodes(expanded)
    if len(nodes) != 1:
        issues.append(Issue("invalid-structure", "", "expected exactly one policy in the graph"))
    if issues:
        return None, issues
    return _Compactor(terms).node(nodes[0]), []
