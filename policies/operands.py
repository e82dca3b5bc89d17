"""Typed right operands, left values from the request context, and operator semantics.

This is the reference semantics of every operator, used by the interpreter
and by validation; the compiler specialises the common cases into closures
and falls back to these functions for the rest (tests check they agree).

Results are three-valued: ``True``, ``False`` or ``None`` when the context
does not supply the value (or XML Schema leaves two durations unordered).
Permissions need ``True``; a prohibition whose constraints are ``None`` still
applies (fail closed).

Operator semantics, with ``L`` the context value and ``R`` the right operand:

* ordered kinds (dateTime, durations, count, decimals, versions): the usual
  order; an ``xsd:date`` right operand is the whole day (``lt`` = before it
  starts, ``lteq`` = before it ends, ``eq`` = during it); ``isAnyOf``/``isNoneOf``
  test equality with any element.
* identities (IRIs, strings): ``eq``/``neq`` compare; for a set-valued ``L``
  (credential types held, multi-valued claims) ``eq R`` means ``R`` is in ``L``.
  ``isAnyOf`` = some element of ``L`` is in ``R``; ``isNoneOf`` is its negation;
  ``isAllOf``/``hasPart`` = ``L`` contains every element of ``R`` (for a single
  ``L``, ``hasPart`` also accepts ``R`` being a part of ``L``); ``isPartOf``/``isA``
  = ``L`` is, or is transitively ``partOf``, an element of ``R``.
* events: ``L`` maps event IRIs to a phase (before, during, after): ``eq`` =
  during, ``lt`` = before, ``gt`` = after, ``lteq``/``gteq`` include during.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from policies.context import OPERAND_ATTRS, RequestContext
from policies.model import Constraint, Value
from policies.profile import claim_parts
from policies.values import (
    DATE_TYPES,
    DATETIME_TYPES,
    DECIMAL_TYPES,
    DURATION_TYPES,
    INTEGER_TYPES,
    STRING_TYPES,
    DayWindow,
    Duration,
    Version,
    parse_boolean,
    parse_date,
    parse_datetime,
    parse_decimal,
    parse_duration,
    parse_integer,
    parse_version,
)
from policies.vocabulary import KIND_OPERATORS, SET_OPERATORS, Kind, OperandSpec, Operator

__all__ = [
    "DatatypeError",
    "check_constraint",
    "compare",
    "convert_right",
    "effective_kind",
    "left_value",
    "member_of",
]

Right = Any
_TEXT_TYPES = STRING_TYPES
_BOOL = "xsd:boolean"


class DatatypeError(ValueError):
    """The right operand's datatype does not fit the left operand."""


def effective_kind(spec: OperandSpec, constraint: Constraint) -> Kind:
    """The kind values are compared as; a claim takes its kind from the right operand."""
    if spec.kind is not Kind.CLAIM:
        return spec.kind
    values = constraint.right_operand
    first = values[0] if isinstance(values, tuple) else values
    datatype = first.datatype or constraint.datatype
    if datatype in DECIMAL_TYPES:
        return Kind.DECIMAL
    if datatype in DATETIME_TYPES or datatype in DATE_TYPES:
        return Kind.DATETIME
    if datatype in DURATION_TYPES:
        return Kind.DURATION
    return Kind.CLAIM  # compared as text (or booleans)


def _convert(kind: Kind, value: Value, datatype: str | None, term: str) -> Any:
    text = value.value
    if value.iri and kind in (Kind.DATETIME, Kind.DURATION, Kind.COUNT, Kind.DECIMAL):
        raise DatatypeError(f"{term} needs a literal, not the IRI {text}")
    if kind is Kind.DATETIME:
        if datatype in DATETIME_TYPES:
            return parse_datetime(text)
        if datatype in DATE_TYPES:
            return parse_date(text)
        if datatype is None:
            return parse_datetime(text) if "T" in text else parse_date(text)
        raise DatatypeError(f"{term} needs xsd:dateTime or xsd:date, not {datatype}")
    if kind is Kind.DURATION:
        if datatype is None or datatype in DURATION_TYPES:
            return parse_duration(text)
        raise DatatypeError(f"{term} needs xsd:duration, not {datatype}")
    if kind is Kind.COUNT:
        if datatype is None or datatype in INTEGER_TYPES:
            number = parse_integer(text)
        elif datatype in DECIMAL_TYPES:
            amount = parse_decimal(text)
            if amount != amount.to_integral_value():
                raise ValueError(f"{term} needs a whole number, not {text}")
            number = int(amount)
        else:
            raise DatatypeError(f"{term} needs xsd:integer, not {datatype}")
        if number < 0:
            raise ValueError(f"{term} cannot be negative ({text})")
        return number
    if kind is Kind.DECIMAL:
        if datatype is None or datatype in DECIMAL_TYPES:
            return parse_decimal(text)
        raise DatatypeError(f"{term} needs xsd:decimal, not {datatype}")
    if kind is Kind.VERSION:
        if datatype is None or datatype in _TEXT_TYPES or datatype in DECIMAL_TYPES:
            return parse_version(text)
        raise DatatypeError(f"{term} needs a string or number, not {datatype}")
    if kind is Kind.CLAIM and datatype == _BOOL:
        return parse_boolean(text)
    if datatype is not None and datatype not in _TEXT_TYPES:
        raise DatatypeError(f"{term} needs an IRI or string, not {datatype}")
    if kind is Kind.IRI and not value.iri and ":" not in text:
        raise ValueError(f"{term} needs an IRI, not {text!r}")
    return text


