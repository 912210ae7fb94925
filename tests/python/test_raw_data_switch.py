"""var raw_data switches staging from the seeds to warehouse tables, with no
model edits and the same results."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import duckdb
from reference import account_months

from saas_kpis.project import DUCKDB_FILE, REPO_ROOT, copy_project, dbt

AS_OF = "2026-06-30"


def test_warehouse_sources_build_the_same_account_months(tmp_path: Path) -> None:
    project_dir = copy_project(tmp_path / "project")
    # Stand-in for a loader: the raw tables land in schema main_raw.
    dbt(project_dir, "seed")
    warehouse = {
        "raw_data": "warehouse",
        "raw_billing_schema": "main_raw",
        "raw_events_schema": "main_raw",
        "raw_support_schema": "main_raw",
        "as_of_date": AS_OF,
    }
    dbt(project_dir, "build", dbt_vars=warehouse)

    run_results = json.loads((project_dir / "target" / "run_results.json").read_text())
    built = {result["unique_id"].split(".")[0] for result in run_results["results"]}
    assert "seed" not in built, "seeds are loaded although staging reads the warehouse"
    compiled = project_dir / "target" / "compiled" / "saas_kpis" / "models" / "staging"
    assert "main_raw" in (compiled / "billing" / "stg_billing__accounts.sql").read_text()

    with duckdb.connect(str(project_dir / DUCKDB_FILE), read_only=True) as connection:
        rows = connection.execute(
            "select account_id, month_start_date, mrr_usd, plan_tier from main.fct_account_months"
        ).fetchall()
    expected = account_months(REPO_ROOT / "seeds", dt.date.fromisoformat(AS_OF))
    assert {(row[0], row[1]) for row in rows} == set(expected)
    for account_id, month, mrr, tier in rows:
        reference = expected[(account_id, month)]
        assert abs(mrr - float(reference.mrr_usd)) <= 1e-9 * max(1.0, abs(mrr))
        assert tier == reference.plan_tier


def test_unknown_raw_data_value_is_a_clear_error(tmp_path: Path) -> None:
    project_dir = copy_project(tmp_path / "project")
    completed = dbt(project_dir, "parse", dbt_vars={"raw_data": "lake"}, check=False)
    assert completed.returncode != 0
    assert "var raw_data must be 'seeds', 'warehouse' or 'parquet', got 'lake'" in completed.stdout


def test_malformed_as_of_date_is_a_clear_error(tmp_path: Path) -> None:
    project_dir = copy_project(tmp_path / "project")
    completed = dbt(project_dir, "parse", dbt_vars={"as_of_date": "30/06/2026"}, check=False)
    assert completed.returncode != 0
    assert "var as_of_date must be an ISO date (YYYY-MM-DD), got '30/06/2026'" in completed.stdout
