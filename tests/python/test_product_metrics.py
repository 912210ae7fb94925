"""Customer and product KPIs against the independent reference (reference_product).

Semantic layer: new_signups, weekly_active_users, weekly_active_accounts, monthly_active_users,
activation_rate, time_to_first_value_days, onboarding_completion_rate, usage_retention_d30 and
usage_retention_d90 at week and month grain, and contraction_signal_accounts at month grain only,
ungrouped and by each segment, one `mf query` per grain and segment, on complete periods only (not
the month or ISO week that contains as_of). Marts: fct_daily_user_activity,
fct_user_activity_week_parts, fct_account_activation, fct_user_onboarding and
fct_account_month_activity, every row.

Comparison rule (as in test_support_metrics): on the union of the keys that MetricFlow returns and
the reference's keys. A key that one side lacks is 0 for additive metrics (counts) and NULL for the
others. An explicit NULL where the reference has a number fails, also for a count.

Outcome flags of rows that are not eligible (`is_activated` without `is_activation_eligible`,
`is_dNN_retained` without `is_dNN_eligible`, `has_completed_onboarding` without `is_eligible`) are
not fixed by the spec: the mart may give the observed value, false or NULL there
(`check_outcome_flag`). On eligible rows they must equal the reference.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Mapping
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from comparison import (
    TIME_COLUMNS,
    Comparison,
    compare_series,
    query_metrics,
)
from conftest import Build
from reference import month_start
from reference_product import (
    ADDITIVE_METRICS,
    GRAINS,
    SEGMENTS,
    Account,
    AccountActivation,
    AccountMonthActivity,
    ProductReference,
    Segment,
    TrackEvent,
    User,
    account_activation,
    account_cohort_values,
    check_identities,
    known_events,
    load_events,
    metrics_for,
    period_start,
    product_reference,
    user_onboarding,
)
from reference_revenue import week_start

from saas_kpis.project import REPO_ROOT

ACTIVATION_FLAGS = {
    "is_activated": "is_activation_eligible",
    "is_d30_retained": "is_d30_eligible",
    "is_d90_retained": "is_d90_eligible",
}
ONBOARDING_FLAGS = {"has_completed_onboarding": "is_eligible"}


def reference_for(build: Build) -> ProductReference:
    return product_reference(build.seeds_dir, build.as_of)


def as_date(value: dt.date | dt.datetime | None) -> dt.date | None:
    return value.date() if isinstance(value, dt.datetime) else value


# ---------------------------------------------------------------------------- semantic layer


@pytest.mark.parametrize("grain", GRAINS)
@pytest.mark.parametrize("segment", [None, *SEGMENTS])
def test_product_metrics_from_semantic_layer(build: Build, grain: str, segment: Segment) -> None:
    expected = reference_for(build).series[grain][segment]
    actual = query_metrics(build.project_dir, metrics_for(grain), [TIME_COLUMNS[grain]], segment)
    partial_period = period_start(build.as_of, grain)
    comparison = Comparison()
    for metric, values in actual.items():
        compare_series(
            comparison,
            metric,
            values,
            expected[metric],
            lambda key: key[0] < partial_period,
            additive=metric in ADDITIVE_METRICS,
        )
    comparison.assert_ok(actual)


# ---------------------------------------------------------------------------- marts


def query_rows(build: Build, table: str, columns: tuple[str, ...]) -> list[dict[str, Any]]:
    rows = build.query(f"select {', '.join(columns)} from main.{table}")
    return [dict(zip(columns, row, strict=True)) for row in rows]


def keyed(rows: list[dict[str, Any]], key_columns: tuple[str, ...], table: str) -> dict:
    """{key: row} of a mart's rows, with date columns as dates; fails on a duplicated key."""
    result = {}
    for row in rows:
        row = {column: as_date(value) for column, value in row.items()}
        result[tuple(row[column] for column in key_columns)] = row
    assert len(result) == len(rows), f"{table}: duplicate {key_columns}"
    return result


def assert_same_keys(table: str, actual: Mapping, expected: Mapping) -> None:
    unexpected, missing = set(actual) - set(expected), set(expected) - set(actual)
    assert not unexpected and not missing, (
        f"{table}: {len(unexpected)} unexpected rows (e.g. {sorted(unexpected)[:3]}), "
        f"{len(missing)} missing rows (e.g. {sorted(missing)[:3]})"
    )


