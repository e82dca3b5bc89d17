"""What the control plane asks of the ODRL engine (:mod:`policies`), behind one small interface.

* :func:`policy_issues` — is a stored policy valid ODRL (for the management API)?
* :func:`check_offer` — does a caller's verified identity satisfy an offer's
  policy at negotiation time (automatic agreement)?
* :func:`can_see` — does an access policy let a caller see an offer at all?
* :func:`required_credentials` — which credential types must a caller prove
  (over DCP) to request an offer?
* :func:`required_purposes` — which purposes does an offer allow (what the
  owner sees when a request waits for approval)?

All ODRL reading and evaluation happens in :mod:`policies` (parsed once,
compiled through its cache); this module only builds the request context
from a :class:`~connector.domain.caller.Caller`. At negotiation time the
context says who asks (their verified credentials and claims) and when;
what only a use will tell (purpose, count, place, payment) is left
undetermined, and the engine's ``agreeable`` asks whether an agreement may
be made with what is known: a member may agree to "100 calls, for research"
now, and the data plane decides each call in full.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from connector.domain.caller import Caller
from connector.domain.catalog import policy_body
from policies import (
    Policy,
    PolicyError,
    RequestContext,
    compile_cached,
    parse_policy,
    validate_policy,
)

__all__ = [
    "PolicyCheck",
    "can_see",
    "check_offer",
    "policy_issues",
    "required_credentials",
    "required_purposes",
]

#: The action a contract and an access policy are checked for.
USE = "use"


@dataclass(frozen=True, slots=True)
class PolicyCheck:
    """The outcome of checking a caller against a policy, with the engine's reasons."""

    satisfied: bool
    reasons: tuple[str, ...] = ()


def _document(policy_id: str, body: Mapping[str, Any], target: str | None,
              kind: str) -> dict[str, Any]:
    document: dict[str, Any] = {"@id": policy_id, "@type": kind}
    if target is not None:
        document["target"] = target
    document.update(policy_body(body))
    return document


@functools.lru_cache(maxsize=4096)
def _parsed(document_json: bytes) -> Policy:
    return parse_policy(orjson.loads(document_json))


def _parse(policy_id: str, body: Mapping[str, Any], target: str | None, kind: str) -> Policy:
    return _parsed(orjson.dumps(_document(policy_id, body, target, kind),
                                option=orjson.OPT_SORT_KEYS))


def policy_issues(body: Mapping[str, Any], *, policy_id: str = "urn:policy:check") -> list[
    dict[str, str]
]:
    """The ODRL issues of a policy body (empty when valid), as problem+json errors."""
    issues = validate_policy(_document(policy_id, body, "urn:dataset:check", "Offer"))
    return [
        {"path": getattr(issue, "path", "") or "/policy",
         "message": getattr(issue, "message", str(issue)),
         "code": getattr(issue, "code", "odrl-invalid")}
        for issue in issues
    ]


def _context(caller: Caller, target: str, now: datetime | None) -> RequestContext:
    return RequestContext(
        action=USE,
        target=target,
        assignee=caller.id,
        now=now or datetime.now(UTC),
        credentials=caller.credentials(),
    )


def _decide(policy_id: str, body: Mapping[str, Any], *, target: str, caller: Caller,
            kind: str, now: datetime | None) -> PolicyCheck:
    try:
        policy = _parse(policy_id, body, target, kind)
    except PolicyError as exc:
        return PolicyCheck(False, (f"the policy is not valid ODRL: {exc}",))
    compiled = compile_cached(policy)
    context = _context(caller, target, now)
    if compiled.agreeable(context):
        return PolicyCheck(True)
    reasons = compiled.explain(context).reasons
    return PolicyCheck(False, tuple(reason.message for reason in reasons[:5]))


def check_offer(
    offer_id: str,
    body: Mapping[str, Any],
    *,
    target: str,
    caller: Caller,
    now: datetime | None = None,
) -> PolicyCheck:
    """Whether ``caller`` (its verified credentials) may agree to the offer now.

    Constraints on what only a use will tell (a count, a purpose) do not
    stand in the way; what is known now (credentials, claims, time) must hold.
    """
    return _decide(offer_id, body, target=target, caller=caller, kind="Offer", now=now)


def can_see(
    access_policy_id: str,
    body: Mapping[str, Any],
    *,
    target: str,
    caller: Caller,
    now: datetime | None = None,
) -> bool:
    """Whether an access policy lets ``caller`` see (and request) an offer of ``target``."""
    return _decide(access_policy_id, body, target=target, caller=caller, kind="Set",
                   now=now).satisfied


def required_credentials(offer_id: str, body: Mapping[str, Any], *,
                         target: str | None = None) -> frozenset[str]:
    """The credential types an offer's policy names (its compiled plan's).

    A policy that is not valid ODRL names none; checking it refuses anyway.
    """
    try:
        policy = _parse(offer_id, body, target, "Offer")
    except PolicyError:
        return frozenset()
    return compile_cached(policy).plan.required_credentials


def required_purposes(offer_id: str, body: Mapping[str, Any], *,
                      target: str | None = None) -> frozenset[str]:
    """The purposes an offer's permissions allow (its compiled plan's); none: any purpose.

    What the owner sees when a request waits for approval: the use the
    requester would agree to. A policy that is not valid ODRL names none.
    """
    try:
        policy = _parse(offer_id, body, target, "Offer")
    except PolicyError:
        return frozenset()
    return compile_cached(policy).plan.required_purposes
