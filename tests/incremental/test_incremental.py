"""Incremental models: after appending a batch with late and duplicated events, restating old
invoices or subscription items, or moving as_of_date, an incremental run gives the rows of a full
refresh, in every model.

Comparison rule: every model of the manifest, row by row on its primary key (its uniqueness
test), every column. A rebuilt day or week of revenue adds the same amounts in another order
than a full refresh (DuckDB's sum of doubles follows the order of the rows), so doubles match
within a relative 1e-9, as in the parity suites; everything else, and NULL, exactly.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from pathlib import Path
from typing import Any

import duckdb
import pytest
from model_keys import primary_key
from reference import parse_timestamp
from seed_files import Rows, read_rows, seed_path, write_rows

from saas_kpis.daily import daily_invocation
from saas_kpis.project import DUCKDB_FILE, copy_project, dbt

AS_OF = "2026-06-30"
INCREMENTAL_MODELS = (
    "stg_events__tracks",
    "fct_api_requests",
    "fct_daily_user_activity",
    "int_feature_uses_aggregated_to_user_days",
    "fct_user_activity_week_parts",
    "fct_feature_adoption_week_parts",
)
REVENUE_MODELS = (
    "int_invoice_lines_spread",
    "fct_daily_revenue",
    "int_weekly_revenue_accumulated",
    "fct_account_weekly_revenue",
)
BATCHES = {  # seed -> the column that orders its deliveries
    "events_tracks": "received_at",
    "events_api_requests": "occurred_at",
}
SHOWN_MISMATCHES = 20
SEEDS_AND_MODELS = ("--resource-type", "seed", "--resource-type", "model")
# A range of days that a revenue model rebuilds, as its compiled SQL filters its days.
DATE = r"cast\('(\d{4}-\d\d-\d\d)' as date\)"
REBUILT_DAYS = re.compile(rf"\w+ between {DATE}\s+and {DATE}")

Row = tuple[Any, ...]
Table = tuple[list[str], dict[Row, Row]]


def snapshot(project_dir: Path) -> dict[str, Table]:
    """{model: (columns, {primary key: row})} of every model of the last dbt command."""
    nodes = json.loads((project_dir / "target" / "manifest.json").read_text())["nodes"]
    tables = {}
    with duckdb.connect(str(project_dir / DUCKDB_FILE), read_only=True) as connection:
        for unique_id, node in nodes.items():
            if node["resource_type"] != "model":
                continue
            key = primary_key(nodes, unique_id)
            cursor = connection.execute(f"select * from {node['relation_name']}")
            columns = [column[0] for column in cursor.description]
            positions = [columns.index(column) for column in key]
            rows = cursor.fetchall()
            keyed = {tuple(row[i] for i in positions): row for row in rows}
            assert len(keyed) == len(rows), f"{node['name']}: duplicate {key}"
            tables[node["name"]] = (columns, keyed)
    return tables


def same_value(actual: Any, expected: Any) -> bool:
    if isinstance(actual, float) and isinstance(expected, float):
        return math.isclose(actual, expected, rel_tol=1e-9, abs_tol=1e-9)
    return type(actual) is type(expected) and actual == expected


def assert_equal_models(incremental: dict[str, Table], full_refresh: dict[str, Table]) -> None:
    """Every model of the full refresh has the incremental run's rows, and none other."""
    assert incremental.keys() == full_refresh.keys()
    mismatches = []
    for model, (columns, expected) in sorted(full_refresh.items()):
        actual_columns, actual = incremental[model]
        if actual_columns != columns:
            mismatches.append(f"{model}: columns {actual_columns} != {columns}")
            continue
        for key in sorted(actual.keys() ^ expected.keys(), key=str):
            where = "the incremental run" if key in actual else "the full refresh"
            mismatches.append(f"{model} {key}: only in {where}")
        for key in actual.keys() & expected.keys():
            for column, value, expected_value in zip(
                columns, actual[key], expected[key], strict=True
            ):
                if not same_value(value, expected_value):
                    mismatches.append(f"{model} {key} {column}: {value!r} != {expected_value!r}")
    shown = "\n".join(mismatches[:SHOWN_MISMATCHES])
    assert not mismatches, f"{len(mismatches)} mismatches, first ones:\n{shown}"


