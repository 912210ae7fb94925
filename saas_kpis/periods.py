"""Calendar periods at a grain: their starts, their order and which are complete as of a date.

Shared by alerts and explain. The period that contains `as_of_date` is partial (the spec's rule),
so the latest complete period is the one before it. Weeks are ISO weeks starting on Monday.
"""

from __future__ import annotations

import datetime as dt

GRAINS = ("day", "week", "month", "quarter", "year")
# A review cadence of the metrics' meta names the grain its rules use by default.
CADENCE_GRAINS = {"weekly": "week", "monthly": "month", "quarterly": "quarter"}


def period_start(day: dt.date, grain: str) -> dt.date:
    """The first day of the period of `grain` that contains `day`."""
    if grain == "day":
        return day
    if grain == "week":
        return day - dt.timedelta(days=day.weekday())
    if grain == "month":
        return day.replace(day=1)
    if grain == "quarter":
        return dt.date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    if grain == "year":
        return dt.date(day.year, 1, 1)
    raise ValueError(f"unknown grain {grain!r}; expected one of {', '.join(GRAINS)}")


def shift(start: dt.date, grain: str, periods: int) -> dt.date:
    """The start of the period `periods` after (or before, when negative) the one at `start`."""
    if grain == "day":
        return start + dt.timedelta(days=periods)
    if grain == "week":
        return start + dt.timedelta(weeks=periods)
    months = {"month": 1, "quarter": 3, "year": 12}[grain] * periods
    index = start.year * 12 + start.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def latest_complete(as_of: dt.date, grain: str) -> dt.date:
    """The start of the last period that ends before the period containing `as_of`."""
    return shift(period_start(as_of, grain), grain, -1)


def year_earlier(start: dt.date, grain: str) -> dt.date | None:
    """The same period one year earlier: the same ISO week of the previous ISO year for weeks;
    None when it does not exist (ISO week 53, 29 February)."""
    if grain == "week":
        year, week, _ = start.isocalendar()
        try:
            return dt.date.fromisocalendar(year - 1, week, 1)
        except ValueError:
            return None
    if grain == "day":
        try:
            return start.replace(year=start.year - 1)
        except ValueError:
            return None
    return shift(start, grain, -{"month": 12, "quarter": 4, "year": 1}[grain])


def label(start: dt.date, grain: str) -> str:
    """How a period is printed: 2026-05, 2026-W21, 2026-Q2, 2026, 2026-05-31."""
    if grain == "week":
        year, week, _ = start.isocalendar()
        return f"{year}-W{week:02d}"
    if grain == "month":
        return f"{start:%Y-%m}"
    if grain == "quarter":
        return f"{start.year}-Q{(start.month - 1) // 3 + 1}"
    if grain == "year":
        return str(start.year)
    return start.isoformat()


def plural(grain: str, count: int) -> str:
    return f"{count} {grain}" + ("" if count == 1 else "s")
