"""Dashboards as code: the YAML files of `dashboards/`, read and checked against the semantic layer.

Every problem of every file is listed at once, one line per tile naming the file and the tile,
before anything is queried: an unknown metric, a grain the metric lacks, a filter or a dimension
MetricFlow refuses, an unknown chart type or key, a window that is not a whole number.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from saas_kpis.periods import CADENCE_GRAINS
from saas_kpis.readings import SEGMENT_DIMENSIONS, Threshold
from saas_kpis.semantic import Metric, QueryRequest, SemanticLayer

CHARTS = {
    # chart: what the tile shows
    "line": "the metrics' trend over `window` periods, with the target and threshold",
    "bar": "the metrics' values over `window` periods as bars",
    "waterfall": "the first metric `window` periods ago, the other metrics (movements) summed over "
    "the window, and the first metric now",
    "heatmap": "the metric by `by` (rows) over `window` periods (columns)",
    "cohort_heatmap": "the metric by cohort month (rows) and months since the cohort (columns)",
    "cohort_curves": "the metric by months since the cohort, one line per cohort month",
    "status": "one badge per metric: green, amber or red from its threshold and the alerts",
    "drivers": "the driver decomposition of the metric's last movement (explain)",
    "accounts_at_risk": "the accounts at risk with their early-warning signals",
}
TILE_KEYS = {
    "id",
    "title",
    "chart",
    "metric",
    "metrics",
    "grain",
    "window",
    "target",
    "threshold",
    "filter",
    "by",
    "decreasing",
}
DASHBOARD_KEYS = {"name", "title", "audience", "description", "filters", "sections"}
MONTHS_SINCE = "cohort_account_month__months_since_first_payment"
DEFAULT_WINDOW = {"day": 30, "week": 13, "month": 12, "quarter": 8, "year": 5}
NAME = re.compile(r"^[a-z][a-z0-9_]*$")


class DashboardError(ValueError):
    """Bad dashboard definitions: one line per problem, naming the file and the tile."""


@dataclass(frozen=True)
class Tile:
    id: str
    title: str
    chart: str
    metrics: tuple[str, ...]  # the first is the headline metric
    grain: str
    window: int
    target: float | None
    threshold: Threshold | None  # the tile's, else the headline metric's meta threshold
    filter: str | None  # a MetricFlow where, applied to every query of the tile
    by: str | None  # heatmap rows
    decreasing: tuple[str, ...]  # waterfall movements that subtract

    @property
    def metric(self) -> str:
        return self.metrics[0]

    @property
    def where(self) -> tuple[str, ...]:
        return (self.filter,) if self.filter else ()


@dataclass(frozen=True)
class Section:
    title: str
    tiles: tuple[Tile, ...]


@dataclass(frozen=True)
class Dashboard:
    name: str
    title: str
    audience: str
    description: str
    filters: tuple[str, ...]  # segment dimensions a reader can filter every tile by
    sections: tuple[Section, ...]
    source: str  # the file name

    @property
    def tiles(self) -> tuple[Tile, ...]:
        return tuple(tile for section in self.sections for tile in section.tiles)


def load_dashboards(directory: Path, layer: SemanticLayer) -> list[Dashboard]:
    """Every dashboard of `directory`. Raises DashboardError listing every problem."""
    files = sorted(directory.glob("*.yml")) + sorted(directory.glob("*.yaml"))
    if not files:
        raise DashboardError(f"{directory}: no dashboard files (*.yml)")
    metrics = {metric.name: metric for metric in layer.metrics()}
    dashboards, problems = [], []
    for path in files:
        try:
            document = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as error:
            problems.append(f"{path.name}: not valid YAML: {error}")
            continue
        dashboard, found = _dashboard(document, path.name, metrics, layer)
        problems.extend(found)
        if dashboard is not None:
            dashboards.append(dashboard)
    names = [dashboard.name for dashboard in dashboards]
    problems += [
        f"dashboard name {name!r} is used twice"
        for name in sorted(set(names))
        if names.count(name) > 1
    ]
    if problems:
        raise DashboardError("\n".join(problems))
    return dashboards


def _dashboard(
    document: Any, source: str, metrics: Mapping[str, Metric], layer: SemanticLayer
) -> tuple[Dashboard | None, list[str]]:
    if not isinstance(document, dict) or not isinstance(document.get("dashboard"), dict):
        return None, [f"{source}: expected a top-level `dashboard:` mapping"]
    raw = document["dashboard"]
    problems = [f"{source}: unknown key {key!r}" for key in sorted(set(raw) - DASHBOARD_KEYS)]
    name = raw.get("name")
    if not isinstance(name, str) or not NAME.match(name):
        problems.append(f"{source}: `name` must be a snake_case name, got {name!r}")
    filters = raw.get("filters") or []
    if not isinstance(filters, list) or any(f not in SEGMENT_DIMENSIONS for f in filters):
        problems.append(
            f"{source}: `filters` must list segment dimensions of {', '.join(SEGMENT_DIMENSIONS)}"
        )
        filters = []
    sections_raw = raw.get("sections")
    if not isinstance(sections_raw, list) or not sections_raw:
        return None, [*problems, f"{source}: `sections` must be a non-empty list"]
    sections, seen = [], set()
    for number, section in enumerate(sections_raw, start=1):
        if not isinstance(section, dict) or not isinstance(section.get("tiles"), list):
            problems.append(f"{source}: section {number}: expected `title` and a `tiles` list")
            continue
        tiles = []
        for index, entry in enumerate(section["tiles"], start=1):
            label = f"{source}: tile {entry.get('id', index) if isinstance(entry, dict) else index}"
            try:
                tile = _tile(entry, metrics)
                _check_queryable(tile, layer)
            except DashboardError as error:
                problems.append(f"{label}: {error}")
                continue
            if tile.id in seen:
                problems.append(f"{label}: the tile id is used twice")
            seen.add(tile.id)
            tiles.append(tile)
        sections.append(Section(str(section.get("title", "")), tuple(tiles)))
    if problems:
        return None, problems
    dashboard = Dashboard(
        name=name,
        title=str(raw.get("title") or name),
        audience=str(raw.get("audience") or ""),
        description=str(raw.get("description") or "").strip(),
        filters=tuple(filters),
        sections=tuple(sections),
        source=source,
    )
    return dashboard, []


def _tile(entry: Any, metrics: Mapping[str, Metric]) -> Tile:
    if not isinstance(entry, dict):
        raise DashboardError("expected a mapping with `id`, `chart` and `metric` or `metrics`")
    unknown = sorted(set(entry) - TILE_KEYS)
    if unknown:
        raise DashboardError(f"unknown key {unknown[0]!r}; known: {', '.join(sorted(TILE_KEYS))}")
    tile_id = entry.get("id")
    if not isinstance(tile_id, str) or not NAME.match(tile_id):
        raise DashboardError(f"`id` must be a snake_case name, got {tile_id!r}")
    chart = entry.get("chart")
    if chart not in CHARTS:
        raise DashboardError(f"chart {chart!r} is not one of {', '.join(CHARTS)}")
    names = entry.get("metrics", [entry["metric"]] if "metric" in entry else None)
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        raise DashboardError("needs `metric` (a name) or `metrics` (a list of names)")
    for metric_name in names:
        if metric_name not in metrics:
            raise DashboardError(f"unknown metric {metric_name!r}")
    headline = metrics[names[0]]
    grain = entry.get("grain") or CADENCE_GRAINS.get(str(headline.meta.get("review_cadence")))
    for metric_name in names:
        has = [g.lower() for g in metrics[metric_name].grains]
        if grain not in has:
            raise DashboardError(
                f"metric {metric_name} has no grain {grain!r} (it has {', '.join(has) or 'none'})"
            )
    window = entry.get("window", DEFAULT_WINDOW.get(grain, 12))
    if isinstance(window, bool) or not isinstance(window, int) or window < 1:
        raise DashboardError(f"`window` must be a whole number ≥ 1, got {window!r}")
    target = entry.get("target")
    if target is not None and (isinstance(target, bool) or not isinstance(target, int | float)):
        raise DashboardError(f"`target` must be a number, got {target!r}")
    threshold = _threshold(entry.get("threshold"), headline)
    row_filter = entry.get("filter")
    if row_filter is not None and (not isinstance(row_filter, str) or not row_filter.strip()):
        raise DashboardError(f"`filter` must be a MetricFlow where text, got {row_filter!r}")
    by = entry.get("by")
    if (chart == "heatmap") != (by is not None):
        raise DashboardError("`by` (the rows' dimension) is required for, and only for, heatmaps")
    decreasing = tuple(entry.get("decreasing") or ())
    if any(name not in names[1:] for name in decreasing):
        raise DashboardError("`decreasing` must list movement metrics of the tile")
    if chart == "waterfall" and len(names) < 2:
        raise DashboardError("a waterfall needs a stock metric and at least one movement")
    return Tile(
        id=tile_id,
        title=str(entry.get("title") or headline.label),
        chart=chart,
        metrics=tuple(names),
        grain=grain,
        window=window,
        target=float(target) if target is not None else None,
        threshold=threshold,
        filter=row_filter.strip() if row_filter else None,
        by=by,
        decreasing=decreasing,
    )


def _threshold(raw: Any, metric: Metric) -> Threshold | None:
    if raw is None:
        return Threshold.from_meta(metric.meta)
    if not isinstance(raw, dict) or raw.get("operator") not in ("<", "<=", ">", ">="):
        raise DashboardError("`threshold` needs `operator` (<, <=, >, >=) and `value`")
    value = raw.get("value")
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise DashboardError(f"threshold `value` must be a number, got {value!r}")
    return Threshold(raw["operator"], float(value))


def _check_queryable(tile: Tile, layer: SemanticLayer) -> None:
    """MetricFlow accepts the queries the tile makes: its metrics, grain, `by` and filter."""
    group_by = {
        "heatmap": (f"metric_time__{tile.grain}", tile.by or ""),
        "cohort_heatmap": ("metric_time__month", MONTHS_SINCE),
        "cohort_curves": ("metric_time__month", MONTHS_SINCE),
        "accounts_at_risk": ("account_early_warning",),
    }.get(tile.chart, (f"metric_time__{tile.grain}",))
    metric_sets = [(m,) for m in tile.metrics] if tile.chart == "status" else [tile.metrics]
    for metrics in metric_sets:
        try:
            layer.validate(QueryRequest(metrics=metrics, group_by=group_by, where=tile.where))
        except Exception as error:
            what = "filter" if tile.filter else ("`by`" if tile.by else "query")
            raise DashboardError(
                f"the semantic layer refuses its {what}: {metricflow_message(error)}"
            ) from None


def metricflow_message(error: Exception) -> str:
    """The first message of a MetricFlow query error, on one line, with the name it could not
    resolve (its text is many lines: a header, numbered errors with suggestions, and for a filter
    that does not parse, a traceback ending in the parser's complaint)."""
    text = str(error).strip()
    if "Message:" not in text:
        return text.splitlines()[0] if text else repr(error)
    body = text.split("Message:", 1)[1].split("Error #2", 1)[0]
    if "Got exception:" in body:
        head = body.split("Got exception:", 1)[0]
        complaint = [line.strip() for line in body.splitlines() if "Error: " in line]
        return " ".join(head.split()) + " " + (complaint[-1] if complaint else "")
    message = " ".join(body.split("Common issues", 1)[0].split("Query Input:", 1)[0].split())
    lines = body.splitlines()
    for index, line in enumerate(lines):
        if line.strip() == "Object Builder Input:" and index + 1 < len(lines):
            message = f"{message.removesuffix('.')}: {lines[index + 1].strip()}"
    return message
