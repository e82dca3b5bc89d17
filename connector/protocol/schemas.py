"""Validate DSP 2025-1 messages against the official JSON Schemas.

The schemas ship in ``dsp_2025_1/`` unchanged; they are loaded once into a
``referencing`` registry under their ``$id``. Three upstream transfer schemas
write ``#definitions/...`` where JSON Pointer needs ``#/definitions/...``;
:func:`_fix_refs` repairs that in memory while loading, never in the files.

A message is matched to its schema by ``@type`` (the plain JSON form names
types without a prefix). Unknown types and schema violations raise
:class:`~servicekit.errors.ValidationFailed` with one entry per failing
location (``path`` is a JSON pointer into the message).

Validation is cached by *shape*. The DSP schemas look at the value of a
string only under a few properties (those whose schema has ``const``,
``enum``, ``pattern`` or ``contains``: ``@type``, ``@context``, ``state``,
``eventType``, ``operator``, ``timestamp``...; the set is derived from the
schemas when they load). Everywhere else only the JSON type, the keys and the
array lengths matter. So a message's *shape* (every other string replaced by
``""``) is valid exactly when the message is, and a shape seen valid before
needs no second validation: the thousandth ContractAgreementVerificationMessage
or catalog dataset costs one hash instead of a schema walk.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import orjson
from jsonschema import Draft201909Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT201909

from servicekit.errors import ValidationFailed

__all__ = [
    "MESSAGE_SCHEMAS",
    "SCHEMA_DIR",
    "SchemaValidator",
    "validate_message",
    "validator",
]

SCHEMA_DIR = Path(__file__).parent / "dsp_2025_1"

#: ``@type`` (or a pseudo type for untyped documents) → schema file.
MESSAGE_SCHEMAS: dict[str, str] = {
    "CatalogRequestMessage": "catalog/catalog-request-message-schema.json",
    "DatasetRequestMessage": "catalog/dataset-request-message-schema.json",
    "Catalog": "catalog/catalog-schema.json",
    "Dataset": "catalog/dataset-schema.json",
    "CatalogError": "catalog/catalog-error-schema.json",
    "ContractRequestMessage": "negotiation/contract-request-message-schema.json",
    "ContractOfferMessage": "negotiation/contract-offer-message-schema.json",
    "ContractAgreementMessage": "negotiation/contract-agreement-message-schema.json",
    "ContractAgreementVerificationMessage":
        "negotiation/contract-agreement-verification-message-schema.json",
    "ContractNegotiationEventMessage": "negotiation/contract-negotiation-event-message-schema.json",
    "ContractNegotiationTerminationMessage":
        "negotiation/contract-negotiation-termination-message-schema.json",
    "ContractNegotiation": "negotiation/contract-negotiation-schema.json",
    "ContractNegotiationError": "negotiation/contract-negotiation-error-schema.json",
    "TransferRequestMessage": "transfer/transfer-request-message-schema.json",
    "TransferStartMessage": "transfer/transfer-start-message-schema.json",
    "TransferCompletionMessage": "transfer/transfer-completion-message-schema.json",
    "TransferSuspensionMessage": "transfer/transfer-suspension-message-schema.json",
    "TransferTerminationMessage": "transfer/transfer-termination-message-schema.json",
    "TransferProcess": "transfer/transfer-process-schema.json",
    "TransferError": "transfer/transfer-error-schema.json",
    # Untyped documents, named here by what they are.
    "VersionResponse": "common/protocol-version-schema.json",
}

_MAX_ERRORS = 10
_CACHE_LIMIT = 100_000


def _fix_refs(node: Any) -> Any:
    """Repair ``...json#definitions/X`` refs (upstream quirk) to ``#/definitions/X``."""
    if isinstance(node, dict):
        fixed: dict[str, Any] = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str) and "#definitions/" in value:
                value = value.replace("#definitions/", "#/definitions/")
            fixed[key] = _fix_refs(value)
        return fixed
    if isinstance(node, list):
        return [_fix_refs(item) for item in node]
    return node


