"""A review pack as typed data, assembled from the semantic layer.

The pack reviews the latest complete period of its cadence's grain (the period that contains
`as_of_date` is partial and left out, as everywhere in the project). Every number comes from the
semantic layer: the metric values through `readings.read` (one query per grain), the alerts
through the alert rules' own evaluation, the driver decomposition through `drivers.explain`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from saas_kpis.alerts.conditions import FIRING
from saas_kpis.alerts.evaluation import Evaluation, evaluate
from saas_kpis.alerts.rules import Rule
from saas_kpis.drivers.explain import ExplainError, Explanation, explain
from saas_kpis.drivers.tree import DriverTree
from saas_kpis.periods import CADENCE_GRAINS, GRAINS, label, latest_complete, period_start, shift
from saas_kpis.readings import Reading, Threshold, read
from saas_kpis.semantic import OWNER_TEAMS, Metric, SemanticLayer

CADENCES = tuple(CADENCE_GRAINS)
TIERS = ("primary", "guardrail", "diagnostic")
# The spec names the primary metric; the pack takes it from the meta `tier` and falls back here.
PRIMARY_METRIC = "net_revenue_retention"
# The primary metric's driver decomposition is monthly for every cadence: the driver formulas
# (12-month NRR from its monthly inputs) are defined at month grain.
DRIVER_GRAIN = "month"


@dataclass(frozen=True)
class MetricLine:
    """One metric of the pack: its latest complete value and the one before, at `grain`."""

    name: str
    label: str
    tier: str
    owner: str
    unit: str
    reading: Reading  # at the pack's grain, or the next coarser one the metric has
    threshold: Threshold | None
    # Why the metric is read at another grain than the pack's, else "".
    grain_note: str = ""

    @property
    def grain(self) -> str:
        return self.reading.grain

    @property
    def value(self) -> float | None:
        return self.reading.value

    @property
    def previous(self) -> float | None:
        return self.reading.previous

    @property
    def change(self) -> float | None:
        return self.reading.change

    @property
    def period_label(self) -> str:
        return self.reading.period_label

    @property
    def previous_label(self) -> str:
        return self.reading.previous_label

    @property
    def relative_change(self) -> float | None:
        """The change over the previous value, where that means something: not for ratios
        (their change is already in points), flags, week numbers or scores that can be
        negative, and not over a previous value ≤ 0."""
        change = self.change
        if change is None or self.previous is None or self.previous <= 0:
            return None
        if self.unit in ("ratio", "flag", "week") or self.unit.startswith("score"):
            return None
        return change / self.previous

    @property
    def healthy(self) -> bool | None:
        """The threshold's verdict on the latest value; None without threshold or value."""
        if self.threshold is None or self.value is None:
            return None
        return self.threshold.healthy(self.value)


@dataclass(frozen=True)
class Resolved:
    """An alert firing at the previous period and not any more (`now` None: not evaluated now,
    e.g. a segment without data in the latest period)."""

    before: Evaluation
    now: Evaluation | None

    @property
    def state_now(self) -> str:
        return self.now.outcome.state if self.now is not None else "no_data"


@dataclass(frozen=True)
class OwnerActions:
    """What one owner team must act on: its firing alerts and its metrics missing a threshold."""

    owner: str
    alerts: tuple[Evaluation, ...]
    missed: tuple[MetricLine, ...]

    @property
    def empty(self) -> bool:
        return not self.alerts and not self.missed


@dataclass(frozen=True)
class Pack:
    cadence: str
    grain: str
    as_of: dt.date
    period: dt.date  # the latest complete period of `grain`
    metrics: tuple[MetricLine, ...]
    rules: int  # how many alert rules are at the pack's grain
    fired: tuple[Evaluation, ...]
    resolved: tuple[Resolved, ...]
    explanation: Explanation | None
    explanation_note: str  # why there is no explanation, else ""
    actions: tuple[OwnerActions, ...]
    notes: tuple[str, ...] = ()

    @property
    def period_label(self) -> str:
        return label(self.period, self.grain)

    @property
    def previous_label(self) -> str:
        return label(shift(self.period, self.grain, -1), self.grain)

    @property
    def partial_label(self) -> str:
        return label(period_start(self.as_of, self.grain), self.grain)

    @property
    def file_stem(self) -> str:
        return f"{self.cadence}-{self.period_label}"

    def tier(self, tier: str) -> tuple[MetricLine, ...]:
        return tuple(line for line in self.metrics if line.tier == tier)

    @property
    def other_tiers(self) -> tuple[str, ...]:
        """Tiers the meta names outside the spec's three, so no metric is left out."""
        return tuple(sorted({line.tier for line in self.metrics} - set(TIERS)))


def cadence_metrics(layer: SemanticLayer, cadence: str) -> list[Metric]:
    """The metrics whose meta `review_cadence` is `cadence`."""
    if cadence not in CADENCE_GRAINS:
        raise ValueError(f"unknown cadence {cadence!r}; expected one of {', '.join(CADENCES)}")
    return [metric for metric in layer.metrics() if metric.meta.get("review_cadence") == cadence]


def reading_grain(metric: Metric, grain: str) -> str:
    """`grain` when the metric has it, else the next coarser grain it has."""
    for candidate in GRAINS[GRAINS.index(grain) :]:
        if candidate.upper() in metric.grains:
            return candidate
    raise ValueError(f"metric {metric.name} has no grain {grain} or coarser")


