"""The driver tree against the metrics' meta, and `explain` on every scenario of the `build`.

Tree: the shipped `drivers/driver_tree.yml` names only metrics of the semantic manifest, agrees
with their `framework_code` and `owner` and covers every framework code of the meta; a wrong code,
a wrong owner or an unknown metric is caught with the node, the field and both values.

Explain: on every scenario, for every formula decomposition and every segment dimension, the
components add up to the change within 1e-9 relative; the two values are those of the layer
(queried separately) and of the independent reference (reference_revenue) where it has the
metric, and so are the segments' rates and values. A NULL value gives a message, not a crash.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import pytest
import yaml
from conftest import Build
from reference_revenue import revenue_reference

from saas_kpis.drivers import DriverTreeError, load_tree
from saas_kpis.drivers.decompose import Decomposition
from saas_kpis.drivers.explain import FORMULAS, NULL_SEGMENT, SEGMENTS, Explanation, explain, shift
from saas_kpis.drivers.render import as_dict, text
from saas_kpis.drivers.tree import TREE_FILE
from saas_kpis.project import REPO_ROOT
from saas_kpis.semantic import MANIFEST_FILE, QueryRequest, SemanticLayer

RELATIVE = 1e-9
# Metrics explained besides the formula ones: ratios (mix and rate), sums and counts, a distinct
# count, a percentile (segment values only) and a platform-wide metric, at month grain.
SEGMENT_METRICS = (
    "logo_churn_rate",
    "arpa",
    "paying_accounts",
    "tickets_per_account",
    "weekly_active_accounts",
    "api_latency_p95_ms",
    "uptime",
)
WEEKLY_METRICS = ("weekly_revenue", "api_error_rate")


@pytest.fixture(scope="module")
def layer(build: Build) -> Iterator[SemanticLayer]:
    opened = build.open_layer()
    yield opened
    opened.close()


@pytest.fixture(scope="module")
def metas() -> dict[str, dict]:
    # The repository's manifest (`make test` parses the project before pytest).
    manifest = SemanticLayer.from_manifest(REPO_ROOT / "target" / MANIFEST_FILE)
    return {metric.name: dict(metric.meta) for metric in manifest.metrics()}


# ---------------------------------------------------------------------------- the tree


def test_shipped_tree_agrees_with_the_meta(build: Build, layer: SemanticLayer) -> None:
    metas = {metric.name: metric.meta for metric in layer.metrics()}
    tree = load_tree(metas)
    meta_codes = {m["framework_code"] for m in metas.values() if m.get("framework_code")}
    assert tree.codes() == meta_codes
    assert tree.primary.metrics[0] == "net_revenue_retention"
    assert metas["net_revenue_retention"]["tier"] == "primary"
    named = {metric for node, _ in tree.walk() for metric in node.metrics}
    assert {"arr", "paying_accounts", "arpa", "logo_retention_rate", "api_latency_p95_ms"} <= named


def broken_tree(tmp_path: Path, node_id: str, field: str, value: object) -> Path:
    document = yaml.safe_load(TREE_FILE.read_text(encoding="utf-8"))

    def patch(node: dict) -> None:
        if node["id"] == node_id:
            node[field] = value
        for driver in node.get("drivers") or []:
            patch(driver)

    patch(document["primary"])
    for node in document["success_metrics"]:
        patch(node)
    path = tmp_path / "driver_tree.yml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("node_id", "field", "value", "expected"),
    [
        ("arr", "code", "R.7", "node 'arr': field code is 'R.7' in the driver tree but 'R.6'"),
        (
            "latency",
            "owner",
            "PRD",
            "node 'latency': field owner is 'PRD' in the driver tree but 'ENG'",
        ),
        (
            "expansion",
            "code",
            "R.2",
            "node 'expansion': field code is 'R.2' in the driver tree but no metric",
        ),
        ("arpa", "code", None, "node 'arpa': field code is None in the driver tree but 'R.7'"),
        (
            "csat",
            "metrics",
            ["csat", "no_such_metric"],
            "metric 'no_such_metric' is not in the semantic",
        ),
        ("mttr", "owner", "OPS", "field owner is 'OPS', not one of"),
    ],
)
def test_a_wrong_tree_is_caught(
    tmp_path: Path, metas: dict[str, dict], node_id: str, field: str, value: object, expected: str
) -> None:
    with pytest.raises(DriverTreeError) as caught:
        load_tree(metas, broken_tree(tmp_path, node_id, field, value))
    assert expected in str(caught.value)


# ---------------------------------------------------------------------------- explain


def tolerance(explanation: Explanation, decomposition: Decomposition) -> float:
    scale = max(
        abs(explanation.value_base or 0),
        abs(explanation.value_current or 0),
        *(abs(c.contribution) for c in decomposition.components),
        1e-12,
    )
    return RELATIVE * scale


def layer_value(layer: SemanticLayer, metric: str, grain: str, period: dt.date) -> float | None:
    column = f"{{{{ TimeDimension('metric_time', '{grain}') }}}}"
    rows = layer.query(
        QueryRequest(
            metrics=(metric,),
            group_by=(f"metric_time__{grain}",),
            where=(f"{column} = '{period:%Y-%m-%d}'",),
        )
    ).to_pylist()
    return None if not rows or rows[0][metric] is None else float(rows[0][metric])


def same(value: float | None, expected: float | None) -> bool:
    if expected is None or value is None:
        return value is None and expected is None
    return value == pytest.approx(expected, rel=RELATIVE, abs=1e-9)


def check(layer: SemanticLayer, explanation: Explanation, dimensions: int) -> None:
    e = explanation
    for day, value in ((e.base, e.value_base), (e.period, e.value_current)):
        expected = layer_value(layer, e.metric, e.grain, day)
        assert same(value, expected), (e.metric, day, value, expected)
    text(e)  # renders
    assert as_dict(e)["change"] == e.change
    if e.change is None:
        assert any("is NULL in" in note for note in e.notes), e.notes
        assert not e.decompositions
        return
    segmented = [d for d in e.decompositions if d.dimension]
    unsegmented = [note for note in e.notes if "is not segmented" in note]
    assert len(segmented) + len(unsegmented) == dimensions, (e.metric, e.notes)
    if e.metric in FORMULAS:
        assert [d for d in e.decompositions if d.dimension is None], (e.metric, e.notes)
    for d in e.decompositions:
        if d.exact:
            assert abs(d.residual) <= tolerance(e, d), (e.metric, d.title, d.residual)  # type: ignore[arg-type]


def pairs(build: Build, layer: SemanticLayer) -> list[tuple[dt.date, dt.date]]:
    """(base, period): the last complete month and the one before; the partial month and the
    last complete one; the last complete month and 3 months before it."""
    last = shift(build.as_of.replace(day=1), "month", -1)
    return [
        (shift(last, "month", -1), last),
        (last, build.as_of.replace(day=1)),
        (shift(last, "month", -3), last),
    ]


def test_formula_and_segment_decompositions_add_up(build: Build, layer: SemanticLayer) -> None:
    checked = 0
    for index, (base, period) in enumerate(pairs(build, layer)):
        # over several months: the formulas whose terms span them (MRR movements) and one ratio
        several = ("mrr", "arr", "net_revenue_retention_monthly")
        for metric in (*FORMULAS, *SEGMENT_METRICS) if index < 2 else several:
            e = explain(layer, metric, f"{period:%Y-%m}", base=f"{base:%Y-%m}", grain="month")
            check(layer, e, len(SEGMENTS))
            checked += e.change is not None
    assert checked >= len(FORMULAS) * 2, "most explanations must have a change to decompose"


def test_weekly_decompositions_add_up(build: Build, layer: SemanticLayer) -> None:
    monday = build.as_of - dt.timedelta(days=build.as_of.weekday() + 7)
    for metric in WEEKLY_METRICS:
        e = explain(layer, metric, f"{monday:%Y-%m-%d}", grain="week")
        assert e.base == monday - dt.timedelta(weeks=1)
        check(layer, e, len(SEGMENTS))


def as_float(value: Fraction | float | None) -> float | None:
    return None if value is None else float(value)


def test_totals_and_segments_match_the_reference(build: Build, layer: SemanticLayer) -> None:
    reference = revenue_reference(build.seeds_dir, build.as_of)
    base, period = pairs(build, layer)[0]
    for metric in (*FORMULAS, "logo_churn_rate", "arpa"):
        series = reference.monthly[None][metric]
        e = explain(layer, metric, f"{period:%Y-%m}", base=f"{base:%Y-%m}")
        assert same(e.value_base, as_float(series.get((base, "")))), (metric, base)
        assert same(e.value_current, as_float(series.get((period, "")))), (metric, period)
        for d in e.decompositions:
            if d.dimension is None:
                continue
            by_segment = reference.monthly[d.dimension.removeprefix("account_month__")][metric]
            for c in d.components:
                if c.label.startswith("(") and c.label != NULL_SEGMENT:
                    continue  # the overlap row of a distinct count
                segment = "" if c.label == NULL_SEGMENT else c.label
                for day, value, weight in (
                    (base, c.base, c.weight_base),
                    (period, c.current, c.weight_current),
                ):
                    if d.method == "ratio segments" and not weight:
                        continue  # no denominator there: the rate is the other period's
                    missing = 0 if d.method == "additive segments" else None
                    expected = as_float(by_segment.get((day, segment), missing))
                    assert same(value, expected), (metric, c.label, day, value, expected)


def test_every_month_of_monthly_nrr_adds_up_where_segments_empty_and_fill(
    build: Build, layer: SemanticLayer
) -> None:
    months = sorted(
        row["metric_time__month"].date()
        for row in layer.query(
            QueryRequest(metrics=("starting_mrr",), group_by=("metric_time__month",))
        ).to_pylist()
    )
    notes: set[str] = set()
    for period in months[1:]:
        e = explain(
            layer,
            "net_revenue_retention_monthly",
            f"{period:%Y-%m}",
            dimensions=("account_month__plan_tier",),
        )
        check(layer, e, 1)
        notes.update(c.note.split(" ")[0] for d in e.decompositions for c in d.components if c.note)
    if build.seeds_dir != REPO_ROOT / "seeds":  # the generated data has segment edges
        assert notes & {"appears", "disappears"}, notes  # the edges are exercised
