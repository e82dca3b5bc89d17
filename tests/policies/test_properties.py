"""Property-based tests: operator laws, logical truth tables, compiled == interpreted."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policies import RequestContext, compile_policy, evaluate, parse_policy

PROFILE = "https://w3id.org/dataspace-toolkit/odrl/profile"
BASE = datetime(2025, 1, 1, tzinfo=UTC)
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _policy(constraints: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "@id": "urn:prop:p",
        "@type": "Set",
        "profile": PROFILE,
        "target": "urn:t",
        "permission": [{"action": "use", "constraint": constraints}],
    }


def _both(doc: dict[str, Any], context: dict[str, Any]) -> bool:
    """Permitted by both paths (which must agree)."""
    policy = parse_policy(doc)
    ctx = RequestContext.from_mapping({"action": "use", "target": "urn:t", **context})
    compiled = compile_policy(policy).decide(ctx).permitted
    interpreted = evaluate(policy, ctx).permitted
    assert compiled is interpreted
    return compiled


def _holds(operand: str, op: str, right: Any, context: dict[str, Any]) -> bool:
    constraint = {"leftOperand": operand, "operator": op, "rightOperand": right}
    return _both(_policy([constraint]), context)


# -- typed values on both sides -----------------------------------------------------

_instants = st.integers(min_value=-3 * 86_400, max_value=3 * 86_400).map(
    lambda s: BASE + timedelta(seconds=s)
)


def _typed(value: str, datatype: str) -> dict[str, str]:
    return {"@value": value, "@type": datatype}


def _ordered_cases() -> st.SearchStrategy[tuple[str, Any, dict[str, Any]]]:
    """(left operand, right operand JSON, context) over the ordered kinds."""
    count = st.tuples(st.integers(0, 6), st.integers(0, 6)).map(
        lambda p: ("count", _typed(str(p[0]), "xsd:integer"), {"count": p[1]})
    )
    money = st.tuples(st.integers(0, 400), st.integers(0, 400)).map(
        lambda p: (
            "payAmount",
            _typed(f"{p[0] / 4:.2f}", "xsd:decimal"),
            {"payAmount": f"{p[1] / 4:.2f}"},
        )
    )
    moment = st.tuples(_instants, _instants).map(
        lambda p: (
            "dateTime",
            _typed(p[0].isoformat(), "xsd:dateTime"),
            {"dateTime": p[1].isoformat()},
        )
    )
    day = st.tuples(_instants, _instants).map(
        lambda p: (
            "dateTime",
            _typed(p[0].date().isoformat(), "xsd:date"),
            {"dateTime": p[1].isoformat()},
        )
    )
    hours = st.tuples(st.integers(0, 72), st.integers(0, 72)).map(
        lambda p: (
            "elapsedTime",
            _typed(f"PT{p[0]}H", "xsd:duration"),
            {"elapsedTime": f"PT{p[1]}H"},
        )
    )
    version = st.tuples(
        st.lists(st.integers(0, 3), min_size=1, max_size=3),
        st.lists(st.integers(0, 3), min_size=1, max_size=3),
    ).map(
        lambda p: (
            "version",
            ".".join(map(str, p[0])),
            {"version": ".".join(map(str, p[1]))},
        )
    )
    return st.one_of(count, money, moment, day, hours, version)


@SETTINGS
@given(_ordered_cases())
def test_lt_and_gteq_are_complements(case: tuple[str, Any, dict[str, Any]]) -> None:
    operand, right, context = case
    assert _holds(operand, "lt", right, context) is not _holds(operand, "gteq", right, context)


@SETTINGS
@given(_ordered_cases())
def test_gt_and_lteq_are_complements(case: tuple[str, Any, dict[str, Any]]) -> None:
    operand, right, context = case
    assert _holds(operand, "gt", right, context) is not _holds(operand, "lteq", right, context)


@SETTINGS
@given(_ordered_cases())
def test_eq_and_neq_are_complements_on_ordered_values(
    case: tuple[str, Any, dict[str, Any]],
) -> None:
    operand, right, context = case
    eq = _holds(operand, "eq", right, context)
    assert eq is not _holds(operand, "neq", right, context)
    # eq is exactly "neither lt nor gt"
    lt, gt = _holds(operand, "lt", right, context), _holds(operand, "gt", right, context)
    assert eq is (not lt and not gt)


@SETTINGS
@given(_ordered_cases())
def test_a_missing_value_satisfies_no_operator(case: tuple[str, Any, dict[str, Any]]) -> None:
    operand, right, _ = case
    for op in ("eq", "neq", "lt", "lteq", "gt", "gteq"):
        assert _holds(operand, op, right, {}) is False


_purposes = st.sampled_from([f"urn:purpose:{n}" for n in "abcde"])


@SETTINGS
@given(_purposes, st.lists(_purposes, min_size=1, max_size=4))
def test_is_any_of_and_is_none_of_are_complements(value: str, choices: list[str]) -> None:
    context = {"purpose": value}
    any_of = _holds("purpose", "isAnyOf", choices, context)
    assert any_of is not _holds("purpose", "isNoneOf", choices, context)
    assert any_of is (value in choices)


_credential_types = st.sampled_from(["A", "B", "C", "D"])


@SETTINGS
@given(
    st.lists(_credential_types, max_size=4, unique=True),
    st.lists(_credential_types, min_size=1, max_size=3, unique=True),
)
def test_credential_set_laws(held: list[str], wanted: list[str]) -> None:
    context = {"credentials": held}
    any_of = _holds("dst:credentialType", "isAnyOf", wanted, context)
    assert any_of is not _holds("dst:credentialType", "isNoneOf", wanted, context)
    assert any_of is bool(set(held) & set(wanted))
    all_of = _holds("dst:credentialType", "isAllOf", wanted, context)
    assert all_of is (set(wanted) <= set(held))
    one = wanted[0]
    eq = _holds("dst:credentialType", "eq", one, context)
    assert eq is not _holds("dst:credentialType", "neq", one, context)
    assert eq is (one in held)


@SETTINGS
@given(_purposes, _purposes)
def test_eq_and_neq_on_identities(value: str, right: str) -> None:
    context = {"purpose": value}
    eq = _holds("purpose", "eq", right, context)
    assert eq is not _holds("purpose", "neq", right, context)
    assert eq is (value == right)


# -- logical constraints --------------------------------------------------------------

# Each leaf is "<operand> eq yes" on its own context key: "yes" makes it true, "no"
# false, and leaving the key out leaves it undetermined.
_LEAF_KEYS = ["language", "product", "industry", "media", "fileFormat", "deliveryChannel"]
_leaf_values = st.sampled_from([True, False, None])


def _tree(depth: int) -> st.SearchStrategy[Any]:
    leaf = st.integers(0, len(_LEAF_KEYS) - 1)
    if depth == 0:
        return leaf
    node = st.tuples(
        st.sampled_from(["and", "or", "xone", "andSequence"]),
        st.lists(_tree(depth - 1), min_size=1, max_size=3),
    )
    return st.one_of(leaf, node)


def _truth(tree: Any, values: list[bool | None]) -> bool | None:
    """Reference three-valued (Kleene) semantics, written independently of the engine."""
    if isinstance(tree, int):
        return values[tree]
    op, children = tree
    results = [_truth(c, values) for c in children]
    if op in ("and", "andSequence"):
        if any(r is False for r in results):
            return False
        return None if any(r is None for r in results) else True
    if op == "or":
        if any(r is True for r in results):
            return True
        return None if any(r is None for r in results) else False
    trues = sum(r is True for r in results)
    if trues > 1:
        return False
    if any(r is None for r in results):
        return None
    return trues == 1


def _constraint(tree: Any) -> dict[str, Any]:
    if isinstance(tree, int):
        return {"leftOperand": _LEAF_KEYS[tree], "operator": "eq", "rightOperand": "yes"}
    op, children = tree
    return {op: [_constraint(c) for c in children]}


@SETTINGS
@given(_tree(3), st.lists(_leaf_values, min_size=6, max_size=6))
def test_logical_constraints_follow_their_truth_tables(
    tree: Any, values: list[bool | None]
) -> None:
    context = {
        key: "yes" if value else "no"
        for key, value in zip(_LEAF_KEYS, values, strict=True)
        if value is not None
    }
    permitted = _both(_policy([_constraint(tree)]), context)
    assert permitted is (_truth(tree, values) is True)


# -- random policies: compiled == interpreted -------------------------------------------

_rule_actions = st.sampled_from(["use", "use", "read", "play", "transfer"])
_request_actions = st.sampled_from(["read", "read", "use", "display", "sell", "modify"])
_targets = st.sampled_from(["urn:t:1", "urn:t:1", "urn:c:all"])
_parties = st.sampled_from(["did:a", "did:b", "urn:g:group"])


def _atomic() -> st.SearchStrategy[dict[str, Any]]:
    count = st.tuples(
        st.sampled_from(["eq", "neq", "lt", "lteq", "gt", "gteq"]), st.integers(0, 4)
    ).map(lambda p: {"leftOperand": "count", "operator": p[0],
                     "rightOperand": _typed(str(p[1]), "xsd:integer")})  # fmt: skip
    when = st.tuples(st.sampled_from(["lt", "gteq", "eq", "neq"]), _instants).map(
        lambda p: {"leftOperand": "dateTime", "operator": p[0],
                   "rightOperand": _typed(p[1].date().isoformat(), "xsd:date")}
    )  # fmt: skip
    purpose = st.tuples(
        st.sampled_from(["eq", "neq", "isAnyOf", "isNoneOf", "isPartOf", "isA", "hasPart"]),
        st.lists(_purposes, min_size=1, max_size=2),
    ).map(lambda p: {"leftOperand": "purpose", "operator": p[0],
                     "rightOperand": p[1][0] if p[0] in ("eq", "neq") else p[1]})  # fmt: skip
    held = st.tuples(
        st.sampled_from(["eq", "neq", "isAnyOf", "isNoneOf", "isAllOf", "hasPart"]),
        st.lists(_credential_types, min_size=1, max_size=2),
    ).map(lambda p: {"leftOperand": "dst:credentialType", "operator": p[0],
                     "rightOperand": p[1][0] if p[0] in ("eq", "neq") else p[1]})  # fmt: skip
    paid = st.integers(0, 10).map(
        lambda n: {"leftOperand": "payAmount", "operator": "gteq",
                   "rightOperand": _typed(str(n), "xsd:decimal"), "unit": "EUR"}
    )  # fmt: skip
    event = st.sampled_from(["eq", "lt", "gt", "neq", "gteq"]).map(
        lambda op: {"leftOperand": "event", "operator": op, "rightOperand": "urn:e:1"}
    )
    return st.one_of(count, when, purpose, held, paid, event)


def _node() -> st.SearchStrategy[dict[str, Any]]:
    logical = st.tuples(
        st.sampled_from(["and", "or", "xone"]), st.lists(_atomic(), min_size=1, max_size=3)
    ).map(lambda p: {p[0]: p[1]})
    return st.one_of(_atomic(), _atomic(), logical)


@st.composite
def _duty(draw: st.DrawFn) -> dict[str, Any]:
    duty: dict[str, Any] = {
        "@id": f"urn:d:{draw(st.integers(0, 3))}",
        "action": draw(st.sampled_from(["attribute", "compensate", "dst:log"])),
    }
    if draw(st.booleans()):
        duty["constraint"] = [draw(_atomic())]
    if draw(st.booleans()):
        duty["consequence"] = [{"@id": f"urn:d:c{draw(st.integers(0, 2))}", "action": "inform"}]
    return duty


@st.composite
def _rule(draw: st.DrawFn, *, duties: bool) -> dict[str, Any]:
    rule: dict[str, Any] = {"action": draw(_rule_actions), "target": draw(_targets)}
    if draw(st.booleans()):
        rule["assignee"] = draw(_parties)
    rule["constraint"] = draw(st.lists(_node(), max_size=2))
    if duties:
        rule["duty"] = draw(st.lists(_duty(), max_size=2, unique_by=lambda d: d["@id"]))
    return rule


@st.composite
def _random_policy(draw: st.DrawFn) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "@id": "urn:prop:random",
        "@type": "Set",
        "profile": PROFILE,
        "permission": draw(st.lists(_rule(duties=True), min_size=1, max_size=3)),
    }
    prohibitions = draw(st.lists(_rule(duties=False), max_size=2))
    if prohibitions:
        doc["prohibition"] = prohibitions
    conflict = draw(st.sampled_from([None, "perm", "prohibit", "invalid"]))
    if conflict:
        doc["conflict"] = conflict
    if draw(st.booleans()):
        doc["obligation"] = [draw(_duty())]
    # duty ids are unique within a policy (validation requires it)
    duties = [d for rule in doc["permission"] for d in rule["duty"]] + doc.get("obligation", [])
    for n, duty in enumerate(duties):
        duty["@id"] = f"urn:d:{n % 4}" if n < 4 else f"urn:d:x{n}"
        for m, consequence in enumerate(duty.get("consequence", ())):
            consequence["@id"] = f"urn:d:c{n}-{m}"
    return doc


@st.composite
def _random_context(draw: st.DrawFn) -> dict[str, Any]:
    ctx: dict[str, Any] = {"action": draw(_request_actions)}
    optional = {
        "target": _targets,
        "assignee": _parties,
        "count": st.integers(0, 5),
        "dateTime": _instants.map(datetime.isoformat),
        "purpose": _purposes,
        "credentials": st.lists(_credential_types, max_size=3, unique=True),
        "payAmount": st.integers(0, 12),
        "payUnit": st.sampled_from(["EUR", "NOK"]),
        "event": st.dictionaries(
            st.just("urn:e:1"), st.sampled_from(["before", "during", "after"])
        ),
        "partOf": st.fixed_dictionaries(
            {},
            optional={
                "urn:t:1": st.just(["urn:c:all"]),
                "did:a": st.just(["urn:g:group"]),
                "urn:purpose:a": st.lists(_purposes, max_size=2),
            },
        ),
        "duties": st.dictionaries(
            st.sampled_from([*(f"urn:d:{n}" for n in range(4)), "urn:d:c0-0", "urn:d:c1-0"]),
            st.sampled_from(["fulfilled", "violated", "notSet"]),
        ),
    }
    for key, strategy in optional.items():
        if draw(st.integers(0, 5)):  # mostly present, sometimes missing
            ctx[key] = draw(strategy)
    return ctx


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_random_policy(), st.lists(_random_context(), min_size=1, max_size=4))
def test_compiled_equals_interpreted_on_random_policies(
    doc: dict[str, Any], contexts: list[dict[str, Any]]
) -> None:
    policy = parse_policy(doc)
    compiled = compile_policy(policy)
    for data in contexts:
        ctx = RequestContext.from_mapping(data)
        fast, slow = compiled.decide(ctx), evaluate(policy, ctx)
        assert (fast.permitted, fast.basis, fast.decided_by) == (
            slow.permitted,
            slow.basis,
            slow.decided_by,
        )
        assert fast.duties == slow.duties
