"""Why did a metric move: ask the semantic layer for the values and decompose the change.

Every number comes from `SemanticLayer.query` (metrics by `metric_time` at the chosen grain,
ungrouped or by one segment dimension); nothing reads the marts. `explain` returns an
`Explanation`: the metric's value in the base period and in the period, the change, the driver
tree nodes that list the metric, its formula decompositions and one segment decomposition per
segment dimension.
"""

from __future__ import annotations

import datetime as dt
import decimal
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from saas_kpis import periods
from saas_kpis.drivers import decompose as dec
from saas_kpis.drivers.tree import DriverTree
from saas_kpis.periods import period_start, shift
from saas_kpis.semantic import QueryRequest, SemanticLayer

SEGMENTS = (
    "account_month__plan_tier",
    "account_month__industry",
    "account_month__account_age_band",
)
GRAINS = ("month", "week")
NULL_SEGMENT = "(null)"
ADDITIVE_AGGS = {"SUM", "COUNT"}
MOVEMENTS = (  # net_new_mrr = new + reactivation + expansion - contraction - churn
    ("new_mrr", 1),
    ("reactivation_mrr", 1),
    ("expansion_mrr", 1),
    ("contraction_mrr", -1),
    ("churned_mrr", -1),
)

Values = dict[tuple[dt.date, str | None], dict[str, float | None]]


class ExplainError(ValueError):
    """The request cannot be explained (unknown metric, grain or period)."""


@dataclass(frozen=True)
class Explanation:
    metric: str
    label: str
    meta: dict[str, Any]
    grain: str
    base: dt.date
    period: dt.date
    value_base: float | None
    value_current: float | None
    tree_paths: tuple[str, ...]
    decompositions: tuple[dec.Decomposition, ...] = ()
    notes: tuple[str, ...] = field(default=())

    @property
    def change(self) -> float | None:
        return dec.change(self.value_base, self.value_current)


# ------------------------------------------------------------------------------ periods


def parse_period(text: str, grain: str) -> dt.date:
    """YYYY-MM or YYYY-MM-DD as the first day of its period (month start, ISO week's Monday)."""
    try:
        day = dt.date.fromisoformat(text if len(text) > 7 else f"{text}-01")
    except ValueError as error:
        raise ExplainError(f"period {text!r} is not YYYY-MM or YYYY-MM-DD") from error
    if grain == "week" and len(text) <= 7:
        raise ExplainError(f"at week grain give a day (YYYY-MM-DD) of the week, not {text!r}")
    return period_start(day, grain)


def label(period: dt.date, grain: str) -> str:
    if grain == "month":
        return f"{period:%Y-%m}"
    return f"{period:%Y-%m-%d} ({periods.label(period, grain)})"


# ------------------------------------------------------------------------------ values


def _number(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, decimal.Decimal | int):
        return float(value)
    return value


def _day(value: Any) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value


def fetch(
    layer: SemanticLayer,
    metrics: Iterable[str],
    grain: str,
    first: dt.date,
    last: dt.date,
    dimension: str | None = None,
) -> Values:
    """The metrics by period (first..last) and optionally one dimension, in one query."""
    time = f"metric_time__{grain}"
    column = f"{{{{ TimeDimension('metric_time', '{grain}') }}}}"
    names = tuple(dict.fromkeys(metrics))
    table = layer.query(
        QueryRequest(
            metrics=names,
            group_by=(time, dimension) if dimension else (time,),
            where=(f"{column} >= '{first:%Y-%m-%d}' and {column} <= '{last:%Y-%m-%d}'",),
        )
    )
    values: Values = {}
    for row in table.to_pylist():
        segment = (
            (row[dimension] if row[dimension] is not None else NULL_SEGMENT) if dimension else None
        )
        values[(_day(row[time]), segment)] = {name: _number(row[name]) for name in names}
    return values


class Periods:
    """Ungrouped values of the base period and the period (other periods on demand)."""

    def __init__(self, layer: SemanticLayer, grain: str, base: dt.date, period: dt.date) -> None:
        self.layer, self.grain, self.base, self.period = layer, grain, base, period
        self.values: Values = {}

    def load(self, metrics: Iterable[str]) -> None:
        low, high = min(self.base, self.period), max(self.base, self.period)
        for key, row in fetch(self.layer, metrics, self.grain, low, high).items():
            self.values.setdefault(key, {}).update(row)

    def get(self, metric: str, period: dt.date) -> float | None:
        return self.values.get((period, None), {}).get(metric)

    def pair(self, metric: str) -> tuple[float | None, float | None]:
        return self.get(metric, self.base), self.get(metric, self.period)


