"""Policies in plain words: one summary sentence and one sentence per rule and condition.

What the web consoles show beside every offer, agreement and dataset policy,
for people who do not read ODRL. :func:`explain` takes a policy document or
a parsed :class:`~policies.model.Policy` and returns an :class:`Explanation`:

* ``summary``: one sentence with the facts that matter most (who, what, what
  for, how much, until when), e.g. "Members of the data space may use this
  dataset for research, at most 1,000 calls per month, until 31 Dec 2027.";
* ``lines``: every permission, prohibition, obligation, duty and constraint,
  one sentence each; nothing is dropped, an operand we have no words for is
  written as "a condition on <operand> <operator> <value>";
* ``colour``: the traffic light (``green``/``yellow``) when the policy has the
  shape :func:`policies.presets.traffic_light_offer` gives it. Red datasets are
  never offered, so no policy is red.

A document that is not valid ODRL is explained as such (its issues, then what
could be read); :func:`explain` does not raise on bad input.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from policies.errors import PolicyValidationError
from policies.model import (
    Constraint,
    ConstraintNode,
    Duty,
    LogicalConstraint,
    Party,
    Permission,
    Policy,
    Prohibition,
    Value,
)
from policies.parse import parse_policy, read_policy
from policies.presets import MEMBERSHIP_CREDENTIAL, RESEARCH_PURPOSES, Licence
from policies.profile import DST_PROFILE_IRI, Profile, claim_parts
from policies.values import parse_date, parse_datetime
from policies.vocabulary import LEFT_OPERANDS, LogicalOperator, Operator

__all__ = ["Explanation", "explain"]


@dataclass(frozen=True, slots=True)
class Explanation:
    """A policy in plain English."""

    summary: str
    """One sentence: who may do what, for what, how much and until when."""
    lines: tuple[str, ...]
    """One sentence per permission, prohibition, obligation, duty and constraint."""
    colour: str | None = None
    """``green`` or ``yellow`` for traffic-light offers (and agreements made from them)."""


def explain(
    policy: Mapping[str, Any] | Policy, *, profiles: Iterable[Profile] | None = None
) -> Explanation:
    """Explain ``policy`` (a document, as :func:`~policies.parse_policy` reads it, or a model).

    ``profiles`` are passed to the parser for documents. An invalid document
    gives an explanation saying so and listing its issues; nothing is raised.
    """
    if isinstance(policy, Policy):
        return _explain(policy)
    try:
        return _explain(parse_policy(policy, profiles=profiles))
    except PolicyValidationError as exc:
        problems = [f"Problem at {i.path or '/'}: {i.message.rstrip('.')}." for i in exc.issues]
        readable, _ = read_policy(policy)
        lines = _lines(readable) if readable is not None else []
        first = exc.issues[0].message.rstrip(".") if exc.issues else "it cannot be read"
        summary = f"This policy is not valid ODRL, so it grants nothing ({first})."
        return Explanation(summary, tuple(problems + lines), None)


def _explain(policy: Policy) -> Explanation:
    return Explanation(_summary(policy), tuple(_lines(policy)), _colour(policy))


# -- words ---------------------------------------------------------------------

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_DURATION = re.compile(
    r"^P(?:(?P<year>\d+)Y)?(?:(?P<month>\d+)M)?(?:(?P<week>\d+)W)?(?:(?P<day>\d+)D)?"
    r"(?:T(?:(?P<hour>\d+)H)?(?:(?P<minute>\d+)M)?(?:(?P<second>\d+(?:\.\d+)?)S)?)?$"
)
_ACTIONS = {
    "cc:CommercialUse": "use commercially",
    "cc:DerivativeWorks": "make derivative works of",
    "cc:Distribution": "distribute",
    "cc:Reproduction": "reproduce",
    "cc:Sharing": "share",
    "dst:log": "record each use in the audit log",
    "dst:meter": "report each use for metering and billing",
    "dst:notify": "notify a web address of each use",
    "compensate": "pay",
    "obtainConsent": "obtain consent",
    "acceptTracking": "accept tracking",
}
_OPERATORS = {
    Operator.EQ: "is",
    Operator.NEQ: "is not",
    Operator.LT: "is less than",
    Operator.LTEQ: "is at most",
    Operator.GT: "is more than",
    Operator.GTEQ: "is at least",
    Operator.IS_A: "is a",
    Operator.HAS_PART: "includes",
    Operator.IS_PART_OF: "is part of",
    Operator.IS_ALL_OF: "is all of",
    Operator.IS_ANY_OF: "is one of",
    Operator.IS_NONE_OF: "is none of",
}
#: Licence IRI -> (full name, short name).
_LICENCES = {
    Licence.NLOD_2_0.value: ("the Norwegian Licence for Open Government Data 2.0", "NLOD 2.0"),
    Licence.CC_BY_4_0.value: ("Creative Commons Attribution 4.0", "CC BY 4.0"),
    Licence.CC0.value: ("Creative Commons Zero (public domain)", "CC0"),
}


def _words(term: str) -> str:
    """``textToSpeech`` -> ``text to speech``; IRIs keep their last segment."""
    local = re.split(r"[#/]", term.rstrip("/#"))[-1] if "://" in term else term
    local = local.split(":", 1)[-1]
    return _CAMEL.sub(" ", local).lower().replace("non ", "non-")


def _action(name: str | None) -> str:
    if name is None:
        return "act on (no action is given)"
    return _ACTIONS.get(name) or _words(name)


def _number(text: str) -> str:
    try:
        value = Decimal(text)
    except InvalidOperation:
        return text
    return f"{value:,}" if value == value.to_integral_value() or "." in text else text


def _units(text: str) -> str | None:
    """``P1M`` -> ``1 month``, ``PT1H30M`` -> ``1 hour and 30 minutes``; None if unreadable."""
    match = _DURATION.match(text)
    if match is None or text in ("P", "PT") or text.endswith("T"):
        return None
    parts = []
    for unit, amount in match.groupdict().items():
        if amount is not None and Decimal(amount) != 0:
            count = _number(amount)
            parts.append(f"{count} {unit}" + ("" if Decimal(amount) == 1 else "s"))
    if not parts:
        return "no time"
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def _period(text: str) -> str:
    """``P1M`` -> ``per month``, ``P3M`` -> ``per 3 months``."""
    words = _units(text)
    if words is None:
        return f"per period of {text}"
    return "per " + (words[2:] if words.startswith("1 ") and " and " not in words else words)


def _duration(text: str) -> str:
    return _units(text) or text


def _day(moment: datetime) -> str:
    return f"{moment.day} {moment:%b %Y}"


def _when(text: str, operator: Operator) -> str:
    """A date bound in words: ``lt 2028-01-01T00:00:00Z`` -> ``until 31 Dec 2027``."""
    try:
        if "T" not in text:
            window = parse_date(text)
            start, end = window.start, window.end
        else:
            start = end = parse_datetime(text)
    except ValueError:
        return f"{_OPERATORS[operator]} {text}"
    whole_days = start.utcoffset() == timedelta(0) and start.time() == datetime.min.time()
    offset = start.utcoffset() or timedelta(0)
    if whole_days or "T" not in text:
        last, first = _day(end - timedelta(days=1)), _day(start)
        words = {
            Operator.LT: f"until {_day(start - timedelta(days=1))}",
            Operator.LTEQ: f"until {last}" if "T" not in text else f"until {first}, 00:00 UTC",
            Operator.GT: f"from {_day(end)}" if "T" not in text else f"after {first}, 00:00 UTC",
            Operator.GTEQ: f"from {first}",
            Operator.EQ: f"on {first}",
            Operator.NEQ: f"not on {first}",
        }
        shown = first
    else:
        minutes = int(offset.total_seconds()) // 60
        sign = "-" if minutes < 0 else "+"
        zone = "UTC" if not minutes else f"UTC{sign}{abs(minutes) // 60:02}:{abs(minutes) % 60:02}"
        clock = f"{start:%H:%M:%S}" if start.second or start.microsecond else f"{start:%H:%M}"
        stamp = shown = f"{_day(start)}, {clock} {zone}"
        words = {
            Operator.LT: f"before {stamp}",
            Operator.LTEQ: f"until {stamp}",
            Operator.GT: f"after {stamp}",
            Operator.GTEQ: f"from {stamp}",
            Operator.EQ: f"at {stamp}",
            Operator.NEQ: f"not at {stamp}",
        }
    return words.get(operator, f"when the date {_OPERATORS[operator]} {shown}")


def _values(constraint: Constraint) -> list[Value]:
    right = constraint.right_operand
    return list(right) if isinstance(right, tuple) else [right]


def _either(items: Sequence[str], joiner: str = "or") -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + f" {joiner} " + items[-1]


def _right(constraint: Constraint, show: Any = None) -> str:
    shown = [(show or _plain)(v) for v in _values(constraint)]
    joiner = "and" if constraint.operator in (Operator.IS_ALL_OF, Operator.HAS_PART) else "or"
    text = _either(shown, joiner)
    return f"{text} {constraint.unit}" if constraint.unit else text


def _plain(value: Value) -> str:
    if value.datatype and value.datatype.startswith("xsd:") and value.datatype in _NUMERIC:
        return _number(value.value)
    if value.datatype == "xsd:duration":
        return _duration(value.value)
    return value.value


_NUMERIC = frozenset({"xsd:integer", "xsd:decimal", "xsd:nonNegativeInteger", "xsd:double",
                      "xsd:float", "xsd:int", "xsd:long", "xsd:positiveInteger"})


# -- conditions ----------------------------------------------------------------


def _condition(node: ConstraintNode) -> str:
    """A constraint as a clause: ``at most 1,000 calls``, ``either A or B``."""
    if isinstance(node, LogicalConstraint):
        parts = [_condition(n) for n in node.operands]
        if node.operator is LogicalOperator.AND:
            return "all of: " + "; ".join(parts) if len(parts) > 2 else _either(parts, "and")
        if node.operator is LogicalOperator.OR:
            return "at least one of: " + "; ".join(parts)
        if node.operator is LogicalOperator.XONE:
            return "exactly one of: " + "; ".join(parts)
        return "in this order: " + "; then ".join(parts)
    return _atom(node)


def _atom(c: Constraint) -> str:
    op, term = c.operator, c.left_operand
    single = None if isinstance(c.right_operand, tuple) else c.right_operand.value
    if term == "dateTime" and single is not None:
        return _when(single, op)
    if term == "count" and single is not None:
        try:
            limit = int(single) + {Operator.LT: 0, Operator.LTEQ: 1}[op]
            return f"at most {limit:,} calls"
        except (KeyError, ValueError):
            return f"when the number of earlier calls {_OPERATORS[op]} {_right(c)}"
    if term == "timeInterval" and single is not None and op is Operator.EQ:
        return f"calls counted {_period(single)}"
    if term in ("elapsedTime", "delayPeriod", "meteredTime") and single is not None:
        what = {"elapsedTime": "within", "delayPeriod": "after a delay of",
                "meteredTime": "for a metered time of at most"}[term]
        if op in (Operator.LT, Operator.LTEQ) and term != "delayPeriod":
            return f"{what} {_duration(single)}" + (" of the agreement" if term == "elapsedTime"
                                                    else "")
        return f"when the {LEFT_OPERANDS[term].description} {_OPERATORS[op]} {_duration(single)}"
    if term == "purpose":
        verb = "not for" if op in (Operator.NEQ, Operator.IS_NONE_OF) else "for"
        return f"{verb} {_right(c, lambda v: _words(v.value))}"
    if term == "spatial":
        verb = "outside" if op in (Operator.NEQ, Operator.IS_NONE_OF) else "in"
        return f"{verb} {_right(c)}"
    if term == "payAmount" and op is Operator.EQ:
        return f"paying {_right(c)}"
    if term == "percentage" and op in (Operator.LT, Operator.LTEQ):
        return f"{'less than' if op is Operator.LT else 'at most'} {_right(c)}% of the data"
    if term == "dst:credentialType":
        return _credential(c)
    if term == "dst:endpoint" and op is Operator.EQ:
        return f"reported to {_right(c)}"
    if term.startswith("dst:claim/"):
        return _claim(c)
    spec = LEFT_OPERANDS.get(term)
    if spec is not None:
        return f"when the {spec.description.split(' (')[0]} {_OPERATORS[op]} {_right(c)}"
    return f"a condition on {term} {_OPERATORS.get(op, str(op))} {_right(c)}"


def _credential(c: Constraint) -> str:
    def name(v: Value) -> str:
        if v.value == MEMBERSHIP_CREDENTIAL:
            return f"a {v.value} (members of the data space)"
        return f"a {v.value}"

    negated = c.operator in (Operator.NEQ, Operator.IS_NONE_OF)
    return ("the requester holds none of " if negated else "the requester holds ") + _right(c, name)


def _claim(c: Constraint) -> str:
    try:
        ctype, path = claim_parts(c.left_operand)
    except ValueError:
        return f"a condition on {c.left_operand} {_OPERATORS[c.operator]} {_right(c)}"
    claim = ".".join(path)
    if claim in ("product", "plan") and c.operator is Operator.EQ:
        return f"the requester bought {claim} {_right(c)} (their {ctype} says so)"
    return f"the {claim} claim of the requester's {ctype} {_OPERATORS[c.operator]} {_right(c)}"


# -- rules ---------------------------------------------------------------------


def _party(party: Party | None, default: str) -> str:
    if party is None or party.reference is None:
        return default
    return f"members of {party.reference}" if party.collection else party.reference


def _object(target: Any) -> str:
    return "this dataset" if target is None or target.reference is None else target.reference


def _duty(duty: Duty) -> str:
    name = duty.action.name if duty.action else None
    parties = {k: v.reference for k, v in duty.parties.items() if v.reference}
    if name == "attribute":
        phrase = "credit " + parties.get("attributedParty", "the provider")
    elif name == "obtainConsent":
        phrase = "obtain the approval of " + parties.get("consentingParty", "the provider")
    elif name == "compensate":
        amounts = [r for r in (duty.action.refinements if duty.action else ())
                   if isinstance(r, Constraint) and r.left_operand == "payAmount"
                   and r.operator is Operator.EQ]
        paid = _right(amounts[0]) + " to " if amounts else ""
        phrase = f"pay {paid}" + parties.get("compensatedParty", "the provider")
    elif name in ("inform", "dst:notify") and "informedParty" in parties:
        phrase = "inform " + parties["informedParty"]
    else:
        phrase = _action(name)
        if duty.target is not None and duty.target.reference:
            phrase += f" {duty.target.reference}"
    others = [f"{_words(k)} {v}" for k, v in parties.items()
              if k not in ("attributedParty", "consentingParty", "compensatedParty",
                           "informedParty")]
    refined = [_condition(r) for r in (duty.action.refinements if duty.action else ())
               if not (isinstance(r, Constraint) and name == "compensate"
                       and r.left_operand == "payAmount" and f"pay {_right(r)} " in phrase)]
    return phrase + "".join(f", {x}" for x in refined + others)


def _duty_lines(duties: Iterable[Duty], who: str, label: str) -> list[str]:
    lines = []
    for duty in duties:
        actor = _party(duty.assignee, who)
        lines.append(f"{label}: {actor} must {_duty(duty)}.")
        lines.extend(f"{label} condition: {_condition(c)}." for c in duty.constraints)
        lines.extend(_duty_lines(duty.consequences, who, "If that is not done, consequence"))
    return lines


def _rule_lines(rule: Permission | Prohibition, policy: Policy) -> list[str]:
    action = rule.action or policy.action
    conditional = rule.constraints or policy.constraints
    who = _party(rule.assignee or policy.assignee,
                 "anyone meeting the conditions below" if conditional else "anyone")
    target = rule.target or policy.target
    if isinstance(rule, Permission):
        lines = [f"Permission: {who} may {_action(action.name if action else None)} "
                 f"{_object(target)}."]
    else:
        verb = "may" if who.startswith("anyone") else "may not"
        who = who.replace("anyone", "nobody", 1) if verb == "may" else who
        lines = [f"Prohibition: {who} {verb} {_action(action.name if action else None)} "
                 f"{_object(target)}."]
    if rule.assigner is not None and rule.assigner.reference:
        lines.append(f"Granted by: {rule.assigner.reference}.")
    lines.extend(f"Condition: {_condition(c)}." for c in rule.constraints)
    refinements = list(action.refinements if action else ())
    for ref in (target, rule.assignee):
        refinements.extend(ref.refinements if ref is not None else ())
    lines.extend(f"Refinement: {_condition(c)}." for c in refinements)
    for name, party in rule.parties.items():
        lines.append(f"{_words(name).capitalize()}: {party.reference}.")
    if isinstance(rule, Permission):
        lines.extend(_duty_lines(rule.duties, "the requester", "Duty"))
    else:
        lines.extend(_duty_lines(rule.remedies, "whoever breaks it", "Remedy"))
    return lines


def _lines(policy: Policy) -> list[str]:
    kind = {"Offer": "An offer", "Agreement": "An agreement", "Set": "A policy"}[policy.type]
    head = kind
    if policy.assigner is not None and policy.assigner.reference:
        head += f" from {policy.assigner.reference}"
    if policy.assignee is not None and policy.assignee.reference:
        head += f" to {policy.assignee.reference}"
    if policy.target is not None and policy.target.reference:
        head += f" for {policy.target.reference}"
    if policy.timestamp:
        head += f", made {_when(policy.timestamp, Operator.EQ).removeprefix('at ')}"
    lines = [head + "."]
    licence = policy.extras.get("dct:license")
    if isinstance(licence, Mapping):
        licence = licence.get("@id")
    if isinstance(licence, str):
        full = _LICENCES[licence][0] + f" ({licence})" if licence in _LICENCES else licence
        lines.append(f"Licence: {full}.")
    lines.extend(f"Condition on every rule: {_condition(c)}." for c in policy.constraints)
    for permission in policy.permissions:
        lines.extend(_rule_lines(permission, policy))
    for prohibition in policy.prohibitions:
        lines.extend(_rule_lines(prohibition, policy))
    who = _party(policy.assignee, "the assignee")
    lines.extend(_duty_lines(policy.obligations, who, "Obligation"))
    if policy.conflict is not None:
        lines.append(f"When a permission and a prohibition clash: {policy.conflict} wins."
                     if policy.conflict != "invalid" else
                     "When a permission and a prohibition clash, the policy is void.")
    lines.extend(f"Inherits the rules of {parent}." for parent in policy.inherit_from)
    if not policy.permissions and not policy.prohibitions and not policy.obligations:
        lines.append("It has no rules, so it grants nothing.")
    return lines


# -- summary -------------------------------------------------------------------


def _flat(nodes: Iterable[ConstraintNode]) -> list[ConstraintNode]:
    """Constraints with top-level ``and`` groups opened (they all must hold anyway)."""
    out: list[ConstraintNode] = []
    for node in nodes:
        if isinstance(node, LogicalConstraint) and node.operator is LogicalOperator.AND:
            out.extend(_flat(node.operands))
        else:
            out.append(node)
    return out


def _permission_clause(rule: Permission, policy: Policy) -> str:
    nodes = _flat((*policy.constraints, *rule.constraints))
    atoms = {n.left_operand: n for n in nodes if isinstance(n, Constraint)}
    used: set[int] = set()

    def take(term: str) -> Constraint | None:
        found = atoms.get(term)
        if found is not None:
            used.add(id(found))
        return found

    assignee = rule.assignee or policy.assignee
    credential = take("dst:credentialType")
    if assignee is not None and assignee.reference:
        who = _party(assignee, "anyone")
    elif credential is not None and credential.right_text() == MEMBERSHIP_CREDENTIAL:
        who = "members of the data space"
    elif credential is not None and credential.operator not in (Operator.NEQ, Operator.IS_NONE_OF):
        who = f"holders of a {credential.right_text()}"
    else:
        who = "anyone"
        if credential is not None:
            used.discard(id(credential))
    product = next((n for t, n in atoms.items() if t.startswith("dst:claim/")
                    and t.endswith("/product") and n.operator is Operator.EQ), None)
    if product is not None:
        used.add(id(product))
        who += f" who bought {product.right_text()}"
        plan = next((n for t, n in atoms.items() if t.startswith("dst:claim/")
                     and t.endswith("/plan") and n.operator is Operator.EQ), None)
        if plan is not None:
            used.add(id(plan))
            who += f" on plan {plan.right_text()}"
    action = rule.action or policy.action
    parts = [f"{who} may {_action(action.name if action else None)} {_object(None)}"]
    purpose = take("purpose")
    if purpose is not None:
        research = {v.value for v in _values(purpose)} <= set(RESEARCH_PURPOSES)
        positive = purpose.operator not in (Operator.NEQ, Operator.IS_NONE_OF)
        parts[0] += " for research" if research and positive else " " + _condition(purpose)
    count, interval = take("count"), take("timeInterval")
    if count is not None:
        limit = _condition(count)
        if interval is not None and limit.startswith("at most") and isinstance(
                interval.right_operand, Value):
            limit += " " + _period(interval.right_operand.value)
        elif interval is not None:
            used.discard(id(interval))
        parts.append(limit)
    for node in nodes:
        if isinstance(node, Constraint) and node.left_operand == "dateTime":
            used.add(id(node))
            parts.append(_condition(node))
    for term in ("spatial", "elapsedTime"):
        found = take(term)
        if found is not None:
            parts.append(_condition(found))
    for duty in rule.duties:
        parts.append(_summary_duty(duty))
    rest = sum(1 for n in nodes if id(n) not in used)
    if rest:
        parts.append(f"under {rest:,} more condition" + ("s" if rest > 1 else ""))
    return ", ".join(parts)


def _summary_duty(duty: Duty) -> str:
    name = duty.action.name if duty.action else None
    if name == "obtainConsent":
        return "once the provider approves"
    if name == "dst:meter":
        return "with each use reported for billing"
    if name == "compensate":
        paid = [_condition(r) for r in (duty.action.refinements if duty.action else ())]
        return (paid[0] + " per use") if paid and paid[0].startswith("paying") else "for a fee"
    return "provided they " + _duty(duty)


def _summary(policy: Policy) -> str:
    clauses = [_permission_clause(p, policy) for p in policy.permissions[:3]]
    if len(policy.permissions) > 3:
        clauses.append(f"there are {len(policy.permissions) - 3:,} more ways to get access")
    text = "; or ".join(clauses)
    for prohibition in policy.prohibitions:
        action = prohibition.action or policy.action
        who = _party(prohibition.assignee or policy.assignee, "nobody")
        verb = "may" if who == "nobody" else "may not"
        cond = " under conditions" if prohibition.constraints else ""
        obj = "it" if text else "this dataset"
        text += ("; " if text else "") + (
            f"{who} {verb} {_action(action.name if action else None)} {obj}{cond}")
    for duty in policy.obligations:
        text += ("; " if text else "") + f"{_party(policy.assignee, 'the assignee')} must " + (
            _duty(duty))
    if not text:
        return "This policy grants nothing."
    if policy.extras.get("dct:license") is not None and policy.permissions:
        licence = policy.extras["dct:license"]
        iri = licence.get("@id") if isinstance(licence, Mapping) else licence
        text += f", under {_LICENCES.get(str(iri), ('', str(iri)))[1]}"
    first = text.split(" ", 1)[0]
    return (text if ":" in first else text[0].upper() + text[1:]) + "."


# -- traffic light -------------------------------------------------------------


def _credential_eq(node: ConstraintNode) -> bool:
    return (isinstance(node, Constraint) and node.left_operand == "dst:credentialType"
            and node.operator is Operator.EQ and isinstance(node.right_operand, Value))


def _colour(policy: Policy) -> str | None:
    """The traffic light for the shapes :func:`traffic_light_offer` builds, else ``None``."""
    rules = policy.permissions
    if not rules or policy.prohibitions or policy.obligations or policy.constraints:
        return None
    actions = [r.action or policy.action for r in rules]
    if any(a is None or a.name != "use" for a in actions):
        return None
    if len(rules) == 1 and not rules[0].constraints and [
            d.action.name if d.action else None for d in rules[0].duties] == ["attribute"]:
        return "green"
    if DST_PROFILE_IRI not in policy.profiles:
        return None
    for rule in rules:
        approval = ([c for c in rule.constraints if _credential_eq(c)] == list(rule.constraints)
                    and len(rule.constraints) == 1
                    and [d.action.name if d.action else None for d in rule.duties]
                    == ["obtainConsent"])
        bought = (len(rule.constraints) == 1 and not rule.duties
                  and isinstance(rule.constraints[0], LogicalConstraint)
                  and rule.constraints[0].operator is LogicalOperator.AND
                  and any(_credential_eq(n) for n in rule.constraints[0].operands)
                  and any(isinstance(n, Constraint) and n.left_operand.startswith("dst:claim/")
                          and n.left_operand.endswith("/product")
                          for n in rule.constraints[0].operands))
        if not (approval or bought):
            return None
    return "yellow"