def read_lines(
    layer: SemanticLayer, metrics: Sequence[Metric], grain: str, as_of: dt.date
) -> tuple[MetricLine, ...]:
    """Each metric's line, read at its reading grain: one query per grain for all its metrics."""
    by_grain: dict[str, list[Metric]] = {}
    for metric in metrics:
        by_grain.setdefault(reading_grain(metric, grain), []).append(metric)
    readings: dict[str, Reading] = {}
    for metric_grain, members in by_grain.items():
        names = [metric.name for metric in members]
        try:
            readings.update(read(layer, names, metric_grain, as_of)[None])
        except Exception:
            # MetricFlow refuses some combinations of metrics in one query; ask each alone
            # then (a metric that fails alone too raises here).
            for name in names:
                readings.update(read(layer, (name,), metric_grain, as_of)[None])
    lines = []
    for metric in metrics:
        reading = readings[metric.name]
        note = ""
        if reading.grain != grain:
            note = f"read by {reading.grain}: the metric has no {grain} grain"
        lines.append(
            MetricLine(
                name=metric.name,
                label=metric.label,
                tier=str(metric.meta.get("tier", "diagnostic")),
                owner=str(metric.meta.get("owner", "")),
                unit=str(metric.meta.get("unit", "")),
                reading=reading,
                threshold=Threshold.from_meta(metric.meta),
                grain_note=note,
            )
        )
    return tuple(sorted(lines, key=lambda line: (line.owner, line.label.lower())))


def previous_as_of(as_of: dt.date, grain: str) -> dt.date:
    """A date whose latest complete period of `grain` is one before that of `as_of`."""
    return shift(period_start(as_of, grain), grain, -1)


def alert_changes(
    layer: SemanticLayer, rules: Sequence[Rule], grain: str, as_of: dt.date
) -> tuple[tuple[Evaluation, ...], tuple[Resolved, ...]]:
    """The rules of `grain` firing now, and those firing at the previous period but not now.

    Both states come from evaluating the rules (no state file, no webhook), so a pack is the same
    whenever and however often it is written.
    """
    selected = [rule for rule in rules if rule.grain == grain]
    if not selected:
        return (), ()
    now = evaluate(layer, selected, as_of)
    before = evaluate(layer, selected, previous_as_of(as_of, grain))
    current = {evaluation.key: evaluation for evaluation in now}
    fired = tuple(evaluation for evaluation in now if evaluation.outcome.state == FIRING)
    resolved = tuple(
        Resolved(evaluation, current.get(evaluation.key))
        for evaluation in before
        if evaluation.outcome.state == FIRING
        and (evaluation.key not in current or current[evaluation.key].outcome.state != FIRING)
    )
    return fired, resolved


def owner_actions(
    lines: Sequence[MetricLine], fired: Sequence[Evaluation]
) -> tuple[OwnerActions, ...]:
    """Per owner team (the spec's order), its firing alerts and its metrics missing a threshold."""
    owners = [*OWNER_TEAMS]
    owners += sorted({line.owner for line in lines} - set(owners))
    return tuple(
        OwnerActions(
            owner=owner,
            alerts=tuple(evaluation for evaluation in fired if evaluation.rule.owner == owner),
            missed=tuple(line for line in lines if line.owner == owner and line.healthy is False),
        )
        for owner in owners
    )


def primary_metric(layer: SemanticLayer) -> str:
    primaries = [m.name for m in layer.metrics() if m.meta.get("tier") == "primary"]
    return primaries[0] if primaries else PRIMARY_METRIC


def explain_primary(
    layer: SemanticLayer, as_of: dt.date, tree: DriverTree | None
) -> tuple[Explanation | None, str]:
    """The primary metric's change into the latest complete month, or why there is none."""
    month = latest_complete(as_of, DRIVER_GRAIN)
    try:
        explanation = explain(
            layer, primary_metric(layer), label(month, DRIVER_GRAIN), grain=DRIVER_GRAIN, tree=tree
        )
    except ExplainError as error:
        return None, str(error)
    return explanation, ""


def assemble(
    layer: SemanticLayer,
    cadence: str,
    as_of: dt.date,
    *,
    rules: Sequence[Rule],
    tree: DriverTree | None,
) -> Pack:
    """The pack of `cadence` as of `as_of`."""
    metrics = cadence_metrics(layer, cadence)
    grain = CADENCE_GRAINS[cadence]
    lines = read_lines(layer, metrics, grain, as_of)
    fired, resolved = alert_changes(layer, rules, grain, as_of)
    explanation, explanation_note = explain_primary(layer, as_of, tree)
    notes = []
    if not metrics:
        notes.append(f"No metric has review_cadence {cadence} in its meta.")
    rule_count = sum(rule.grain == grain for rule in rules)
    return Pack(
        cadence=cadence,
        grain=grain,
        as_of=as_of,
        period=latest_complete(as_of, grain),
        metrics=lines,
        rules=rule_count,
        fired=fired,
        resolved=resolved,
        explanation=explanation,
        explanation_note=explanation_note,
        actions=owner_actions(lines, fired),
        notes=tuple(notes),
    )
