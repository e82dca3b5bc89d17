"""Calendar periods of a plan, counted from the subscription's start (the anchor).

Period *n* runs from anchor + *n* periods (inclusive) to anchor + *n*+1
periods (exclusive), a period being the plan's ``recurringChargePeriodLength``
× month or year (a usage plan's quota period: a month unless it states one).
A day past the end of a shorter month is its last day: 31 January + 1 month
is 28 February (29 in a leap year), and the next period still ends on 31
March, since every period is counted from the anchor, not from the last end.
"""

from __future__ import annotations

import calendar
from datetime import datetime

from marketplace.domain.pricing import PricingPlan
from servicekit.errors import InvalidRequest

__all__ = ["add_months", "period_bounds", "period_containing"]


def add_months(moment: datetime, months: int) -> datetime:
    """``moment`` plus ``months`` calendar months, clamped to the last day of a short month."""
    total = moment.month - 1 + months
    year, month = moment.year + total // 12, total % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def period_bounds(plan: PricingPlan, anchor: datetime, index: int) -> tuple[datetime, datetime]:
    """Start (inclusive) and end (exclusive) of period ``index`` (0 = first) from ``anchor``."""
    if index < 0:
        raise InvalidRequest("a period index is 0 or more", code="period-invalid")
    months = plan.period_months
    return add_months(anchor, index * months), add_months(anchor, (index + 1) * months)


def period_containing(plan: PricingPlan, anchor: datetime, at: datetime) -> tuple[int, datetime,
                                                                                 datetime]:
    """The period of ``plan`` from ``anchor`` that ``at`` falls in: index, start and end."""
    if at < anchor:
        raise InvalidRequest("the moment is before the subscription started",
                             code="period-invalid")  # fmt: skip
    elapsed = (at.year - anchor.year) * 12 + at.month - anchor.month
    index = max(elapsed // plan.period_months - 1, 0)
    start, end = period_bounds(plan, anchor, index)
    while end <= at:
        index += 1
        start, end = period_bounds(plan, anchor, index)
    return index, start, end
