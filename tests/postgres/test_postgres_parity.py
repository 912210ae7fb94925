"""PostgreSQL parity: every mart and every metric equals the DuckDB result.

The module builds two copies of the project, one on embedded DuckDB and one on
the PostgreSQL server named by the `SAAS_KPIS_PG_*` variables (the `postgres`
profile target), and compares them:

- every seed, as loaded, row by row;
- every mart (every model under models/marts, found in the dbt manifest), row
  by row in primary-key order, every column;
- every metric of the semantic manifest, queried through MetricFlow at its
  finest time grain;
- a few metrics by month and plan tier through the `mf` command itself;
- the alerts report and an `explain` of monthly NRR, run as their commands on each target.

After the build, the incremental models run a second time on both engines, so
that their incremental path (watermark look-ups, rebuild windows,
delete+insert) runs on PostgreSQL too before the comparison.

Numbers match with the relative tolerance of comparison.py (the engines add
doubles in different orders); everything else must be equal. It needs a
server, so it lives outside the default test paths: `make postgres-parity`
starts a throwaway server, sets the SAAS_KPIS_PG_* variables and runs it.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import duckdb
import psycopg2
import pytest
from comparison import Comparison, parse_number
from mf_cli import mf_query
from model_keys import primary_key
from throwaway_server import connection_parameters

from saas_kpis.project import (
    DUCKDB_FILE,
    REPO_ROOT,
    copy_project,
    dbt,
    project_env,
    venv_bin,
)

if not os.environ.get("SAAS_KPIS_PG_HOST"):
    raise RuntimeError(
        "the PostgreSQL parity tests need a server named by SAAS_KPIS_PG_HOST: "
        "`make postgres-parity` starts one"
    )

MARTS_PATH = "models/marts/"
METRIC_VALUES_FILE = "metric_values.json"
METRIC_VALUES_SCRIPT = REPO_ROOT / "tests" / "python" / "metric_values.py"
INCREMENTAL_STRATEGIES = ("delete+insert", "append")
INCREMENTAL_SELECTOR = " ".join(
    f"config.incremental_strategy:{strategy}" for strategy in INCREMENTAL_STRATEGIES
)
Row = tuple[Any, ...]


@dataclass(frozen=True)
class Mart:
    name: str
    primary_key: tuple[str, ...]


@dataclass(frozen=True)
class Table:
    columns: list[str]
    rows: list[Row]


def build_and_query(project_dir: Path, target: str) -> None:
    """dbt build on the target, a second (incremental) run of the incremental models, then
    every metric through MetricFlow."""
    dbt(project_dir, "build", target=target)
    dbt(project_dir, "run", "--select", INCREMENTAL_SELECTOR, target=target)
    completed = subprocess.run(
        [venv_bin("python"), str(METRIC_VALUES_SCRIPT), METRIC_VALUES_FILE],
        cwd=project_dir,
        env={**project_env(project_dir, target), "PYTHONPATH": str(REPO_ROOT)},
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"metric values on {target} failed:\n{completed.stderr[-5000:]}")


@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    """Both targets built from the shipped seeds, side by side."""
    project_dirs = {
        target: copy_project(tmp_path_factory.mktemp(f"parity_{target}"))
        for target in ("dev", "postgres")
    }
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = [
            pool.submit(build_and_query, path, target) for target, path in project_dirs.items()
        ]
        for future in futures:
            future.result()
    yield project_dirs


def manifest(project_dir: Path) -> dict[str, Any]:
    return json.loads((project_dir / "target" / "manifest.json").read_text())


def marts(project_dir: Path) -> dict[str, tuple[Mart, str]]:
    """{unique_id: (mart, relation name)} of every enabled model under models/marts."""
    nodes = manifest(project_dir)["nodes"]
    return {
        unique_id: (Mart(node["name"], primary_key(nodes, unique_id)), node["relation_name"])
        for unique_id, node in nodes.items()
        if node["resource_type"] == "model" and node["original_file_path"].startswith(MARTS_PATH)
    }


def seeds(project_dir: Path) -> dict[str, tuple[str, str]]:
    """{unique_id: (seed name, relation name)} of every enabled seed."""
    nodes = manifest(project_dir)["nodes"]
    return {
        unique_id: (node["name"], node["relation_name"])
        for unique_id, node in nodes.items()
        if node["resource_type"] == "seed"
    }


def duckdb_table(project_dir: Path, relation: str) -> Table:
    with duckdb.connect(str(project_dir / DUCKDB_FILE), read_only=True) as connection:
        cursor = connection.execute(f"select * from {relation}")
        return Table([column[0] for column in cursor.description], cursor.fetchall())


def postgres_table(relation: str) -> Table:
    connection = psycopg2.connect(**connection_parameters())
    try:
        with connection.cursor() as cursor:
            cursor.execute(f"select * from {relation}")
            return Table([column.name for column in cursor.description], cursor.fetchall())
    finally:
        connection.close()


def is_number(value: Any) -> bool:
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


def compare_value(comparison: Comparison, label: str, key: Any, actual: Any, expected: Any) -> None:
    """Numbers within tolerance (any numeric type); other values equal and of one type."""
    if is_number(expected) and is_number(actual):
        comparison.check(label, key, actual, expected)
    elif expected is None:
        comparison.check(label, key, actual, None)
    else:
        comparison.check_exact(label, key, (type(actual), actual), (type(expected), expected))


def compare_mart(comparison: Comparison, mart: Mart, duck: Table, postgres: Table) -> None:
    if postgres.columns != duck.columns:
        comparison.mismatches.append(f"{mart.name}: columns {postgres.columns} != {duck.columns}")
        return
    key_positions = [duck.columns.index(column) for column in mart.primary_key]

    def by_key(table: Table) -> dict[Row, Row]:
        keyed = {tuple(row[i] for i in key_positions): row for row in table.rows}
        assert len(keyed) == len(table.rows), f"{mart.name}: duplicate {mart.primary_key}"
        return keyed

    expected_rows, actual_rows = by_key(duck), by_key(postgres)
    for key in sorted(set(expected_rows) ^ set(actual_rows)):
        where = "DuckDB" if key in expected_rows else "PostgreSQL"
        comparison.mismatches.append(f"{mart.name} {key}: only on {where}")
    for key in sorted(expected_rows.keys() & actual_rows.keys()):
        actual, expected = actual_rows[key], expected_rows[key]
        for column, actual_value, expected_value in zip(
            duck.columns, actual, expected, strict=True
        ):
            compare_value(comparison, mart.name, (key, column), actual_value, expected_value)


def sort_key(row: Row) -> tuple:
    return tuple((value is None, value) for value in row)


def test_every_seed_loads_as_on_duckdb(builds: dict[str, Path]) -> None:
    """The seed loader of PostgreSQL (macros/load_csv_rows.sql) keeps every row and value."""
    duck_seeds, postgres_seeds = seeds(builds["dev"]), seeds(builds["postgres"])
    assert duck_seeds, "no seed in the manifest"
    assert duck_seeds.keys() == postgres_seeds.keys()
    comparison = Comparison()
    for unique_id, (name, duck_relation) in sorted(duck_seeds.items()):
        duck = duckdb_table(builds["dev"], duck_relation)
        postgres = postgres_table(postgres_seeds[unique_id][1])
        assert postgres.columns == duck.columns, name
        assert len(postgres.rows) == len(duck.rows), name
        expected_rows, actual_rows = (
            sorted(duck.rows, key=sort_key),
            sorted(postgres.rows, key=sort_key),
        )
        for index, (actual, expected) in enumerate(zip(actual_rows, expected_rows, strict=True)):
            for column, actual_value, expected_value in zip(
                duck.columns, actual, expected, strict=True
            ):
                compare_value(comparison, name, (index, column), actual_value, expected_value)
    comparison.assert_ok(name for name, _ in duck_seeds.values())


def test_every_mart_equals_duckdb(builds: dict[str, Path]) -> None:
    duck_marts, postgres_marts = marts(builds["dev"]), marts(builds["postgres"])
    assert duck_marts.keys() == postgres_marts.keys()
    assert len(duck_marts) >= 1, "no model under models/marts in the manifest"
    comparison = Comparison()
    for unique_id, (mart, duck_relation) in sorted(duck_marts.items()):
        postgres_relation = postgres_marts[unique_id][1]
        duck = duckdb_table(builds["dev"], duck_relation)
        postgres = postgres_table(postgres_relation)
        assert duck.rows, f"{mart.name} is empty on DuckDB: nothing to compare"
        compare_mart(comparison, mart, duck, postgres)
    comparison.assert_ok(mart.name for mart, _ in duck_marts.values())


def semantic_manifest_metrics(project_dir: Path) -> set[str]:
    semantic_manifest = json.loads((project_dir / "target" / "semantic_manifest.json").read_text())
    return {metric["name"] for metric in semantic_manifest["metrics"]}


def test_every_metric_equals_duckdb(builds: dict[str, Path]) -> None:
    duck = json.loads((builds["dev"] / METRIC_VALUES_FILE).read_text())
    postgres = json.loads((builds["postgres"] / METRIC_VALUES_FILE).read_text())
    metrics = semantic_manifest_metrics(builds["dev"])
    assert metrics, "no metric in the semantic manifest"
    assert set(duck) == metrics
    assert set(postgres) == metrics
    comparison = Comparison()
    for metric in sorted(metrics):
        expected, actual = duck[metric], postgres[metric]
        assert actual["group_by"] == expected["group_by"], metric
        assert actual["columns"] == expected["columns"] == [expected["group_by"], metric]
        expected_rows = dict(map(tuple, expected["rows"]))
        actual_rows = dict(map(tuple, actual["rows"]))
        assert len(expected_rows) == len(expected["rows"]), f"{metric}: duplicate periods"
        for period in sorted(set(expected_rows) ^ set(actual_rows)):
            where = "DuckDB" if period in expected_rows else "PostgreSQL"
            comparison.mismatches.append(f"{metric} {period}: only on {where}")
        for period in sorted(set(expected_rows) & set(actual_rows)):
            compare_value(comparison, metric, period, actual_rows[period], expected_rows[period])
    comparison.assert_ok(sorted(metrics))


def test_mf_cli_by_segment_equals_duckdb(builds: dict[str, Path]) -> None:
    """The `mf` command itself works on the postgres target, through the segment join."""
    metrics = ["mrr", "net_revenue_retention", "weekly_active_accounts"]
    group_by = ["metric_time__month", "account_month__plan_tier"]
    expected_rows = mf_query(builds["dev"], metrics, group_by, target="dev")
    actual_rows = mf_query(builds["postgres"], metrics, group_by, target="postgres")

    def keyed(rows: list[dict[str, str]]) -> dict[tuple[str, ...], dict[str, str]]:
        return {tuple(row[column] for column in group_by): row for row in rows}

    expected, actual = keyed(expected_rows), keyed(actual_rows)
    assert actual.keys() == expected.keys()
    comparison = Comparison()
    for key in sorted(expected):
        for metric in metrics:
            expected_value, actual_value = expected[key][metric], actual[key][metric]
            comparison.check(
                metric,
                key,
                parse_number(actual_value),
                None if expected_value == "" else Fraction(expected_value),
            )
    comparison.assert_ok(metrics)


def run_module(project_dir: Path, target: str, *args: str) -> subprocess.CompletedProcess[str]:
    """`python -m ...` of the project's tooling on a build, on its profile target."""
    module, *rest = args
    return subprocess.run(
        [venv_bin("python"), "-m", module, "--project-dir", str(project_dir), *rest],
        cwd=REPO_ROOT,
        env={**project_env(project_dir, target), "PYTHONPATH": str(REPO_ROOT)},
        capture_output=True,
        text=True,
        check=False,
    )


