"""XML Schema lexical forms and the typed values we compare.

Only what ODRL constraints need: ``xsd:dateTime``, ``xsd:date`` (a whole
day, so ``dateTime lt 2025-01-01`` means "before that day starts"),
``xsd:duration`` (ordered as XML Schema orders durations, which is a partial
order once months are involved), integers, decimals, booleans and dotted
version numbers. A ``dateTime`` without a timezone is read as UTC.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation

__all__ = [
    "DATETIME_TYPES",
    "DATE_TYPES",
    "DECIMAL_TYPES",
    "DURATION_TYPES",
    "INTEGER_TYPES",
    "STRING_TYPES",
    "DayWindow",
    "Duration",
    "Version",
    "parse_boolean",
    "parse_date",
    "parse_datetime",
    "parse_decimal",
    "parse_duration",
    "parse_integer",
    "parse_version",
    "xsd_name",
]

_XSD = "http://www.w3.org/2001/XMLSchema#"

INTEGER_TYPES = frozenset(
    f"xsd:{t}"
    for t in [
        "integer",
        "nonNegativeInteger",
        "positiveInteger",
        "nonPositiveInteger",
        "negativeInteger",
        "int",
        "long",
        "short",
        "byte",
        "unsignedInt",
        "unsignedLong",
        "unsignedShort",
        "unsignedByte",
    ]
)
DECIMAL_TYPES = INTEGER_TYPES | {"xsd:decimal", "xsd:double", "xsd:float"}
DATETIME_TYPES = frozenset({"xsd:dateTime", "xsd:dateTimeStamp"})
DATE_TYPES = frozenset({"xsd:date"})
DURATION_TYPES = frozenset({"xsd:duration", "xsd:dayTimeDuration", "xsd:yearMonthDuration"})
STRING_TYPES = frozenset(
    f"xsd:{t}"
    for t in ["string", "anyURI", "token", "normalizedString", "language", "NMTOKEN", "Name"]
)


def xsd_name(datatype: str) -> str | None:
    """``xsd:x`` for ``xsd:x`` or the full XML Schema IRI; ``None`` for other datatypes."""
    if datatype.startswith(_XSD):
        return "xsd:" + datatype[len(_XSD) :]
    if datatype.startswith("xsd:"):
        return datatype
    return None


_DATETIME = re.compile(
    r"^(?P<y>-?\d{4,})-(?P<mo>\d{2})-(?P<d>\d{2})T(?P<h>\d{2}):(?P<mi>\d{2})"
    r"(?::(?P<s>\d{2})(?P<f>\.\d+)?)?(?P<tz>Z|[+-]\d{2}:\d{2})?$"
)
_DATE = re.compile(r"^(?P<y>-?\d{4,})-(?P<mo>\d{2})-(?P<d>\d{2})(?P<tz>Z|[+-]\d{2}:\d{2})?$")
_DURATION = re.compile(
    r"^(?P<sign>-)?P(?:(?P<y>\d+)Y)?(?:(?P<mo>\d+)M)?(?:(?P<d>\d+)D)?"
    r"(?:T(?:(?P<h>\d+)H)?(?:(?P<mi>\d+)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?$"
)
_INTEGER = re.compile(r"^[+-]?\d+$")
_DECIMAL = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_VERSION = re.compile(r"^v?(\d+(?:\.\d+)*)$")


def _tz(text: str | None) -> timezone:
    if text is None or text == "Z":
        return UTC
    sign = -1 if text[0] == "-" else 1
    hours, minutes = int(text[1:3]), int(text[4:6])
    if hours > 14 or minutes > 59 or (hours == 14 and minutes):
        raise ValueError(f"timezone offset out of range: {text}")
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def _year(text: str) -> int:
    year = int(text)
    if not 1 <= year <= 9999:
        raise ValueError(f"year {text} is outside 0001-9999")
    return year


def parse_datetime(text: str) -> datetime:
    """An aware ``datetime`` from an ``xsd:dateTime`` (seconds optional, as DSP writes)."""
    match = _DATETIME.match(text)
    if match is None:
        raise ValueError(f"not an xsd:dateTime: {text!r}")
    hour, minute = int(match["h"]), int(match["mi"])
    second = int(match["s"] or 0)
    micro = int((match["f"] or ".0")[1:7].ljust(6, "0"))
    next_day = False
    if hour == 24:
        if minute or second or micro:
            raise ValueError(f"only 24:00:00 may use hour 24: {text!r}")
        hour, next_day = 0, True
    value = datetime(
        _year(match["y"]),
        int(match["mo"]),
        int(match["d"]),
        hour,
        minute,
        second,
        micro,
        tzinfo=_tz(match["tz"]),
    )
    return value + timedelta(days=1) if next_day else value


@dataclass(frozen=True, slots=True)
class DayWindow:
    """An ``xsd:date``: the half-open interval [start, end) of that day."""

    day: date
    start: datetime
    end: datetime


def parse_date(text: str) -> DayWindow:
    """The day an ``xsd:date`` denotes (UTC unless it carries a timezone)."""
    match = _DATE.match(text)
    if match is None:
        raise ValueError(f"not an xsd:date: {text!r}")
    day = date(_year(match["y"]), int(match["mo"]), int(match["d"]))
    start = datetime(day.year, day.month, day.day, tzinfo=_tz(match["tz"]))
    return DayWindow(day, start, start + timedelta(days=1))


_REFERENCES = (
    datetime(1696, 9, 1),
    datetime(1697, 2, 1),
    datetime(1903, 3, 1),
    datetime(1903, 7, 1),
)
_MICRO = Decimal(1_000_000)


@dataclass(frozen=True, slots=True)
class Duration:
    """An ``xsd:duration``: signed months plus signed seconds (same sign)."""

    months: int
    seconds: Decimal

    @classmethod
    def of(cls, delta: timedelta) -> Duration:
        """The duration of a ``timedelta`` (no months)."""
        micros = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
        return cls(0, Decimal(micros) / _MICRO)

    def _add_to(self, moment: datetime) -> datetime:
        # XML Schema 1.1 part 2, appendix E: add months, pin the day, then seconds.
        total = moment.year * 12 + (moment.month - 1) + self.months
        year, month = divmod(total, 12)
        shifted = moment.replace(year=year, month=month + 1)
        return shifted + timedelta(microseconds=int(self.seconds * _MICRO))

    def compare(self, other: Duration) -> int | None:
        """-1, 0 or 1; ``None`` when XML Schema leaves the order undetermined (P1M vs P30D)."""
        if self.months == other.months:
            return (self.seconds > other.seconds) - (self.seconds < other.seconds)
        try:
            pairs = [(self._add_to(r), other._add_to(r)) for r in _REFERENCES]
        except (OverflowError, ValueError):  # beyond the years datetime can hold
            return None
        results = {(a > b) - (a < b) for a, b in pairs}
        return results.pop() if len(results) == 1 else None

    def __str__(self) -> str:
        sign = "-" if self.months < 0 or self.seconds < 0 else ""
        months, seconds = abs(self.months), abs(self.seconds)
        years, months = divmod(months, 12)
        days, rest = divmod(seconds, 86_400)
        hours, rest = divmod(rest, 3600)
        minutes, secs = divmod(rest, 60)
        date_part = "".join(
            f"{n}{u}" for n, u in ((years, "Y"), (months, "M"), (int(days), "D")) if n
        )
        time_part = "".join(f"{n}{u}" for n, u in ((int(hours), "H"), (int(minutes), "M")) if n) + (
            f"{secs.normalize():f}S" if secs else ""
        )
        if not date_part and not time_part:
            return "PT0S"
        return f"{sign}P{date_part}" + (f"T{time_part}" if time_part else "")


def parse_duration(text: str) -> Duration:
    """An ``xsd:duration`` such as ``P30D``, ``PT1H30M`` or ``P1Y2M``."""
    match = _DURATION.match(text)
    if match is None or text.endswith(("P", "T")):
        raise ValueError(f"not an xsd:duration: {text!r}")
    months = int(match["y"] or 0) * 12 + int(match["mo"] or 0)
    seconds = (
        Decimal(match["d"] or 0) * 86_400
        + Decimal(match["h"] or 0) * 3600
        + Decimal(match["mi"] or 0) * 60
        + Decimal(match["s"] or 0)
    )
    if match["sign"]:
        months, seconds = -months, -seconds
    return Duration(months, seconds)


def parse_integer(text: str) -> int:
    """An integer lexical form."""
    if not _INTEGER.match(text.strip()):
        raise ValueError(f"not an integer: {text!r}")
    return int(text)


def parse_decimal(text: str) -> Decimal:
    """A finite decimal (also accepts the double/float exponent form)."""
    if not _DECIMAL.match(text.strip()):
        raise ValueError(f"not a decimal number: {text!r}")
    try:
        return Decimal(text.strip())
    except InvalidOperation as exc:  # pragma: no cover - the pattern rules this out
        raise ValueError(f"not a decimal number: {text!r}") from exc


def parse_boolean(text: str) -> bool:
    """``true``/``1`` or ``false``/``0``."""
    if text in ("true", "1"):
        return True
    if text in ("false", "0"):
        return False
    raise ValueError(f"not an xsd:boolean: {text!r}")


@dataclass(frozen=True, slots=True)
class Version:
    """A version: dotted numbers order numerically (``2.10 > 2.9``); others only compare equal."""

    text: str
    parts: tuple[int, ...] | None

    def compare(self, other: Version) -> int | None:
        """-1, 0 or 1; ``None`` when either side is not a dotted number."""
        if self.parts is None or other.parts is None:
            return 0 if self.text == other.text else None
        a, b = self.parts, other.parts
        return (a > b) - (a < b)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return self.compare(other) == 0

    def __hash__(self) -> int:
        return hash(self.parts if self.parts is not None else self.text)


def parse_version(text: str) -> Version:
    """A version; trailing ``.0`` parts do not matter (``2`` == ``2.0``)."""
    match = _VERSION.match(text.strip())
    if match is None:
        return Version(text, None)
    parts = [int(p) for p in match.group(1).split(".")]
    while len(parts) > 1 and parts[-1] == 0:
        parts.pop()
    return Version(text, tuple(parts))
