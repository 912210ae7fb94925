"""Comparing semantic-layer and mart values with an independent reference.

Shared by the metric tests: a Comparison collects every mismatch (so that one
run reports them all) and counts the non-NULL values compared, so that a test
that compared nothing fails.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
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


def compare_series(
    comparison: Comparison,
    metric: str,
    actual: Mapping[Any, float | None],
    expected: Mapping[Any, Value],
    keep: Callable[[Any], bool],
    additive: bool,
) -> None:
    """Compare on the union of keys that keep() accepts; a missing key is 0 for a sum or count
    (additive) and NULL otherwise. In a query of several metrics, a key that only another metric
    has (a segment that emptied, an offset input's later period) is NULL for a sum: that is no
    row of its own, so 0 too."""
    default = Fraction(0) if additive else None
    for key in sorted(key for key in set(actual) | set(expected) if keep(key)):
        value = actual.get(key)
        comparison.check(
            metric, key, default if value is None else value, expected.get(key, default)
        )


def mart_rows(
    build: Any, table: str, key_columns: tuple[str, ...], columns: tuple[str, ...]
) -> dict[Any, dict[str, Any]]:
    """{key: {column: value}} of a mart of a build; the key is one column's value or a tuple."""
    rows = build.query(f"select {', '.join(key_columns + columns)} from main.{table}")
    width = len(key_columns)
    result = {
        (row[0] if width == 1 else row[:width]): dict(zip(columns, row[width:], strict=True))
        for row in rows
    }
    assert len(result) == len(rows), f"{table}: duplicate {key_columns}"
    return result


def compare_row(
    comparison: Comparison, key: Any, actual: Mapping[str, Any], expected: Mapping[str, Any]
) -> None:
    """Numbers (and NULLs) with the tolerance, anything else (text, dates, flags) exactly."""
    for column, want in expected.items():
        if want is None or isinstance(want, Fraction | float):
            comparison.check(column, key, actual[column], want)
        else:
            comparison.check_exact(column, key, actual[column], want)


def compare_mart(
    build: Any,
    table: str,
    key_columns: tuple[str, ...],
    columns: tuple[str, ...],
    expected: Mapping[Any, Mapping[str, Any]],
    labels: Iterable[str] | None = None,
) -> None:
    """Every row of a mart against the expected rows {key: {column: value}}: the same keys,
    then each column; labels name the columns that must have compared a non-NULL value."""
    actual = mart_rows(build, table, key_columns, columns)
    assert set(actual) == set(expected), (
        f"{table}: {len(set(actual) - set(expected))} unexpected, "
        f"{len(set(expected) - set(actual))} missing keys {key_columns}"
    )
    comparison = Comparison()
    for key, row in expected.items():
        compare_row(comparison, key, actual[key], row)
    comparison.assert_ok(columns if labels is None else labels)


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
