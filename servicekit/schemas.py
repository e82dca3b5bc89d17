"""Validate JSON messages against local JSON Schemas, never fetched from the network.

A :class:`SchemaRegistry` holds schemas under their URIs (their ``$id``, plus
any aliases) in one :mod:`referencing` registry, so a ``$ref`` between them
resolves locally; a reference to a schema that was not added fails loudly
instead of reaching for the network. Upstream schemas are vendored unchanged
and repaired in memory when they are loaded: ``fixup`` rewrites a schema
(e.g. DSP's ``#definitions/X`` refs), ``aliases`` registers a schema under a
second URI (e.g. DCP's context schema, whose ``$id`` names ``v08`` while the
other schemas refer to ``v1.0``).

Each schema is checked with the draft its ``$schema`` names (2020-12 when it
names none); validators are compiled on first use and kept.
:meth:`SchemaRegistry.validate` raises
:class:`~servicekit.errors.ValidationFailed` with one entry per failing
location: ``path`` is a JSON pointer (RFC 6901) into the instance.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError
from jsonschema.protocols import Validator
from jsonschema.validators import validator_for
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from servicekit.errors import ValidationFailed

__all__ = ["Fixup", "SchemaRegistry", "json_pointer"]

Fixup = Callable[[dict[str, Any]], dict[str, Any]]
"""Repairs a schema document in memory as it is loaded."""


def json_pointer(parts: Iterable[str | int]) -> str:
    """The RFC 6901 JSON pointer of a path (``~`` and ``/`` escaped)."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def _walk(root: Traversable, suffix: str) -> Iterator[Traversable]:
    for entry in sorted(root.iterdir(), key=lambda e: e.name):
        if entry.is_dir():
            yield from _walk(entry, suffix)
        elif entry.name.endswith(suffix):
            yield entry


class SchemaRegistry:
    """Local JSON Schemas by URI, and validation against them.

    ``code`` is the :class:`ValidationFailed` code :meth:`validate` raises
    (a caller may pass another per call); at most ``max_errors`` locations are
    reported.
    """

    def __init__(self, *, code: str = "schema-violation", max_errors: int = 10) -> None:
        self.code = code
        self.max_errors = max_errors
        self._schemas: dict[str, dict[str, Any]] = {}
        self._resources: dict[str, Resource[Any]] = {}
        self._registry: Registry[Any] | None = None
        self._validators: dict[str, Validator] = {}

    def add(
        self,
        schema: Mapping[str, Any],
        *,
        uri: str | None = None,
        aliases: Iterable[str] = (),
        fixup: Fixup | None = None,
    ) -> str:
        """Register ``schema`` under ``uri`` (default: its ``$id``) and ``aliases``.

        Returns the URI it is registered under.
        """
        document = fixup(dict(schema)) if fixup is not None else dict(schema)
        key = uri or document.get("$id")
        if not isinstance(key, str) or not key:
            raise ValueError("a schema needs an $id or an explicit uri")
        resource = Resource.from_contents(document, default_specification=DRAFT202012)
        for name in (key, *aliases):
            self._schemas[name] = document
            self._resources[name] = resource
        self._registry = None
        self._validators.clear()
        return key

    def add_directory(
        self,
        root: Path | Traversable,
        *,
        suffix: str = "-schema.json",
        fixup: Fixup | None = None,
        aliases: Mapping[str, Iterable[str]] | None = None,
    ) -> list[str]:
        """Register every ``*{suffix}`` file under ``root`` by its ``$id``.

        ``aliases`` maps a schema's ``$id`` to further URIs it is known by.
        Works on package data (:func:`importlib.resources.files`) and paths.
        """
        added = []
        for entry in _walk(root, suffix):
            document = json.loads(entry.read_text(encoding="utf-8"))
            if not isinstance(document, dict):
                raise ValueError(f"{entry.name} is not a JSON Schema object")
            uri = document.get("$id")
            extra = (aliases or {}).get(uri, ()) if isinstance(uri, str) else ()
            added.append(self.add(document, aliases=extra, fixup=fixup))
        return added

    def __contains__(self, uri: object) -> bool:
        return uri in self._schemas

    def ids(self) -> list[str]:
        """Every URI a schema is registered under."""
        return sorted(self._schemas)

    def schema(self, uri: str) -> dict[str, Any]:
        """The (fixed-up) schema registered under ``uri``."""
        try:
            return self._schemas[uri]
        except KeyError:
            raise KeyError(f"no schema registered as {uri}") from None

    def check_schemas(self) -> None:
        """Raise if a registered schema is not valid under its own draft's meta-schema."""
        for document in self._schemas.values():
            validator_for(document, default=Draft202012Validator).check_schema(document)

    def _validator(self, uri: str) -> Validator:
        compiled = self._validators.get(uri)
        if compiled is None:
            if self._registry is None:
                self._registry = Registry().with_resources(self._resources.items()).crawl()
            document = self.schema(uri)
            cls = validator_for(document, default=Draft202012Validator)
            compiled = cls(document, registry=self._registry)
            self._validators[uri] = compiled
        return compiled

    def errors(self, uri: str, instance: Any) -> list[dict[str, str]]:
        """The violations of ``instance`` against schema ``uri`` (empty when valid).

        Each is ``{"path": <JSON pointer>, "message": ..., "keyword": ...}``.
        """
        found: list[dict[str, str]] = []
        error: ValidationError
        for error in self._validator(uri).iter_errors(instance):
            found.append(
                {
                    "path": json_pointer(error.absolute_path),
                    "message": error.message[:300],
                    "keyword": str(error.validator),
                }
            )
            if len(found) >= self.max_errors:
                break
        return found

    def is_valid(self, uri: str, instance: Any) -> bool:
        """True when ``instance`` matches schema ``uri``."""
        return bool(self._validator(uri).is_valid(instance))

    def validate(
        self, uri: str, instance: Any, *, what: str | None = None, code: str | None = None
    ) -> None:
        """Raise :class:`ValidationFailed` unless ``instance`` matches schema ``uri``.

        ``what`` names the document in the error detail (default: the schema title).
        """
        errors = self.errors(uri, instance)
        if errors:
            name = what or self.schema(uri).get("title") or uri
            raise ValidationFailed(
                f"the {name} does not match its schema", errors=errors, code=code or self.code
            )