def check_outcome_flag(
    comparison: Comparison, column: str, key: Any, actual: Any, expected: bool, eligible: bool
) -> None:
    """Eligible rows: exactly the reference; other rows: the observed value, false or NULL."""
    if eligible:
        comparison.check_exact(column, key, actual, expected)
    elif actual not in (expected, False, None):
        comparison.mismatches.append(f"{column} {key} (not eligible): got {actual!r}")


def compare_flagged_row(
    comparison: Comparison,
    key: Any,
    actual: Mapping[str, Any],
    expected: Mapping[str, Any],
    outcome_flags: Mapping[str, str],
) -> None:
    """Every column exactly, outcome flags with check_outcome_flag."""
    for column, want in expected.items():
        if column in outcome_flags:
            eligible = expected[outcome_flags[column]]
            check_outcome_flag(comparison, column, key, actual[column], want, eligible)
        else:
            comparison.check_exact(column, key, actual[column], want)


def test_daily_user_activity_mart(build: Build) -> None:
    columns = ("user_id", "account_id", "activity_date", "meaningful_event_count")
    rows = query_rows(build, "fct_daily_user_activity", columns)
    by_user_day = keyed(rows, ("user_id", "activity_date"), "fct_daily_user_activity")
    actual = {
        (row["user_id"], row["account_id"], row["activity_date"]): row["meaningful_event_count"]
        for row in by_user_day.values()
    }
    expected = reference_for(build).daily_user_activity
    assert_same_keys("fct_daily_user_activity", actual, expected)
    differing = sorted(key for key in expected if actual[key] != expected[key])
    assert not differing, f"{len(differing)} user-days differ, e.g. {differing[:5]}"
    assert max(day for _, _, day in actual) <= build.as_of


WEEK_PART_KEY = ("user_id", "account_id", "week_part_start_date")
WEEK_PART_COLUMNS = (
    "account_month_id",
    "active_day_count",
    "meaningful_event_count",
    "first_activity_date",
    "last_activity_date",
)


def week_part_start(day: dt.date) -> dt.date:
    """The later of the ISO week's Monday and the first of the month."""
    return max(week_start(day), month_start(day))


def test_user_activity_week_parts_mart(build: Build) -> None:
    """Each user-day of the reference, grouped by the week part of its day."""
    expected: dict[tuple[str, str, dt.date], dict[str, Any]] = {}
    for (user, account, day), events in sorted(reference_for(build).daily_user_activity.items()):
        part = expected.setdefault(
            (user, account, week_part_start(day)),
            {
                "account_month_id": f"{account}|{month_start(day).isoformat()}",
                "active_day_count": 0,
                "meaningful_event_count": 0,
                "first_activity_date": day,
            },
        )
        part["active_day_count"] += 1
        part["meaningful_event_count"] += events
        part["last_activity_date"] = day  # days come sorted: the last one wins
    table = "fct_user_activity_week_parts"
    rows = query_rows(build, table, (*WEEK_PART_KEY, *WEEK_PART_COLUMNS))
    actual = {
        key: {column: row[column] for column in WEEK_PART_COLUMNS}
        for key, row in keyed(rows, WEEK_PART_KEY, table).items()
    }
    assert_same_keys(table, actual, expected)
    differing = sorted(key for key in expected if actual[key] != expected[key])
    assert not differing, f"{len(differing)} week parts differ, e.g. {differing[:3]}"
    # A week across two months has two parts; the shipped seeds have some.
    assert any(part.weekday() != 0 for _, _, part in expected)


ACTIVATION_COLUMNS = (
    "account_id",
    "created_date",
    "first_project_date",
    "days_to_first_project",
    "is_activation_eligible",
    "is_activated",
    "is_d30_eligible",
    "is_d30_retained",
    "is_d90_eligible",
    "is_d90_retained",
)


def activation_row(row: AccountActivation) -> dict[str, Any]:
    return {column: getattr(row, column) for column in ACTIVATION_COLUMNS}


