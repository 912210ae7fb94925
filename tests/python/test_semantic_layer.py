"""The semantic query layer against the official `mf` command line, on every build scenario.

The layer answers from the read-only DuckDB warehouse, as the server does; `mf query` answers
through the dbt adapter. Their rows must be equal, and the layer's metadata must be what
MetricFlow accepts. The summary of `make build` is checked the same way: its numbers must be
the metrics' values.
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from collections.abc import Iterator

import pytest
from comparison import Comparison, parse_number
from conftest import Build
from mf_cli import mf_query

from saas_kpis.project import REPO_ROOT, project_env
from saas_kpis.semantic import MANIFEST_FILE, QueryRequest, SemanticLayer

SEGMENT = "account_month__plan_tier"
REQUESTS = [
    QueryRequest(metrics=("mrr", "arpa"), group_by=("metric_time__month", SEGMENT)),
    QueryRequest(metrics=("net_revenue_retention",), group_by=("metric_time__quarter",)),
    QueryRequest(
        metrics=("weekly_active_users",),
        group_by=("metric_time__week",),
        where=("{{ Dimension('account_month__plan_tier') }} = 'pro'",),
    ),
]


@pytest.fixture
def layer(build: Build) -> Iterator[SemanticLayer]:
    # DuckDB's read-only lock keeps `mf` (which opens the file to write) out while this is open.
    opened = build.open_layer()
    yield opened
    opened.close()


def as_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()[:10]
    return str(value)


@pytest.mark.parametrize("request_", REQUESTS, ids=lambda r: "+".join(r.metrics))
def test_query_equals_mf_query(build: Build, request_: QueryRequest) -> None:
    expected = mf_query(
        build.project_dir,
        list(request_.metrics),
        list(request_.group_by),
        where=request_.where[0] if request_.where else None,
    )
    layer = build.open_layer()
    try:
        table = layer.query(request_)
    finally:
        layer.close()
    assert table.column_names == list(expected[0]), "columns differ from mf query"
    group_columns = [c for c in table.column_names if c not in request_.metrics]

    def key(row: dict) -> tuple:
        return tuple(as_text(row[c])[:10] for c in group_columns)

    actual = {key(row): row for row in table.to_pylist()}
    wanted = {key(row): row for row in expected}
    assert len(actual) == table.num_rows and actual.keys() == wanted.keys()
    comparison = Comparison()
    for row_key, row in wanted.items():
        for metric in request_.metrics:
            number = parse_number(row[metric])
            comparison.check(metric, row_key, actual[row_key][metric], number)
    comparison.assert_ok(list(request_.metrics))


def test_metadata_comes_from_metricflow(layer: SemanticLayer) -> None:
    metrics = layer.metrics()
    assert [m.name for m in metrics] == sorted(layer.manifest_metrics)
    for metric in metrics:
        group_bys = layer.group_bys(metric.name)
        assert metric.grains == tuple(g.upper() for g in group_bys.metric_time_grains)
        assert metric.grains[-1] == "YEAR", metric.name
        # Every listed grain is accepted by MetricFlow's own validation.
        for grain in metric.grains:
            layer.validate(
                QueryRequest(metrics=(metric.name,), group_by=(f"metric_time__{grain.lower()}",))
            )
    dimensions = {d.qualified_name: d for d in layer.dimensions(["mrr"])}
    assert dimensions[SEGMENT].type == "CATEGORICAL" and dimensions[SEGMENT].grains == ()
    assert dimensions["metric_time"].grains == layer.metric_grains(["mrr"])
    assert {m.name for m in layer.measures(["arpa"])} == {"mrr_usd", "paying_account_count"}
    saved = {s.name: s for s in layer.saved_queries()}
    assert saved, "the project ships saved queries"
    for query in saved.values():
        assert query.metrics and all(item.name for item in query.group_by)
        layer.explain(QueryRequest(saved_query=query.name))


@pytest.mark.parametrize(
    ("request_", "named"),
    [
        (QueryRequest(metrics=("no_such_metric",)), "no_such_metric"),
        (QueryRequest(metrics=("mrr",), group_by=("account_month__no_such",)), "no_such"),
        (QueryRequest(metrics=("weekly_active_users",), group_by=("metric_time__day",)), "day"),
        (QueryRequest(saved_query="no_such_saved_query"), "no_such_saved_query"),
    ],
)
def test_invalid_requests_name_what_is_wrong(
    layer: SemanticLayer, request_: QueryRequest, named: str
) -> None:
    with pytest.raises(Exception, match=named):
        layer.validate(request_)
    with pytest.raises(Exception, match=named):
        layer.explain(request_)


def test_a_duckdb_warehouse_is_read_only(layer: SemanticLayer) -> None:
    with pytest.raises(PermissionError):
        layer.warehouse.execute("drop table main.fct_account_months")
    with pytest.raises(Exception, match="read-only"):
        layer.execute("create table main.intruder as select 1 as x")


def test_a_manifest_alone_lists_but_does_not_run(build: Build) -> None:
    offline = SemanticLayer.from_manifest(build.project_dir / "target" / MANIFEST_FILE)
    assert offline.group_bys("mrr").metric_time_grains[0] == "month"
    with pytest.raises(RuntimeError, match="without a warehouse"):
        offline.query(REQUESTS[0])


def test_summary_prints_the_metrics(build: Build) -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "saas_kpis.summary", "--project-dir", str(build.project_dir)],
        cwd=REPO_ROOT,
        env=project_env(build.project_dir),
        capture_output=True,
        text=True,
        check=True,
    )
    rows = mf_query(
        build.project_dir,
        ["mrr", "arr", "paying_accounts", "arpa"],
        ["metric_time__month"],
    )
    latest = sorted(rows, key=lambda row: row["metric_time__month"])[-3:]
    lines = completed.stdout.splitlines()
    for row in latest:
        month = row["metric_time__month"][:7]
        line = next(line for line in lines if line.startswith(month))
        printed = [text.replace(",", "") for text in line.split()[1:]]
        expected = [row[m] for m in ("mrr", "arr", "paying_accounts", "arpa")]
        for shown, value in zip(printed, expected, strict=True):
            if value == "":
                assert shown == "n/a"
            else:  # printed to the cent; a value on the half cent may round either way
                assert float(shown) == pytest.approx(float(value), abs=0.0051), (month, line)
