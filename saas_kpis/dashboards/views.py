"""What each tile shows, for every filter choice of its dashboard, asked of the semantic layer.

A view is one tile under one filter choice (`all`, or one value of one segment dimension). Each
number comes from a semantic-layer query: a segment's view from the same query grouped by the
segment dimension, so that one query answers every value of it. Only complete periods are shown.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from saas_kpis.alerts.evaluation import Evaluation
from saas_kpis.dashboards import figures
from saas_kpis.dashboards.definitions import MONTHS_SINCE, Dashboard, Tile
from saas_kpis.drivers.explain import ExplainError, explain
from saas_kpis.drivers.tree import DriverTree
from saas_kpis.periods import label, latest_complete, shift
from saas_kpis.readings import Reading, Threshold, day, number, read, segment_of
from saas_kpis.semantic import Metric, QueryRequest, SemanticLayer
from saas_kpis.units import show, show_change

ALL = "all"
AT_RISK = "account_early_warning__is_at_risk"
SIGNALS = {
    "account_early_warning__is_low_adoption": "low adoption",
    "account_early_warning__is_tickets_rising": "tickets rising",
    "account_early_warning__is_usage_drop": "usage drop",
    "account_early_warning__is_csat_falling": "CSAT falling",
    "account_early_warning__is_api_guardrail_breach": "API guardrail breach",
}
GREEN, AMBER, RED, NO_DATA = "green", "amber", "red", "no data"


def variant(dimension: str, value: str) -> str:
    return f"{dimension}={value}"


@dataclass(frozen=True)
class Badge:
    """One metric of a status tile."""

    metric: str
    owner: str
    label: str
    value: float | None
    display: str
    status: str
    threshold: str
    why: str


@dataclass(frozen=True)
class Table:
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class View:
    """A tile under one filter choice."""

    value: float | None = None  # the headline metric in the latest complete period
    display: str = ""
    previous: float | None = None
    change: str = ""
    period: str = ""
    status: str = ""  # green, amber, red or no data: against the tile's threshold
    figure: dict[str, Any] | None = None
    badges: tuple[Badge, ...] = ()
    table: Table | None = None
    note: str = ""


@dataclass
class Context:
    """What every tile of one render shares."""

    layer: SemanticLayer
    as_of: dt.date
    alerts: list[Evaluation]
    tree: DriverTree | None
    metrics: dict[str, Metric] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.metrics = self.metrics or {metric.name: metric for metric in self.layer.metrics()}
        self.labels = {name: metric.label for name, metric in self.metrics.items()}

    def unit(self, metric: str) -> str | None:
        return self.metrics[metric].meta.get("unit")

    def threshold(self, metric: str) -> Threshold | None:
        return Threshold.from_meta(self.metrics[metric].meta)

    def segmentable(self, metrics: Sequence[str], dimension: str) -> bool:
        return all(dimension in self.layer.group_bys(metric).dimensions for metric in metrics)

    def firing(self, metric: str, dimension: str | None, value: str | None) -> list[Evaluation]:
        """Firing alerts on `metric` for a filter choice: all of them for `all`, else those of
        rules per that dimension, for that value."""
        return [
            evaluation
            for evaluation in self.alerts
            if evaluation.rule.metric == metric
            and evaluation.outcome.state == "firing"
            and (
                dimension is None
                or (evaluation.rule.for_each, evaluation.segment) == (dimension, value)
            )
        ]


def dashboard_views(context: Context, dashboard: Dashboard) -> dict[str, dict[str, View]]:
    """Every tile's views. A tile filtered by a dimension gets a view for each value that any
    tile has: "no data" where its metric has no row in that segment (not the company's value)."""
    views: dict[str, dict[str, View]] = {}
    filtered: dict[str, list[str]] = {}
    for tile in dashboard.tiles:
        views[tile.id], filtered[tile.id] = tile_views(context, dashboard, tile)
    keys = {key for per_tile in views.values() for key in per_tile if key != ALL}
    for tile in dashboard.tiles:
        for key in keys:
            dimension = key.partition("=")[0]
            if dimension in filtered[tile.id] and key not in views[tile.id]:
                views[tile.id][key] = View(display=show(None, None), note="no data in this segment")
    return views


def tile_views(
    context: Context, dashboard: Dashboard, tile: Tile
) -> tuple[dict[str, View], list[str]]:
    """The tile's view for `all` and for every value of the dashboard's filters it can be
    filtered by, and those filter dimensions."""
    build = BUILDERS[tile.chart]
    views = {ALL: _safe(lambda: build(context, tile, None))[None]}
    dimensions = []
    for dimension in dashboard.filters:
        if tile.chart in UNSEGMENTED:
            continue
        needs = any if tile.chart == "status" else all
        if not needs(context.segmentable((metric,), dimension) for metric in tile.metrics):
            continue
        dimensions.append(dimension)
        for value, view in _safe(lambda d=dimension: build(context, tile, d)).items():
            if value is not None:
                views[variant(dimension, value)] = view
    return views, dimensions


def _safe(compute: Callable[[], dict[str | None, View]]) -> dict[str | None, View]:
    try:
        return compute()
    except ExplainError as error:
        return {None: View(note=str(error))}


def _headline(context: Context, tile: Tile, reading: Reading) -> dict[str, Any]:
    unit = context.unit(tile.metric)
    value = reading.value
    status = ""
    if tile.threshold is not None:
        status = NO_DATA if value is None else (GREEN if tile.threshold.healthy(value) else RED)
    return {
        "value": value,
        "display": show(value, unit),
        "previous": reading.previous,
        "change": show_change(reading.change, unit),
        "period": reading.period_label,
        "status": status,
    }


def _series(context: Context, tile: Tile, by: str | None) -> dict[str | None, dict[str, Reading]]:
    return read(context.layer, tile.metrics, tile.grain, context.as_of, by=by, where=tile.where)


def trend(context: Context, tile: Tile, by: str | None) -> dict[str | None, View]:
    views = {}
    for segment, readings in _series(context, tile, by).items():
        figure = figures.trend(
            tile,
            {metric: readings[metric].window(tile.window) for metric in tile.metrics},
            context.labels,
            context.unit(tile.metric),
        )
        views[segment] = View(**_headline(context, tile, readings[tile.metric]), figure=figure)
    return views


def waterfall(context: Context, tile: Tile, by: str | None) -> dict[str | None, View]:
    """The stock `window` periods before the latest, each movement summed over the window, and
    the stock in the latest period."""
    views = {}
    stock, movements = tile.metric, tile.metrics[1:]
    for segment, readings in _series(context, tile, by).items():
        latest = readings[stock].latest
        start = shift(latest, tile.grain, -tile.window)
        months = [shift(start, tile.grain, offset) for offset in range(1, tile.window + 1)]
        totals = {
            metric: sum(readings[metric].series.get(month) or 0.0 for month in months)
            for metric in movements
        }
        figure = figures.waterfall(
            tile,
            (label(start, tile.grain), readings[stock].series.get(start)),
            [
                (context.labels[m], -totals[m] if m in tile.decreasing else totals[m])
                for m in movements
            ],
            (label(latest, tile.grain), readings[stock].value),
        )
        views[segment] = View(**_headline(context, tile, readings[stock]), figure=figure)
    return views


def heatmap(context: Context, tile: Tile, by: str | None) -> dict[str | None, View]:
    time_column = f"metric_time__{tile.grain}"
    latest = latest_complete(context.as_of, tile.grain)
    first = shift(latest, tile.grain, -(tile.window - 1))
    rows = _rows(
        context, (tile.metric,), (time_column, tile.by or "", *((by,) if by else ())), tile
    )
    cells: dict[str | None, dict[tuple[str, dt.date], float | None]] = {}
    for row in rows:
        start = day(row[time_column])
        if start is None or not first <= start <= latest:
            continue
        segment = segment_of(row, by)
        cells.setdefault(segment, {})[(str(row[tile.by]), start)] = number(row[tile.metric])
    headline = _series(context, tile, by)
    views = {}
    for segment, readings in headline.items():
        columns = [shift(first, tile.grain, offset) for offset in range(tile.window)]
        figure = figures.heatmap(
            cells.get(segment, {}), columns, tile.grain, context.unit(tile.metric)
        )
        views[segment] = View(**_headline(context, tile, readings[tile.metric]), figure=figure)
    return views


def cohorts(context: Context, tile: Tile, by: str | None) -> dict[str | None, View]:
    """Cohort months in the window by months since the cohort; a cell is shown once the month
    it describes (cohort + k) is complete."""
    latest = latest_complete(context.as_of, "month")
    first = shift(latest, "month", -(tile.window - 1))
    group_by = ("metric_time__month", MONTHS_SINCE, *((by,) if by else ()))
    cells: dict[str | None, dict[tuple[str, int], float | None]] = {}
    for row in _rows(context, (tile.metric,), group_by, tile):
        cohort, months = day(row["metric_time__month"]), row[MONTHS_SINCE]
        if cohort is None or months is None or cohort < first:
            continue
        if shift(cohort, "month", int(months)) > latest:
            continue
        segment = segment_of(row, by)
        cells.setdefault(segment, {})[(label(cohort, "month"), int(months))] = number(
            row[tile.metric]
        )
    if by is None:
        cells.setdefault(None, {})
    draw = figures.cohort_heatmap if tile.chart == "cohort_heatmap" else figures.cohort_curves
    return {
        segment: View(period=label(latest, "month"), figure=draw(values, context.unit(tile.metric)))
        for segment, values in cells.items()
    }


def status(context: Context, tile: Tile, by: str | None) -> dict[str | None, View]:
    """A badge per metric in every segment; a metric without the segment dimension (uptime)
    shows its company-wide value in each, and says so."""
    latest = latest_complete(context.as_of, tile.grain)
    found: dict[str, tuple[str | None, dict[str | None, dict[str, Reading]]]] = {}
    for metric in tile.metrics:
        own = by if by is not None and context.segmentable((metric,), by) else None
        found[metric] = (
            own,
            read(context.layer, (metric,), tile.grain, context.as_of, by=own, where=tile.where),
        )
    segments = {s for own, per in found.values() if own for s in per} if by else {None}
    views = {}
    for segment in segments:
        badges = []
        for metric in tile.metrics:
            own, per = found[metric]
            key = segment if own else None
            reading = per.get(key, {}).get(metric) or Reading(metric, tile.grain, latest)
            badge = _badge(context, metric, reading, context.firing(metric, own, key))
            if by is not None and own is None:
                badge = replace(badge, why=f"{badge.why}; not filtered: company-wide")
            badges.append(badge)
        views[segment] = View(period=label(latest, tile.grain), badges=tuple(badges))
    return views


def _badge(context: Context, metric: str, reading: Reading, firing: list[Evaluation]) -> Badge:
    """Red when the value misses its threshold; amber when it meets it but an alert on the metric
    fires (a segment, a trend or an anomaly); green otherwise; no data without a value."""
    value = reading.value
    threshold = context.threshold(metric)
    alerts = ", ".join(sorted(evaluation.key for evaluation in firing))
    if value is None:
        state, why = NO_DATA, "no value in the latest complete period"
    elif threshold is not None and not threshold.healthy(value):
        state, why = RED, f"misses its threshold {threshold}"
    elif firing:
        state, why = AMBER, f"alerts firing: {alerts}"
    else:
        state, why = (
            GREEN,
            "meets its threshold, no alert firing" if threshold else "no alert firing",
        )
    return Badge(
        metric=metric,
        owner=str(context.metrics[metric].meta.get("owner", "")),
        label=context.labels[metric],
        value=value,
        display=show(value, context.unit(metric)),
        status=state,
        threshold=str(threshold) if threshold else "",
        why=why,
    )


def drivers(context: Context, tile: Tile, by: str | None) -> dict[str | None, View]:
    """The decompositions of the metric's change from the period before the latest complete one."""
    latest = latest_complete(context.as_of, tile.grain)
    explanation = explain(
        context.layer, tile.metric, label(latest, tile.grain), grain=tile.grain, tree=context.tree
    )
    formula = next((d for d in explanation.decompositions if d.dimension is None), None)
    chosen = formula or (explanation.decompositions[0] if explanation.decompositions else None)
    unit = context.unit(tile.metric)
    rows = [
        (d.title, component.label, show_change(component.contribution, unit))
        for d in explanation.decompositions
        for component in d.components
    ]
    view = View(
        value=explanation.value_current,
        display=show(explanation.value_current, unit),
        previous=explanation.value_base,
        change=show_change(explanation.change, unit),
        period=label(latest, tile.grain),
        figure=figures.contributions(chosen, label(explanation.base, tile.grain), unit)
        if chosen
        else None,
        table=Table(("decomposition", "component", "contribution"), tuple(rows)),
        note="; ".join(explanation.notes),
    )
    return {None: view}


def accounts_at_risk(context: Context, tile: Tile, by: str | None) -> dict[str | None, View]:
    """The accounts at risk at as_of_date (the early-warning snapshot), largest MRR first."""
    group_by = (
        "account_early_warning",
        "account_month__plan_tier",
        "account_month__industry",
        "account_early_warning__signal_count",
        *SIGNALS,
    )
    rows = context.layer.query(
        QueryRequest(
            metrics=(tile.metric,),
            group_by=group_by,
            where=(f"{{{{ Dimension('{AT_RISK}') }}}}", *tile.where),
            order_by=(f"-{tile.metric}", "account_early_warning"),
        )
    ).to_pylist()
    unit = context.unit(tile.metric)
    table = Table(
        ("account", "plan tier", "industry", context.labels[tile.metric], "signals"),
        tuple(
            (
                str(row["account_early_warning"]),
                str(row["account_month__plan_tier"]),
                str(row["account_month__industry"]),
                show(number(row[tile.metric]), unit),
                ", ".join(name for column, name in SIGNALS.items() if row[column]),
            )
            for row in rows
        ),
    )
    total = sum(number(row[tile.metric]) or 0.0 for row in rows)
    view = View(
        value=total,
        display=show(total, unit),
        period=context.as_of.isoformat(),
        table=table,
        note=f"{len(rows)} accounts at risk on {context.as_of}",
    )
    return {None: view}


def _rows(
    context: Context, metrics: tuple[str, ...], group_by: tuple[str, ...], tile: Tile
) -> list[dict[str, Any]]:
    request = QueryRequest(
        metrics=metrics, group_by=tuple(g for g in group_by if g), where=tile.where
    )
    return context.layer.query(request).to_pylist()


BUILDERS: dict[str, Callable[[Context, Tile, str | None], dict[str | None, View]]] = {
    "line": trend,
    "bar": trend,
    "waterfall": waterfall,
    "heatmap": heatmap,
    "cohort_heatmap": cohorts,
    "cohort_curves": cohorts,
    "status": status,
    "drivers": drivers,
    "accounts_at_risk": accounts_at_risk,
}
# Charts that show the whole company whatever the filter.
UNSEGMENTED = {"drivers", "accounts_at_risk"}
