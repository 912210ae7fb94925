"""Revenue, cohort and weekly revenue KPIs against the independent reference (reference_revenue).

Semantic layer: every metric of the spec's Revenue, Cohorts and Weekly revenue growth sections,
ungrouped and by each segment, on complete periods only (not the month, ISO week or cohort cell
that contains as_of). Marts: fct_mrr_movements, rpt_cohort_retention, fct_weekly_revenue and
fct_daily_revenue, every row (their partial period is defined by the spec as well).

Comparison rule: on the union of the keys that MetricFlow returns and the reference's complete
grid. A key that one side lacks is 0 for additive metrics (sums and counts: MetricFlow has no row
where there is no fact) and NULL for the others. An explicit NULL where the reference has a
number fails, also for a sum: the spec makes a sum over nothing 0, never NULL.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping
from fractions import Fraction
from typing import Any

import pytest
from comparison import (
    Comparison,
    compare_mart,
    compare_row,
    compare_series,
    mart_rows,
    parse_day,
    query_metrics,
    segment_column,
)
from conftest import Build
from reference import month_start
from reference_revenue import (
    ADDITIVE_METRICS,
    COHORT_METRICS,
    COMPANY_WEEKLY_METRICS,
    MONTHLY_METRICS,
    SEGMENTS,
    WEEKLY_METRICS,
    ZERO,
    RevenueReference,
    Segment,
    Series,
    Value,
    add_months,
    check_identities,
    revenue_lines,
    revenue_reference,
    week_start,
    weeks_in_iso_year,
)

from saas_kpis.project import REPO_ROOT

MONTH = "metric_time__month"
WEEK = "metric_time__week"
COHORT_MONTH = "cohort_account_month__cohort_month__month"
COHORT_AGE = "cohort_account_month__months_since_first_payment"


# ---------------------------------------------------------------------------- semantic layer


def reference_for(build: Build) -> RevenueReference:
    return revenue_reference(build.seeds_dir, build.as_of)


def compare_metrics(
    actual: Mapping[str, Mapping[Any, float | None]],
    expected: Mapping[str, Mapping[Any, Value]],
    keep: Callable[[Any], bool],
) -> None:
    comparison = Comparison()
    for metric, values in actual.items():
        compare_series(
            comparison, metric, values, expected[metric], keep, metric in ADDITIVE_METRICS
        )
    comparison.assert_ok(actual)


@pytest.mark.parametrize("segment", [None, *SEGMENTS])
def test_monthly_revenue_metrics_from_semantic_layer(build: Build, segment: Segment) -> None:
    reference = reference_for(build)
    actual = query_metrics(build.project_dir, MONTHLY_METRICS, [MONTH], segment)
    partial_month = month_start(build.as_of)
    compare_metrics(actual, reference.monthly[segment], lambda key: key[0] < partial_month)


@pytest.mark.parametrize("segment", [None, *SEGMENTS])
def test_weekly_revenue_metrics_from_semantic_layer(build: Build, segment: Segment) -> None:
    reference = reference_for(build)
    metrics = WEEKLY_METRICS + (COMPANY_WEEKLY_METRICS if segment is None else ())
    actual = query_metrics(build.project_dir, metrics, [WEEK], segment)
    partial_week = week_start(build.as_of)
    compare_metrics(actual, reference.weekly[segment], lambda key: key[0] < partial_week)


@pytest.mark.parametrize("segment", [None, *SEGMENTS])
def test_cohort_metrics_from_semantic_layer(build: Build, segment: Segment) -> None:
    reference = reference_for(build)
    actual = query_metrics(
        build.project_dir,
        COHORT_METRICS,
        [COHORT_MONTH, COHORT_AGE],
        segment,
        lambda row: (
            parse_day(row[COHORT_MONTH]),
            int(float(row[COHORT_AGE])),
            row[segment_column(segment)[0]] if segment else "",
        ),
    )
    partial_month = month_start(build.as_of)
    compare_metrics(
        actual,
        reference.cohorts[segment],
        lambda key: add_months(key[0], key[1]) < partial_month,
    )


# ---------------------------------------------------------------------------- marts

MOVEMENT_COLUMNS = (
    "movement_type",
    "starting_mrr_usd",
    "ending_mrr_usd",
    "new_mrr_usd",
    "reactivation_mrr_usd",
    "expansion_mrr_usd",
    "contraction_mrr_usd",
    "churned_mrr_usd",
    "cohort_month_start_date",
    "months_since_first_payment",
)
COHORT_COLUMNS = (
    "cohort_account_count",
    "retained_account_count",
    "cohort_mrr_usd",
    "retained_mrr_usd",
    "cohort_logo_retention",
    "cohort_revenue_retention",
)
WEEK_COLUMNS = (
    "iso_year",
    "iso_week",
    "weeks_in_iso_year",
    "weekly_revenue_usd",
    "weekly_revenue_growth_rate",
    "ytd_revenue_usd",
    "cwgr",
    "catch_up_cwgr",
    "is_partial_week",
)


def test_mrr_movements_mart(build: Build) -> None:
    movements = reference_for(build).movements
    compare_mart(
        build,
        "fct_mrr_movements",
        ("account_id", "month_start_date"),
        MOVEMENT_COLUMNS,
        {key: {c: getattr(row, c) for c in MOVEMENT_COLUMNS} for key, row in movements.items()},
        ["starting_mrr_usd", "ending_mrr_usd"],
    )
    types = Counter(movement.movement_type for movement in movements.values())
    assert {"new", "expansion", "contraction", "churn"} <= set(types), types


def test_cohort_retention_mart(build: Build) -> None:
    cells = reference_for(build).cohort_cells
    compare_mart(
        build,
        "rpt_cohort_retention",
        ("cohort_month_start_date", "months_since_first_payment"),
        COHORT_COLUMNS,
        {key[:2]: {c: getattr(cell, c) for c in COHORT_COLUMNS} for key, cell in cells.items()},
        ["cohort_logo_retention", "cohort_revenue_retention"],
    )


def expected_week(weekly: Mapping[str, Series], monday: dt.date, as_of: dt.date) -> dict:
    iso_year, iso_week, _ = monday.isocalendar()
    key = (monday, "")
    return {
        "iso_year": iso_year,
        "iso_week": iso_week,
        "weeks_in_iso_year": weeks_in_iso_year(iso_year),
        "weekly_revenue_usd": weekly["weekly_revenue"][key],
        "weekly_revenue_growth_rate": weekly["weekly_revenue_growth_rate"][key],
        "ytd_revenue_usd": weekly["ytd_revenue"][key],
        "cwgr": weekly["cwgr"][key],
        "catch_up_cwgr": weekly["catch_up_cwgr"][key],
        "is_partial_week": monday == week_start(as_of),
    }


def test_weekly_revenue_mart(build: Build) -> None:
    weekly = reference_for(build).weekly[None]
    actual = mart_rows(build, "fct_weekly_revenue", ("iso_week_start_date",), WEEK_COLUMNS)
    mondays = sorted(monday for monday, _ in weekly["weekly_revenue"])
    assert sorted(actual) == mondays
    comparison = Comparison()
    for monday in mondays:
        compare_row(comparison, monday, actual[monday], expected_week(weekly, monday, build.as_of))
    comparison.assert_ok(WEEK_COLUMNS[3:8])


def test_daily_revenue_mart(build: Build) -> None:
    daily = reference_for(build).daily
    count, distinct, last_day = build.query(
        """
        select count(*), count(distinct (account_id, revenue_date)), max(revenue_date)
        from main.fct_daily_revenue
        """
    )[0]
    assert count == distinct, "fct_daily_revenue: duplicate account-days"
    assert last_day <= build.as_of
    by_day: dict[dt.date, Fraction] = defaultdict(Fraction)
    by_account: dict[str, Fraction] = defaultdict(Fraction)
    for (account_id, day), amount in daily.items():
        by_day[day] += amount
        by_account[account_id] += amount
    comparison = Comparison()
    for column, expected in (("revenue_date", by_day), ("account_id", by_account)):
        actual = dict(
            build.query(f"select {column}, sum(revenue_usd) from main.fct_daily_revenue group by 1")
        )
        label = f"revenue_usd by {column}"
        compare_series(comparison, label, actual, expected, lambda _: True, additive=True)
    comparison.assert_ok(["revenue_usd by revenue_date", "revenue_usd by account_id"])


# ---------------------------------------------------------------------------- the reference itself


def test_reference_satisfies_accounting_identities() -> None:
    """MRR bridge, segment sums and ratable revenue summing to the invoice amounts."""
    seeds_dir, as_of = REPO_ROOT / "seeds", dt.date(2026, 6, 30)
    reference = revenue_reference(seeds_dir, as_of)
    check_identities(reference)
    recognized = sum(reference.daily.values(), ZERO)
    lines = revenue_lines(seeds_dir, as_of)
    assert recognized == sum(
        (line.daily_usd * (min(line.end_day, as_of + dt.timedelta(days=1)) - line.first_day).days)
        for line in lines
        if line.first_day <= as_of
    )


def test_iso_week_conventions() -> None:
    assert dt.date(2025, 12, 29).isocalendar()[:2] == (2026, 1)
    assert week_start(dt.date(2026, 1, 4)) == dt.date(2025, 12, 29)
    assert (weeks_in_iso_year(2025), weeks_in_iso_year(2026)) == (52, 53)
