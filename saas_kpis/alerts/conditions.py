"""A rule's condition decided on a metric series: firing, ok or no data.

The series maps the start of each complete period to the metric's value (None for NULL or no row).
Following the spec's zero and NULL rule, a mean over a window with a NULL is NULL, and a relative
change over a base ≤ 0 is NULL: such a rule has no data rather than a guessed state.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from saas_kpis.alerts.rules import Condition
from saas_kpis.periods import plural, shift, year_earlier

FIRING, OK, NO_DATA = "firing", "ok", "no_data"
# MAD * 1.4826 estimates the standard deviation of normally distributed values.
MAD_SCALE = 1.4826
# The farthest back the same ISO week of the previous year can be.
WEEKS_IN_LONG_YEAR = 53

Series = Mapping[dt.date, float | None]


@dataclass(frozen=True)
class Outcome:
    state: str
    observed: float | None  # the number compared: the value, a mean, a change or a score
    detail: str = ""


def window(condition: Condition, grain: str) -> int:
    """How many complete periods, the latest included, the condition reads."""
    if condition.type == "trailing_mean":
        return condition.periods
    if condition.type == "consecutive":
        return condition.periods + (condition.of == "change")
    if condition.type == "change":
        if condition.compare_to == "previous_period":
            return 2
        return {"day": 366, "week": WEEKS_IN_LONG_YEAR, "month": 12, "quarter": 4, "year": 1}[
            grain
        ] + 1
    if condition.type == "anomaly":
        return condition.min_history + 1
    return 1


def describe(condition: Condition, grain: str) -> str:
    """The condition in words, for the report's threshold column."""
    if condition.type == "threshold":
        return str(condition.comparison)
    if condition.type == "trailing_mean":
        return f"mean of {plural(grain, condition.periods)} {condition.comparison}"
    if condition.type == "consecutive":
        what = "change " if condition.of == "change" else ""
        return f"{what}{condition.comparison} for {plural(grain, condition.periods)} in a row"
    if condition.type == "change":
        base = "previous" if condition.compare_to == "previous_period" else "year-earlier"
        kind = "relative change" if condition.kind == "relative" else "change"
        return f"{kind} vs {base} {grain} {condition.comparison}"
    sign = {"both": "|score|", "up": "score", "down": "-score"}[condition.direction]
    return f"{sign} ≥ {condition.score:g} over {plural(grain, condition.periods)}"


def decide(condition: Condition, series: Series, latest: dt.date, grain: str) -> Outcome:
    """The condition's state at the latest complete period `latest`."""

    def value(back: int) -> float | None:
        return series.get(shift(latest, grain, -back))

    if condition.type == "anomaly":
        return _anomaly(condition, value)
    if condition.type == "change":
        if condition.compare_to == "previous_period":
            base = value(1)
        else:
            earlier = year_earlier(latest, grain)
            base = series.get(earlier) if earlier is not None else None
        change = _change(value(0), base, condition.kind)
        if change is None:
            return Outcome(NO_DATA, None, "no value or no base to compare with")
        return _compare(condition, change)
    if condition.type == "consecutive":
        count = condition.periods
        if condition.of == "change":
            observed = [_change(value(back), value(back + 1), "absolute") for back in range(count)]
        else:
            observed = [value(back) for back in range(count)]
        if any(item is None for item in observed):
            return Outcome(NO_DATA, None, f"a NULL among the last {plural(grain, count)}")
        breaches = [condition.comparison.breached(item) for item in observed]
        return Outcome(FIRING if all(breaches) else OK, observed[0])
    if condition.type == "trailing_mean":
        values = [value(back) for back in range(condition.periods)]
        if any(item is None for item in values):
            return Outcome(NO_DATA, None, f"a NULL among the last {plural(grain, len(values))}")
        return _compare(condition, statistics.fmean(values))
    latest_value = value(0)
    if latest_value is None:
        return Outcome(NO_DATA, None, "no value for the latest complete period")
    return _compare(condition, latest_value)


def _compare(condition: Condition, observed: float) -> Outcome:
    return Outcome(FIRING if condition.comparison.breached(observed) else OK, observed)


def _change(current: float | None, base: float | None, kind: str) -> float | None:
    if current is None or base is None:
        return None
    if kind == "relative":
        return (current - base) / base if base > 0 else None
    return current - base


def _anomaly(condition: Condition, value: Callable[[int], float | None]) -> Outcome:
    current = value(0)
    if current is None:
        return Outcome(NO_DATA, None, "no value for the latest complete period")
    history = [
        item for back in range(1, condition.periods + 1) if (item := value(back)) is not None
    ]
    if len(history) < condition.min_history:
        return Outcome(
            NO_DATA,
            None,
            f"{len(history)} of the {condition.min_history} periods of history needed",
        )
    median = statistics.median(history)
    mad = statistics.median(abs(item - median) for item in history)
    if mad == 0:
        # A flat history: any other value is as far from it as can be.
        score = 0.0 if current == median else float("inf") * (1 if current > median else -1)
    else:
        score = (current - median) / (MAD_SCALE * mad)
    reached = {
        "both": abs(score) >= condition.score,
        "up": score >= condition.score,
        "down": -score >= condition.score,
    }[condition.direction]
    detail = f"value {current:g}, median {median:g}, MAD {mad:g}"
    return Outcome(FIRING if reached else OK, score, detail)
