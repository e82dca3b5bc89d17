"""A dataset's policy from a form: the traffic light and a few plain choices.

The form never asks for ODRL. It is built on :mod:`policies.presets`: the
traffic-light offer for the level (green: open under a licence; yellow:
members, after the owner's approval and/or a purchase; red: not offered),
plus the plan terms chosen (calls per period, purposes, validity dates,
membership for a green dataset). The page shows the ODRL it becomes, every
problem with it, and the policy in plain words (:func:`policies.explain`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from connector.domain.catalog import policy_body
from connector.services.checks import policy_problems
from policies import PolicyValidationError, explain, parse_policy, to_dsp
from policies.presets import (
    MEMBERSHIP_CREDENTIAL,
    RESEARCH_PURPOSES,
    AccessLevel,
    Licence,
    PlanTerms,
    calls_per_period,
    purchase,
    research_use,
    subscription,
    traffic_light_offer,
)
from policies.profile import DST_PROFILE_IRI

__all__ = ["LICENCES", "PERIODS", "POLICY_FIELDS", "PURPOSES", "PolicyDraft", "draft_policy",
           "form_of_policy"]

LICENCES = (
    (str(Licence.NLOD_2_0), "NLOD 2.0 (Norwegian open government data)"),
    (str(Licence.CC_BY_4_0), "CC BY 4.0 (attribution)"),
    (str(Licence.CC0), "CC0 (public domain)"),
)
PERIODS = (("P1D", "per day"), ("P7D", "per week"), ("P1M", "per month"), ("P1Y", "per year"))
_DPV = "https://w3id.org/dpv#"
PURPOSES = (
    (RESEARCH_PURPOSES[0], "Research and development"),
    (RESEARCH_PURPOSES[1], "Academic research"),
    (RESEARCH_PURPOSES[2], "Non-commercial research"),
    (_DPV + "PublicBenefit", "Public benefit"),
    (_DPV + "ServiceProvision", "Providing a service"),
    (_DPV + "CommercialPurpose", "Commercial use"),
)
#: The form's policy fields (kept as typed when the form comes back).
POLICY_FIELDS = ("access_level", "licence", "approval", "membership", "product", "calls",
                 "period", "purposes", "valid_from", "valid_until")
_PRODUCT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:~/#@+=-]{0,254}$")


@dataclass
class PolicyDraft:
    """What the form makes: the level, the policy body to offer, and what is wrong."""

    level: str
    body: dict[str, Any] | None = None
    document: dict[str, Any] | None = None
    errors: list[str] = field(default_factory=list)
    explanation: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        """Nothing is wrong."""
        return not self.errors


def _checked(fields: Mapping[str, str], name: str) -> bool:
    return fields.get(name, "") in ("1", "on", "true", "yes")


def _day(value: str, label: str, errors: list[str]) -> str | None:
    if not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip()).isoformat() + "T00:00:00Z"
    except ValueError:
        errors.append(f"{label} must be a date (YYYY-MM-DD).")
        return None


def _terms(fields: Mapping[str, str], errors: list[str]) -> PlanTerms:
    terms = PlanTerms()
    calls = fields.get("calls", "").strip()
    if calls:
        period = fields.get("period", "P1M")
        if not calls.isdigit() or int(calls) < 1 or int(calls) > 1_000_000_000:
            errors.append("Calls per period must be a whole number of at least 1.")
        elif period not in dict(PERIODS):
            errors.append("Choose the period the calls are counted in.")
        else:
            terms += calls_per_period(int(calls), period)
    purposes = [p for p in fields.get("purposes", "").split(",") if p]
    unknown = [p for p in purposes if p not in dict(PURPOSES)]
    if unknown:
        errors.append("Choose purposes from the list.")
    elif purposes:
        terms += research_use(purposes)
    start = _day(fields.get("valid_from", ""), "Valid from", errors)
    end = _day(fields.get("valid_until", ""), "Valid until", errors)
    if start and end and end <= start:
        errors.append("Valid until must be after valid from.")
    elif start or end:
        terms += subscription(start, end)
    return terms


def draft_policy(fields: Mapping[str, str], *, assigner: str) -> PolicyDraft:
    """The policy the form describes (``body`` is None for red, or when it is wrong)."""
    level = fields.get("access_level", "PUBLIC")
    if level not in AccessLevel.__members__:
        return PolicyDraft(level="PUBLIC", errors=["Choose green, yellow or red."])
    draft = PolicyDraft(level=level)
    if level == AccessLevel.NON_PUBLIC:
        return draft
    errors = draft.errors
    licence_value = fields.get("licence", str(Licence.NLOD_2_0))
    licence = Licence(licence_value) if licence_value in {str(x) for x in Licence} else None
    if licence is None:
        errors.append("Choose a licence from the list.")
    product = fields.get("product", "").strip() or None
    if product is not None and not _PRODUCT.match(product):
        errors.append("The product is an identifier (letters, digits, : / . - _).")
        product = None
    approval = _checked(fields, "approval")
    terms = _terms(fields, errors)
    try:
        base = traffic_light_offer(AccessLevel(level), offer_id="urn:offer:draft",
                                   assigner=assigner, licence=licence,
                                   product=product if level == "RESTRICTED" else None,
                                   approval=approval)
    except ValueError:
        errors.append("A yellow dataset needs the owner's approval, a purchase, or both.")
        return draft
    document = to_dsp(base, context=False)
    if level == "PUBLIC":
        extra = PlanTerms()
        if _checked(fields, "membership"):
            extra += PlanTerms(constraints=({"leftOperand": "dst:credentialType",
                                             "operator": "eq",
                                             "rightOperand": MEMBERSHIP_CREDENTIAL},),
                               uses_profile=True)
        if product is not None:
            extra += purchase(product)
        terms = extra + terms
    for permission in document.get("permission", []):
        if terms.constraints:
            permission.setdefault("constraint", []).extend(terms.constraints)
        if terms.duties:
            permission.setdefault("duty", []).extend(terms.duties)
    if terms.uses_profile:
        document["profile"] = DST_PROFILE_IRI
    draft.document = document
    if errors:
        return draft
    try:
        parse_policy(document)
    except PolicyValidationError as exc:
        errors.extend(f"{issue.path or '/'}: {issue.message}" for issue in exc.issues)
        return draft
    body = policy_body(document)
    errors.extend(f"{p['path'] or '/'}: {p['message']}" for p in policy_problems(body))
    if not errors:
        draft.body = body
        explanation = explain(document)
        draft.explanation = {"summary": explanation.summary, "lines": list(explanation.lines),
                             "colour": explanation.colour}
    return draft


def form_of_policy(level: str, body: Mapping[str, Any] | None) -> dict[str, str]:
    """The form's fields for a stored policy, as far as the form can say it.

    Reads back the presets' own shapes (membership, approval, purchase, calls,
    purposes, dates); a policy written by hand keeps only its level here, and
    the page shows its ODRL as it is.
    """
    fields = {"access_level": level, "licence": str(Licence.NLOD_2_0), "approval": "",
              "membership": "", "product": "", "calls": "", "period": "P1M",
              "purposes": "", "valid_from": "", "valid_until": ""}
    if not body:
        return fields
    for permission in body.get("permission", []) or []:
        if any(isinstance(d, dict) and d.get("action") == "obtainConsent"
               for d in permission.get("duty", []) or []):
            fields["approval"] = "1"
        for constraint in _flat(permission.get("constraint", []) or []):
            _read_constraint(constraint, fields)
    return fields


def _flat(constraints: list[Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for item in constraints:
        if isinstance(item, dict) and "and" in item:
            out.extend(_flat(item["and"]))
        elif isinstance(item, dict):
            out.append(item)
    return out


def _value(operand: Any) -> Any:
    return operand.get("@value") if isinstance(operand, dict) else operand


def _read_constraint(constraint: dict[str, Any], fields: dict[str, str]) -> None:
    left, right = constraint.get("leftOperand"), constraint.get("rightOperand")
    if left == "dst:credentialType" and right == MEMBERSHIP_CREDENTIAL:
        fields["membership"] = "1"
    elif isinstance(left, str) and left.endswith("/product"):
        fields["product"] = str(right)
    elif left == "count":
        fields["calls"] = str(_value(right))
    elif left == "timeInterval":
        fields["period"] = str(_value(right))
    elif left == "purpose" and isinstance(right, list):
        fields["purposes"] = ",".join(str(p) for p in right)
    elif left == "dateTime":
        day = str(_value(right))[:10]
        fields["valid_from" if constraint.get("operator") == "gteq" else "valid_until"] = day