def convert_right(spec: OperandSpec, constraint: Constraint) -> Right:
    """The right operand as Python values (a tuple for lists); raises ``ValueError``."""
    kind = effective_kind(spec, constraint)
    values = constraint.right_operand
    if isinstance(values, tuple):
        return tuple(
            _convert(kind, v, v.datatype or constraint.datatype, spec.term) for v in values
        )
    return _convert(kind, values, values.datatype or constraint.datatype, spec.term)


def check_constraint(spec: OperandSpec, constraint: Constraint) -> list[tuple[str, str]]:
    """Problems of one atomic constraint as (code, message) pairs."""
    kind = effective_kind(spec, constraint)
    op = constraint.operator
    problems: list[tuple[str, str]] = []
    allowed = KIND_OPERATORS[kind]
    if kind is Kind.CLAIM:
        first = constraint.right_operand
        first = first[0] if isinstance(first, tuple) else first
        if (first.datatype or constraint.datatype) == _BOOL:
            allowed = frozenset({Operator.EQ, Operator.NEQ, Operator.IS_ANY_OF})
            allowed |= {Operator.IS_NONE_OF}
        else:
            allowed = KIND_OPERATORS[Kind.TEXT]
    if op not in allowed:
        problems.append(("operator-not-applicable", f"operator {op} does not apply to {spec.term}"))
    if isinstance(constraint.right_operand, tuple) and op not in SET_OPERATORS:
        problems.append(("unexpected-list", f"operator {op} takes a single right operand"))
    try:
        right = convert_right(spec, constraint)
    except DatatypeError as exc:
        problems.append(("invalid-datatype", str(exc)))
        return problems
    except ValueError as exc:
        problems.append(("invalid-value", str(exc)))
        return problems
    if spec.term == "percentage":
        for number in right if isinstance(right, tuple) else (right,):
            if not Decimal(0) <= number <= Decimal(100):
                problems.append(("invalid-value", f"percentage {number} is outside 0..100"))
    ordering = op in (Operator.LT, Operator.LTEQ, Operator.GT, Operator.GTEQ)
    versions = right if isinstance(right, tuple) else (right,)
    if kind is Kind.VERSION and ordering and any(v.parts is None for v in versions):
        problems.append(("invalid-value", f"{op} on version needs a dotted number such as 2.1"))
    return problems


# -- left values -------------------------------------------------------------------


def _claim(credentials: Mapping[str, Any], term: str) -> Any:
    ctype, path = claim_parts(term)
    found: list[Any] = []
    for subject in credentials.get(ctype, ()):
        node: Any = subject
        for step in path:
            node = node.get(step) if isinstance(node, Mapping) else None
        if isinstance(node, list):
            found.extend(node)
        elif node is not None:
            found.append(node)
    if not found:
        return None
    if len(found) == 1:
        return found[0]
    return frozenset(str(v) if not isinstance(v, bool | int | float) else v for v in found)


def left_value(spec: OperandSpec, ctx: RequestContext) -> Any:
    """The context's value for a left operand, or ``None`` when it does not supply one."""
    key = spec.context_key
    if spec.kind is Kind.CREDENTIALS:
        return None if ctx.credentials is None else frozenset(ctx.credentials)
    if spec.kind is Kind.CLAIM:
        return None if ctx.credentials is None else _claim(ctx.credentials, spec.term)
    attr = OPERAND_ATTRS.get(key)
    if attr is not None:
        return getattr(ctx, attr)
    return ctx.extra.get(key) if ctx.extra else None


def member_of(ctx: RequestContext, item: str, collection: str) -> bool:
    """Whether ``item`` is transitively ``partOf`` ``collection`` in the context."""
    part_of = ctx.part_of
    if not part_of:
        return False
    seen = {item}
    frontier = [item]
    while frontier:
        for parent in part_of.get(frontier.pop(), ()):
            if parent == collection:
                return True
            if parent not in seen:
                seen.add(parent)
                frontier.append(parent)
    return False


# -- comparison --------------------------------------------------------------------


