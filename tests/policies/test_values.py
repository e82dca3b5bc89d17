"""XML Schema values: dateTime, date, duration order, numbers, versions."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from policies.values import (
    Duration,
    parse_boolean,
    parse_date,
    parse_datetime,
    parse_decimal,
    parse_duration,
    parse_integer,
    parse_version,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-01-01T00:00:00Z", datetime(2025, 1, 1, tzinfo=UTC)),
        ("2023-12-31T06:00Z", datetime(2023, 12, 31, 6, tzinfo=UTC)),  # DSP's example form
        ("2025-06-01T12:30:15.250+02:00",
         datetime(2025, 6, 1, 12, 30, 15, 250_000, tzinfo=timezone(timedelta(hours=2)))),
        ("2025-06-01T12:00:00", datetime(2025, 6, 1, 12, tzinfo=UTC)),  # no zone: UTC
        ("2025-12-31T24:00:00Z", datetime(2026, 1, 1, tzinfo=UTC)),
    ],
)  # fmt: skip
def test_parse_datetime(text: str, expected: datetime) -> None:
    assert parse_datetime(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2025-01-01", "not an xsd:dateTime: '2025-01-01'"),
        ("2025-13-01T00:00:00Z", "month must be in 1..12"),
        ("2025-01-01T25:00:00Z", "hour must be in 0..23"),
        ("01/01/2025", "not an xsd:dateTime: '01/01/2025'"),
        ("2025-01-01T24:00:01Z", "only 24:00:00 may use hour 24: '2025-01-01T24:00:01Z'"),
        ("2025-01-01T00:00:00+15:00", "timezone offset out of range: +15:00"),
        ("0000-01-01T00:00:00Z", "year 0000 is outside 0001-9999"),
    ],
)  # fmt: skip
def test_invalid_datetimes(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        parse_datetime(text)


def test_a_date_is_a_day_in_its_timezone() -> None:
    day = parse_date("2025-06-30")
    assert (day.start, day.end) == (
        datetime(2025, 6, 30, tzinfo=UTC),
        datetime(2025, 7, 1, tzinfo=UTC),
    )
    assert parse_date("2025-06-30+02:00").start == datetime(2025, 6, 29, 22, tzinfo=UTC)
    with pytest.raises(ValueError, match="day is out of range"):
        parse_date("2025-02-30")


@pytest.mark.parametrize(
    ("text", "months", "seconds"),
    [("P1Y2M", 14, 0), ("P30D", 0, 30 * 86_400), ("PT1H30M", 0, 5400), ("PT0.5S", 0, "0.5"),
     ("-P1D", 0, -86_400), ("P1MT1S", 1, 1)],
)  # fmt: skip
def test_parse_duration(text: str, months: int, seconds: int | str) -> None:
    assert parse_duration(text) == Duration(months, Decimal(seconds))


@pytest.mark.parametrize("text", ["P", "PT", "P1H", "30D", "P1.5D", "PT1H2"])
def test_invalid_durations(text: str) -> None:
    with pytest.raises(ValueError, match="xsd:duration"):
        parse_duration(text)


@pytest.mark.parametrize(
    ("left", "right", "order"),
    [
        ("P1D", "PT24H", 0),
        ("PT23H", "P1D", -1),
        ("P1Y", "P12M", 0),
        ("P1M", "P27D", 1),  # every month has more than 27 days
        ("P1M", "P32D", -1),
        ("P1M", "P30D", None),  # February is shorter, September equal, March longer
        ("P2M", "P60D", None),
        ("P1Y", "P365D", None),  # leap years
        ("P1Y", "P367D", -1),
    ],
)
def test_duration_partial_order(left: str, right: str, order: int | None) -> None:
    assert parse_duration(left).compare(parse_duration(right)) == order
    reverse = None if order is None else -order
    assert parse_duration(right).compare(parse_duration(left)) == reverse


def test_duration_of_timedelta_and_text() -> None:
    assert Duration.of(timedelta(hours=5, seconds=1)) == parse_duration("PT5H1S")
    assert str(parse_duration("P1Y2M3DT4H5M6.5S")) == "P1Y2M3DT4H5M6.5S"
    assert str(Duration.of(timedelta(0))) == "PT0S"


def test_numbers_and_booleans() -> None:
    assert parse_integer("+42") == 42
    assert parse_decimal("1e3") == Decimal(1000)
    assert parse_boolean("1") is True
    for bad in ("4.2", "forty"):
        with pytest.raises(ValueError, match="integer"):
            parse_integer(bad)
    with pytest.raises(ValueError, match="decimal"):
        parse_decimal("NaN")
    with pytest.raises(ValueError, match="boolean"):
        parse_boolean("yes")


def test_versions_order_numerically() -> None:
    assert parse_version("2.10").compare(parse_version("2.9")) == 1
    assert parse_version("v2.0") == parse_version("2")
    assert parse_version("beta").compare(parse_version("2.0")) is None
    assert parse_version("beta").compare(parse_version("beta")) == 0