def leaves(value: Any, path: tuple = ()) -> Iterator[tuple[tuple, Any]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from leaves(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from leaves(item, (*path, index))
    else:
        yield path, value


def test_alerts_and_explain_equal_duckdb(builds: dict[str, Path], tmp_path: Path) -> None:
    """`make alerts` and `make explain` on the postgres target give DuckDB's answers."""
    outputs: dict[str, dict[str, Any]] = {}
    for target, project_dir in builds.items():
        report = tmp_path / f"alerts_{target}.json"
        alerts = run_module(
            project_dir, target, "saas_kpis.alerts", "--no-send", "--report", str(report)
        )
        assert alerts.returncode == 0, alerts.stdout + alerts.stderr
        explained = run_module(
            project_dir,
            target,
            "saas_kpis.drivers",
            "explain",
            "--metric",
            "net_revenue_retention_monthly",
            "--period",
            "2026-05",
            "--json",
        )
        assert explained.returncode == 0, explained.stderr
        alerts_report = json.loads(report.read_text())
        alerts_report.pop("generated_at")
        outputs[target] = {"alerts": alerts_report, "explain": json.loads(explained.stdout)}
    assert outputs["dev"]["alerts"]["firing"] > 0
    expected, actual = dict(leaves(outputs["dev"])), dict(leaves(outputs["postgres"]))
    assert actual.keys() == expected.keys()
    comparison = Comparison()
    for path, expected_value in expected.items():
        if isinstance(expected_value, float):
            comparison.check(path[0], path[1:], actual[path], expected_value)
        else:
            comparison.check_exact(path[0], path[1:], actual[path], expected_value)
    comparison.assert_ok(["alerts", "explain"])