# ------------------------------------------------------------------------------ formulas


def _ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or not denominator:
        return None
    return numerator / denominator


def _over(values: Periods, numerator: Callable[[dt.date], float | None], denominator: str):
    def at(period: dt.date) -> float | None:
        return _ratio(numerator(period), values.get(denominator, period))

    return at(values.base), at(values.period)


def _monthly_retention(
    values: Periods, total: float | None, gross: bool
) -> list[dec.Decomposition]:
    parts = [] if gross else [("expansion / starting MRR", "expansion_mrr", 1)]
    parts += [
        ("contraction / starting MRR", "contraction_mrr", -1),
        ("churn / starting MRR", "churned_mrr", -1),
    ]
    rows = [
        (text, *_over(values, lambda p, m=metric: values.get(m, p), "starting_mrr"), sign)
        for text, metric, sign in parts
    ]
    name = (
        "GRR_m = 1 - (contraction + churn)"
        if gross
        else "NRR_m = 1 + (expansion - contraction - churn)"
    )
    return [dec.terms(f"{name} / starting MRR", total, rows)]


def _nrr_monthly(values: Periods, total: float | None) -> list[dec.Decomposition]:
    return _monthly_retention(values, total, gross=False)


def _grr_monthly(values: Periods, total: float | None) -> list[dec.Decomposition]:
    return _monthly_retention(values, total, gross=True)


def _inverse(values: Periods, metric: str) -> tuple[str, float | None, float | None]:
    base, current = values.pair(metric)
    return (f"1 / {metric}", 1 / base if base else None, 1 / current if current else None)


def _nrr_12m(values: Periods, total: float | None) -> list[dec.Decomposition]:
    def expansion(p: dt.date) -> float | None:
        retained, gross = values.get("retained_mrr_12m", p), values.get("gross_retained_mrr_12m", p)
        return None if retained is None or gross is None else retained - gross

    def loss(p: dt.date) -> float | None:
        base, gross = values.get("base_mrr_12m", p), values.get("gross_retained_mrr_12m", p)
        return None if base is None or gross is None else base - gross

    rows = [
        ("12-month expansion / base MRR", *_over(values, expansion, "base_mrr_12m"), 1),
        ("12-month contraction and churn / base MRR", *_over(values, loss, "base_mrr_12m"), -1),
    ]
    return [
        dec.terms(
            "NRR = 1 + (expansion - contraction - churn over 12 months) / base MRR; "
            "expansion = retained_mrr_12m - gross_retained_mrr_12m, "
            "contraction and churn = base_mrr_12m - gross_retained_mrr_12m",
            total,
            rows,
        ),
        dec.product(
            "NRR = retained_mrr_12m x (1 / base_mrr_12m): retained-numerator and base effects",
            total,
            ("retained_mrr_12m", *values.pair("retained_mrr_12m")),
            _inverse(values, "base_mrr_12m"),
        ),
    ]


def _grr_12m(values: Periods, total: float | None) -> list[dec.Decomposition]:
    return [
        dec.product(
            "GRR = gross_retained_mrr_12m x (1 / base_mrr_12m): "
            "retained-numerator and base effects",
            total,
            ("gross_retained_mrr_12m", *values.pair("gross_retained_mrr_12m")),
            _inverse(values, "base_mrr_12m"),
        )
    ]


def _net_new(values: Periods, total: float | None) -> list[dec.Decomposition]:
    rows = [(metric, *values.pair(metric), sign) for metric, sign in MOVEMENTS]
    return [
        dec.terms("net_new_mrr = new + reactivation + expansion - contraction - churn", total, rows)
    ]


def _movements_between(values: Periods, total: float | None, scale: float) -> dec.Decomposition:
    """MRR(P) - MRR(B) = sum of net_new_mrr over the months after B up to P."""
    low, high = sorted((values.base, values.period))
    sign = 1 if values.period >= values.base else -1
    months = fetch(values.layer, [m for m, _ in MOVEMENTS], "month", shift(low, "month", 1), high)
    count = (high.year - low.year) * 12 + high.month - low.month
    components = []
    for metric, movement_sign in MOVEMENTS:
        summed = scale * sum(row[metric] or 0.0 for row in months.values())
        text = metric if count == 1 else f"{metric} (sum of {count} months)"
        components.append(dec.Component(text, sign * movement_sign * summed))
    what = "12 x " if scale != 1 else ""
    return dec.Decomposition(
        f"{what}(MRR(P) - MRR(B)) = {what}sum of net_new_mrr over the months after B up to P "
        "(new + reactivation + expansion - contraction - churn)",
        "terms",
        tuple(components),
        total,
        notes=("identity MRR(m) - MRR(m-1) = net_new_mrr(m): the residual is its check",),
    )


