"""The reading machinery shared by policy parsing: JSON helpers, constraints and values.

:class:`Reader` walks compact JSON-LD by term name (``odrl:`` prefixes and full
ODRL IRIs map to bare terms), collects :class:`~policies.errors.Issue` values
instead of stopping at the first problem, and reads constraints (atomic and
logical) and right operands. :mod:`policies.parse` builds policies and rules on it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from policies.errors import Issue, pointer
from policies.model import Constraint, ConstraintNode, LogicalConstraint, Value
from policies.profile import Terms
from policies.values import xsd_name
from policies.vocabulary import ODRL_NS, RDF_NS, LogicalOperator, Operator

__all__ = ["Json", "Reader"]

Json = Any

#: ODRL properties we know but do not model; using one is an error, not a silent skip.
UNSUPPORTED = frozenset(
    {
        "output",
        "relation",
        "function",
        "failure",
        "status",
        "rightOperandReference",
        "hasPolicy",
        "undefined",
        "inheritRelation",
        "inheritAllowed",
        "scope",
        "operand",
    }
)
_ATOMIC_KEYS = frozenset(
    {"@id", "@type", "leftOperand", "operator", "rightOperand", "unit", "dataType"}
)
_LOGICAL = {op.value: op for op in LogicalOperator}
_OPERATORS = {op.value: op for op in Operator}


class Reader:
    """Reads compact JSON-LD, collecting issues instead of stopping."""

    def __init__(self, terms: Terms) -> None:
        self.terms = terms
        self.issues: list[Issue] = []
        self.profile_uses: list[tuple[str, str, str]] = []  # (profile, term, path)

    # -- helpers -------------------------------------------------------------

    def issue(self, code: str, path: str, message: str) -> None:
        self.issues.append(Issue(code, path, message))

    def _canonical_key(self, key: str) -> str:
        if key.startswith(ODRL_NS):
            return key[len(ODRL_NS) :]
        if key.startswith("odrl:"):
            return key[5:]
        if key in ("uid", "@id"):
            return "@id"
        if key in ("type", "@type"):
            return "@type"
        if key in ("rdf:value", RDF_NS + "value", "value"):
            return "rdf:value"
        return key

    def _is_foreign(self, key: str) -> bool:
        if key.startswith("@") or ":" not in key:
            return False
        if key.startswith(ODRL_NS) or key.startswith("odrl:"):
            return False
        return not any(
            key.startswith((p.prefix + ":", p.namespace)) for p in self.terms.profiles.values()
        )

    def fields(
        self, obj: Mapping[str, Json], path: str, allowed: Iterable[str]
    ) -> tuple[dict[str, tuple[str, Json]], dict[str, Json]]:
        """Map the keys of ``obj`` to canonical names; report unknown ones."""
        allowed = frozenset(allowed)
        found: dict[str, tuple[str, Json]] = {}
        extras: dict[str, Json] = {}
        for key, value in obj.items():
            name = self._canonical_key(key)
            if name in allowed:
                if name in found:
                    self.issue("duplicate-property", pointer(path, key), f"{name} given twice")
                found[name] = (key, value)
            elif self._is_foreign(key):
                extras[key] = value
            elif name in UNSUPPORTED:
                self.issue(
                    "unsupported-property",
                    pointer(path, key),
                    f"ODRL property {name!r} is not supported by this engine",
                )
            else:
                self.issue("unknown-property", pointer(path, key), f"unknown property {key!r}")
        return found, extras

    def single(self, value: Json, path: str, what: str) -> Json:
        """Unwrap a one-element array (JSON-LD writes single values either way)."""
        if isinstance(value, list):
            if len(value) != 1:
                self.issue("invalid-structure", path, f"{what} must be a single value")
                return None
            return value[0]
        return value

    def many(self, value: Json, path: str) -> list[tuple[str, Json]]:
        """Elements of an array (a single object counts as one) with their paths."""
        if isinstance(value, Mapping) and "@list" in value:
            value = value["@list"]
            path = pointer(path, "@list")
        if isinstance(value, list):
            return [(pointer(path, i), v) for i, v in enumerate(value)]
        return [(path, value)]

    def string(self, value: Json, path: str, what: str) -> str | None:
        """A string, or the ``@id`` of a node reference."""
        value = self.single(value, path, what)
        if isinstance(value, Mapping) and set(value) <= {"@id", "@type"} and "@id" in value:
            value = value["@id"]
        if isinstance(value, str) and value:
            return value
        if value is not None:
            self.issue("invalid-structure", path, f"{what} must be a non-empty string or IRI")
        return None

    def term(self, raw: Json, path: str, what: str) -> str | None:
        """A vocabulary term written as a string or ``{"@id": ...}``."""
        return self.string(raw, path, what)

    def uid(self, found: Mapping[str, tuple[str, Json]], path: str) -> str | None:
        if "@id" not in found:
            return None
        key, raw = found["@id"]
        return self.string(raw, pointer(path, key), "@id")

    def record_profile(self, profile: str | None, term: str, path: str) -> None:
        if profile is not None:
            self.profile_uses.append((profile, term, path))

    # -- constraints -------------------------------------------------------------

    def _constraint_list(
        self, found: Mapping[str, tuple[str, Json]], path: str
    ) -> tuple[ConstraintNode, ...]:
        if "constraint" not in found:
            return ()
        key, raw = found["constraint"]
        return self.constraints(raw, pointer(path, key))

    def constraints(self, raw: Json, path: str) -> tuple[ConstraintNode, ...]:
        out = []
        for item_path, item in self.many(raw, path):
            node = self.constraint(item, item_path)
            if node is not None:
                out.append(node)
        return tuple(out)

    def constraint(self, obj: Json, path: str) -> ConstraintNode | None:
        if not isinstance(obj, Mapping):
            self.issue("invalid-structure", path, "a constraint must be a JSON object")
            return None
        names = {self._canonical_key(k): k for k in obj}
        logical = [n for n in names if n in _LOGICAL]
        if len(logical) > 1:
            self.issue(
                "malformed-logical-constraint",
                path,
                "a logical constraint has exactly one of and, or, xone, andSequence",
            )
            return None
        if logical:
            return self._logical(obj, path, logical[0], names)
        return self._atomic(obj, path)

    def _logical(
        self, obj: Mapping[str, Json], path: str, name: str, names: Mapping[str, str]
    ) -> LogicalConstraint | None:
        mixed = set(names) - {name, "@id", "@type"}
        if mixed:
            self.issue(
                "malformed-logical-constraint",
                path,
                f"a logical constraint may not also have {', '.join(sorted(mixed))}",
            )
            return None
        key = names[name]
        raw = obj[key]
        here = pointer(path, key)
        if isinstance(raw, Mapping) and "@list" in raw:
            raw, here = raw["@list"], pointer(here, "@list")
        if not isinstance(raw, list):
            message = f"{name} needs an array of constraints"
            self.issue("malformed-logical-constraint", here, message)
            return None
        if not raw:
            self.issue("empty-logical-constraint", here, f"{name} has no constraints")
            return None
        operands = self.constraints(raw, here)
        if len(operands) != len(raw):
            return None
        uid = None
        if "@id" in names:
            uid = self.string(obj[names["@id"]], pointer(path, names["@id"]), "@id")
        return LogicalConstraint(operator=_LOGICAL[name], operands=operands, uid=uid, path=path)

    def _atomic(self, obj: Mapping[str, Json], path: str) -> Constraint | None:
        found, _extras = self.fields(obj, path, _ATOMIC_KEYS)
        missing = [n for n in ("leftOperand", "operator", "rightOperand") if n not in found]
        for name in missing:
            code = "missing-" + {"leftOperand": "left-operand", "operator": "operator"}.get(
                name, "right-operand"
            )
            self.issue(code, path, f"a constraint needs {name}")
        left = operator = right = None
        if "leftOperand" in found:
            key, raw = found["leftOperand"]
            text = self.term(raw, pointer(path, key), "leftOperand")
            if text is not None:
                resolved, _spec = self.terms.operand(text)
                if resolved.term is None:
                    problem = resolved.problem or "unknown-left-operand"
                    message = (
                        f"{text!r} is an ODRL left operand this engine cannot evaluate"
                        if problem == "unsupported-left-operand"
                        else f"{text!r} is not a left operand of ODRL or a declared profile"
                    )
                    self.issue(problem, pointer(path, key), message)
                else:
                    left = resolved.term
                    self.record_profile(resolved.profile, left, pointer(path, key))
        if "operator" in found:
            key, raw = found["operator"]
            text = self.term(raw, pointer(path, key), "operator")
            term = self.terms.odrl_term(text) if text else None
            operator = _OPERATORS.get(term) if term else None
            if text is not None and operator is None:
                self.issue("unknown-operator", pointer(path, key), f"unknown operator {text!r}")
        if "rightOperand" in found:
            key, raw = found["rightOperand"]
            right = self.right_operand(raw, pointer(path, key))
        unit = datatype = uid = None
        if "unit" in found:
            key, raw = found["unit"]
            unit = self.string(raw, pointer(path, key), "unit")
        if "dataType" in found:
            key, raw = found["dataType"]
            text = self.string(raw, pointer(path, key), "dataType")
            datatype = (xsd_name(text) or text) if text else None
        if "@id" in found:
            uid = self.uid(found, path)
        if left is None or operator is None or right is None:
            return None
        return Constraint(
            left_operand=left,
            operator=operator,
            right_operand=right,
            unit=unit,
            datatype=datatype,
            uid=uid,
            path=path,
        )

    def right_operand(self, raw: Json, path: str) -> Value | tuple[Value, ...] | None:
        if isinstance(raw, Mapping) and "@list" in raw:
            raw, path = raw["@list"], pointer(path, "@list")
        if isinstance(raw, list):
            values = [self.value(item, pointer(path, i)) for i, item in enumerate(raw)]
            if not values:
                self.issue("invalid-value", path, "an empty list is not a right operand")
                return None
            if any(v is None for v in values):
                return None
            return tuple(v for v in values if v is not None)
        return self.value(raw, path)

    def value(self, raw: Json, path: str) -> Value | None:
        if isinstance(raw, bool):
            return Value(value="true" if raw else "false", datatype="xsd:boolean")
        if isinstance(raw, int):
            return Value(value=str(raw), datatype="xsd:integer")
        if isinstance(raw, float):
            return Value(value=str(Decimal(repr(raw))), datatype="xsd:decimal")
        if isinstance(raw, str):
            return Value(value=raw)
        if isinstance(raw, Mapping):
            if set(raw) <= {"@id", "@type"} and isinstance(raw.get("@id"), str):
                return Value(value=raw["@id"], iri=True)
            if "@value" in raw and set(raw) <= {"@value", "@type", "@language"}:
                inner = raw["@value"]
                datatype = raw.get("@type")
                if datatype is not None and not isinstance(datatype, str):
                    self.issue("invalid-datatype", path, "@type must be a datatype IRI")
                    return None
                if isinstance(inner, bool | int | float) and datatype is None:
                    return self.value(inner, path)
                if isinstance(inner, bool):
                    inner = "true" if inner else "false"
                if not isinstance(inner, str | int | float):
                    self.issue("invalid-value", path, "@value must be a string or number")
                    return None
                return Value(
                    value=str(inner),
                    datatype=(xsd_name(datatype) or datatype) if datatype else None,
                )
        self.issue("invalid-value", path, "a right operand is a string, typed literal or IRI")
        return None
