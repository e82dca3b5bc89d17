"""The ODRL 2.2 vocabulary this engine understands, as plain tables.

Taken from the ODRL Vocabulary & Expression 2.2 ontology (``ODRL22.ttl``):
actions with their ``odrl:includedIn`` parents (so ``use`` covers ``read``,
``display`` falls under ``play``, and ``sell``/``give`` under ``transfer``,
not ``use``), deprecated actions with their ``skos:exactMatch`` replacement,
the left operands with how we evaluate them, operators, logical operands,
conflict terms and policy subclasses.

Terms are kept in their compact form: bare ODRL terms (``read``), ``cc:``
terms of the Creative Commons actions that ODRL imports, and
``<prefix>:<name>`` for terms of declared profiles (see :mod:`policies.profile`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum, StrEnum
from types import MappingProxyType

__all__ = [
    "ACTION_PARENTS",
    "DEPRECATED_ACTIONS",
    "DEPRECATED_OPERANDS",
    "DSPACE_CONTEXT",
    "LEFT_OPERANDS",
    "ODRL_CONTEXT",
    "ODRL_NS",
    "RDF_NS",
    "SET_OPERATORS",
    "UNSUPPORTED_OPERANDS",
    "XSD_NS",
    "ConflictStrategy",
    "Kind",
    "LogicalOperator",
    "OperandSpec",
    "Operator",
    "PolicyType",
    "ancestors",
    "canonical_action",
]

ODRL_NS = "http://www.w3.org/ns/odrl/2/"
XSD_NS = "http://www.w3.org/2001/XMLSchema#"
RDF_NS = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
CC_NS = "http://creativecommons.org/ns#"
ODRL_CONTEXT = "http://www.w3.org/ns/odrl.jsonld"
DSPACE_CONTEXT = "https://w3id.org/dspace/2025/1/context.jsonld"


class PolicyType(StrEnum):
    """The policy subclasses we evaluate (ODRL Core)."""

    SET = "Set"
    OFFER = "Offer"
    AGREEMENT = "Agreement"


class ConflictStrategy(StrEnum):
    """``odrl:conflict`` values; ODRL's default, when none is stated, is ``invalid``."""

    PERM = "perm"
    PROHIBIT = "prohibit"
    INVALID = "invalid"


class Operator(StrEnum):
    """The ODRL relational operators."""

    EQ = "eq"
    NEQ = "neq"
    LT = "lt"
    LTEQ = "lteq"
    GT = "gt"
    GTEQ = "gteq"
    IS_A = "isA"
    HAS_PART = "hasPart"
    IS_PART_OF = "isPartOf"
    IS_ALL_OF = "isAllOf"
    IS_ANY_OF = "isAnyOf"
    IS_NONE_OF = "isNoneOf"


#: Operators whose right operand may be a list of values.
SET_OPERATORS = frozenset(
    {
        Operator.IS_A,
        Operator.HAS_PART,
        Operator.IS_PART_OF,
        Operator.IS_ALL_OF,
        Operator.IS_ANY_OF,
        Operator.IS_NONE_OF,
    }
)


class LogicalOperator(StrEnum):
    """The ODRL logical constraint operands."""

    AND = "and"
    OR = "or"
    XONE = "xone"
    AND_SEQUENCE = "andSequence"


class Kind(Enum):
    """How a left operand's values are compared."""

    DATETIME = "dateTime"  # xsd:dateTime / xsd:date against the request time
    DURATION = "duration"  # xsd:duration
    COUNT = "count"  # non-negative integer
    DECIMAL = "decimal"  # xsd:decimal (amounts, percentages)
    VERSION = "version"  # dotted numeric versions, or plain strings for eq/neq
    TEXT = "text"  # IRIs or strings compared by identity
    IRI = "iri"  # like TEXT, but the right operand must be an IRI
    EVENT = "event"  # phases (before/during/after) of identified events
    CREDENTIALS = "credentials"  # the set of credential types the party holds
    CLAIM = "claim"  # a credential claim; its datatype follows the right operand


