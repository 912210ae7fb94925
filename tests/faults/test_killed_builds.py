"""A `dbt build` killed (SIGKILL) part-way, then run again, equals a clean build.

A scheduler that loses its worker kills dbt wherever it is: between models, inside a table's
`create table as`, inside an incremental model's `delete+insert`. DuckDB's transactions must
leave either the old or the new relation, and the rerun must repair whatever the killed run
left half-done. The data is a Parquet dataset a few times the shipped seeds, built as of the
day before its last day; the incremental case then appends the held-out last day, as a daily
run would. Each kill lands as soon as a node starts at 15 %, 45 % or 80 % of the run's nodes,
so inside that node (a table's create, an incremental model's delete+insert), and every table
of the rerun's warehouse must equal the clean build's.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import signal
import subprocess
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest

from saas_kpis.bench.runner import add_next_day, remove_next_day
from saas_kpis.generate.parquet_writer import Preset, write_parquet
from saas_kpis.project import DUCKDB_FILE, copy_project, project_env, venv_bin

SEED = 11
AS_OF = date(2026, 3, 31)
PRESET = Preset(1.0, 1_500, 300)
KILL_AT = (0.15, 0.45, 0.80)
# dbt's progress line for a node that starts: "12 of 343 START sql table model main.x ...".
NODE_START = re.compile(r"(?P<done>\d+) of (?P<total>\d+) START (?P<node>.+?) \.{3}")
# DuckDB may sum doubles in another order from one run to the next: compare them rounded.
DOUBLE_PLACES = 6


@dataclass(frozen=True)
class Dataset:
    data_dir: Path
    project_dir: Path

    def vars(self, as_of: date) -> dict[str, str]:
        return {
            "raw_data": "parquet",
            "raw_parquet_dir": str(self.data_dir),
            "as_of_date": str(as_of),
        }


def command(dataset: Dataset, as_of: date) -> list[str]:
    return [venv_bin("dbt"), "build", "--vars", json.dumps(dataset.vars(as_of))]


def finished_build(dataset: Dataset, as_of: date) -> None:
    completed = subprocess.run(
        command(dataset, as_of),
        cwd=dataset.project_dir,
        env=project_env(dataset.project_dir),
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout[-3000:]


def killed_build(dataset: Dataset, as_of: date, fraction: float) -> str:
    """Start a build and SIGKILL it (its whole process group) as soon as a node starts at or
    past the given fraction of its nodes; return the node it was running."""
    process = subprocess.Popen(
        command(dataset, as_of),
        cwd=dataset.project_dir,
        env=project_env(dataset.project_dir),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    assert process.stdout is not None
    running = None
    for line in process.stdout:
        started = NODE_START.search(line)
        if started and int(started["done"]) >= fraction * int(started["total"]):
            running = started["node"]
            os.killpg(process.pid, signal.SIGKILL)
            break
    process.stdout.close()
    assert process.wait() == -signal.SIGKILL, "the build finished before it could be killed"
    assert running is not None
    return running


@dataclass(frozen=True)
class TableColumns:
    exact: list[str]  # compared as they are, and the order of the rows
    doubles: list[str]  # compared with a relative tolerance


def tables(warehouse: Path) -> dict[str, TableColumns]:
    """{schema.table: its columns} of every table the build wrote."""
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        rows = connection.execute(
            "select columns.table_schema || '.' || columns.table_name, column_name, data_type "
            "from information_schema.columns inner join information_schema.tables "
            "using (table_catalog, table_schema, table_name) "
            "where table_catalog = current_database() and table_type = 'BASE TABLE' "
            "order by 1, ordinal_position"
        ).fetchall()
    result: dict[str, TableColumns] = {}
    for name, column, data_type in rows:
        columns = result.setdefault(name, TableColumns([], []))
        (columns.doubles if data_type == "DOUBLE" else columns.exact).append(f'"{column}"')
    return result


def same_rows(left: list[tuple], right: list[tuple]) -> bool:
    return len(left) == len(right) and all(
        all(
            math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9) if isinstance(a, float) else a == b
            for a, b in zip(row_a, row_b, strict=True)
        )
        for row_a, row_b in zip(left, right, strict=True)
    )


def assert_same_warehouse(actual: Path, expected: Path, killed_in: str) -> None:
    """Every table with the same rows: doubles rounded first, in SQL; where that differs (a
    value on a rounding boundary), the rows in key order with a relative tolerance."""
    actual_tables, expected_tables = tables(actual), tables(expected)
    assert actual_tables == expected_tables, f"killed in {killed_in}: the tables differ"
    with duckdb.connect() as connection:
        connection.execute(f"attach '{actual}' as actual (read_only)")
        connection.execute(f"attach '{expected}' as expected (read_only)")
        for name, columns in expected_tables.items():
            rounded = ", ".join(
                [*columns.exact, *(f"round({c}, {DOUBLE_PLACES})" for c in columns.doubles)]
            )
            differ = sum(
                connection.execute(
                    f"select count(*) from (select {rounded} from {left}.{name} "
                    f"except all select {rounded} from {right}.{name})"
                ).fetchone()[0]
                for left, right in (("actual", "expected"), ("expected", "actual"))
            )
            if differ:
                select = ", ".join([*columns.exact, *columns.doubles])
                order = ", ".join(columns.exact + columns.doubles)
                sides = [
                    connection.execute(
                        f"select {select} from {side}.{name} order by {order}"
                    ).fetchall()
                    for side in ("actual", "expected")
                ]
                assert same_rows(*sides), f"killed in {killed_in}: {name} differs"


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Dataset:
    data_dir = tmp_path_factory.mktemp("data")
    write_parquet(data_dir, SEED, PRESET, AS_OF)
    remove_next_day(data_dir)
    return Dataset(data_dir, copy_project(tmp_path_factory.mktemp("project")))


@pytest.fixture(scope="module")
def clean_builds(dataset: Dataset, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The clean build as of the day before, and after the daily run."""
    references = tmp_path_factory.mktemp("references")
    warehouse = dataset.project_dir / DUCKDB_FILE
    finished_build(dataset, AS_OF - timedelta(1))
    shutil.copyfile(warehouse, references / "before.duckdb")
    add_next_day(dataset.data_dir)
    finished_build(dataset, AS_OF)
    shutil.copyfile(warehouse, references / "after.duckdb")
    remove_next_day(dataset.data_dir)
    return {
        "before": references / "before.duckdb",
        "after": references / "after.duckdb",
    }


@pytest.mark.parametrize("fraction", KILL_AT)
def test_a_killed_full_build_reruns_to_the_clean_build(
    dataset: Dataset, clean_builds: dict[str, Path], fraction: float
) -> None:
    remove_next_day(dataset.data_dir)
    (dataset.project_dir / DUCKDB_FILE).unlink()
    killed_in = killed_build(dataset, AS_OF - timedelta(1), fraction)
    finished_build(dataset, AS_OF - timedelta(1))
    assert_same_warehouse(dataset.project_dir / DUCKDB_FILE, clean_builds["before"], killed_in)


@pytest.mark.parametrize("fraction", KILL_AT)
def test_a_killed_daily_run_reruns_to_the_clean_build(
    dataset: Dataset, clean_builds: dict[str, Path], fraction: float
) -> None:
    shutil.copyfile(clean_builds["before"], dataset.project_dir / DUCKDB_FILE)
    add_next_day(dataset.data_dir)
    try:
        killed_in = killed_build(dataset, AS_OF, fraction)
        finished_build(dataset, AS_OF)
    finally:
        remove_next_day(dataset.data_dir)
    assert_same_warehouse(dataset.project_dir / DUCKDB_FILE, clean_builds["after"], killed_in)
