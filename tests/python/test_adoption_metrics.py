"""Feature adoption KPIs against the independent reference (reference_adoption).

Semantic layer: `feature_adoption_rate` by `feature_usage__feature_name` at week and month grain,
and `core_feature_adoption_rate` at month grain, each ungrouped and by each segment, one `mf query`
per metric, grain and segment, on complete periods only (not the month or ISO week that contains
as_of). `feature_adoption_rate` again through the semantic query layer that every consumer uses,
which answers it from its rollup (rpt_feature_adoption_rollups).

Comparison rule: on the union of the keys that MetricFlow returns and the reference's keys; a key
that one side lacks is NULL (both metrics are ratios). At least one non-NULL value must have been
compared for every query.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Hashable, Mapping
from fractions import Fraction

import pytest
from comparison import (
    TIME_COLUMNS,
    Comparison,
    query_metrics,
)
from conftest import Build
from reference import AccountMonth
from reference_adoption import (
    CORE_FEATURE_METRIC,
    FEATURE_METRIC,
    GRAINS,
    SEGMENTS,
    AdoptionReference,
    Feature,
    TrackEvent,
    adoption_reference,
    core_feature_adoption_rate,
    feature_adoption_rate,
)
from reference_revenue import Segment
from reference_support import period_start

from saas_kpis.project import REPO_ROOT
from saas_kpis.semantic import QueryRequest

FEATURE_COLUMN = "feature_usage__feature_name"
Value = Fraction | None


def compare(
    label: str,
    actual: Mapping[Hashable, float | None],
    expected: Mapping[Hashable, Value],
    keep: Callable[[Hashable], bool],
) -> None:
    """Compare on the union of kept keys; a key missing on one side is NULL."""
    comparison = Comparison()
    for key in sorted(key for key in set(actual) | set(expected) if keep(key)):  # type: ignore[type-var]
        comparison.check(label, key, actual.get(key), expected.get(key))
    comparison.assert_ok([label])


def reference_for(build: Build) -> AdoptionReference:
    return adoption_reference(build.seeds_dir, build.as_of)


# ---------------------------------------------------------------------------- semantic layer


def complete_periods(as_of: dt.date, grain: str) -> Callable[[Hashable], bool]:
    partial = period_start(as_of, grain)
    return lambda key: key[0] < partial  # type: ignore[index]


@pytest.mark.parametrize("grain", GRAINS)
@pytest.mark.parametrize("segment", [None, *SEGMENTS])
def test_feature_adoption_rate_from_semantic_layer(
    build: Build, grain: str, segment: Segment
) -> None:
    expected = reference_for(build).feature_adoption[grain][segment]
    group_by = [TIME_COLUMNS[grain], FEATURE_COLUMN]
    actual = query_metrics(build.project_dir, [FEATURE_METRIC], group_by, segment)[FEATURE_METRIC]
    label = f"{FEATURE_METRIC} by {grain}, {segment}"
    compare(label, actual, expected, complete_periods(build.as_of, grain))  # type: ignore[arg-type]


@pytest.mark.parametrize("grain", GRAINS)
def test_feature_adoption_rate_from_rollup(build: Build, grain: str) -> None:
    """By feature, as the dashboards and the saved query ask it (the rollup holds no feature by
    segment; test_rollups checks its other groupings against MetricFlow's answer)."""
    expected = reference_for(build).feature_adoption[grain][None]
    group_by = (TIME_COLUMNS[grain], FEATURE_COLUMN)
    request = QueryRequest(metrics=(FEATURE_METRIC,), group_by=group_by)
    layer = build.open_layer()
    try:
        assert layer.explain(request).startswith("-- Answered from a rollup")
        rows = layer.query(request).to_pylist()
    finally:
        layer.close()
    actual = {
        (row[TIME_COLUMNS[grain]].date(), row[FEATURE_COLUMN], ""): row[FEATURE_METRIC]
        for row in rows
    }
    assert len(actual) == len(rows), f"duplicate rows for {request}"
    label = f"{FEATURE_METRIC} from its rollup by {grain}"
    compare(label, actual, expected, complete_periods(build.as_of, grain))  # type: ignore[arg-type]


@pytest.mark.parametrize("segment", [None, *SEGMENTS])
def test_core_feature_adoption_rate_from_semantic_layer(build: Build, segment: Segment) -> None:
    expected = reference_for(build).core_adoption[segment]
    group_by = [TIME_COLUMNS["month"]]
    actual = query_metrics(build.project_dir, [CORE_FEATURE_METRIC], group_by, segment)[
        CORE_FEATURE_METRIC
    ]
    label = f"{CORE_FEATURE_METRIC} by month, {segment}"
    compare(label, actual, expected, complete_periods(build.as_of, "month"))  # type: ignore[arg-type]


# ---------------------------------------------------------------------------- the reference itself

FEATURES = {
    "alpha": Feature("alpha", True, dt.date(2020, 1, 1)),
    "beta": Feature("beta", True, dt.date(2020, 1, 1)),
    "gamma": Feature("gamma", True, dt.date(2020, 1, 1)),
    "delta": Feature("delta", False, dt.date(2026, 3, 18)),
}


def event(
    user: str,
    occurred: str,
    name: str = "feature_used",
    feature: str = "",
    account: str = "acc_1",
    received: str | None = None,
    event_id: str | None = None,
) -> TrackEvent:
    at = dt.datetime.fromisoformat(occurred)
    return TrackEvent(
        event_id=event_id or f"{user}-{occurred}-{feature}",
        account_id=account,
        user_id=user,
        event_name=name,
        feature_name=feature,
        occurred_at=at,
        received_at=dt.datetime.fromisoformat(received) if received else at,
    )


def account_month(account: str, month: dt.date, tier: str) -> AccountMonth:
    return AccountMonth(account, month, Fraction(0), 0, tier, "retail", "0-6m", False)  # type: ignore[arg-type]


def test_feature_adoption_counts_users_and_nulls_before_launch() -> None:
    march, april = dt.date(2026, 3, 1), dt.date(2026, 4, 1)
    events = [
        event("u1", "2026-03-02 10:00:00", feature="alpha"),
        event("u1", "2026-03-03 10:00:00", feature="alpha"),
        event("u2", "2026-03-10 10:00:00", "project_created"),
        event("u3", "2026-03-11 10:00:00", "logged_in"),  # not meaningful
        event("u2", "2026-04-02 10:00:00", feature="delta"),
    ]
    weekly = feature_adoption_rate(events, FEATURES, {}, "week", None)
    monthly = feature_adoption_rate(events, FEATURES, {}, "month", None)
    assert monthly[(march, "alpha", "")] == Fraction(1, 2)
    assert monthly[(march, "beta", "")] == 0
    assert monthly[(march, "delta", "")] is None  # no activity on or after 2026-03-18
    assert monthly[(april, "delta", "")] == 1
    assert weekly[(dt.date(2026, 3, 2), "alpha", "")] == 1
    assert weekly[(dt.date(2026, 3, 9), "alpha", "")] == 0
    assert (dt.date(2026, 3, 9), "delta", "") in weekly
    assert weekly[(dt.date(2026, 3, 9), "delta", "")] is None


def test_week_by_segment_counts_user_in_each_segment() -> None:
    months = {
        ("acc_1", dt.date(2026, 3, 1)): account_month("acc_1", dt.date(2026, 3, 1), "starter"),
        ("acc_1", dt.date(2026, 4, 1)): account_month("acc_1", dt.date(2026, 4, 1), "pro"),
    }
    events = [
        event("u1", "2026-03-31 10:00:00", feature="alpha"),  # week of Monday 2026-03-30
        event("u1", "2026-04-01 10:00:00", "invite_sent"),
        event("u2", "2026-04-02 10:00:00", feature="alpha", account="acc_9"),  # no account-month
    ]
    weekly = feature_adoption_rate(events, FEATURES, months, "week", "plan_tier")
    week = dt.date(2026, 3, 30)
    assert weekly[(week, "alpha", "starter")] == 1
    assert weekly[(week, "alpha", "pro")] == 0
    assert weekly[(week, "alpha", "")] == 1


def test_core_adoption_needs_three_distinct_core_features() -> None:
    events = [
        event("u1", "2026-03-02 10:00:00", feature="alpha"),
        event("u2", "2026-03-05 10:00:00", feature="beta"),
        event("u1", "2026-03-20 10:00:00", feature="gamma"),
        event("u4", "2026-03-20 10:00:00", feature="alpha", account="acc_2"),
        event("u4", "2026-03-21 10:00:00", feature="beta", account="acc_2"),
        event("u4", "2026-03-22 10:00:00", feature="delta", account="acc_2"),  # not core
        event("u5", "2026-04-20 10:00:00", feature="gamma", account="acc_2"),
        event("u6", "2026-03-20 10:00:00", "report_exported", account="acc_3"),
    ]
    rates = core_feature_adoption_rate(events, FEATURES, {}, None)
    assert rates == {(dt.date(2026, 3, 1), ""): Fraction(1, 3), (dt.date(2026, 4, 1), ""): 0}


def test_reference_on_shipped_seeds() -> None:
    """Rates within [0, 1], a row for every launched feature, plausible core adoption."""
    reference = adoption_reference(REPO_ROOT / "seeds", dt.date(2026, 6, 30))
    for by_segment in reference.feature_adoption.values():
        for series in by_segment.values():
            assert all(0 <= value <= 1 for value in series.values() if value is not None)
    may = dt.date(2026, 5, 1)
    monthly = reference.feature_adoption["month"][None]
    assert {name for (month, name, _) in monthly if month == may} == set(reference.features)
    assert all(monthly[(may, name, "")] is not None for name in reference.features)
    assert 0.1 < reference.core_adoption[None][(may, "")] < 0.4  # type: ignore[operator]
