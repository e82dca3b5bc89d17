"""JSON-LD for Data Integrity: bundled contexts, a loader that never fetches, RDFC-1.0.

:func:`local_document_loader` serves the contexts in ``identity/contexts/``
(their origin and hashes are in its README) and refuses every other URL with
a ``credential-malformed`` :class:`~identity.errors.VerificationError`: a
credential can make us read only files we ship, never the network.

:func:`canonicalize` turns a JSON-LD document into RDF Dataset
Canonicalization (RDFC-1.0, the URDNA2015 algorithm) N-Quads with pyld, in
a "safe mode" like the one Data Integrity asks for: a property the contexts
do not define, or a relative ``@id``/``@type``, would vanish from the
canonical form and so from what is signed; here it is an error instead. The
blank-node labelling is bounded, so a crafted graph (RDFC-1.0 section 4.4,
"poison graphs") is refused rather than allowed to run for hours.

Canonicalization is pure Python and takes milliseconds; async callers should
run it off the event loop (:mod:`identity.data_integrity` does).
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from functools import cache
from importlib import resources
from typing import Any

import orjson
from pyld import jsonld
from pyld.context_resolver import ContextResolver

from identity.errors import VerificationError
from identity.rdfc import Rdfc10, TooComplex

__all__ = [
    "CONTEXT_FILES",
    "DocumentLoader",
    "JsonLdProblem",
    "canonicalize",
    "document_loader",
    "expand",
    "local_document_loader",
]

#: Context URL -> file in ``identity/contexts/``. Matched exactly.
CONTEXT_FILES: Mapping[str, str] = {
    "https://www.w3.org/ns/credentials/v2": "credentials-v2.jsonld",
    "https://www.w3.org/ns/credentials/undefined-terms/v2": "undefined-terms-v2.jsonld",
    "https://www.w3.org/2018/credentials/v1": "credentials-v1.jsonld",
    "https://w3id.org/security/data-integrity/v2": "data-integrity-v2.jsonld",
    "https://w3id.org/security/data-integrity/v1": "data-integrity-v1.jsonld",
    "https://w3id.org/security/multikey/v1": "multikey-v1.jsonld",
    "https://www.w3.org/ns/did/v1": "did-v1.jsonld",
    "https://w3id.org/security/suites/jws-2020/v1": "jws-2020-v1.jsonld",
    "https://www.w3.org/ns/credentials/examples/v2": "credentials-examples-v2.jsonld",
}

#: pyld's document loader signature: (url, options) -> remote document.
DocumentLoader = Callable[[str, Any], dict[str, Any]]

_ABSOLUTE_IRI = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:")
_lock = threading.Lock()


class _BoundedCache(OrderedDict[str, Any]):
    """A small least-recently-stored cache (pyld keys inline contexts too)."""

    def __init__(self, maxsize: int) -> None:
        super().__init__()
        self.maxsize = maxsize

    def __setitem__(self, key: str, value: Any) -> None:
        super().__setitem__(key, value)
        self.move_to_end(key)
        while len(self) > self.maxsize:
            self.popitem(last=False)


# pyld keeps resolved contexts in a process-wide cache keyed by URL, shared
# with any other pyld user (a loader that serves other files, or fetches).
# Ours is private, so only our loader ever decides what a URL means here.
_resolved_contexts = _BoundedCache(maxsize=64)


@cache
def _context_bytes(name: str) -> bytes:
    return resources.files("identity").joinpath("contexts", name).read_bytes()


def document_loader(extra: Mapping[str, Mapping[str, Any]] | None = None) -> DocumentLoader:
    """A loader serving the bundled contexts plus ``extra`` (URL -> parsed document).

    ``extra`` is for tests and closed deployments that need one more
    context; it never widens what :func:`local_document_loader` accepts.
    """
    added = {url: orjson.dumps(document) for url, document in (extra or {}).items()}

    def load(url: str, options: Any = None) -> dict[str, Any]:
        raw = added.get(url)
        if raw is None:
            name = CONTEXT_FILES.get(url)
            if name is None:
                raise VerificationError(
                    f"JSON-LD context {url[:200]} is not one we ship; contexts are never fetched",
                    code="credential-malformed",
                    extra={"context": url[:200]},
                )
            raw = _context_bytes(name)
        return {
            "contentType": "application/ld+json",
            "contextUrl": None,
            "documentUrl": url,
            "document": orjson.loads(raw),  # a fresh copy: pyld may keep or alter it
        }

    return load


#: Serves only the contexts in ``identity/contexts/``; refuses any other URL.
local_document_loader: DocumentLoader = document_loader()


def _walk(value: Any) -> Iterator[Mapping[str, Any]]:
    if isinstance(value, list):
        for item in value:
            yield from _walk(item)
    elif isinstance(value, Mapping):
        yield value
        for key, item in value.items():
            if key != "@value":  # a @json literal's members are data, not nodes
                yield from _walk(item)


def _unsigned(reason: str) -> VerificationError:
    return VerificationError(f"{reason} would not be signed", code="credential-malformed")


def _check_free_floating(items: Any) -> None:
    # Top-level values, and nodes that only name themselves, make no triples.
    for item in items if isinstance(items, list) else [items]:
        if not isinstance(item, Mapping):
            continue
        if "@value" in item or "@list" in item or "@set" in item:
            raise _unsigned("a free-floating value")
        if "@id" in item and set(item) <= {"@id", "@index"}:
            raise _unsigned(f"node {str(item['@id'])[:80]!r} has no properties and")


def _check_expanded(expanded: Any) -> None:
    """Refuse what expansion kept but RDF conversion would silently drop."""
    _check_free_floating(expanded)
    for node in _walk(expanded):
        if "@graph" in node:
            _check_free_floating(node["@graph"])
        node_id = node.get("@id")
        if isinstance(node_id, str) and not (
            node_id.startswith("_:") or _ABSOLUTE_IRI.match(node_id)
        ):
            raise _unsigned(f"relative @id {node_id[:80]!r}")
        blank_property = next((k for k in node if k.startswith("_:")), None)
        if blank_property is not None:
            raise _unsigned(f"blank node property {blank_property[:80]!r}")
        if "@direction" in node:
            raise _unsigned("a base direction (@direction)")
        types = node.get("@type", [])
        for kind in types if isinstance(types, list) else [types]:
            if not isinstance(kind, str):
                continue
            if "@value" in node and kind == "@json":
                continue
            if not (kind.startswith("_:") or _ABSOLUTE_IRI.match(kind)):
                raise VerificationError(
                    f"type {kind[:80]!r} is not defined by the document's contexts",
                    code="credential-malformed",
                )


def _loader_error(exc: BaseException) -> VerificationError | None:
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        if isinstance(cause, VerificationError):
            return cause
        seen.add(id(cause))
        cause = cause.__cause__ or cause.__context__
    return None


class JsonLdProblem(VerificationError):
    """Why a document does not expand cleanly; ``kind`` says which rule it broke.

    Kinds: ``context-unknown`` (a context we do not ship), ``context-invalid``
    (a context that is not valid JSON-LD), ``term-protected`` (a protected
    term redefined), ``term-undefined`` (a property no context defines),
    ``type-undefined`` (a type that does not expand to an absolute IRI),
    ``iri-relative`` (a relative ``@id``), ``jsonld-invalid`` (anything else).
    ``term`` names the offending term or URL when known.
    """

    def __init__(self, detail: str, *, kind: str, term: str | None = None) -> None:
        super().__init__(detail, code="credential-malformed")
        self.kind = kind
        self.term = term


_PYLD_KINDS = {
    "protected term redefinition": "term-protected",
    "invalid IRI mapping": "context-invalid",
    "invalid term definition": "context-invalid",
    "invalid type mapping": "context-invalid",
    "invalid local context": "context-invalid",
    "invalid remote context": "context-unknown",
    "loading remote context failed": "context-unknown",
    "invalid context entry": "context-invalid",
    "invalid vocab mapping": "context-invalid",
    "invalid @version value": "context-invalid",
    "keyword redefinition": "context-invalid",
    "invalid typed value": "jsonld-invalid",
    "invalid type value": "type-undefined",
}


def _pyld_kind(exc: BaseException) -> str:
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        code = getattr(cause, "code", None)
        if isinstance(code, str) and code in _PYLD_KINDS:
            return _PYLD_KINDS[code]
        seen.add(id(cause))
        cause = cause.__cause__ or cause.__context__
    return "jsonld-invalid"


def _expand_checked(document: Mapping[str, Any], loader: DocumentLoader) -> tuple[Any, Any, Any]:
    """Expand ``document`` refusing what would go unsigned; caller holds ``_lock``."""
    dropped: list[str] = []
    processor = jsonld.JsonLdProcessor(on_property_dropped=lambda p: dropped.append(str(p)))
    options = {
        "documentLoader": loader,
        "contextResolver": ContextResolver(_resolved_contexts, loader),
        "base": None,  # relative IRIs stay relative (and are refused)
        # keep what RDF conversion would drop, so that it can be refused
        "keepFreeFloatingNodes": True,
    }
    try:
        expanded = processor.expand(dict(document), options)
    except (jsonld.JsonLdError, ValueError, TypeError, KeyError, RecursionError) as exc:
        refused = _loader_error(exc)
        if refused is not None:
            raise JsonLdProblem(refused.detail, kind="context-unknown",
                                term=str(refused.extra.get("context", "")) or None) from exc
        message = exc.args[0] if isinstance(exc, jsonld.JsonLdError) and exc.args else "invalid"
        raise JsonLdProblem(f"not valid JSON-LD: {str(message)[:200]}",
                            kind=_pyld_kind(exc)) from exc
    if dropped:
        raise JsonLdProblem(
            f"{dropped[0][:80]!r} is not defined by the document's contexts "
            "and would not be signed",
            kind="term-undefined", term=dropped[0],
        )
    try:
        _check_expanded(expanded)
    except VerificationError as exc:
        kind = "type-undefined" if exc.detail.startswith("type ") else "iri-relative"
        raise JsonLdProblem(exc.detail, kind=kind) from exc
    return processor, expanded, options


def expand(
    document: Mapping[str, Any], *, loader: DocumentLoader = local_document_loader
) -> list[Any]:
    """The JSON-LD expanded form of ``document`` in the same safe mode as :func:`canonicalize`.

    Raises :class:`JsonLdProblem` (a ``credential-malformed``
    :class:`~identity.errors.VerificationError`) whose ``kind`` says what was wrong.
    """
    with _lock:
        _processor, expanded, _options = _expand_checked(document, loader)
    return list(expanded) if isinstance(expanded, list) else [expanded]


def canonicalize(
    document: Mapping[str, Any], *, loader: DocumentLoader = local_document_loader
) -> str:
    """The RDFC-1.0 canonical N-Quads of ``document`` (safe mode, local contexts only).

    Raises ``credential-malformed`` for a context we do not ship, a term the
    contexts do not define, a relative IRI, invalid JSON-LD, or a graph too
    complex to label.
    """
    try:
        with _lock:
            processor, expanded, options = _expand_checked(document, loader)
            dataset = processor.to_rdf(expanded, options)
            nquads = Rdfc10().canonical_nquads(dataset)
    except JsonLdProblem as exc:
        if exc.kind == "context-unknown":
            raise VerificationError(exc.detail, code="credential-malformed",
                                    extra={"context": exc.term or ""}) from exc
        raise VerificationError(exc.detail, code="credential-malformed") from exc
    except VerificationError:
        raise
    except TooComplex as exc:
        raise VerificationError(
            "the document's blank nodes are too entangled to canonicalize",
            code="credential-malformed",
        ) from exc
    except (jsonld.JsonLdError, ValueError, TypeError, KeyError, RecursionError) as exc:
        message = exc.args[0] if isinstance(exc, jsonld.JsonLdError) and exc.args else "invalid"
        raise VerificationError(
            f"not valid JSON-LD: {str(message)[:200]}", code="credential-malformed"
        ) from exc
    return nquads
