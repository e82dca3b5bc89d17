"""servicekit.schemas: local schema registry, fix-ups, aliases and pointer paths."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from servicekit.errors import ValidationFailed
from servicekit.schemas import SchemaRegistry, json_pointer

BASE = "https://example.org/schemas/"

ITEM = {
    "$schema": "https://json-schema.org/draft/2019-09/schema",
    "$id": BASE + "v0/item-schema.json",
    "definitions": {"Item": {"type": "object", "required": ["name"],
                             "properties": {"name": {"type": "string"}}}},
    "allOf": [{"$ref": "#/definitions/Item"}],
}
ORDER = {
    "$schema": "https://json-schema.org/draft/2019-09/schema",
    "$id": BASE + "v1/order-schema.json",
    "type": "object",
    "required": ["items"],
    "properties": {
        # Names the item schema by a URI it does not declare (an upstream quirk).
        "items": {"type": "array", "items": {"$ref": BASE + "v1/item-schema.json"}},
        "a/b~c": {"type": "integer"},
        # Written without the slash after '#', another upstream quirk.
        "note": {"$ref": BASE + "v1/order-schema.json#definitions/Note"},
    },
    "definitions": {"Note": {"type": "string"}},
}


def _fix_refs(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: (v.replace("#definitions/", "#/definitions/")
                    if k == "$ref" and isinstance(v, str) else _fix_refs(v))
                for k, v in node.items()}
    if isinstance(node, list):
        return [_fix_refs(v) for v in node]
    return node


def _write(root: Path, relative: str, document: dict[str, Any]) -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document))


@pytest.fixture
def registry(tmp_path: Path) -> SchemaRegistry:
    _write(tmp_path, "common/item-schema.json", ITEM)
    _write(tmp_path, "orders/order-schema.json", ORDER)
    (tmp_path / "orders" / "example.json").write_text("{}")  # not a schema: skipped
    registry = SchemaRegistry(code="order-invalid")
    added = registry.add_directory(
        tmp_path, fixup=_fix_refs, aliases={ITEM["$id"]: [BASE + "v1/item-schema.json"]}
    )
    assert added == [ITEM["$id"], ORDER["$id"]]
    return registry


def test_a_valid_document_passes_through_aliases_and_fixed_refs(registry: SchemaRegistry) -> None:
    registry.check_schemas()
    registry.validate(ORDER["$id"], {"items": [{"name": "a"}], "note": "x"})
    assert registry.is_valid(ORDER["$id"], {"items": []})
    assert BASE + "v1/item-schema.json" in registry
    assert registry.schema(BASE + "v1/item-schema.json") is registry.schema(ITEM["$id"])


def test_violations_are_reported_with_json_pointers(registry: SchemaRegistry) -> None:
    with pytest.raises(ValidationFailed) as caught:
        registry.validate(ORDER["$id"], {"items": [{"name": "a"}, {"name": 7}, {}],
                                         "a/b~c": "x", "note": 1})
    error = caught.value
    assert error.code == "order-invalid"
    assert error.status == 400
    paths = {(e["path"], e["keyword"]) for e in error.errors}
    assert paths == {("/items/1/name", "type"), ("/items/2", "required"),
                     ("/a~1b~0c", "type"), ("/note", "type")}
    assert error.to_problem()["errors"] == error.errors


def test_the_error_code_can_be_chosen_per_call(registry: SchemaRegistry) -> None:
    with pytest.raises(ValidationFailed) as caught:
        registry.validate(ORDER["$id"], [], what="order", code="bad-order")
    assert caught.value.code == "bad-order"
    assert "order does not match" in caught.value.detail
    assert caught.value.errors == [{"path": "", "message": "[] is not of type 'object'",
                                    "keyword": "type"}]


def test_errors_are_capped() -> None:
    registry = SchemaRegistry(max_errors=3)
    uri = registry.add({"type": "array", "items": {"type": "string"}}, uri=BASE + "strings")
    assert len(registry.errors(uri, list(range(10)))) == 3


def test_an_unknown_schema_is_a_programming_error(registry: SchemaRegistry) -> None:
    with pytest.raises(KeyError):
        registry.validate(BASE + "nope", {})
    with pytest.raises(ValueError, match=r"\$id"):
        registry.add({"type": "object"})


def test_references_are_never_fetched_from_the_network() -> None:
    registry = SchemaRegistry()
    uri = registry.add({"$id": BASE + "remote", "$ref": "https://example.invalid/missing.json"})
    from referencing.exceptions import Unresolvable

    with pytest.raises(Unresolvable):
        registry.validate(uri, {})


def test_adding_a_schema_later_recompiles(registry: SchemaRegistry) -> None:
    registry.validate(ORDER["$id"], {"items": [{"name": "a"}]})
    stricter = dict(ITEM, definitions={"Item": {"type": "object", "required": ["name", "qty"]}})
    registry.add(stricter, aliases=[BASE + "v1/item-schema.json"])
    assert not registry.is_valid(ORDER["$id"], {"items": [{"name": "a"}]})


def test_json_pointer_escapes() -> None:
    assert json_pointer([]) == ""
    assert json_pointer(["a/b", 0, "~"]) == "/a~1b/0/~0"
