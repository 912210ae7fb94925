"""Incremental event models: after appending a batch with late and duplicated
events, an incremental run gives exactly the rows of a full refresh."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from pathlib import Path

import duckdb
import pytest
from reference import parse_timestamp
from seed_files import read_rows, write_rows

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
COMPARED_RELATIONS = (
    "main_staging.stg_events__tracks",
    "main_intermediate.int_events_known_as_of",
    "main.fct_api_requests",
    "main.fct_daily_user_activity",
    "main.fct_account_activation",
    "main.fct_user_onboarding",
    "main.fct_account_month_activity",
    "main_intermediate.int_feature_uses_aggregated_to_user_days",
    "main.fct_user_activity_week_parts",
    "main.fct_feature_adoption_week_parts",
)
BATCHES = {  # seed -> the column that orders its deliveries
    "events_tracks": "received_at",
    "events_api_requests": "occurred_at",
}


def snapshot(project_dir: Path) -> dict[str, Counter]:
    with duckdb.connect(str(project_dir / DUCKDB_FILE), read_only=True) as connection:
        return {
            relation: Counter(connection.execute(f"select * from {relation}").fetchall())
            for relation in COMPARED_RELATIONS
        }


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

    dbt(project, "build", "--full-refresh", dbt_vars={"as_of_date": AS_OF})
    after_full_refresh = snapshot(project)

    for relation in COMPARED_RELATIONS:
        assert after_incremental[relation], f"{relation} is empty"
        assert after_incremental[relation] == after_full_refresh[relation], relation


def test_moving_as_of_date_back_and_forward_equals_full_refresh(project: Path) -> None:
    """Incremental runs with an earlier, then a later as_of_date equal full refreshes.

    A feature is launched between the two dates, so the feature adoption mart sees
    its feature set change both ways.
    """
    earlier = "2026-05-15"
    _, features = read_rows(project / "seeds" / "events" / "events_features.csv")
    assert any(earlier < row["launched_at"] <= AS_OF for row in features)
    dbt(project, "build", dbt_vars={"as_of_date": AS_OF})
    for as_of in (earlier, AS_OF):
        dbt(project, "build", dbt_vars={"as_of_date": as_of})
        incremental = snapshot(project)
        dbt(project, "build", "--full-refresh", dbt_vars={"as_of_date": as_of})
        full_refresh = snapshot(project)
        for relation in COMPARED_RELATIONS:
            assert incremental[relation], f"{relation} is empty as of {as_of}"
            assert incremental[relation] == full_refresh[relation], (relation, as_of)
