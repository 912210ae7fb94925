"""With raw_data `parquet`, a raw table that breaks the contract stops the run
before any model, with one line naming the table, the column, and the value or
type against the expected type: a text column holding an unreadable timestamp,
date or decimal, a column of a wrong type, a missing column. An unexpected
column is a warning that names it, and the build stays green.

The Parquet files are the shipped seeds, typed as the contract says; per case,
one table's file is rewritten by a query and then restored. dbt runs in
process (dbtRunner) on one throw-away copy of the project.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest
from dbt.cli.main import dbtRunner
from seed_files import csv_relation, dbt_environment, parquet_relation

from saas_kpis.generate.parquet_writer import seed_column_types
from saas_kpis.project import REPO_ROOT, copy_project


@pytest.fixture(scope="module")
def parquet_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("parquet")
    with duckdb.connect() as con:
        for table, types in seed_column_types().items():
            folder = root / table.split("_")[0] / table
            folder.mkdir(parents=True)
            relation = csv_relation(REPO_ROOT / "seeds", table, types)
            con.execute(f"copy (select * from {relation}) to '{folder / 'part.parquet'}'")
    return root


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    project_dir = copy_project(tmp_path_factory.mktemp("bad_input_parquet"))
    with dbt_environment(project_dir):
        yield project_dir


@contextmanager
def rewritten(root: Path, table: str, select: str) -> Iterator[None]:
    """The table's Parquet file replaced by `select` over its rows (`raw`) during the block."""
    path = root / table.split("_")[0] / table / "part.parquet"
    original = path.with_suffix(".orig")
    shutil.copy(path, original)
    try:
        with duckdb.connect() as con:
            con.execute(f"create table raw as select * from read_parquet('{original}')")
            con.execute(f"copy ({select}) to '{path}'")
        yield
    finally:
        shutil.move(original, path)


def build(project: Path, root: Path, selector: str) -> tuple[bool, str, list[str], list[str]]:
    """Build in Parquet mode: success, error, started nodes (hooks left out), warnings."""
    started: list[str] = []
    warnings: list[str] = []

    def collect(event) -> None:
        if event.info.name == "NodeStart":
            unique_id = event.data.node_info.unique_id
            if not unique_id.startswith("operation."):
                started.append(unique_id)
        if event.info.level == "warn":
            warnings.append(event.info.msg)

    dbt_vars = {"raw_data": "parquet", "raw_parquet_dir": str(root)}
    # Tests that also read unselected models are left out (cautious).
    args = ["build", "--select", selector, "--indirect-selection", "cautious"]
    args += ["--vars", json.dumps(dbt_vars)]
    result = dbtRunner(callbacks=[collect]).invoke([*args, "--project-dir", str(project)])
    return result.success, str(result.exception or ""), started, warnings


def location(root: Path, table: str) -> str:
    return f"raw table {table} ({parquet_relation(root, table)})"


@dataclass(frozen=True)
class Fault:
    table: str
    select: str
    message: str  # after "<fault> in raw table <table> (<location>)"
    fault: str = "Unreadable value"


def as_text(column: str, key: str, value: str) -> str:
    """The column as text, with value in the first row (by key)."""
    return (
        f"select * replace (case when {key} = (select min({key}) from raw) then '{value}' "
        f"else cast({column} as varchar) end as {column}) from raw"
    )


FAULTS = [
    Fault(
        "billing_invoices",
        as_text("amount", "invoice_id", "12,50"),
        ", column amount: '12,50' (expected decimal, e.g. 49.00)",
    ),
    Fault(
        "billing_accounts",
        as_text("created_at", "account_id", "2024-02-30 10:00:00"),
        ", column created_at: '2024-02-30 10:00:00' (expected timestamp, e.g. 2026-06-30 13:45:00)",
    ),
    Fault(
        "billing_subscription_items",
        as_text("valid_from", "subscription_item_id", "01/02/2024"),
        ", column valid_from: '01/02/2024' (expected date, e.g. 2026-06-30)",
    ),
    Fault(
        "events_features",
        "select * replace (cast(is_core as integer) as is_core) from raw",
        ", column is_core: INTEGER (expected boolean, e.g. true or false)",
        fault="Wrong type",
    ),
    Fault(
        "support_tickets",
        "select * exclude (channel) from raw",
        ": channel",
        fault="Missing column",
    ),
]


@pytest.mark.parametrize("case", FAULTS, ids=lambda case: f"{case.fault}:{case.table}")
def test_bad_raw_table_fails_before_any_model_naming_table_column_and_type(
    project: Path, parquet_root: Path, case: Fault
) -> None:
    with rewritten(parquet_root, case.table, case.select):
        success, error, started, _ = build(project, parquet_root, "stg_billing__plans")
    assert not success
    expected = f"{case.fault} in {location(parquet_root, case.table)}{case.message}"
    assert expected in error.splitlines() or f"  {expected}" in error.splitlines(), error
    assert "Conversion Error" not in error and "Binder Error" not in error, error
    assert started == [], started


def test_unexpected_column_warns_by_name_and_the_build_is_green(
    project: Path, parquet_root: Path
) -> None:
    with rewritten(parquet_root, "billing_plans", "select *, 'x' as note from raw"):
        success, error, _, warnings = build(project, parquet_root, "stg_billing__plans")
    assert success, error
    expected = (
        f"Unexpected column in {location(parquet_root, 'billing_plans')}: note "
        "(not in the contract, ignored)"
    )
    assert expected in warnings, warnings
