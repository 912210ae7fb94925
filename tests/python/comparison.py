"""Comparing semantic-layer and mart values with an independent reference.

Shared by the metric tests: a Comparison collects every mismatch (so that one
run reports them all) and counts the non-NULL values compared, so that a test
that compared nothing fails.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

SHOWN_MISMATCHES = 40
SEGMENT_ENTITY = "account_month"

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
