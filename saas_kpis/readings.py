"""A metric's values over complete periods, as dashboards and review packs show them.

Every value comes from one semantic-layer query (the metric by `metric_time` at a grain, and
optionally one segment dimension, under optional where filters), so a tile or a pack line shows
what a BI tool asking the same request sees. The period that contains `as_of_date` is partial and
left out; a reading's `latest` is the last complete period.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from saas_kpis.periods import label, latest_complete, shift
from saas_kpis.semantic import QueryRequest, SemanticLayer

# The three segment dimensions of the spec (section 4), as this project names them.
SEGMENT_DIMENSIONS = (
    "account_month__plan_tier",
    "account_month__industry",
    "account_month__account_age_band",
)
# The early-warning snapshot is dated as_of_date: the warehouse's own as_of_date.
AS_OF_METRIC = "at_risk_accounts"
HEALTHY = {
    "<": lambda value, bound: value < bound,
    "<=": lambda value, bound: value <= bound,
    ">": lambda value, bound: value > bound,
    ">=": lambda value, bound: value >= bound,
}


@dataclass(frozen=True)
class Threshold:
    """A guardrail from a metric's meta: the metric is healthy while `value operator bound`."""

    operator: str
    value: float

    @classmethod
    def from_meta(cls, meta: Mapping[str, Any]) -> Threshold | None:
        threshold = meta.get("threshold")
        if not isinstance(threshold, Mapping):
            return None
        return cls(str(threshold["operator"]), float(threshold["value"]))

    def healthy(self, observed: float) -> bool:
        if math.isclose(observed, self.value, rel_tol=1e-9, abs_tol=1e-12):
            return self.operator in ("<=", ">=")
        return HEALTHY[self.operator](observed, self.value)

    def __str__(self) -> str:
        return f"{self.operator} {self.value:g}"


@dataclass(frozen=True)
class Reading:
    """One metric in one segment (None: all) at a grain: complete periods, oldest first."""

    metric: str
    grain: str
    latest: dt.date
    series: Mapping[dt.date, float | None] = field(default_factory=dict)

    @property
    def value(self) -> float | None:
        return self.series.get(self.latest)

    @property
    def previous(self) -> float | None:
        return self.series.get(shift(self.latest, self.grain, -1))

    @property
    def change(self) -> float | None:
        if self.value is None or self.previous is None:
            return None
        return self.value - self.previous

    @property
    def period_label(self) -> str:
        return label(self.latest, self.grain)

    @property
    def previous_label(self) -> str:
        return label(shift(self.latest, self.grain, -1), self.grain)

    def window(self, periods: int) -> list[tuple[dt.date, float | None]]:
        """The last `periods` complete periods, oldest first, None where there is no value."""
        starts = [shift(self.latest, self.grain, -offset) for offset in range(periods)]
        return [(start, self.series.get(start)) for start in reversed(starts)]


def number(value: object) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float | Decimal):
        result = float(value)
        return None if math.isnan(result) else result
    return None


def segment_of(row: Mapping[str, Any], by: str | None) -> str | None:
    """The row's value of the segment dimension `by` as text ("(null)" for NULL, as alerts name
    it); None without a segment dimension."""
    if by is None:
        return None
    return "(null)" if row[by] is None else str(row[by])


def day(value: object) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    return value if isinstance(value, dt.date) else None


def read(
    layer: SemanticLayer,
    metrics: Sequence[str],
    grain: str,
    as_of: dt.date,
    *,
    by: str | None = None,
    where: Sequence[str] = (),
) -> dict[str | None, dict[str, Reading]]:
    """Each metric's reading per value of `by` (one entry, None, without it), in one query."""
    time_column = f"metric_time__{grain}"
    latest = latest_complete(as_of, grain)
    request = QueryRequest(
        metrics=tuple(metrics),
        group_by=(time_column, *((by,) if by else ())),
        where=tuple(where),
    )
    values: dict[str | None, dict[str, dict[dt.date, float | None]]] = {}
    for row in layer.query(request).to_pylist():
        start = day(row[time_column])
        if start is None or start > latest:
            continue
        segment = segment_of(row, by)
        per_metric = values.setdefault(segment, {metric: {} for metric in metrics})
        for metric in metrics:
            per_metric[metric][start] = number(row[metric])
    if by is None and None not in values:
        values[None] = {metric: {} for metric in metrics}
    return {
        segment: {
            metric: Reading(metric, grain, latest, series) for metric, series in per_metric.items()
        }
        for segment, per_metric in values.items()
    }


def read_one(
    layer: SemanticLayer, metric: str, grain: str, as_of: dt.date, where: Sequence[str] = ()
) -> Reading:
    return read(layer, (metric,), grain, as_of, where=where)[None][metric]


def warehouse_as_of(layer: SemanticLayer) -> dt.date | None:
    """The as_of_date the warehouse was built with (the early-warning snapshot's date), or None
    for a warehouse without paying accounts at that date."""
    rows = layer.query(
        QueryRequest(metrics=(AS_OF_METRIC,), group_by=("metric_time__day",))
    ).to_pylist()
    days = [day(row["metric_time__day"]) for row in rows]
    known = [d for d in days if d is not None]
    return max(known) if known else None
