"""ODRL profiles: our data-space profile, and resolving terms against ODRL + profiles.

ODRL lets a policy use terms beyond its vocabulary only through a declared
``profile``. This module holds the one profile we ship,
``https://w3id.org/dataspace-toolkit/odrl/profile`` (compact prefix ``dst:``,
namespace ``https://w3id.org/dataspace-toolkit/odrl/``):

=====================================  ==========  ===============================================
term                                   kind        meaning
=====================================  ==========  ===============================================
``dst:credentialType``                 left op.    the set of credential types the requesting
                                                   party holds (verified, e.g. over DCP);
                                                   ``eq T`` reads "holds a credential of type T"
``dst:claim/<Type>/<claim.path>``      left op.    the value of a claim in the ``credentialSubject``
                                                   of the party's credential(s) of type ``<Type>``
``dst:endpoint``                       left op.    used in duty refinements: the URL a
                                                   ``dst:notify`` duty posts to
``dst:log``                            action      record the use in the audit log (a duty;
                                                   ``includedIn acceptTracking``)
``dst:notify``                         action      notify a URL of the use (``includedIn inform``)
``dst:meter``                          action      report the use for metering/billing
                                                   (``includedIn acceptTracking``)
=====================================  ==========  ===============================================

DSP messages carry these terms as plain strings (``"dst:credentialType"``) or
full IRIs. A term outside ODRL and the declared profiles is a validation error.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from policies.vocabulary import (
    ACTION_PARENTS,
    CC_NS,
    DEPRECATED_ACTIONS,
    DEPRECATED_OPERANDS,
    LEFT_OPERANDS,
    ODRL_NS,
    UNSUPPORTED_OPERANDS,
    Kind,
    OperandSpec,
)

__all__ = [
    "DATASPACE_PROFILE",
    "DST_NS",
    "DST_PREFIX",
    "Profile",
    "Resolved",
    "Terms",
    "claim_parts",
]

DST_NS = "https://w3id.org/dataspace-toolkit/odrl/"
DST_PREFIX = "dst"
DST_PROFILE_IRI = DST_NS + "profile"
DST_CONTEXT = DST_NS + "context.jsonld"

_CLAIM = re.compile(r"^claim/([A-Za-z_][\w.-]*)/([A-Za-z_@$][\w.@$-]*)$")


@dataclass(frozen=True, slots=True)
class Profile:
    """An ODRL profile: extra actions and left operands under one namespace."""

    iri: str
    prefix: str
    namespace: str
    actions: Mapping[str, str] = field(default_factory=dict)
    """Local action name -> the (compact) action it is ``includedIn``."""
    left_operands: Mapping[str, OperandSpec] = field(default_factory=dict)
    """Local left operand name -> spec (``spec.term`` is the compact term)."""
    operand_patterns: tuple[tuple[re.Pattern[str], Kind, str], ...] = ()
    """Families of left operands: (pattern on the local name, kind, context key)."""

    def compact(self, local: str) -> str:
        """The compact term ``prefix:local``."""
        return f"{self.prefix}:{local}"

    def operand(self, local: str) -> OperandSpec | None:
        """The spec of left operand ``local`` of this profile, if it has one."""
        spec = self.left_operands.get(local)
        if spec is not None:
            return spec
        for pattern, kind, key in self.operand_patterns:
            if pattern.match(local):
                return OperandSpec(self.compact(local), kind, key, f"profile operand {local}")
        return None


def _dst_operand(local: str, kind: Kind, key: str, description: str) -> OperandSpec:
    return OperandSpec(f"{DST_PREFIX}:{local}", kind, key, description)


#: The data-space profile shipped with the toolkit.
DATASPACE_PROFILE = Profile(
    iri=DST_PROFILE_IRI,
    prefix=DST_PREFIX,
    namespace=DST_NS,
    actions=MappingProxyType(
        {"log": "acceptTracking", "notify": "inform", "meter": "acceptTracking"}
    ),
    left_operands=MappingProxyType(
        {
            "credentialType": _dst_operand(
                "credentialType", Kind.CREDENTIALS, "credentials", "credential types held"
            ),
            "endpoint": _dst_operand("endpoint", Kind.IRI, "dst:endpoint", "notification URL"),
        }
    ),
    operand_patterns=((_CLAIM, Kind.CLAIM, "credentials"),),
)


def claim_parts(term: str) -> tuple[str, tuple[str, ...]]:
    """Split ``dst:claim/<Type>/<a.b>`` into the credential type and the claim path."""
    local = term.split(":", 1)[1]
    match = _CLAIM.match(local)
    if match is None:
        raise ValueError(f"not a claim operand: {term}")
    return match.group(1), tuple(match.group(2).split("."))


@dataclass(frozen=True, slots=True)
class Resolved:
    """A term looked up in ODRL and the known profiles."""

    term: str | None
    """The compact term, or ``None`` when the term is not usable."""
    profile: str | None = None
    """The IRI of the profile defining the term (``None`` for ODRL terms)."""
    problem: str | None = None
    """Issue code when the term is unusable (unknown, deprecated, unsupported)."""
    hint: str = ""


class Terms:
    """Resolves compact, prefixed or full-IRI terms against ODRL and known profiles."""

    def __init__(self, profiles: Iterable[Profile] = (DATASPACE_PROFILE,)) -> None:
        self.profiles: Mapping[str, Profile] = {p.iri: p for p in profiles}
        parents: dict[str, str | None] = dict(ACTION_PARENTS)
        for profile in self.profiles.values():
            for local, parent in profile.actions.items():
                parents[profile.compact(local)] = parent
        self.action_parents: Mapping[str, str | None] = MappingProxyType(parents)

    def _split(self, raw: str) -> tuple[str, Profile | None] | None:
        """(local name, profile) for profile terms; (odrl term, None) for ODRL terms."""
        if raw.startswith(ODRL_NS):
            return raw[len(ODRL_NS) :], None
        if raw.startswith("odrl:"):
            return raw[5:], None
        for profile in self.profiles.values():
            if raw.startswith(profile.namespace):
                return raw[len(profile.namespace) :], profile
            if raw.startswith(profile.prefix + ":"):
                return raw[len(profile.prefix) + 1 :], profile
        if ":" in raw:
            return None
        return raw, None

    def action(self, raw: str) -> Resolved:
        """Resolve an action term."""
        if raw.startswith(CC_NS):
            raw = "cc:" + raw[len(CC_NS) :]
        if raw.startswith("cc:"):
            if raw in ACTION_PARENTS:
                return Resolved(raw)
            return Resolved(None, problem="unknown-action")
        split = self._split(raw)
        if split is None:
            return Resolved(None, problem="unknown-action")
        local, profile = split
        if profile is not None:
            if local in profile.actions:
                return Resolved(profile.compact(local), profile.iri)
            return Resolved(None, profile.iri, "unknown-action")
        if local in ACTION_PARENTS:
            return Resolved(local)
        if local in DEPRECATED_ACTIONS:
            replacement = DEPRECATED_ACTIONS[local]
            if replacement is not None:
                return Resolved(local)
            return Resolved(None, problem="deprecated-action", hint="it has no replacement")
        return Resolved(None, problem="unknown-action")

    def operand(self, raw: str) -> tuple[Resolved, OperandSpec | None]:
        """Resolve a left operand term and return its spec."""
        split = self._split(raw)
        if split is None:
            return Resolved(None, problem="unknown-left-operand"), None
        local, profile = split
        if profile is not None:
            spec = profile.operand(local)
            if spec is None:
                return Resolved(None, profile.iri, "unknown-left-operand"), None
            return Resolved(spec.term, profile.iri), spec
        local = DEPRECATED_OPERANDS.get(local, local)
        spec = LEFT_OPERANDS.get(local)
        if spec is not None:
            return Resolved(local), spec
        if local in UNSUPPORTED_OPERANDS:
            return Resolved(None, problem="unsupported-left-operand"), None
        return Resolved(None, problem="unknown-left-operand"), None

    def spec(self, term: str) -> OperandSpec:
        """The spec of an already resolved left operand term."""
        _, spec = self.operand(term)
        if spec is None:
            raise KeyError(term)
        return spec

    def odrl_term(self, raw: str) -> str | None:
        """The bare ODRL term for ``raw`` (``odrl:x``, the full IRI, or ``x``), if it is one."""
        split = self._split(raw)
        if split is None or split[1] is not None:
            return None
        return split[0]


#: Terms resolved against ODRL and the data-space profile.
DEFAULT_TERMS = Terms()