def assert_not_empty(tables: dict[str, Table], models: tuple[str, ...], label: str) -> None:
    for model in models:
        assert tables[model][1], f"{model} is empty {label}"


def daily_run(project_dir: Path, as_of: str) -> None:
    """The daily run (make daily) as of a date: seeds (changed raw data), models, data tests."""
    daily = daily_invocation(dt.date.fromisoformat(as_of))
    dbt(project_dir, *daily.arguments, env=daily.env)


def full_refresh(project_dir: Path, as_of: str) -> dict[str, Table]:
    dbt(project_dir, "run", "--full-refresh", dbt_vars={"as_of_date": as_of})
    return snapshot(project_dir)


def rebuilt_days(project_dir: Path, model: str) -> list[tuple[str, str]]:
    """The [first, last] day ranges that the last run of an incremental revenue model rebuilt."""
    results = json.loads((project_dir / "target" / "run_results.json").read_text())["results"]
    (compiled,) = [
        result["compiled_code"]
        for result in results
        if result["unique_id"] == f"model.saas_kpis.{model}"
    ]
    return REBUILT_DAYS.findall(compiled)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_project(tmp_path_factory.mktemp("incremental"))


def test_incremental_run_equals_full_refresh(project: Path) -> None:
    seeds = {name: project / "seeds" / "events" / f"{name}.csv" for name in BATCHES}
    full = {name: read_rows(path) for name, path in seeds.items()}
    tracks = full["events_tracks"][1]
    # The cut: a week before the last delivery of the shipped events.
    cutoff = max(parse_timestamp(row["received_at"]) for row in tracks) - dt.timedelta(days=7)

    batch_tracks = [row for row in tracks if parse_timestamp(row["received_at"]) > cutoff]
    late = [row for row in batch_tracks if parse_timestamp(row["occurred_at"]) <= cutoff]
    assert late, "the batch has no late event (occurred before the cut, received after)"
    # Second deliveries, in the batch, of events loaded before the cut.
    redelivered_at = (cutoff + dt.timedelta(days=2)).strftime("%Y-%m-%d %H:%M:%S")
    loaded = [row for row in tracks if parse_timestamp(row["received_at"]) <= cutoff]
    redeliveries = [dict(row, received_at=redelivered_at) for row in loaded[::500]]
    assert redeliveries
    full["events_tracks"] = (full["events_tracks"][0], tracks + redeliveries)

    for name, column in BATCHES.items():
        fieldnames, rows = full[name]
        first = [row for row in rows if parse_timestamp(row[column]) <= cutoff]
        assert 0 < len(first) < len(rows)
        write_rows(seeds[name], fieldnames, first)
    dbt(project, "build", dbt_vars={"as_of_date": AS_OF})

    for name in BATCHES:  # append the batch, then run incrementally
        write_rows(seeds[name], *full[name])
    dbt(project, "seed", "--select", *BATCHES, "--full-refresh", dbt_vars={"as_of_date": AS_OF})
    incremental = dbt(
        project,
        "build",
        "--select",
        *(f"{model}+" for model in INCREMENTAL_MODELS),
        dbt_vars={"as_of_date": AS_OF},
    )
    assert "incremental" in incremental.stdout
    after_incremental = snapshot(project)
    assert_not_empty(after_incremental, INCREMENTAL_MODELS, "after the batch")

    dbt(project, "build", "--full-refresh", dbt_vars={"as_of_date": AS_OF})
    assert_equal_models(after_incremental, snapshot(project))


def test_moving_as_of_date_back_and_forward_equals_full_refresh(project: Path) -> None:
    """Daily runs with an earlier, then a later as_of_date equal full refreshes.

    A feature is launched between the two dates, so the feature adoption mart sees its feature
    set change both ways; invoices issued between them leave and come back.
    """
    earlier = "2026-05-15"
    _, features = read_rows(project / "seeds" / "events" / "events_features.csv")
    assert any(earlier < row["launched_at"] <= AS_OF for row in features)
    _, invoices = read_rows(seed_path(project, "billing_invoices"))
    assert any(earlier < row["issued_at"][:10] <= AS_OF for row in invoices)
    dbt(project, "build", dbt_vars={"as_of_date": AS_OF})
    for as_of in (earlier, AS_OF):
        daily_run(project, as_of)
        incremental = snapshot(project)
        assert_not_empty(incremental, INCREMENTAL_MODELS + REVENUE_MODELS, f"as of {as_of}")
        assert_equal_models(incremental, full_refresh(project, as_of))


