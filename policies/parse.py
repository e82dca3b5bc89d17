"""Reading policies: the compact JSON-LD form of DSP 2025-1 messages, and full ODRL JSON-LD.

The compact form is read by term name, as interop-facts prescribes: bare ODRL
terms (``permission``, ``read``, ``dateTime``) and ``odrl:``-prefixed ones (or
their full IRIs) alike, profile terms as ``dst:x`` or full IRIs, typed literals
such as ``{"@value": "100", "@type": "xsd:integer"}``. A document whose
``@context`` is not the DSP context (for example the W3C ODRL context, or an
inline context) is expanded with pyld and a local document loader first
(:mod:`policies.jsonld`), then read the same way.

The rules inside a policy are read by :class:`policies.rules.RuleReader`.
Nothing unknown is skipped: an unknown property, action, left operand or
operator is an :class:`~policies.errors.Issue`. Properties of other
vocabularies (prefixed or full IRIs such as ``dct:title``) are kept verbatim.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from typing import TypeVar

from policies.errors import Issue, PolicyValidationError, pointer
from policies.model import Asset, Party, Policy
from policies.profile import DEFAULT_TERMS, Profile, Terms
from policies.reader import Json
from policies.rules import RULE_KEYS, RuleReader
from policies.vocabulary import DSPACE_CONTEXT, ConflictStrategy, PolicyType

__all__ = ["parse_policy", "read_policy", "validate_policy"]

T = TypeVar("T")

_POLICY_TYPES = {"Set": PolicyType.SET, "Policy": PolicyType.SET, "Offer": PolicyType.OFFER}
_POLICY_TYPES["Agreement"] = PolicyType.AGREEMENT
_OTHER_POLICY_TYPES = frozenset({"Request", "Ticket", "Privacy", "Assertion"})


class _PolicyReader(RuleReader):
    """Reads one compact policy document."""

    # -- policy ----------------------------------------------------------------

    def policy(self, doc: Json) -> Policy | None:
        if not isinstance(doc, Mapping):
            self.issue("invalid-structure", "", "a policy must be a JSON object")
            return None
        found, extras = self.fields(
            doc,
            "",
            RULE_KEYS
            | {
                "@context",
                "profile",
                "conflict",
                "inheritFrom",
                "permission",
                "prohibition",
                "obligation",
                "timestamp",
            },
        )
        uid = self.uid(found, "")
        if uid is None:
            self.issue("missing-id", "", "a policy needs an @id")
        policy_type = self._policy_type(found)
        profiles = self._profiles(found)
        conflict = self._conflict(found)
        inherit = tuple(self._iris(found, "inheritFrom"))
        target = self._ref(found, "", "target", Asset)
        assigner = self._ref(found, "", "assigner", Party)
        assignee = self._ref(found, "", "assignee", Party)
        action = self._opt(found, "", "action", self.action)
        constraints = self._constraint_list(found, "")
        permissions = self._rules(found, "permission", self.permission)
        prohibitions = self._rules(found, "prohibition", self.prohibition)
        obligations = self._rules(found, "obligation", self.duty)
        timestamp = None
        if "timestamp" in found:
            key, raw = found["timestamp"]
            timestamp = self.string(raw, pointer("", key), "timestamp")
        self._check_profiles(profiles)
        if uid is None or policy_type is None:
            return None
        return Policy(
            uid=uid,
            type=policy_type,
            profiles=profiles,
            conflict=conflict,
            inherit_from=inherit,
            target=target,
            assigner=assigner,
            assignee=assignee,
            action=action,
            constraints=constraints,
            permissions=permissions,
            prohibitions=prohibitions,
            obligations=obligations,
            timestamp=timestamp,
            extras=extras,
        )

    def _policy_type(self, found: Mapping[str, tuple[str, Json]]) -> PolicyType | None:
        if "@type" not in found:
            self.issue("missing-type", "", "a policy needs an @type (Set, Offer or Agreement)")
            return None
        key, raw = found["@type"]
        path = pointer("", key)
        values = raw if isinstance(raw, list) else [raw]
        kinds = [self.terms.odrl_term(v) if isinstance(v, str) else None for v in values]
        known = [_POLICY_TYPES[k] for k in kinds if k in _POLICY_TYPES]
        if len(known) == 1:
            return known[0]
        other = [k for k in kinds if k in _OTHER_POLICY_TYPES]
        if other:
            self.issue(
                "unsupported-policy-type",
                path,
                f"policy type {other[0]} is not supported (use Set, Offer or Agreement)",
            )
        else:
            self.issue("unknown-policy-type", path, f"unknown policy type {raw!r}")
        return None

    def _profiles(self, found: Mapping[str, tuple[str, Json]]) -> tuple[str, ...]:
        out = []
        for iri, path in self._iris_with_paths(found, "profile"):
            if iri not in self.terms.profiles:
                self.issue("unknown-profile", path, f"unknown ODRL profile {iri}")
            out.append(iri)
        return tuple(out)

    def _check_profiles(self, declared: tuple[str, ...]) -> None:
        for profile, term, path in self.profile_uses:
            if profile not in declared:
                self.issue(
                    "profile-not-declared",
                    path,
                    f"{term} belongs to profile {profile}; declare it in the policy's profile",
                )

    def _conflict(self, found: Mapping[str, tuple[str, Json]]) -> ConflictStrategy | None:
        if "conflict" not in found:
            return None
        key, raw = found["conflict"]
        text = self.term(raw, pointer("", key), "conflict")
        term = self.terms.odrl_term(text) if text else None
        try:
            return ConflictStrategy(term) if term else None
        except ValueError:
            self.issue(
                "unknown-conflict-strategy",
                pointer("", key),
                f"conflict must be perm, prohibit or invalid, not {text!r}",
            )
            return None

    def _iris_with_paths(
        self, found: Mapping[str, tuple[str, Json]], name: str
    ) -> list[tuple[str, str]]:
        if name not in found:
            return []
        key, raw = found[name]
        out = []
        for path, item in self.many(raw, pointer("", key)):
            iri = self.string(item, path, name)
            if iri is not None:
                out.append((iri, path))
        return out

    def _iris(self, found: Mapping[str, tuple[str, Json]], name: str) -> list[str]:
        return [iri for iri, _ in self._iris_with_paths(found, name)]

    def _rules(
        self,
        found: Mapping[str, tuple[str, Json]],
        name: str,
        read: Callable[[Json, str], T | None],
    ) -> tuple[T, ...]:
        if name not in found:
            return ()
        key, raw = found[name]
        rules = []
        for path, item in self.many(raw, pointer("", key)):
            rule = read(item, path)
            if rule is not None:
                rules.append(rule)
        return tuple(rules)


def read_policy(document: Json, terms: Terms = DEFAULT_TERMS) -> tuple[Policy | None, list[Issue]]:
    """Read a compact policy without semantic validation: the model (if readable) and issues."""
    reader = _PolicyReader(terms)
    policy = reader.policy(document)
    return policy, reader.issues


def _load(document: Json) -> Json:
    if isinstance(document, bytes | str):
        try:
            return json.loads(document)
        except ValueError as exc:
            raise PolicyValidationError([Issue("invalid-json", "", f"not JSON: {exc}")]) from exc
    return document


def _needs_expansion(document: Json) -> bool:
    """Full JSON-LD (pyld) unless the document is compact DSP JSON (or has no context)."""
    if isinstance(document, list):
        return True
    if not isinstance(document, Mapping):
        return False
    if any(isinstance(k, str) and k.startswith(("http://", "https://")) for k in document):
        return True
    context = document.get("@context")
    if context is None:
        return False
    contexts = context if isinstance(context, list) else [context]
    return DSPACE_CONTEXT not in contexts


def _issues(document: Json, terms: Terms) -> tuple[Policy | None, list[Issue]]:
    from policies.validate import check_policy

    document = _load(document)
    if _needs_expansion(document):
        from policies.jsonld import expand_to_compact

        document, issues = expand_to_compact(document, terms)
        if issues:
            return None, issues
    policy, issues = read_policy(document, terms)
    if policy is not None:
        issues.extend(_unless_explained(check_policy(policy, terms), issues))
    return (policy if not issues else None), issues


_MISSING: dict[str, tuple[str, ...]] = {
    "missing-action": ("action",),
    "missing-target": ("target",),
    "missing-party": ("assigner", "assignee"),
}


def _unless_explained(semantic: list[Issue], read: list[Issue]) -> list[Issue]:
    """Drop "missing X" when X was given but unreadable (that issue is already reported)."""

    def explained(issue: Issue) -> bool:
        keys = _MISSING.get(issue.code, ())
        given = tuple(pointer(issue.path, k) for key in keys for k in (key, f"odrl:{key}"))
        return bool(given) and any(r.path.startswith(given) for r in read)

    return [issue for issue in semantic if not explained(issue)]


def _terms(profiles: Iterable[Profile] | None) -> Terms:
    return DEFAULT_TERMS if profiles is None else Terms(profiles)


def parse_policy(document: Json, *, profiles: Iterable[Profile] | None = None) -> Policy:
    """Parse and validate an ODRL policy (dict, JSON text, or full JSON-LD).

    Raises :class:`~policies.errors.PolicyValidationError` listing every issue.
    ``profiles`` replaces the known profiles (default: the data-space profile).
    """
    policy, issues = _issues(document, _terms(profiles))
    if issues or policy is None:
        raise PolicyValidationError(issues)
    return policy


def validate_policy(document: Json, *, profiles: Iterable[Profile] | None = None) -> list[Issue]:
    """Every issue of a policy document; an empty list means it is valid."""
    try:
        return _issues(document, _terms(profiles))[1]
    except PolicyValidationError as exc:
        return list(exc.issues)