def _mrr(values: Periods, total: float | None) -> list[dec.Decomposition]:
    return [_movements_between(values, total, 1.0)]


def _arr(values: Periods, total: float | None) -> list[dec.Decomposition]:
    return [
        dec.product(
            "ARR = 12 x paying_accounts x ARPA (symmetric split)",
            total,
            ("paying_accounts", *values.pair("paying_accounts")),
            ("arpa", *values.pair("arpa")),
            scale=12.0,
        ),
        _movements_between(values, total, 12.0),
    ]


Formula = Callable[[Periods, float | None], list[dec.Decomposition]]
FORMULAS: dict[str, tuple[tuple[str, ...], Formula]] = {
    "net_revenue_retention_monthly": (
        ("starting_mrr", "expansion_mrr", "contraction_mrr", "churned_mrr"),
        _nrr_monthly,
    ),
    "gross_revenue_retention_monthly": (
        ("starting_mrr", "contraction_mrr", "churned_mrr"),
        _grr_monthly,
    ),
    "net_revenue_retention": (
        ("base_mrr_12m", "retained_mrr_12m", "gross_retained_mrr_12m"),
        _nrr_12m,
    ),
    "gross_revenue_retention": (("base_mrr_12m", "gross_retained_mrr_12m"), _grr_12m),
    "net_new_mrr": (tuple(m for m, _ in MOVEMENTS), _net_new),
    "mrr": ((), _mrr),
    "arr": (("paying_accounts", "arpa"), _arr),
}


# ------------------------------------------------------------------------------ segments


def metric_kind(layer: SemanticLayer, name: str) -> tuple[str, tuple[str, str] | None]:
    """How a metric splits over segments: additive, distinct, ratio (numerator, denominator)
    or other."""
    metric = layer.manifest_metrics[name]
    params = metric["type_params"]
    kind = str(metric["type"]).upper()
    if kind == "SIMPLE":
        aggs = {measure.agg.upper() for measure in layer.measures([name])}
        if aggs and aggs <= ADDITIVE_AGGS:
            return "additive", None
        return ("distinct", None) if aggs == {"COUNT_DISTINCT"} else ("other", None)
    inputs = (
        [params["numerator"], params["denominator"]]
        if kind == "RATIO"
        else params.get("metrics") or []
    )
    plain = all(
        not (i.get("filter") or i.get("offset_window") or i.get("offset_to_grain")) for i in inputs
    )
    additive = plain and all(metric_kind(layer, i["name"])[0] == "additive" for i in inputs)
    if kind == "RATIO" and additive:
        return "ratio", (params["numerator"]["name"], params["denominator"]["name"])
    if (
        kind == "DERIVED"
        and additive
        and _linear(params["expr"], [i.get("alias") or i["name"] for i in inputs])
    ):
        return "additive", None
    return "other", None


def _linear(expr: str, names: Sequence[str]) -> bool:
    """A sum of inputs with constant factors: + and -, and * only with a number."""
    text = " ".join(expr.split())
    if re.search(r"[/(),<>=]|\bcase\b", text, re.IGNORECASE):
        return False
    for product in re.findall(r"[\w.]+\s*\*\s*[\w.]+", text):
        left, right = (side.strip() for side in product.split("*"))
        if left in names and right in names:
            return False
    return all(
        token in names or re.fullmatch(r"\d+(\.\d+)?", token)
        for token in re.findall(r"[\w.]+", text)
    )


