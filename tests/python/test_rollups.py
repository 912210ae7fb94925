"""Rollups answer exactly what MetricFlow answers over the base tables.

For every rollup of `saas_kpis.semantic.rollups.ROLLUPS`, every grain and grouping it holds, and
its metrics together and one by one, the semantic query layer's answer from the rollup equals
MetricFlow's answer over the base tables (`rollups=False`): the same columns in the same order
with the same types, and the same rows, values exact. Requests a rollup cannot answer (a filter on
an item not grouped by, a grouping it does not hold, another metric, a date part) are planned by
MetricFlow. The values themselves are checked against the raw files in test_adoption_metrics.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pyarrow as pa
import pytest
from conftest import Build

from saas_kpis.semantic import QueryRequest, SemanticLayer
from saas_kpis.semantic.rollups import ROLLUPS

ROLLUP_COMMENT = "-- Answered from a rollup"


@pytest.fixture
def layer(build: Build) -> Iterator[SemanticLayer]:
    opened = build.open_layer()
    yield opened
    opened.close()


def rows(table: pa.Table) -> list[tuple]:
    return sorted((tuple(row.values()) for row in table.to_pylist()), key=repr)


def assert_same_answer(layer: SemanticLayer, request: QueryRequest, *, from_rollup: bool) -> None:
    assert layer.explain(request).startswith(ROLLUP_COMMENT) == from_rollup, request
    answer = layer.query(request)
    expected = layer.query(request, rollups=False)
    assert answer.schema == expected.schema, request
    assert rows(answer) == rows(expected), request


def test_every_grouping_of_every_rollup_equals_metricflow(layer: SemanticLayer) -> None:
    stored = {found.rollup.model: found for found in layer.rollups()}
    assert set(stored) == {rollup.model for rollup in ROLLUPS}
    for rollup in ROLLUPS:
        groupings = stored[rollup.model].groupings
        for metric in rollup.metrics:
            grains = set(layer.group_bys(metric).metric_time_grains)
            assert {grain for grain, _ in groupings} <= grains, metric
        for grain, items in sorted(groupings, key=repr):
            group_by = (*sorted(items), f"metric_time__{grain}")
            for metrics in (rollup.metrics, *((metric,) for metric in rollup.metrics)):
                request = QueryRequest(metrics=metrics, group_by=group_by)
                assert_same_answer(layer, request, from_rollup=True)


def test_filters_order_and_limit_on_grouped_items(build: Build, layer: SemanticLayer) -> None:
    month = "{{ TimeDimension('metric_time', 'month') }}"
    first = build.as_of.replace(day=1) - dt.timedelta(days=300)
    request = QueryRequest(
        metrics=("feature_adoption_rate", "feature_adopters"),
        group_by=("account_month__plan_tier", "metric_time__month"),
        where=(
            f"{month} >= '{first:%Y-%m-01}' and {month} <= '{build.as_of:%Y-%m-%d}'",
            "{{ Dimension('account_month__plan_tier') }} in ('pro', 'enterprise')",
        ),
        order_by=("-metric_time__month", "account_month__plan_tier"),
        limit=7,
    )
    answer = layer.query(request).to_pylist()
    assert 0 < len(answer) <= 7
    assert {row["account_month__plan_tier"] for row in answer} <= {"pro", "enterprise"}
    assert min(row["metric_time__month"].date() for row in answer) >= first.replace(day=1)
    assert answer == layer.query(request, rollups=False).to_pylist()
    assert_same_answer(layer, request, from_rollup=True)


def test_saved_query_from_rollup(layer: SemanticLayer) -> None:
    assert_same_answer(layer, QueryRequest(saved_query="team_feature_adoption"), from_rollup=True)


@pytest.mark.parametrize(
    "request_",
    [
        # the filter's item is not grouped by: it filters rows inside the groups
        QueryRequest(
            metrics=("feature_adopters",),
            group_by=("metric_time__month",),
            where=("{{ Dimension('account_month__plan_tier') }} = 'pro'",),
        ),
        # the filter's grain is finer than the group's
        QueryRequest(
            metrics=("feature_active_users",),
            group_by=("metric_time__month",),
            where=("{{ TimeDimension('metric_time', 'week') }} >= '2025-03-01'",),
        ),
        # groupings the rollup does not hold: two segment dimensions, a feature by segment,
        # a grain
        QueryRequest(
            metrics=("feature_adoption_rate",),
            group_by=("metric_time__month", "account_month__plan_tier", "account_month__industry"),
        ),
        QueryRequest(
            metrics=("feature_adoption_rate",),
            group_by=(
                "metric_time__week",
                "feature_usage__feature_name",
                "account_month__account_age_band",
            ),
        ),
        QueryRequest(metrics=("feature_adopters",), group_by=("metric_time__quarter",)),
        # a metric outside the rollup
        QueryRequest(metrics=("feature_adopters", "mrr"), group_by=("metric_time__month",)),
        # no metric_time
        QueryRequest(metrics=("feature_adopters",), group_by=("feature_usage__feature_name",)),
        # an item of another time dimension
        QueryRequest(
            metrics=("feature_adopters",), group_by=("feature_usage__week_part_start_date__month",)
        ),
    ],
)
def test_requests_a_rollup_cannot_answer_go_to_metricflow(
    layer: SemanticLayer, request_: QueryRequest
) -> None:
    assert_same_answer(layer, request_, from_rollup=False)