def invoice_restatements(rows: Rows) -> tuple[Rows, list[tuple[str, str]]]:
    """Old invoices restated: a 2024 subscription invoice's amount changed, a February 2025
    invoice removed, and a new invoice for September 2025 issued back then. Returns the rows
    and the [first, last] service days of the three lines."""
    changed = next(
        row
        for row in rows
        if row["invoice_type"] == "subscription"
        and row["status"] != "void"
        and row["service_period_start"].startswith("2024-03")
    )
    removed = next(
        row
        for row in rows
        if row["invoice_type"] != "credit_note"
        and row["status"] != "void"
        and row["service_period_start"].startswith("2025-02")
    )
    added = dict(
        changed,
        invoice_id="inv_restated_new",
        invoice_type="one_time",
        status="paid",
        issued_at="2025-10-03 08:00:00",
        service_period_start="2025-09-03",
        service_period_end="2025-10-03",
        amount="250.00",
    )
    changed["amount"] = f"{float(changed['amount']) + 100:.2f}"
    restated = [row for row in rows if row is not removed] + [added]

    def service_days(row: dict[str, str]) -> tuple[str, str]:
        end = dt.date.fromisoformat(row["service_period_end"]) - dt.timedelta(days=1)
        return row["service_period_start"], end.isoformat()

    return restated, sorted(service_days(row) for row in (changed, removed, added))


def test_restated_invoices_equal_full_refresh(project: Path) -> None:
    """A changed amount, a removed row and a new back-dated row of old invoices: the daily run
    rebuilds only their service days, and every model equals a full refresh."""
    dbt(project, "build", *SEEDS_AND_MODELS, dbt_vars={"as_of_date": AS_OF})
    before = snapshot(project)
    path = seed_path(project, "billing_invoices")
    fieldnames, rows = read_rows(path)
    restated, service_days = invoice_restatements(rows)
    write_rows(path, fieldnames, restated)

    daily_run(project, AS_OF)
    for model in ("int_invoice_lines_spread", "fct_daily_revenue"):
        assert rebuilt_days(project, model) == service_days, model
    incremental = snapshot(project)
    assert incremental["fct_daily_revenue"][1] != before["fct_daily_revenue"][1]
    assert_equal_models(incremental, full_refresh(project, AS_OF))


def subscription_item_restatements(rows: Rows) -> Rows:
    """Old subscription items restated: a 2024 item's seats changed, a 2025 item removed, and a
    new item of a new subscription from April to August 2025."""
    changed = next(row for row in rows if row["valid_from"].startswith("2024-03"))
    removed = next(row for row in rows if row["valid_from"].startswith("2025-02"))
    added = dict(
        changed,
        subscription_item_id="si_restated_new",
        subscription_id="sub_restated_new",
        seats="4",
        discount_pct="0.00",
        valid_from="2025-04-10",
        valid_to="2025-08-10",
    )
    changed["seats"] = str(int(changed["seats"]) + 5)
    return [row for row in rows if row is not removed] + [added]


def test_restated_subscription_items_equal_full_refresh(project: Path) -> None:
    """A changed, a removed and a new back-dated subscription item: the daily run rebuilds no
    revenue day (invoices are unchanged), and every model equals a full refresh."""
    dbt(project, "build", *SEEDS_AND_MODELS, dbt_vars={"as_of_date": AS_OF})
    before = snapshot(project)
    path = seed_path(project, "billing_subscription_items")
    fieldnames, rows = read_rows(path)
    write_rows(path, fieldnames, subscription_item_restatements(rows))

    daily_run(project, AS_OF)
    for model in ("int_invoice_lines_spread", "fct_daily_revenue"):
        assert rebuilt_days(project, model) == [], model
    incremental = snapshot(project)
    assert incremental["fct_account_months"][1] != before["fct_account_months"][1]
    assert_equal_models(incremental, full_refresh(project, AS_OF))
