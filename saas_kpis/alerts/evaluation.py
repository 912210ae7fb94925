"""Rules evaluated on the semantic layer: each rule's series asked once, then decided per segment.

Every number comes from a semantic-layer query (the rule's metric by `metric_time` at its grain and
its `for_each` dimension, under its filter), so an alert shows what a BI tool shows.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from saas_kpis.alerts.conditions import Outcome, decide, describe, window
from saas_kpis.alerts.rules import Rule, RuleError
from saas_kpis.periods import label, latest_complete, period_start, plural, shift
from saas_kpis.semantic import QueryRequest, SemanticLayer

# Segment series of a rule: segment value (None without for_each) → period start → value.
SegmentSeries = dict[str | None, dict[dt.date, float | None]]
PARTIAL_MONTH = "account_month__is_partial_month"


@dataclass(frozen=True)
class Evaluation:
    rule: Rule
    segment: str | None
    period: dt.date
    metric_value: float | None
    outcome: Outcome

    @property
    def key(self) -> str:
        """Identifies the alert across runs: the rule and the segment."""
        return self.rule.name if self.segment is None else f"{self.rule.name}[{self.segment}]"

    @property
    def period_label(self) -> str:
        return label(self.period, self.rule.grain)

    @property
    def condition(self) -> str:
        return describe(self.rule.condition, self.rule.grain)


def evaluate(layer: SemanticLayer, rules: list[Rule], as_of: dt.date) -> list[Evaluation]:
    """Every rule at the latest complete period of its grain as of `as_of`.

    Raises RuleError, before deciding anything, when a rule reads more periods than its metric
    has complete ones.
    """
    fetched = {rule.name: fetch_series(layer, rule, as_of) for rule in rules}
    check_history(rules, fetched, as_of)
    evaluations = []
    for rule in rules:
        latest = latest_complete(as_of, rule.grain)
        for segment, series in sorted(fetched[rule.name].items(), key=lambda item: str(item[0])):
            outcome = decide(rule.condition, series, latest, rule.grain)
            evaluations.append(Evaluation(rule, segment, latest, series.get(latest), outcome))
    return evaluations


def fetch_series(layer: SemanticLayer, rule: Rule, as_of: dt.date) -> SegmentSeries:
    """The rule's metric per segment and complete period (the partial period left out)."""
    latest = latest_complete(as_of, rule.grain)
    time_column = f"metric_time__{rule.grain}"
    series: SegmentSeries = {}
    for row in layer.query(rule.request()).to_pylist():
        start = _as_date(row[time_column])
        if start is None or start > latest:
            continue
        segment = None
        if rule.for_each:
            value = row[rule.for_each]
            segment = "(null)" if value is None else str(value)
        series.setdefault(segment, {})[start] = _as_float(row[rule.metric])
    if not series and not rule.for_each:
        series[None] = {}
    return series


def check_history(rules: list[Rule], fetched: dict[str, SegmentSeries], as_of: dt.date) -> None:
    problems = []
    for rule in rules:
        needed = window(rule.condition, rule.grain)
        latest = latest_complete(as_of, rule.grain)
        starts = [
            start
            for series in fetched[rule.name].values()
            for start, value in series.items()
            if value is not None
        ]
        available = 0
        if starts:
            first = min(starts)
            while shift(first, rule.grain, available) <= latest:
                available += 1
        if needed > available:
            span = (
                f"{label(min(starts), rule.grain)} to {label(latest, rule.grain)}"
                if starts
                else f"none up to {label(latest, rule.grain)}"
            )
            problems.append(
                f"{rule.source}: rule {rule.name}: its window is {plural(rule.grain, needed)} "
                f"({describe(rule.condition, rule.grain)}) but metric {rule.metric} has "
                f"{available} complete {rule.grain}(s) of history ({span})"
            )
    if problems:
        raise RuleError("\n".join(problems))


def check_as_of(layer: SemanticLayer, as_of: dt.date) -> None:
    """The warehouse was built for `as_of`: its partial month is the month of `as_of`."""
    rows = layer.query(
        QueryRequest(
            metrics=("mrr",),
            group_by=("metric_time__month", PARTIAL_MONTH),
            where=(f"{{{{ Dimension('{PARTIAL_MONTH}') }}}}",),
        )
    ).to_pylist()
    months = {_as_date(row["metric_time__month"]) for row in rows}
    if months and months != {period_start(as_of, "month")}:
        built = ", ".join(f"{month:%Y-%m}" for month in sorted(months))
        raise RuleError(
            f"--as-of {as_of} does not match the warehouse, built with as_of_date in {built}: "
            "pass the as_of_date of the build"
        )


def _as_date(value: object) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    return value if isinstance(value, dt.date) else None


def _as_float(value: object) -> float | None:
    if value is None:
        return None
    return float(value) if isinstance(value, int | float | Decimal) else None
