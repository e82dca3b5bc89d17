"""Validate DSP 2025-1 messages against the official JSON Schemas.

The schemas ship in ``dsp_2025_1/`` unchanged; they are loaded once into a
``referencing`` registry under their ``$id``. Three upstream transfer schemas
write ``#definitions/...`` where JSON Pointer needs ``#/definitions/...``;
:func:`_fix_refs` repairs that in memory while loading, never in the files.

A message is matched to its schema by ``@type`` (the plain JSON form names
types without a prefix). Unknown types and schema violations raise
:class:`~servicekit.errors.ValidationFailed` with one entry per failing
location (``path`` is a JSON pointer into the message).
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Mapping
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

    def validate(self, message: Any, message_type: str | None = None) -> None:
        """Raise :class:`ValidationFailed` unless ``message`` matches its schema."""
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
        """:meth:`validate`, remembering documents found valid (byte-identical JSON).

        The same JSON is valid against the same schema every time, so a
        catalog page of datasets validated before costs a hash per dataset.
        """
        key = message_type.encode() + hashlib.blake2b(
            orjson.dumps(message, option=orjson.OPT_SORT_KEYS), digest_size=16
        ).digest()
        if key in self._valid:
            return
        self.validate(message, message_type)
        if len(self._valid) >= _CACHE_LIMIT:
            self._valid.clear()
        self._valid[key] = None

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
            self.validate_cached({"@context": context, **dataset}, "Dataset")


@functools.cache
def validator() -> SchemaValidator:
    """The process-wide validator of the packaged DSP 2025-1 schemas."""
    return SchemaValidator()


def validate_message(message: Any, message_type: str | None = None) -> None:
    """Validate ``message`` (by its ``@type`` unless ``message_type`` is given)."""
    validator().validate(message, message_type)
