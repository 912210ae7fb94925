"""Corrupting the seed files of a throw-away copy of the project, and building
part of it in process (dbtRunner) to see which data tests fail; the seed files
and Parquet datasets as DuckDB relations.

Shared by the bad-input tests (also on PostgreSQL and Spark), the tests of var
data_tests_since and the benchmark tests.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from dbt.cli.main import dbtRunner

from saas_kpis.project import project_env

Rows = list[dict[str, str]]


def set_value(column: str, value: str, where: Callable[[dict], bool] = lambda row: True):
    """Set column to value in the first row that matches where."""

    def corrupt(rows: Rows) -> Rows:
        row = next(row for row in rows if where(row))
        row[column] = value
        return rows

    return corrupt


# Unreadable values, one per raw type: the message the seed load must stop
# with on every engine.
@dataclass(frozen=True)
class Unreadable:
    seed: str
    row: int
    column: str
    value: str
    expected: str

    @property
    def message(self) -> str:
        folder = self.seed.split("_", 1)[0]
        return (
            f"Unreadable value in raw table {self.seed} (seeds/{folder}/{self.seed}.csv), "
            f"line {self.row + 2}, column {self.column}: '{self.value}' (expected {self.expected})"
        )


UNREADABLE = [
    Unreadable("billing_invoices", 0, "amount", "12,50", "decimal, e.g. 49.00"),
    Unreadable(
        "billing_accounts",
        3,
        "created_at",
        "2024-02-30 10:00:00",
        "timestamp, e.g. 2026-06-30 13:45:00",
    ),
    Unreadable(
        "billing_subscription_items", 5, "valid_from", "01/02/2024", "date, e.g. 2026-06-30"
    ),
]


def set_in_row(row: int, column: str, value: str):
    def corrupt(rows: Rows) -> Rows:
        rows[row][column] = value
        return rows

    return corrupt


def seed_path(project_dir: Path, seed: str) -> Path:
    return project_dir / "seeds" / seed.split("_", 1)[0] / f"{seed}.csv"


def read_rows(path: Path) -> tuple[list[str], Rows]:
    """The column names and the rows of a CSV file."""
    with open(path, newline="") as handle:
        reader = csv.DictReader(handle)
        return list(reader.fieldnames or []), list(reader)


def write_rows(path: Path, fieldnames: list[str], rows: Rows) -> None:
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fieldnames, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


@contextmanager
def corrupted(project_dir: Path, seed: str, corrupt: Callable[[Rows], Rows]) -> Iterator[None]:
    """The seed file corrupted for the duration of the block, then restored."""
    path = seed_path(project_dir, seed)
    original = path.read_text()
    fieldnames, rows = read_rows(path)
    try:
        write_rows(path, fieldnames, corrupt(rows))
        yield
    finally:
        path.write_text(original)


@contextmanager
def dbt_environment(project_dir: Path) -> Iterator[None]:
    """os.environ set for an in-process dbt run in project_dir, then restored."""
    saved = dict(os.environ)
    os.environ.update(project_env(project_dir))
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def failed_tests(
    project_dir: Path, selector: str, dbt_vars: dict | None = None, full_refresh: bool = True
) -> tuple[bool, set[str]]:
    """Build the selection in process (inside dbt_environment): success, failed tests.

    A corrupted seed rewrites rows that were already loaded, as a restated raw
    table would: by default the incremental staging model is rebuilt in full.
    Without full_refresh, the build is the next incremental run of a new batch.
    """
    args = ["build", "--select", selector, "--project-dir", str(project_dir)]
    if full_refresh:
        args.append("--full-refresh")
    if dbt_vars:
        args += ["--vars", json.dumps(dbt_vars)]
    result = dbtRunner().invoke(args)
    assert result.exception is None, result.exception
    failed = {
        node_result.node.name
        for node_result in result.result
        if node_result.node.resource_type == "test" and node_result.status in ("fail", "error")
    }
    return result.success, failed


def csv_relation(csv_root: Path, table: str, types: dict[str, str]) -> str:
    spec = ", ".join(f"'{column}': '{kind}'" for column, kind in types.items())
    path = csv_root / table.split("_")[0] / f"{table}.csv"
    return (
        f"read_csv('{path}', header = true, auto_detect = false, columns = {{{spec}}}, "
        "nullstr = '')"
    )


def parquet_relation(root: Path, table: str) -> str:
    return f"read_parquet('{root / table.split('_')[0] / table}/*.parquet')"