def test_account_activation_mart(build: Build) -> None:
    rows = query_rows(build, "fct_account_activation", ACTIVATION_COLUMNS)
    actual = keyed(rows, ("account_id",), "fct_account_activation")
    expected = {
        (key,): activation_row(row) for key, row in reference_for(build).activations.items()
    }
    assert_same_keys("fct_account_activation", actual, expected)
    comparison = Comparison()
    for key, row in expected.items():
        compare_flagged_row(comparison, key, actual[key], row, ACTIVATION_FLAGS)
    comparison.assert_ok(ACTIVATION_COLUMNS)


ONBOARDING_COLUMNS = (
    "user_id",
    "account_id",
    "created_date",
    "is_eligible",
    "has_completed_onboarding",
)


def test_user_onboarding_mart(build: Build) -> None:
    rows = query_rows(build, "fct_user_onboarding", ONBOARDING_COLUMNS)
    actual = keyed(rows, ("user_id",), "fct_user_onboarding")
    expected = {
        (key,): {column: getattr(row, column) for column in ONBOARDING_COLUMNS}
        for key, row in reference_for(build).onboardings.items()
    }
    assert_same_keys("fct_user_onboarding", actual, expected)
    comparison = Comparison()
    for key, row in expected.items():
        compare_flagged_row(comparison, key, actual[key], row, ONBOARDING_FLAGS)
    comparison.assert_ok(ONBOARDING_COLUMNS)


MONTH_ACTIVITY_COLUMNS = (
    "account_id",
    "month_start_date",
    "meaningful_event_count",
    "previous_meaningful_event_count",
    "is_contraction_signal",
)


def month_activity_row(row: AccountMonthActivity) -> dict[str, Any]:
    return {column: getattr(row, column) for column in MONTH_ACTIVITY_COLUMNS}


def test_account_month_activity_mart(build: Build) -> None:
    rows = query_rows(build, "fct_account_month_activity", MONTH_ACTIVITY_COLUMNS)
    actual = keyed(rows, ("account_id", "month_start_date"), "fct_account_month_activity")
    expected = {
        key: month_activity_row(row)
        for key, row in reference_for(build).account_month_activity.items()
    }
    assert_same_keys("fct_account_month_activity", actual, expected)
    comparison = Comparison()
    for key, row in expected.items():
        for column, want in row.items():
            comparison.check_exact(column, key, actual[key][column], want)
    comparison.assert_ok(MONTH_ACTIVITY_COLUMNS)
    assert any(row["is_contraction_signal"] for row in expected.values()), "no contraction signal"


# ---------------------------------------------------------------------------- the reference itself


def test_reference_satisfies_identities_on_shipped_seeds() -> None:
    """Segment sums equal company totals, rates within [0, 1], plausible levels."""
    reference = product_reference(REPO_ROOT / "seeds", dt.date(2026, 6, 30))
    check_identities(reference)
    weekly = reference.series["week"][None]["weekly_active_accounts"]
    assert 100 < weekly[(dt.date(2026, 6, 22), "")] < 200  # type: ignore[operator]
    overall = account_cohort_values(list(reference.activations.values()))
    assert 0.5 < overall["activation_rate"] < 0.9  # type: ignore[operator]
    assert 0.2 < overall["usage_retention_d30"] < 0.6  # type: ignore[operator]


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def event(
    event_id: str,
    name: str,
    occurred: str,
    received: str | None = None,
    step: int | None = None,
    user: str = "u1",
) -> TrackEvent:
    return TrackEvent(
        event_id, "a1", user, name, at(occurred), at(received or occurred), onboarding_step=step
    )


def test_dedupe_keeps_earliest_copy_then_applies_known_filter() -> None:
    as_of = dt.date(2026, 3, 31)
    events = [
        event("e1", "feature_used", "2026-03-31 23:00:00", "2026-04-01 00:00:00"),
        event("e1", "feature_used", "2026-03-31 23:00:00", "2026-03-31 23:59:59"),
        event("e2", "report_exported", "2026-03-30 10:00:00", "2026-04-02 10:00:00"),
        event("e3", "invite_sent", "2026-04-01 00:00:00", "2026-03-31 12:00:00"),
        event("e4", "page_viewed", "2026-03-30 10:00:00", "2026-04-05 10:00:00"),
        event("e4", "page_viewed", "2026-03-30 10:00:00", "2026-03-31 10:00:00"),
    ]
    kept = known_events(events, as_of)
    assert sorted((e.event_id, e.received_at) for e in kept) == [
        ("e1", at("2026-03-31 23:59:59")),
        ("e4", at("2026-03-31 10:00:00")),
    ]
    assert [e.is_meaningful for e in sorted(kept, key=lambda e: e.event_id)] == [True, False]


