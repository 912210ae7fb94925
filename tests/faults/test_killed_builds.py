"""A `dbt build` killed (SIGKILL) part-way, then run again, equals a clean build.

A scheduler that loses its worker kills dbt wherever it is: between models, inside a table's
`create table as`, inside an incremental model's `delete+insert`. DuckDB's transactions must
leave either the old or the new relation, and the rerun must repair whatever the killed run
left half-done. The data is a Parquet dataset a few times the shipped seeds (so that the kills
land inside models, including the incremental merges of the event models), built as of the day
before its last day; the incremental case then appends the held-out last day, as a daily run
would. Each kill lands at a fraction of the clean run's time, and every table of the rerun's
warehouse must equal the clean build's.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
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


def command(dataset: Dataset, as_of: date, *extra: str) -> list[str]:
    return [venv_bin("dbt"), "build", *extra, "--vars", json.dumps(dataset.vars(as_of))]


def timed_build(dataset: Dataset, as_of: date, *extra: str) -> float:
    started = time.monotonic()
    completed = subprocess.run(
        command(dataset, as_of, *extra),
        cwd=dataset.project_dir,
        env=project_env(dataset.project_dir),
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout[-3000:]
    return time.monotonic() - started


def killed_build(dataset: Dataset, as_of: date, after_seconds: float) -> None:
    """Start a build and SIGKILL it (its whole process group) after the given time."""
    process = subprocess.Popen(
        command(dataset, as_of),
        cwd=dataset.project_dir,
        env=project_env(dataset.project_dir),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    time.sleep(after_seconds)
    assert process.poll() is None, "the build finished before it could be killed"
    os.killpg(process.pid, signal.SIGKILL)
    assert process.wait() == -signal.SIGKILL


def tables(warehouse: Path) -> dict[str, list[str]]:
    """{schema.table: select list with doubles rounded} of every table the build wrote."""
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        rows = connection.execute(
            "select table_schema, table_name, column_name, data_type "
            "from information_schema.columns "
            "where table_catalog = current_database() "
            "order by table_schema, table_name, ordinal_position"
        ).fetchall()
        kinds = dict(
            connection.execute(
                "select table_schema || '.' || table_name, table_type "
                "from information_schema.tables where table_catalog = current_database()"
            ).fetchall()
        )
    result: dict[str, list[str]] = {}
    for schema, table, column, data_type in rows:
        name = f"{schema}.{table}"
        if kinds[name] != "BASE TABLE":
            continue
        quoted = f'"{column}"'
        expression = (
            f"round({quoted}, {DOUBLE_PLACES}) as {quoted}" if data_type == "DOUBLE" else quoted
        )
        result.setdefault(name, []).append(expression)
    return result


def assert_same_warehouse(actual: Path, expected: Path) -> None:
    actual_tables, expected_tables = tables(actual), tables(expected)
    assert sorted(actual_tables) == sorted(expected_tables)
    with duckdb.connect() as connection:
        connection.execute(f"attach '{actual}' as actual (read_only)")
        connection.execute(f"attach '{expected}' as expected (read_only)")
        for name, columns in expected_tables.items():
            select = ", ".join(columns)
            for left, right in (("actual", "expected"), ("expected", "actual")):
                differ = connection.execute(
                    f"select count(*) from (select {select} from {left}.{name} "
                    f"except all select {select} from {right}.{name})"
                ).fetchone()[0]
                assert differ == 0, (
                    f"{name}: {differ} rows of the {left} build are not in the other"
                )


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Dataset:
    data_dir = tmp_path_factory.mktemp("data")
    write_parquet(data_dir, SEED, PRESET, AS_OF)
    remove_next_day(data_dir)
    return Dataset(data_dir, copy_project(tmp_path_factory.mktemp("project")))


@pytest.fixture(scope="module")
def clean_builds(dataset: Dataset, tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """The clean build as of the day before, and after the daily run; with their times."""
    references = tmp_path_factory.mktemp("references")
    warehouse = dataset.project_dir / DUCKDB_FILE
    full_seconds = timed_build(dataset, AS_OF - timedelta(1))
    shutil.copyfile(warehouse, references / "before.duckdb")
    add_next_day(dataset.data_dir)
    daily_seconds = timed_build(dataset, AS_OF)
    shutil.copyfile(warehouse, references / "after.duckdb")
    remove_next_day(dataset.data_dir)
    return {
        "before": references / "before.duckdb",
        "after": references / "after.duckdb",
        "full_seconds": full_seconds,
        "daily_seconds": daily_seconds,
    }


@pytest.mark.parametrize("fraction", KILL_AT)
def test_a_killed_full_build_reruns_to_the_clean_build(
    dataset: Dataset, clean_builds: dict[str, object], fraction: float
) -> None:
    remove_next_day(dataset.data_dir)
    (dataset.project_dir / DUCKDB_FILE).unlink()
    killed_build(dataset, AS_OF - timedelta(1), fraction * clean_builds["full_seconds"])
    timed_build(dataset, AS_OF - timedelta(1))
    assert_same_warehouse(dataset.project_dir / DUCKDB_FILE, clean_builds["before"])


@pytest.mark.parametrize("fraction", KILL_AT)
def test_a_killed_daily_run_reruns_to_the_clean_build(
    dataset: Dataset, clean_builds: dict[str, object], fraction: float
) -> None:
    shutil.copyfile(clean_builds["before"], dataset.project_dir / DUCKDB_FILE)
    add_next_day(dataset.data_dir)
    try:
        killed_build(dataset, AS_OF, fraction * clean_builds["daily_seconds"])
        timed_build(dataset, AS_OF)
    finally:
        remove_next_day(dataset.data_dir)
    assert_same_warehouse(dataset.project_dir / DUCKDB_FILE, clean_builds["after"])
