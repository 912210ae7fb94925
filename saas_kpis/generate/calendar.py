"""Time of the simulation: the epoch-second and day-number conventions and the simulated range.

Every generator module counts time as integer epoch seconds (instants) or day numbers (days since
1970-01-01) in numpy arrays, with :data:`NULL` standing for a missing value, so that whole columns
are computed at once and rendered as text only when a table is written.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

DAY = 86_400
WEEK = 7 * DAY
EPOCH = date(1970, 1, 1)
NULL = -1  # sentinel for NULL in integer / timestamp arrays
HISTORY_MONTHS = 36


def day_number(d: date) -> int:
    """Days since 1970-01-01."""
    return (d - EPOCH).days


def from_day_number(n: int) -> date:
    """Inverse of :func:`day_number`."""
    return EPOCH + timedelta(days=int(n))


def add_months(d: date, months: int) -> date:
    """Add calendar months, clamping the day to the target month's length."""
    years, month0 = divmod(d.month - 1 + months, 12)
    year = d.year + years
    last = calendar.monthrange(year, month0 + 1)[1]
    return date(year, month0 + 1, min(d.day, last))


def month_end(d: date) -> date:
    """Last day of the month of ``d``."""
    return add_months(d.replace(day=1), 1) - timedelta(days=1)


def weekday(day_numbers: np.ndarray) -> np.ndarray:
    """ISO weekday index (Monday = 0) of day numbers (1970-01-01 was a Thursday)."""
    return (day_numbers + 3) % 7


@dataclass(frozen=True)
class Calendar:
    """The simulated time range: three years of sign-ups ending at ``as_of``."""

    as_of: date

    @property
    def start(self) -> date:
        """First sign-up day: the day after as-of minus three years."""
        return add_months(self.as_of, -HISTORY_MONTHS) + timedelta(days=1)

    @property
    def start_sec(self) -> int:
        """Epoch seconds of the first sign-up day."""
        return day_number(self.start) * DAY

    @property
    def end_sec(self) -> int:
        """Last second of the as-of day."""
        return (day_number(self.as_of) + 1) * DAY - 1

    def week_starts(self) -> np.ndarray:
        """Epoch seconds of the Mondays of all ISO weeks overlapping the range."""
        first = self.start - timedelta(days=self.start.weekday())
        n = (self.as_of - first).days // 7 + 1
        return (day_number(first) + 7 * np.arange(n, dtype=np.int64)) * DAY
