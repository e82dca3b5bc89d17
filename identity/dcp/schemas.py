"""The DCP 1.0 JSON Schemas and JSON-LD context, vendored in ``identity/specs/dcp_1_0``.

:func:`dcp_schemas` loads every schema once into a
:class:`~servicekit.schemas.SchemaRegistry`, registering the upstream quirks
under both URIs (see ``identity/specs/README.md``), and :func:`validate_dcp`
checks a message, raising :class:`~servicekit.errors.ValidationFailed`
(``dcp-schema-violation``) with JSON-pointer paths. The DIF Presentation
Exchange schemas the DCP schemas refer to are not vendored; they are
registered as "any object", so a message carrying a presentation definition
is checked everywhere else.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

from servicekit.schemas import SchemaRegistry

__all__ = [
    "CREDENTIAL_MESSAGE",
    "CREDENTIAL_OFFER_MESSAGE",
    "CREDENTIAL_REQUEST_MESSAGE",
    "CREDENTIAL_STATUS",
    "DCP_CONTEXT",
    "DCP_SPEC_DIR",
    "ISSUER_METADATA",
    "PRESENTATION_QUERY_MESSAGE",
    "PRESENTATION_RESPONSE_MESSAGE",
    "dcp_context_document",
    "dcp_schemas",
    "validate_dcp",
]

DCP_SPEC_DIR = Path(__file__).resolve().parent.parent / "specs" / "dcp_1_0"
DCP_CONTEXT = "https://w3id.org/dspace-dcp/v1.0/dcp.jsonld"

_BASE = "https://w3id.org/dspace-dcp/v1.0/"
PRESENTATION_QUERY_MESSAGE = _BASE + "presentation/presentation-query-message-schema.json"
PRESENTATION_RESPONSE_MESSAGE = _BASE + "presentation/presentation-response-message-schema.json"
CREDENTIAL_REQUEST_MESSAGE = _BASE + "issuance/credential-request-message-schema.json"
CREDENTIAL_MESSAGE = _BASE + "issuance/credential-message-schema.json"
CREDENTIAL_OFFER_MESSAGE = _BASE + "issuance/credential-offer-message-schema.json"
CREDENTIAL_STATUS = _BASE + "issuance/credential-status-schema.json"
ISSUER_METADATA = _BASE + "issuance/issuer-metadata-schema.json"

# Upstream $id -> the URIs the other schemas (or the spec) use for it.
_ALIASES = {
    "https://w3id.org/dspace-dcp/v08/common/context-schema.json": [
        _BASE + "common/context-schema.json"
    ],
    _BASE + "presentation/credential-message-schema.json": [CREDENTIAL_MESSAGE],
}
_PRESENTATION_EXCHANGE = "https://identity.foundation/presentation-exchange/schemas/"


@functools.cache
def dcp_schemas() -> SchemaRegistry:
    """The process-wide registry of the vendored DCP 1.0 schemas."""
    registry = SchemaRegistry(code="dcp-schema-violation")
    registry.add_directory(DCP_SPEC_DIR, aliases=_ALIASES)
    registry.add(
        {"type": "object"}, uri=_PRESENTATION_EXCHANGE + "presentation-definition.json"
    )
    registry.add(
        {"type": "object", "properties": {"presentation_submission": {"type": "object"}}},
        uri=_PRESENTATION_EXCHANGE + "presentation-submission.json",
    )
    return registry


def validate_dcp(schema: str, message: Any, *, what: str | None = None) -> None:
    """Raise ``ValidationFailed`` (``dcp-schema-violation``) unless ``message`` matches."""
    dcp_schemas().validate(schema, message, what=what)


@functools.cache
def _context_text() -> str:
    return (DCP_SPEC_DIR / "context" / "dcp.jsonld").read_text(encoding="utf-8")


def dcp_context_document() -> dict[str, Any]:
    """The ``dcp.jsonld`` context (a fresh copy), for a local JSON-LD document loader."""
    document: dict[str, Any] = json.loads(_context_text())
    return document
