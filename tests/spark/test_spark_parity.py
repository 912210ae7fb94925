"""Every mart built on Apache Spark equals the DuckDB build, row by row.

`make spark-parity` runs this directory; the default pytest run does not
collect it (testpaths), so `make test` never starts Spark. It needs the
packages of requirements-spark.txt and Java 17.

The project is built twice from the shipped seeds: on DuckDB in a subprocess,
and on Spark (dbt-spark's `session` method) in this process through dbt's
Python entry point, so that the Spark session dbt used stays open for
reading the marts. The marts are every model under models/marts in the dbt
manifest; each is compared by its primary key, every column, with the
tolerance of the metric tests (comparison.py).
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pytest
from comparison import Comparison
from dbt.cli.main import dbtRunner, dbtRunnerResult
from pyspark.sql import SparkSession
from seed_files import UNREADABLE, Unreadable, corrupted, set_in_row

from saas_kpis.project import DUCKDB_FILE, copy_project, dbt

MARTS_DIR = "models/marts/"
# Incremental models elsewhere; on Spark the incremental_materialization macro
# makes them tables.
INCREMENTAL_STRATEGIES = ("delete+insert", "append")
INCREMENTAL_SELECTOR = " ".join(
    f"config.incremental_strategy:{strategy}" for strategy in INCREMENTAL_STRATEGIES
)
SHOWN_KEYS = 10


@dataclass(frozen=True)
class Mart:
    """A mart of one build: its relation and primary-key columns."""

    relation: str
    primary_key: tuple[str, ...]


@dataclass(frozen=True)
class Builds:
    duckdb_file: Path
    duckdb_marts: dict[str, Mart]
    spark_marts: dict[str, Mart]
    spark_manifest: dict[str, Any]
    spark: SparkSession
    spark_dir: Path


def invoke_dbt(project_dir: Path, *args: str) -> dbtRunnerResult:
    """dbt on the Spark target, in this process."""
    return dbtRunner().invoke(
        [
            *args,
            "--project-dir",
            str(project_dir),
            "--profiles-dir",
            str(project_dir / "profiles"),
            "--target",
            "spark",
        ]
    )


def run_dbt_in_process(project_dir: Path, *args: str) -> None:
    """Run dbt on the Spark target in this process; fail with the failed nodes."""
    result = invoke_dbt(project_dir, *args)
    if result.success:
        return
    failed = [
        f"{node.node.unique_id}: {node.status}: {node.message}"
        for node in getattr(result.result, "results", [])
        if str(node.status) not in {"success", "pass", "skipped"}
    ]
    raise AssertionError(
        f"dbt {' '.join(args)} on Spark failed: {result.exception or ''}\n" + "\n".join(failed)
    )


def load_manifest(project_dir: Path) -> dict[str, Any]:
    return json.loads((project_dir / "target" / "manifest.json").read_text())


def primary_key(manifest: dict[str, Any], model_id: str) -> tuple[str, ...]:
    """The model's primary-key test: a column tested unique and not_null, or
    a unique combination of columns."""
    tested: dict[str, set[str]] = {}
    combinations: list[tuple[str, ...]] = []
    for node in manifest["nodes"].values():
        if node["resource_type"] != "test" or node.get("attached_node") != model_id:
            continue
        metadata = node.get("test_metadata") or {}
        if metadata.get("name") == "unique_combination_of_columns":
            combinations.append(tuple(metadata["kwargs"]["combination_of_columns"]))
        elif metadata.get("name") in {"unique", "not_null"}:
            tested.setdefault(node["column_name"], set()).add(metadata["name"])
    keys = sorted(column for column, tests in tested.items() if tests == {"unique", "not_null"})
    if keys:
        return (keys[0],)
    assert combinations, f"{model_id} has no primary-key test"
    return sorted(combinations)[0]


def marts(manifest: dict[str, Any]) -> dict[str, Mart]:
    """{model name: Mart} for every enabled model under models/marts."""
    found = {
        node["name"]: Mart(node["relation_name"], primary_key(manifest, unique_id))
        for unique_id, node in manifest["nodes"].items()
        if node["resource_type"] == "model" and node["original_file_path"].startswith(MARTS_DIR)
    }
    assert found, "no mart in the manifest"
    return found


@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Builds]:
    duckdb_dir = copy_project(tmp_path_factory.mktemp("duckdb"))
    dbt(
        duckdb_dir,
        "build",
        "--target",
        "dev",
        "--resource-type",
        "seed",
        "--resource-type",
        "model",
    )

    spark_dir = copy_project(tmp_path_factory.mktemp("spark"))
    with pytest.MonkeyPatch.context() as environment:
        # Before the JVM starts: the warehouse and metastore of this copy,
        # loopback only, and timestamps read back in UTC.
        environment.setenv("SAAS_KPIS_SPARK_DIR", str(spark_dir / "target" / "spark"))
        environment.setenv("SPARK_LOCAL_IP", "127.0.0.1")
        environment.setenv("TZ", "UTC")
        time.tzset()
        # Seeds, models, data tests and unit tests.
        run_dbt_in_process(spark_dir, "build")
        # A second run of the models that are incremental on DuckDB: on Spark
        # they are tables, rebuilt in full, so the marts must not change.
        run_dbt_in_process(spark_dir, "run", "--select", INCREMENTAL_SELECTOR)
        spark = SparkSession.builder.getOrCreate()
        spark_manifest = load_manifest(spark_dir)
        yield Builds(
            duckdb_file=duckdb_dir / DUCKDB_FILE,
            duckdb_marts=marts(load_manifest(duckdb_dir)),
            spark_marts=marts(spark_manifest),
            spark_manifest=spark_manifest,
            spark=spark,
            spark_dir=spark_dir,
        )
        spark.stop()
    time.tzset()


def is_number(value: Any) -> bool:
    return isinstance(value, int | float | decimal.Decimal) and not isinstance(value, bool)


def keyed_rows(
    columns: list[str], rows: list[tuple], primary_key: tuple[str, ...]
) -> dict[tuple, dict[str, Any]]:
    positions = [columns.index(column) for column in primary_key]
    keyed = {
        tuple(row[position] for position in positions): dict(zip(columns, row, strict=True))
        for row in rows
    }
    assert len(keyed) == len(rows), f"duplicate primary keys {primary_key}"
    return keyed


def sort_key(key: tuple) -> tuple:
    return tuple(
        (value is None, str(value) if isinstance(value, dt.date) else value) for value in key
    )


def compare_mart(
    comparison: Comparison,
    name: str,
    expected: dict[tuple, dict[str, Any]],
    actual: dict[tuple, dict[str, Any]],
) -> None:
    missing = sorted(set(expected) - set(actual), key=sort_key)
    extra = sorted(set(actual) - set(expected), key=sort_key)
    if missing or extra:
        comparison.mismatches.append(
            f"{name}: {len(missing)} rows missing on Spark {missing[:SHOWN_KEYS]}, "
            f"{len(extra)} rows only on Spark {extra[:SHOWN_KEYS]}"
        )
    for key in sorted(set(expected) & set(actual), key=sort_key):
        for column, expected_value in expected[key].items():
            actual_value = actual[key][column]
            if is_number(expected_value):
                comparison.check(name, (key, column), actual_value, expected_value)
            else:
                comparison.check_exact(name, (key, column), actual_value, expected_value)


def test_spark_builds_the_same_marts(builds: Builds) -> None:
    assert sorted(builds.spark_marts) == sorted(builds.duckdb_marts)
    for name, mart in builds.duckdb_marts.items():
        assert builds.spark_marts[name].primary_key == mart.primary_key, name


def test_every_mart_on_spark_equals_duckdb(builds: Builds) -> None:
    comparison = Comparison()
    with duckdb.connect(str(builds.duckdb_file), read_only=True) as connection:
        for name, mart in sorted(builds.duckdb_marts.items()):
            cursor = connection.execute(f"select * from {mart.relation}")
            duckdb_columns = [column[0] for column in cursor.description]
            expected = keyed_rows(duckdb_columns, cursor.fetchall(), mart.primary_key)

            frame = builds.spark.sql(f"select * from {builds.spark_marts[name].relation}")
            assert frame.columns == duckdb_columns, f"{name}: columns differ"
            actual = keyed_rows(
                frame.columns, [tuple(row) for row in frame.collect()], mart.primary_key
            )
            assert expected, f"{name} is empty on DuckDB"
            compare_mart(comparison, name, expected, actual)
    comparison.assert_ok(builds.duckdb_marts)


def test_incremental_models_are_tables_on_spark(builds: Builds) -> None:
    incremental = [
        node
        for node in builds.spark_manifest["nodes"].values()
        if node["resource_type"] == "model"
        and node["config"].get("incremental_strategy") in INCREMENTAL_STRATEGIES
    ]
    assert incremental, f"no model with an incremental strategy of {INCREMENTAL_STRATEGIES}"
    for node in incremental:
        assert node["config"]["materialized"] == "table", node["name"]
        details = builds.spark.sql(f"describe table extended {node['relation_name']}").collect()
        table_type = {row[0]: row[1] for row in details}.get("Type")
        assert table_type == "MANAGED", f"{node['name']} is a {table_type} relation on Spark"


# Last, because each case reloads a seed: an unreadable value stops the seed load with one line
# naming the file, the line, the column, the value and the expected type, not Spark's
# CAST_INVALID_INPUT; with the file restored, the seed loads again.
@pytest.mark.parametrize("case", UNREADABLE, ids=lambda case: f"{case.seed}.{case.column}")
def test_unreadable_seed_value_names_file_line_column_value_and_type(
    builds: Builds, case: Unreadable
) -> None:
    project_dir = builds.spark_dir
    with corrupted(project_dir, case.seed, set_in_row(case.row, case.column, case.value)):
        result = invoke_dbt(project_dir, "seed", "--select", case.seed)
    assert not result.success
    messages = [str(node.message) for node in getattr(result.result, "results", [])]
    messages.append(str(result.exception or ""))
    assert any(case.message in message for message in messages), messages
    assert not any("CAST_INVALID_INPUT" in message for message in messages), messages
    run_dbt_in_process(project_dir, "seed", "--select", case.seed)
