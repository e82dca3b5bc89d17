"""The request context a policy is evaluated against.

:class:`RequestContext` is a slotted object read on the hot path: build it
with typed values (the data plane does), or from JSON with
:meth:`RequestContext.from_mapping` (the CLI does). Any field may be left out;
a constraint on a value the context does not supply is undetermined, which
denies a permission but lets a prohibition stand (fail closed). A request
has one purpose and one recipient (a use for two purposes is two requests);
only credentials and claims are sets.

JSON keys are named after the ODRL left operands they supply:

================  ===============================  ==========================================
key               attribute                        value
================  ===============================  ==========================================
action            ``action``                       requested action (``read``, ``odrl:use``)
target            ``target``                       requested asset IRI
assignee          ``assignee``                     requesting party (DID or IRI)
dateTime          ``now``                          request time, RFC 3339 (UTC if no offset)
count             ``count``                        prior exercises of the action (int >= 0)
elapsedTime       ``elapsed_time``                 duration since the agreement (``PT5H``)
delayPeriod       ``delay_period``                 duration since the triggering point
meteredTime       ``metered_time``                 accumulated metered usage (duration)
timeInterval      ``time_interval``                period ``count`` was counted over
purpose           ``purpose``                      purpose IRI of this request
recipient         ``recipient``                    party receiving the result
spatial           ``spatial``                      location IRI
payAmount         ``pay_amount``                   amount paid (decimal); ``payUnit`` its unit
percentage        ``percentage``                   percentage of the asset requested
version           ``version``                      asset version
event             ``events``                       event IRI(s) happening now, or {IRI: phase}
credentials       ``credentials``                  credential types held, or {type: subject(s)}
partOf            ``part_of``                      {IRI: [collections/areas/classes it is in]}
duties            ``duties``                       {duty id: fulfilled | violated | notSet}
(other operands)  ``extra``                        ``language``, ``product``, ``dst:endpoint``...
================  ===============================  ==========================================
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from functools import lru_cache
from typing import Any

from policies.errors import ContextError, Issue, pointer
from policies.profile import DEFAULT_TERMS, Terms
from policies.values import parse_datetime, parse_decimal, parse_duration
from policies.vocabulary import LEFT_OPERANDS, canonical_action

__all__ = ["OPERAND_ATTRS", "DutyState", "RequestContext", "normalize_action"]


class DutyState(StrEnum):
    """What the enforcer reports about a duty (the FORCE duty report states)."""

    FULFILLED = "fulfilled"
    VIOLATED = "violated"
    NOT_SET = "notSet"


class RequestContext:
    """What is known about one request: who asks to do what to which asset, when, why.

    Treat instances as immutable once built; compiled policies read them on the hot path.
    """

    __slots__ = (
        "action",
        "assignee",
        "count",
        "credentials",
        "delay_period",
        "duties",
        "elapsed_time",
        "events",
        "extra",
        "metered_time",
        "now",
        "part_of",
        "pay_amount",
        "pay_unit",
        "percentage",
        "purpose",
        "recipient",
        "spatial",
        "target",
        "time_interval",
        "version",
    )

    def __init__(
        self,
        *,
        action: str,
        target: str | None = None,
        assignee: str | None = None,
        now: datetime | None = None,
        count: int | None = None,
        elapsed_time: timedelta | None = None,
        delay_period: timedelta | None = None,
        metered_time: timedelta | None = None,
        time_interval: timedelta | None = None,
        purpose: str | None = None,
        recipient: str | None = None,
        spatial: str | None = None,
        pay_amount: Decimal | None = None,
        pay_unit: str | None = None,
        percentage: Decimal | None = None,
        version: str | None = None,
        events: Mapping[str, str] | None = None,
        credentials: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
        part_of: Mapping[str, Sequence[str]] | None = None,
        duties: Mapping[str, DutyState | str] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        self.action = normalize_action(action)
        self.target = target
        self.assignee = assignee
        # a naive time is read as UTC, like an xsd:dateTime without timezone
        self.now = now if now is None or now.tzinfo is not None else now.replace(tzinfo=UTC)
        self.count = count
        self.elapsed_time = elapsed_time
        self.delay_period = delay_period
        self.metered_time = metered_time
        self.time_interval = time_interval
        self.purpose = purpose
        self.recipient = recipient
        self.spatial = spatial
        self.pay_amount = pay_amount
        self.pay_unit = pay_unit
        self.percentage = percentage
        self.version = version
        self.events = events
        self.credentials = credentials
        self.part_of = part_of
        # states may arrive as plain strings; the evaluators compare enum members
        self.duties: Mapping[str, DutyState] | None = (
            {k: DutyState(v) for k, v in duties.items()} if duties else None
        )
        self.extra = extra

    def __repr__(self) -> str:
        shown = ", ".join(
            f"{name}={getattr(self, name)!r}"
            for name in self.__slots__
            if getattr(self, name) is not None
        )
        return f"RequestContext({shown})"

    @classmethod
    def from_mapping(
        cls, data: Mapping[str, Any], *, terms: Terms = DEFAULT_TERMS
    ) -> RequestContext:
        """Build a context from JSON (keys as in the module table); raises ContextError."""
        return _ContextReader(terms).read(data)


@lru_cache(maxsize=1024)  # every request names an action: resolve each spelling once
def normalize_action(action: str, terms: Terms = DEFAULT_TERMS) -> str:
    """The canonical term of a requested action (``odrl:write`` -> ``modify``)."""
    resolved = terms.action(action)
    return canonical_action(resolved.term) if resolved.term else action


class _ContextReader:
    def __init__(self, terms: Terms) -> None:
        self.terms = terms
        self.issues: list[Issue] = []

    def bad(self, key: str, message: str, code: str = "invalid-context-value") -> None:
        self.issues.append(Issue(code, pointer("", key), message))

    def read(self, data: Mapping[str, Any]) -> RequestContext:
        if not isinstance(data, Mapping):
            raise ContextError([Issue("invalid-context-value", "", "context must be an object")])
        values: dict[str, Any] = {}
        extra: dict[str, Any] = {}
        for key, raw in data.items():
            reader = _READERS.get(key)
            if reader is not None:
                attr, convert = reader
                try:
                    values[attr] = convert(self, key, raw)
                except (ValueError, TypeError) as exc:
                    self.bad(key, str(exc))
            elif key in _EXTRA_KEYS:
                try:
                    extra[key] = _string(self, key, raw)
                except TypeError as exc:
                    self.bad(key, str(exc))
            else:
                self.bad(key, f"unknown context key {key!r}", "unknown-context-key")
        if "action" not in values and not any(i.path == "/action" for i in self.issues):
            self.bad("action", "the context needs an action", "missing-context-value")
        if self.issues:
            raise ContextError(self.issues)
        return RequestContext(**values, extra=extra or None)


def _string(_r: _ContextReader, key: str, raw: Any) -> str:
    if not isinstance(raw, str) or not raw:
        raise TypeError(f"{key} must be a non-empty string")
    return raw


def _action(reader: _ContextReader, key: str, raw: Any) -> str:
    text = _string(reader, key, raw)
    if reader.terms.action(text).term is None:
        raise ValueError(f"{text!r} is not an action of ODRL or a known profile")
    return text


def _text_or_set(raw: Any) -> str | frozenset[str]:
    if isinstance(raw, str) and raw:
        return raw
    if isinstance(raw, list) and raw and all(isinstance(v, str) for v in raw):
        return raw[0] if len(raw) == 1 else frozenset(raw)
    raise TypeError("expected a string or a non-empty list of strings")


def _datetime(_r: _ContextReader, key: str, raw: Any) -> datetime:
    if not isinstance(raw, str):
        raise TypeError(f"{key} must be an RFC 3339 date-time string")
    return parse_datetime(raw)


def _count(_r: _ContextReader, key: str, raw: Any) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int) or raw < 0:
        raise TypeError(f"{key} must be a non-negative integer")
    return raw


def _duration(_r: _ContextReader, key: str, raw: Any) -> timedelta:
    if not isinstance(raw, str):
        raise TypeError(f"{key} must be an xsd:duration string such as PT5H")
    duration = parse_duration(raw)
    if duration.months:
        raise ValueError(f"{key} must not use years or months (ambiguous length)")
    return timedelta(microseconds=int(duration.seconds * 1_000_000))


def _decimal(_r: _ContextReader, key: str, raw: Any) -> Decimal:
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        raise TypeError(f"{key} must be a number")
    return parse_decimal(str(raw))


def _events(_r: _ContextReader, key: str, raw: Any) -> Mapping[str, str]:
    if isinstance(raw, Mapping):
        phases = {"before", "during", "after"}
        if not all(isinstance(v, str) and v in phases for v in raw.values()):
            raise ValueError(f"{key} phases must be before, during or after")
        return dict(raw)
    value = _text_or_set(raw)
    return dict.fromkeys((value,) if isinstance(value, str) else sorted(value), "during")


def _credentials(
    _r: _ContextReader, key: str, raw: Any
) -> Mapping[str, Sequence[Mapping[str, Any]]]:
    if isinstance(raw, list) and all(isinstance(v, str) for v in raw):
        return {v: ({},) for v in raw}
    if isinstance(raw, Mapping):
        out: dict[str, tuple[Mapping[str, Any], ...]] = {}
        for ctype, subjects in raw.items():
            items = subjects if isinstance(subjects, list) else [subjects]
            if not all(isinstance(s, Mapping) for s in items):
                raise TypeError(f"{key}.{ctype} must be a claims object or a list of them")
            out[ctype] = tuple(items)
        return out
    raise TypeError(f"{key} must be a list of credential types or {{type: claims}}")


def _part_of(_r: _ContextReader, key: str, raw: Any) -> Mapping[str, tuple[str, ...]]:
    if not isinstance(raw, Mapping):
        raise TypeError(f"{key} must map identifiers to the collections they belong to")
    out: dict[str, tuple[str, ...]] = {}
    for item, parents in raw.items():
        if isinstance(parents, str):
            parents = [parents]
        if not isinstance(parents, list) or not all(isinstance(p, str) for p in parents):
            raise TypeError(f"{key}.{item} must be an IRI or a list of IRIs")
        out[item] = tuple(parents)
    return out


def _duties(_r: _ContextReader, key: str, raw: Any) -> Mapping[str, DutyState]:
    if not isinstance(raw, Mapping):
        raise TypeError(f"{key} must map duty ids to fulfilled, violated or notSet")
    return {duty: DutyState(state) for duty, state in raw.items()}


_READERS = {
    "action": ("action", _action),
    "target": ("target", _string),
    "assignee": ("assignee", _string),
    "dateTime": ("now", _datetime),
    "count": ("count", _count),
    "elapsedTime": ("elapsed_time", _duration),
    "delayPeriod": ("delay_period", _duration),
    "meteredTime": ("metered_time", _duration),
    "timeInterval": ("time_interval", _duration),
    "purpose": ("purpose", _string),
    "recipient": ("recipient", _string),
    "spatial": ("spatial", _string),
    "payAmount": ("pay_amount", _decimal),
    "payUnit": ("pay_unit", _string),
    "percentage": ("percentage", _decimal),
    "version": ("version", _string),
    "event": ("events", _events),
    "credentials": ("credentials", _credentials),
    "partOf": ("part_of", _part_of),
    "duties": ("duties", _duties),
}

#: Left-operand keys that map onto a named attribute (the rest go to ``extra``).
OPERAND_ATTRS = {key: attr for key, (attr, _) in _READERS.items() if key in LEFT_OPERANDS}
_EXTRA_KEYS = (frozenset(LEFT_OPERANDS) - frozenset(OPERAND_ATTRS)) | {"dst:endpoint"}
