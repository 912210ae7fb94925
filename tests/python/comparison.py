"""Comparing semantic-layer and mart values with an independent reference.

Shared by the metric tests: a Comparison collects every mismatch (so that one
run reports them all) and counts the non-NULL values compared, so that a test
that compared nothing fails.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

from mf_cli import mf_query

SHOWN_MISMATCHES = 40
SEGMENT_ENTITY = "account_month"
TIME_COLUMNS = {"week": "metric_time__week", "month": "metric_time__month"}

Value = Fraction | int | None


@dataclass
class Comparison:
    """Mismatches and the count of non-NULL expected values, per label."""

    mismatches: list[str] = field(default_factory=list)
    compared: Counter[str] = field(default_factory=Counter)

    def check(self, label: str, key: Any, actual: Any, expected: Value) -> None:
        """Numbers with a relative tolerance of 1e-9; NULL matches only NULL."""
        if expected is not None:
            self.compared[label] += 1
        if not values_match(actual, expected):
            self.mismatches.append(f"{label} {key}: got {actual!r}, expected {show(expected)}")

    def check_exact(self, label: str, key: Any, actual: Any, expected: Any) -> None:
        """Text, timestamps and flags: equal or a mismatch."""
        self.compared[label] += 1
        if actual != expected:
            self.mismatches.append(f"{label} {key}: got {actual!r}, expected {expected!r}")

    def assert_ok(self, labels: Iterable[str]) -> None:
        shown = "\n".join(self.mismatches[:SHOWN_MISMATCHES])
        assert not self.mismatches, f"{len(self.mismatches)} mismatches, first ones:\n{shown}"
        missing = [label for label in labels if self.compared[label] == 0]
        assert not missing, f"no non-NULL value compared for {missing}"


def values_match(actual: Any, expected: Value) -> bool:
    if actual is None or expected is None:
        return actual is None and expected is None
    return math.isclose(float(actual), float(expected), rel_tol=1e-9, abs_tol=1e-9)


def show(value: Value) -> str:
    return "NULL" if value is None else repr(float(value))


def segment_column(segment: str | None) -> list[str]:
    """The group-by name of a segment dimension, or none for the company level."""
    return [f"{SEGMENT_ENTITY}__{segment}"] if segment else []


def parse_number(text: str) -> float | None:
    """A number of `mf query --csv` output; the empty string is NULL."""
    return None if text == "" else float(text)


def parse_day(text: str) -> dt.date:
    return dt.date.fromisoformat(text[:10])


def query_metrics(
    project_dir: Path,
    metrics: Iterable[str],
    group_by: list[str],
    segment: str | None,
    key_of: Callable[[dict[str, str]], tuple] | None = None,
) -> dict[str, dict[tuple, float | None]]:
    """One `mf query` for several metrics: {metric: {key: value}}.

    The default key is (first group-by as a day, the other group-by values, the
    segment value or "" for the company level).
    """
    metrics = list(metrics)
    columns = group_by + segment_column(segment)
    rows = mf_query(project_dir, metrics, columns)

    def default_key(row: dict[str, str]) -> tuple:
        others = tuple(row[column] for column in columns[1:])
        return (parse_day(row[columns[0]]), *others, *(() if segment else ("",)))

    keys = [(key_of or default_key)(row) for row in rows]
    assert len(keys) == len(set(keys)), f"duplicate rows for {metrics} by {columns}"
    return {
        metric: {key: parse_number(row[metric]) for key, row in zip(keys, rows, strict=True)}
        for metric in metrics
    }