def segment_decomposition(
    layer: SemanticLayer,
    metric: str,
    dimension: str,
    grain: str,
    base: dt.date,
    period: dt.date,
    total: float | None,
) -> dec.Decomposition | str:
    """The decomposition by one segment dimension, or a sentence saying why there is none."""
    if dimension not in layer.group_bys(metric).dimensions:
        return f"{metric} is not segmented by {dimension} (platform-wide or company-level)"
    kind, parts = metric_kind(layer, metric)
    names = (metric, *parts) if parts else (metric,)
    low, high = min(base, period), max(base, period)
    rows = fetch(layer, names, grain, low, high, dimension)
    segments = sorted({segment for _, segment in rows if segment is not None})

    def value(name: str, day: dt.date, segment: str) -> float | None:
        return rows.get((day, segment), {}).get(name)

    if kind == "ratio":
        numerator, denominator = parts  # type: ignore[misc]
        cells = {
            s: (
                value(numerator, base, s),
                value(denominator, base, s),
                value(numerator, period, s),
                value(denominator, period, s),
            )
            for s in segments
        }
        return dec.ratio_segments(dimension, total, cells)
    pairs = {s: (value(metric, base, s), value(metric, period, s)) for s in segments}
    if kind == "additive":
        return dec.additive_segments(dimension, total, pairs)
    if kind == "distinct":
        return dec.additive_segments(dimension, total, pairs, overlap=True)
    return dec.segment_values(
        dimension, total, pairs, "not a sum, a count or a ratio of sums or counts"
    )


# ------------------------------------------------------------------------------ explain


def tree_paths(tree: DriverTree | None, metric: str) -> tuple[str, ...]:
    if tree is None:
        return ()
    paths = []
    for node, parents in tree.nodes_measured_by(metric):
        path = " > ".join(p.title for p in (*parents, node))
        drivers = ", ".join(d.title for d in node.drivers)
        paths.append(f"{path} [{node.owner}]" + (f"; drivers: {drivers}" if drivers else ""))
    return tuple(paths)


def null_reason(layer: SemanticLayer, metric: str, values: Periods, day: dt.date) -> str:
    text = f"{metric} is NULL in {label(day, values.grain)}"
    kind, parts = metric_kind(layer, metric)
    if kind == "ratio" and parts:
        den = values.get(parts[1], day)
        return f"{text}: its denominator {parts[1]} is {den or 0} there (a ratio over nothing)"
    return f"{text} (a denominator of 0, or no data in that period)"


def explain(
    layer: SemanticLayer,
    metric: str,
    period: str,
    base: str | None = None,
    grain: str | None = None,
    tree: DriverTree | None = None,
    dimensions: Sequence[str] = SEGMENTS,
) -> Explanation:
    """Explain the change of `metric` from `base` (default: the period before) to `period`."""
    known = {m.name: m for m in layer.metrics()}
    if metric not in known:
        close = [name for name in known if metric.split("_")[0] in name][:8]
        raise ExplainError(
            f"unknown metric {metric!r}" + (f"; did you mean {', '.join(close)}?" if close else "")
        )
    info = known[metric]
    grains = [g.lower() for g in info.grains]
    grain = grain or ("month" if "month" in grains else "week")
    if grain not in GRAINS or grain not in grains:
        raise ExplainError(
            f"{metric} cannot be explained at grain {grain!r} (it has {', '.join(grains)})"
        )
    period_day = parse_period(period, grain)
    base_day = parse_period(base, grain) if base else shift(period_day, grain, -1)
    if base_day == period_day:
        raise ExplainError("the base period and the period are the same")
    values = Periods(layer, grain, base_day, period_day)
    inputs, formula = FORMULAS.get(metric, ((), None))
    _, parts = metric_kind(layer, metric)
    values.load((metric, *inputs, *(parts or ())))
    value_base, value_current = values.pair(metric)
    explanation = Explanation(
        metric=metric,
        label=info.label,
        meta=dict(info.meta),
        grain=grain,
        base=base_day,
        period=period_day,
        value_base=value_base,
        value_current=value_current,
        tree_paths=tree_paths(tree, metric),
    )
    nulls = [
        null_reason(layer, metric, values, d)
        for d, v in ((base_day, value_base), (period_day, value_current))
        if v is None
    ]
    if nulls:
        return _with(explanation, notes=(*nulls, "there is no change to decompose"))
    total = explanation.change
    decompositions: list[dec.Decomposition] = []
    notes: list[str] = []
    if formula is not None:
        try:
            decompositions.extend(formula(values, total))
        except dec.UndefinedValue as error:
            notes.append(f"formula decomposition not possible: {error}")
    for dimension in dimensions:
        try:
            result = segment_decomposition(
                layer, metric, dimension, grain, base_day, period_day, total
            )
        except dec.UndefinedValue as error:
            result = f"no decomposition by {dimension}: {error}"
        if isinstance(result, str):
            notes.append(result)
        else:
            decompositions.append(result)
    return _with(explanation, decompositions=tuple(decompositions), notes=tuple(notes))


def _with(explanation: Explanation, **changes: Any) -> Explanation:
    return replace(explanation, **changes)