ORDERED_OPERATORS = frozenset(
    {
        Operator.EQ,
        Operator.NEQ,
        Operator.LT,
        Operator.LTEQ,
        Operator.GT,
        Operator.GTEQ,
        Operator.IS_ANY_OF,
        Operator.IS_NONE_OF,
    }
)
IDENTITY_OPERATORS = frozenset({Operator.EQ, Operator.NEQ}) | SET_OPERATORS
CREDENTIAL_OPERATORS = frozenset(
    {
        Operator.EQ,
        Operator.NEQ,
        Operator.HAS_PART,
        Operator.IS_ALL_OF,
        Operator.IS_ANY_OF,
        Operator.IS_NONE_OF,
    }
)

#: Operators allowed per kind (CLAIM depends on the right operand's datatype).
KIND_OPERATORS: Mapping[Kind, frozenset[Operator]] = MappingProxyType(
    {
        Kind.DATETIME: ORDERED_OPERATORS,
        Kind.DURATION: ORDERED_OPERATORS,
        Kind.COUNT: ORDERED_OPERATORS,
        Kind.DECIMAL: ORDERED_OPERATORS,
        Kind.VERSION: ORDERED_OPERATORS,
        Kind.EVENT: ORDERED_OPERATORS,
        Kind.TEXT: IDENTITY_OPERATORS,
        Kind.IRI: IDENTITY_OPERATORS,
        Kind.CREDENTIALS: CREDENTIAL_OPERATORS,
        Kind.CLAIM: ORDERED_OPERATORS | IDENTITY_OPERATORS,
    }
)


@dataclass(frozen=True, slots=True)
class OperandSpec:
    """A left operand: its term, kind, and the request-context key that supplies it."""

    term: str
    kind: Kind
    context_key: str
    description: str


def _spec(term: str, kind: Kind, description: str, key: str | None = None) -> OperandSpec:
    return OperandSpec(term, kind, key or term, description)


#: The ODRL left operands we evaluate, keyed by term.
LEFT_OPERANDS: Mapping[str, OperandSpec] = MappingProxyType(
    {
        s.term: s
        for s in (
            _spec("dateTime", Kind.DATETIME, "the time of the request"),
            _spec("elapsedTime", Kind.DURATION, "time elapsed since the agreement"),
            _spec("delayPeriod", Kind.DURATION, "delay since the triggering point"),
            _spec("meteredTime", Kind.DURATION, "accumulated metered usage time"),
            _spec("timeInterval", Kind.DURATION, "the period over which `count` is counted"),
            _spec("count", Kind.COUNT, "number of prior exercises of the action"),
            _spec("payAmount", Kind.DECIMAL, "amount paid (with `payUnit`)"),
            _spec("percentage", Kind.DECIMAL, "percentage of the asset requested"),
            _spec("version", Kind.VERSION, "version of the target asset"),
            _spec("purpose", Kind.TEXT, "declared purpose of the request"),
            _spec("recipient", Kind.TEXT, "party receiving the result"),
            _spec("spatial", Kind.IRI, "named geospatial area of the request"),
            _spec("event", Kind.EVENT, "events and their phases"),
            _spec("language", Kind.TEXT, "natural language of the asset"),
            _spec("product", Kind.TEXT, "product or service context"),
            _spec("industry", Kind.TEXT, "industry sector context"),
            _spec("media", Kind.TEXT, "media context"),
            _spec("fileFormat", Kind.TEXT, "transformed file format"),
            _spec("deliveryChannel", Kind.TEXT, "delivery channel"),
            _spec("systemDevice", Kind.TEXT, "computing system or device"),
            _spec("virtualLocation", Kind.TEXT, "IT communication location"),
            _spec("unitOfCount", Kind.TEXT, "unit of counting"),
        )
    }
)