TRACK_COLUMNS = (
    "event_id",
    "account_id",
    "user_id",
    "event_name",
    "feature_name",
    "onboarding_step",
    "occurred_at",
    "received_at",
)


def test_load_events_reads_csv(tmp_path: Path) -> None:
    """Rows from the CSV file: integer steps, empty steps NULL, later events left out."""
    rows = [
        ("e1", "a1", "u1", "onboarding_step_completed", "", "3", "2026-03-01 10:00:00"),
        ("e2", "a1", "u1", "feature_used", "alerts", "", "2026-03-01 11:00:00"),
        ("e3", "a1", "u1", "feature_used", "alerts", "", "2026-03-02 10:00:00"),
    ]
    (tmp_path / "events").mkdir()
    with open(tmp_path / "events" / "events_tracks.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(TRACK_COLUMNS)
        writer.writerows((*row, row[-1]) for row in rows)  # received when it occurred
    loaded = load_events(tmp_path, dt.date(2026, 3, 1))
    assert sorted((e.event_id, e.onboarding_step) for e in loaded) == [("e1", 3), ("e2", None)]


def test_activation_and_retention_boundaries() -> None:
    as_of = dt.date(2026, 3, 31)
    account = Account("a1", dt.date(2026, 1, 1))
    day = account.created_date + dt.timedelta(days=7)
    row = account_activation(account, day, {dt.date(2026, 1, 31)}, as_of)
    assert (row.days_to_first_project, row.is_activated, row.is_activation_eligible) == (
        7,
        True,
        True,
    )
    assert (row.is_d30_eligible, row.is_d30_retained, row.is_d90_eligible) == (True, True, False)
    late = account_activation(account, day + dt.timedelta(days=1), {dt.date(2026, 2, 6)}, as_of)
    assert (late.is_activated, late.is_d30_retained) == (False, True)  # day 8; day 36
    outside = account_activation(account, None, {dt.date(2026, 1, 30), dt.date(2026, 2, 7)}, as_of)
    assert (outside.is_activated, outside.is_d30_retained, outside.days_to_first_project) == (
        False,
        False,
        None,
    )
    recent = account_activation(Account("a2", dt.date(2026, 3, 25)), None, set(), as_of)
    assert (recent.is_activation_eligible, recent.is_d30_eligible) == (False, False)
    edge = account_activation(Account("a3", dt.date(2026, 3, 24)), None, set(), as_of)
    assert (edge.is_activation_eligible, edge.is_activated) == (True, False)
    values = account_cohort_values([row, late, outside, recent])
    assert values["activation_rate"] == Fraction(1, 3)
    assert values["time_to_first_value_days"] == Fraction(15, 2)
    assert values["usage_retention_d30"] == Fraction(2, 3)
    assert values["usage_retention_d90"] is None
    assert account_cohort_values([])["new_signups"] == 0


def test_onboarding_needs_every_step_within_14_days() -> None:
    as_of = dt.date(2026, 3, 31)
    user = User("u1", "a1", dt.date(2026, 3, 1))
    on_time = {step: [dt.date(2026, 3, 1 + step)] for step in range(1, 5)}
    done = user_onboarding(user, on_time | {5: [dt.date(2026, 3, 15)]}, as_of)
    assert (done.is_eligible, done.has_completed_onboarding) == (True, True)
    late = user_onboarding(user, on_time | {5: [dt.date(2026, 3, 16)]}, as_of)
    assert late.has_completed_onboarding is False
    assert user_onboarding(user, on_time, as_of).has_completed_onboarding is False
    recent = user_onboarding(User("u2", "a1", dt.date(2026, 3, 18)), {}, as_of)
    assert recent.is_eligible is False


def test_contraction_signal_threshold() -> None:
    def signal(current: int, previous: int) -> bool:
        return AccountMonthActivity(
            "a1", dt.date(2026, 3, 1), current, previous
        ).is_contraction_signal

    assert signal(6, 10) and signal(0, 1)
    assert signal(13, 20) and not signal(14, 20)
    assert not signal(7, 10) and not signal(0, 0) and not signal(5, 0)