def _coerce_left(kind: Kind, left: Any) -> Any:
    """Context values as the kind compares them (claims arrive as raw JSON)."""
    try:
        if kind is Kind.DATETIME:
            return left if isinstance(left, datetime) else parse_datetime(str(left))
        if kind is Kind.DURATION:
            if isinstance(left, timedelta):
                return Duration.of(left)
            return left if isinstance(left, Duration) else parse_duration(str(left))
        if kind in (Kind.DECIMAL, Kind.COUNT):
            if isinstance(left, bool):
                return None
            if isinstance(left, int | Decimal):
                return left
            return parse_decimal(str(left))
        if kind is Kind.VERSION:
            return left if isinstance(left, Version) else parse_version(str(left))
    except ValueError:
        return None
    return left


def _order(kind: Kind, left: Any, right: Any) -> int | None:
    if kind is Kind.DURATION:
        result: int | None = left.compare(right)
        return result
    if kind is Kind.VERSION:
        return left.compare(right)  # type: ignore[no-any-return]
    return (left > right) - (left < right)  # type: ignore[no-any-return]


def _ordered(kind: Kind, op: Operator, left: Any, right: Any) -> bool | None:
    if isinstance(right, tuple):
        results = [_ordered(kind, Operator.EQ, left, r) for r in right]
        if any(results):
            hit: bool | None = True
        elif None in results:
            hit = None
        else:
            hit = False
        if op is Operator.IS_ANY_OF or hit is None:
            return hit
        return not hit  # isNoneOf
    if isinstance(right, DayWindow):
        start, end, moment = right.start, right.end, left
        if not isinstance(moment, datetime):
            return None
        inside = start <= moment < end
        return {
            Operator.EQ: inside,
            Operator.NEQ: not inside,
            Operator.LT: moment < start,
            Operator.LTEQ: moment < end,
            Operator.GT: moment >= end,
            Operator.GTEQ: moment >= start,
            Operator.IS_ANY_OF: inside,
            Operator.IS_NONE_OF: not inside,
        }[op]
    order = _order(kind, left, right)
    if order is None:
        return None
    return {
        Operator.EQ: order == 0,
        Operator.NEQ: order != 0,
        Operator.LT: order < 0,
        Operator.LTEQ: order <= 0,
        Operator.GT: order > 0,
        Operator.GTEQ: order >= 0,
        Operator.IS_ANY_OF: order == 0,
        Operator.IS_NONE_OF: order != 0,
    }[op]


def _event(op: Operator, phases: Mapping[str, str], right: Any) -> bool | None:
    if isinstance(right, tuple):
        hits = [phases.get(r) == "during" for r in right]
        return any(hits) if op is Operator.IS_ANY_OF else not any(hits)
    phase = phases.get(right)
    if op is Operator.EQ:
        return phase == "during"
    if op is Operator.NEQ:
        return phase != "during"
    if phase is None:
        return None
    wanted = {
        Operator.LT: ("before",),
        Operator.LTEQ: ("before", "during"),
        Operator.GT: ("after",),
        Operator.GTEQ: ("during", "after"),
    }[op]
    return phase in wanted


def _identity(op: Operator, left: Any, right: Any, ctx: RequestContext) -> bool:
    rights = right if isinstance(right, tuple) else (right,)
    if isinstance(left, frozenset):
        if op is Operator.EQ:
            return right in left
        if op is Operator.NEQ:
            return right not in left
        if op is Operator.IS_ANY_OF:
            return not left.isdisjoint(rights)
        if op is Operator.IS_NONE_OF:
            return left.isdisjoint(rights)
        if op in (Operator.IS_ALL_OF, Operator.HAS_PART):
            return left.issuperset(rights)
        return all(_identity(op, item, right, ctx) for item in left) and bool(left)
    if op is Operator.EQ:
        return bool(left == right)
    if op is Operator.NEQ:
        return bool(left != right)
    if op is Operator.IS_ANY_OF:
        return left in rights
    if op is Operator.IS_NONE_OF:
        return left not in rights
    if op is Operator.IS_ALL_OF:
        return all(r == left for r in rights)
    if op is Operator.HAS_PART:
        return all(r == left or member_of(ctx, str(r), str(left)) for r in rights)
    # isPartOf and isA: left is (transitively) part of / an instance of some right value
    return any(left == r or member_of(ctx, str(left), str(r)) for r in rights)


def compare(kind: Kind, op: Operator, left: Any, right: Right, ctx: RequestContext) -> bool | None:
    """Apply ``op`` to a context value and a converted right operand."""
    if left is None:
        return None
    if kind is Kind.EVENT:
        return _event(op, left, right)
    if kind in (Kind.TEXT, Kind.IRI, Kind.CREDENTIALS, Kind.CLAIM):
        if isinstance(right, bool) or (
            isinstance(right, tuple) and right and isinstance(right[0], bool)
        ):
            left = _as_bool(left)
            if left is None:
                return None
        elif not isinstance(left, frozenset):
            left = str(left)
        return _identity(op, left, right, ctx)
    if isinstance(left, frozenset):
        return None  # an ordered comparison needs a single value
    left = _coerce_left(kind, left)
    if left is None:
        return None
    return _ordered(kind, op, left, right)


def _as_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return bool(value == "true")
    return None