#: ODRL left operands that we recognise but cannot evaluate: using one is an error.
UNSUPPORTED_OPERANDS = frozenset(
    {
        "absolutePosition",
        "absoluteSpatialPosition",
        "absoluteTemporalPosition",
        "absoluteSize",
        "relativePosition",
        "relativeSpatialPosition",
        "relativeTemporalPosition",
        "relativeSize",
        "resolution",
        "spatialCoordinates",
    }
)

#: Deprecated left operands and their ``skos:exactMatch`` replacement.
DEPRECATED_OPERANDS: Mapping[str, str] = MappingProxyType(
    {"device": "systemDevice", "system": "systemDevice"}
)

_USE_CHILDREN = [
    "grantUse",
    "compensate",
    "acceptTracking",
    "aggregate",
    "annotate",
    "anonymize",
    "archive",
    "attribute",
    "concurrentUse",
    "delete",
    "derive",
    "digitize",
    "distribute",
    "ensureExclusivity",
    "execute",
    "include",
    "index",
    "inform",
    "install",
    "modify",
    "move",
    "nextPolicy",
    "obtainConsent",
    "play",
    "present",
    "print",
    "read",
    "reproduce",
    "reviewPolicy",
    "stream",
    "synchronize",
    "textToSpeech",
    "transform",
    "translate",
    "uninstall",
    "watermark",
    "cc:Reproduction",
    "cc:Distribution",
    "cc:DerivativeWorks",
    "cc:CommercialUse",
    "cc:Notice",
    "cc:Attribution",
    "cc:ShareAlike",
    "cc:Sharing",
    "cc:SourceCode",
]

#: ``odrl:includedIn`` edges: action -> parent (``None`` for the two roots).
ACTION_PARENTS: Mapping[str, str | None] = MappingProxyType(
    {
        "use": None,
        "transfer": None,
        **dict.fromkeys(_USE_CHILDREN, "use"),
        "display": "play",
        "extract": "reproduce",
        "give": "transfer",
        "sell": "transfer",
    }
)

#: Deprecated actions: replacement (``skos:exactMatch``) or ``None`` when there is none.
DEPRECATED_ACTIONS: Mapping[str, str | None] = MappingProxyType(
    {
        "append": "modify",
        "appendTo": "modify",
        "write": "modify",
        "writeTo": "modify",
        "copy": "reproduce",
        "export": "transform",
        "license": "grantUse",
        "pay": "compensate",
        "attachPolicy": "cc:Notice",
        "attachSource": "cc:SourceCode",
        "shareAlike": "cc:ShareAlike",
        "commercialize": "cc:CommercialUse",
        "share": "cc:Sharing",
        "lease": None,
        "lend": None,
        "preview": None,
        "secondaryUse": None,
        "adHocShare": None,
        "extractChar": None,
        "extractPage": None,
        "extractWord": None,
    }
)

#: Party function properties (ODRL Core and Common Vocabulary) allowed on rules.
PARTY_FUNCTIONS = frozenset(
    {
        "attributedParty",
        "attributingParty",
        "compensatedParty",
        "compensatingParty",
        "consentingParty",
        "consentedParty",
        "contractingParty",
        "contractedParty",
        "informedParty",
        "informingParty",
        "trackingParty",
        "trackedParty",
    }
)


def canonical_action(term: str) -> str:
    """The term a deprecated action stands for (``write`` -> ``modify``), else ``term``."""
    return DEPRECATED_ACTIONS.get(term) or term


def ancestors(term: str, parents: Mapping[str, str | None] = ACTION_PARENTS) -> tuple[str, ...]:
    """``term`` and every action it is transitively ``includedIn``, nearest first."""
    chain: list[str] = []
    current: str | None = canonical_action(term)
    while current is not None and current not in chain:
        chain.append(current)
        current = parents.get(current)
    return tuple(chain)