class SchemaValidator:
    """All DSP schemas of one folder, compiled once, looked up by message type."""

    def __init__(self, schema_dir: Path = SCHEMA_DIR) -> None:
        documents: dict[str, dict[str, Any]] = {}
        for path in sorted(schema_dir.rglob("*-schema.json")):
            schema = _fix_refs(json.loads(path.read_text()))
            documents[str(path.relative_to(schema_dir))] = schema
        registry: Registry[Any] = Registry().with_resources(
            (doc["$id"], Resource.from_contents(doc, default_specification=DRAFT201909))
            for doc in documents.values()
        )
        self._validators: dict[str, Draft201909Validator] = {}
        for message_type, relative in MESSAGE_SCHEMAS.items():
            schema = documents[relative]
            self._validators[message_type] = Draft201909Validator(schema, registry=registry)
        #: Properties whose string values the schemas constrain (kept in shapes).
        self.constrained: frozenset[str] = _constrained_properties(documents.values())
        # Fingerprints of documents already found valid (see validate_catalog).
        self._valid: dict[bytes, None] = {}

    def errors(self, message: Any, message_type: str | None = None) -> list[dict[str, str]]:
        """The schema violations of ``message`` (empty when valid)."""
        if message_type is None:
            if not isinstance(message, Mapping):
                return [{"path": "", "message": "a DSP message is a JSON object",
                         "code": "dsp-not-an-object"}]
            message_type = message.get("@type")
            if not isinstance(message_type, str):
                return [{"path": "/@type", "message": "@type is missing or not a string",
                         "code": "dsp-type-missing"}]
        compiled = self._validators.get(message_type)
        if compiled is None:
            return [{"path": "/@type", "message": f"unknown DSP message type {message_type!r}",
                     "code": "dsp-type-unknown"}]
        found: list[dict[str, str]] = []
        for error in compiled.iter_errors(message):
            pointer = "".join(f"/{part}" for part in error.absolute_path)
            found.append({"path": pointer, "message": error.message[:300], "code": "dsp-schema"})
            if len(found) >= _MAX_ERRORS:
                break
        return found

    @property
    def message_types(self) -> frozenset[str]:
        """The ``@type`` values (and pseudo types) this validator knows."""
        return frozenset(self._validators)

    def shape(self, node: Any) -> Any:
        """``node`` with every unconstrained string replaced by ``""`` (see the module doc)."""
        if isinstance(node, str):
            return ""
        if isinstance(node, Mapping):
            return {key: (value if key in self.constrained else self.shape(value))
                    for key, value in node.items()}
        if isinstance(node, list):
            return [self.shape(item) for item in node]
        return node

    def validate(self, message: Any, message_type: str | None = None) -> None:
        """Raise :class:`ValidationFailed` unless ``message`` matches its schema.

        Shapes found valid before are remembered, so most messages cost a hash.
        """
        if isinstance(message, Mapping):
            kind = message_type or message.get("@type")
            if isinstance(kind, str):
                key = kind.encode() + hashlib.blake2b(
                    orjson.dumps(self.shape(message), option=orjson.OPT_SORT_KEYS),
                    digest_size=16,
                ).digest()
                if key in self._valid:
                    return
                self._check(message, message_type)
                self._remember(key)
                return
        self._check(message, message_type)

    def _remember(self, key: bytes) -> None:
        if len(self._valid) >= _CACHE_LIMIT:
            self._valid.clear()
        self._valid[key] = None

    def _check(self, message: Any, message_type: str | None = None) -> None:
        errors = self.errors(message, message_type)
        if errors:
            kind = message_type or (
                message.get("@type") if isinstance(message, Mapping) else None
            ) or "DSP message"
            raise ValidationFailed(
                f"the {kind} does not match the DSP 2025-1 schema",
                errors=errors,
                code="dsp-schema-violation",
            )

    def validate_cached(self, message: Mapping[str, Any], message_type: str) -> None:
        """:meth:`validate` against an explicit type (kept for callers that name it)."""
        self.validate(message, message_type)

    def validate_catalog(self, catalog: Mapping[str, Any]) -> None:
        """Validate a ``Catalog``: the envelope, then each dataset (cached) as a ``Dataset``.

        Equivalent to validating the whole document against the Catalog
        schema, whose ``dataset`` items are exactly the Dataset definition.
        """
        envelope = {k: v for k, v in catalog.items() if k != "dataset"}
        self.validate(envelope, "Catalog")
        context = catalog.get("@context")
        for index, dataset in enumerate(catalog.get("dataset") or []):
            if not isinstance(dataset, Mapping):
                raise ValidationFailed(
                    "a catalog dataset is not an object",
                    errors=[{"path": f"/dataset/{index}", "message": "not an object",
                             "code": "dsp-schema"}],
                    code="dsp-schema-violation",
                )
            self.validate({"@context": context, **dataset}, "Dataset")


_CONSTRAINING = ("const", "enum", "pattern", "contains", "format")


def _constrained_properties(documents: Iterable[Mapping[str, Any]]) -> frozenset[str]:
    """Names of properties whose schema (through refs and combinators) limits string values."""
    by_id = {str(doc["$id"]): doc for doc in documents}

    def resolve(ref: str, base: Mapping[str, Any]) -> Mapping[str, Any] | None:
        target, _, pointer = ref.partition("#")
        node: Any = by_id.get(target) if target else base
        for part in pointer.strip("/").split("/") if pointer.strip("/") else []:
            node = node.get(part) if isinstance(node, Mapping) else None
        return node if isinstance(node, Mapping) else None

    def constrains(schema: Any, base: Mapping[str, Any], seen: set[int]) -> bool:
        if not isinstance(schema, Mapping) or id(schema) in seen:
            return False
        seen.add(id(schema))
        if any(keyword in schema for keyword in _CONSTRAINING):
            return True
        ref = schema.get("$ref")
        if isinstance(ref, str):
            target_doc = by_id.get(ref.partition("#")[0], base) if ref.partition("#")[0] else base
            found = resolve(ref, base)
            if found is not None and constrains(found, target_doc, seen):
                return True
        for combinator in ("allOf", "anyOf", "oneOf"):
            for member in schema.get(combinator, ()):
                if constrains(member, base, seen):
                    return True
        return constrains(schema.get("items"), base, seen)

    names: set[str] = set()

    def walk(node: Any, base: Mapping[str, Any]) -> None:
        if isinstance(node, Mapping):
            for name, sub in (node.get("properties") or {}).items():
                if constrains(sub, base, set()):
                    names.add(name)
            for value in node.values():
                walk(value, base)
        elif isinstance(node, list):
            for item in node:
                walk(item, base)

    for document in by_id.values():
        walk(document, document)
    return frozenset(names)


@functools.cache
def validator() -> SchemaValidator:
    """The process-wide validator of the packaged DSP 2025-1 schemas."""
    return SchemaValidator()


def validate_message(message: Any, message_type: str | None = None) -> None:
    """Validate ``message`` (by its ``@type`` unless ``message_type`` is given)."""
    validator().validate(message, message_type)
