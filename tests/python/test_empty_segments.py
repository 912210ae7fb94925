"""Zero and NULL where a segment empties or fills between two months (kpi-spec section 2).

Every ratio and derived metric of the semantic manifest (so a new one is covered without a change
here), at week and month grain where it has them, ungrouped and by each segment dimension it
supports, against its own inputs queried one by one:

* an input that is a sum or a count (a simple metric whose measure aggregates with sum, count or
  count_distinct) is 0 where it has no row: a sum over nothing is 0;
* any other input (a ratio, a median, a maximum, a mean) stays NULL where it has no row;
* a ratio is numerator / denominator, NULL where the denominator is 0 or NULL; a derived metric is
  its expression over its inputs (an offset input read from the earlier period).

So where the denominator side is non-zero and the numerator side has no row, a ratio is 0 and a
growth rate -1; where the denominator is 0 the value is NULL. The build is the generated scenario
with the generator's segment edges; `test_edges_are_exercised` checks that its data does hold
those cases, so the comparison cannot pass vacuously.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest
from conftest import Build

from saas_kpis.semantic import MANIFEST_FILE, QueryRequest, SemanticLayer

SEGMENTS = (
    "account_month__plan_tier",
    "account_month__industry",
    "account_month__account_age_band",
)
GRAINS = ("week", "month")
ADDITIVE_AGGS = {"sum", "count", "count_distinct"}
TOLERANCE = 1e-9

Key = tuple[Any, ...]


@pytest.fixture(scope="module")
def layer(edges_build: Build) -> Iterator[SemanticLayer]:
    opened = edges_build.open_layer()
    yield opened
    opened.close()


@pytest.fixture(scope="module")
def manifest(edges_build: Build) -> dict[str, Any]:
    path: Path = edges_build.project_dir / "target" / MANIFEST_FILE
    return json.loads(path.read_text(encoding="utf-8"))


class Values:
    """Metric values by (time, segment value), one metric per query, memoized."""

    def __init__(self, layer: SemanticLayer) -> None:
        self.layer = layer
        self.memo: dict[tuple[str, str, str | None], dict[Key, float | None]] = {}

    def get(self, metric: str, grain: str, segment: str | None) -> dict[Key, float | None]:
        key = (metric, grain, segment)
        if key not in self.memo:
            time_column = f"metric_time__{grain}"
            group_by = (time_column, segment) if segment else (time_column,)
            rows = self.layer.query(QueryRequest(metrics=(metric,), group_by=group_by)).to_pylist()
            self.memo[key] = {
                (_day(row[time_column]), row[segment] if segment else None): _number(row[metric])
                for row in rows
            }
        return self.memo[key]


def _day(value: Any) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float, Decimal)) else None


def _shift(day: dt.date, offset: dict[str, Any] | None) -> dt.date:
    """The period that an input with this offset window reads into `day`'s row: day + offset."""
    if not offset:
        return day
    count, granularity = offset["count"], offset["granularity"]
    if granularity == "week":
        return day + dt.timedelta(weeks=count)
    if granularity == "month":
        months = day.year * 12 + day.month - 1 + count
        return dt.date(months // 12, months % 12 + 1, day.day)
    raise AssertionError(f"offset granularity {granularity} not handled")


def _additive(manifest: dict[str, Any]) -> set[str]:
    """Simple metrics that are sums or counts: 0 where they have no row."""
    aggs = {
        measure["name"]: measure["agg"]
        for model in manifest["semantic_models"]
        for measure in model["measures"]
    }
    return {
        metric["name"]
        for metric in manifest["metrics"]
        if metric["type"] == "simple"
        and aggs.get((metric["type_params"].get("measure") or {}).get("name")) in ADDITIVE_AGGS
    }


def _inputs(metric: dict[str, Any]) -> list[tuple[str, str, dict[str, Any] | None]]:
    """(alias in the expression, input metric, offset window) of a ratio or derived metric."""
    params = metric["type_params"]
    if metric["type"] == "ratio":
        parts = [("numerator", params["numerator"]), ("denominator", params["denominator"])]
    else:
        parts = [(item.get("alias") or item["name"], item) for item in params["metrics"]]
    for _, item in parts:
        assert not item.get("filter") and not item.get("offset_to_grain"), (
            f"{metric['name']}: an input filter or offset_to_grain needs a rule in this test"
        )
    return [(alias, item["name"], item.get("offset_window")) for alias, item in parts]


def _expression(metric: dict[str, Any]) -> str:
    if metric["type"] == "ratio":
        return "cast(numerator as double) / nullif(denominator, 0)"
    return metric["type_params"]["expr"]


def _ratio_and_derived(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    return sorted(
        (metric for metric in manifest["metrics"] if metric["type"] in ("ratio", "derived")),
        key=lambda metric: metric["name"],
    )


def _cases(
    layer: SemanticLayer, manifest: dict[str, Any]
) -> Iterator[tuple[dict[str, Any], str, str | None]]:
    for metric in _ratio_and_derived(manifest):
        group_bys = layer.group_bys(metric["name"])
        # An offset reads the earlier period at its own granularity; at a coarser grain
        # MetricFlow offsets the days and re-aggregates them, which this test does not redo.
        offset_grains = {offset["granularity"] for _, _, offset in _inputs(metric) if offset}
        for grain in GRAINS:
            if grain not in group_bys.metric_time_grains or offset_grains - {grain}:
                continue
            yield metric, grain, None
            for segment in SEGMENTS:
                if segment in group_bys.dimensions:
                    yield metric, grain, segment


def _expected(
    values: Values,
    additive: set[str],
    metric: dict[str, Any],
    grain: str,
    segment: str | None,
    as_of: dt.date,
) -> dict[Key, float | None]:
    """The metric from its inputs, with the zero-and-NULL rules, on every key an input has up to
    the period of `as_of` (the time spine's end)."""
    inputs = _inputs(metric)
    columns: dict[str, dict[Key, float | None]] = {}
    for alias, name, offset in inputs:
        columns[alias] = {
            (_shift(day, offset), segment_value): value
            for (day, segment_value), value in values.get(name, grain, segment).items()
        }
    keys = sorted((key for key in set().union(*columns.values()) if key[0] <= as_of), key=repr)
    if not keys:
        return {}
    fills = {alias: 0.0 if name in additive else None for alias, name, _ in inputs}
    rows = [tuple(columns[alias].get(key, fills[alias]) for alias, _, _ in inputs) for key in keys]
    aliases = [alias for alias, _, _ in inputs]
    with duckdb.connect() as connection:
        connection.execute(
            "create table inputs ({})".format(", ".join(f"{a} double" for a in aliases))
        )
        connection.executemany(
            "insert into inputs values ({})".format(", ".join("?" for _ in aliases)), rows
        )
        results = connection.execute(f"select ({_expression(metric)}) from inputs").fetchall()
    return {key: _number(result) for key, (result,) in zip(keys, results, strict=True)}


def _close(actual: float | None, expected: float | None) -> bool:
    if actual is None or expected is None:
        return actual is None and expected is None
    return abs(actual - expected) <= TOLERANCE * max(1.0, abs(expected))


def test_ratio_and_derived_metrics_follow_the_zero_and_null_rules(
    layer: SemanticLayer, manifest: dict[str, Any], edges_build: Build
) -> None:
    values = Values(layer)
    additive = _additive(manifest)
    mismatches = []
    for metric, grain, segment in _cases(layer, manifest):
        actual = values.get(metric["name"], grain, segment)
        expected = _expected(values, additive, metric, grain, segment, edges_build.as_of)
        for key in sorted(set(actual) | set(expected), key=repr):
            if not _close(actual.get(key), expected.get(key)):
                mismatches.append(
                    f"{metric['name']} by {grain}, {segment or 'company'} at {key}: "
                    f"{actual.get(key, 'no row')} != expected {expected.get(key)}"
                )
    assert not mismatches, f"{len(mismatches)} mismatches:\n" + "\n".join(mismatches[:40])


def test_edges_are_exercised(layer: SemanticLayer) -> None:
    """The edge data holds the cases: a segment and the company that empty (numerator side
    without rows, base > 0) and a segment that fills (no base)."""
    values = Values(layer)
    growth = values.get("mrr_growth_rate", "month", "account_month__plan_tier")
    mrr = values.get("mrr", "month", "account_month__plan_tier")
    emptied = [key for key, value in growth.items() if value == -1.0 and key not in mrr]
    assert emptied, "no plan tier with MRR in m-1 and no account-month row in m"
    assert any(
        value == -1.0
        for value in values.get("mrr_growth_rate", "month", "account_month__industry").values()
    )
    assert any(value == -1.0 for value in values.get("mrr_growth_rate", "month", None).values()), (
        "no month in which the whole company's MRR drops to 0"
    )
    starting = values.get("starting_mrr", "month", "account_month__plan_tier")
    filled = [key for key in mrr if key not in starting and (mrr[key] or 0) > 0]
    assert filled, "no plan tier with MRR in m and no account in m-1"
    tickets = values.get("support_tickets", "month", None)
    per_account = values.get("tickets_per_account", "month", None)
    assert any(value == 0.0 and key not in tickets for key, value in per_account.items())
    weekly = values.get("weekly_revenue", "week", None)
    cwgr = values.get("cwgr", "week", None)
    assert any(value == -1.0 and key not in weekly for key, value in cwgr.items())
