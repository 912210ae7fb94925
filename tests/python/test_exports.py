"""Exports of the saved queries for SQL-only BI tools (`python -m saas_kpis.exports`).

One copy of the project is built on the shipped seeds and exported. Each
export must equal `mf query --saved-query <name>`: the same columns in the
same order and every row, numbers compared with the rules of comparison.py.
The other tests work on copies of that build: regeneration (stale exports
dropped, nothing outside the exports schema touched, tables or views as each
saved query declares), declared schemas and aliases, and failures (the saved
query is named, its old export does not survive).
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import duckdb
import pytest
import yaml
from comparison import Comparison
from mf_cli import mf_query

from saas_kpis.project import DUCKDB_FILE, REPO_ROOT, copy_project, dbt, project_env

SAVED_QUERIES_DIR = Path("semantic_models") / "saved_queries"
TEAM_YML = SAVED_QUERIES_DIR / "team.yml"
EXPORTS_SCHEMA = "exports"
REMOVED_SAVED_QUERY = "team_wau_trend"
BROKEN_SAVED_QUERY = "broken_export"
# The warehouse rejects this filter (text plus a number), so the export fails.
BROKEN_SAVED_QUERY_YML = f"""
  - name: {BROKEN_SAVED_QUERY}
    label: Broken export
    description: A saved query whose filter the warehouse rejects.
    query_params:
      metrics:
        - mrr
      group_by:
        - TimeDimension('metric_time', 'month')
      where:
        - "{{{{ Dimension('account_month__plan_tier') }}}} + 1 > 0"
    exports:
      - name: {BROKEN_SAVED_QUERY}
        config:
          export_as: table
"""


def saved_query_metrics(project_dir: Path) -> dict[str, list[str]]:
    """{saved query: its metrics} of the saved queries that declare an export, from the YAML."""
    result = {}
    for path in sorted((project_dir / SAVED_QUERIES_DIR).glob("*.yml")):
        for saved_query in yaml.safe_load(path.read_text())["saved_queries"]:
            if saved_query.get("exports"):
                result[saved_query["name"]] = saved_query["query_params"]["metrics"]
    return result


def edit_saved_queries(project_dir: Path, edit: Callable[[list[dict]], list[dict]]) -> None:
    """Rewrite every saved-query file through edit, then parse the project again."""
    for path in sorted((project_dir / SAVED_QUERIES_DIR).glob("*.yml")):
        document = yaml.safe_load(path.read_text())
        document["saved_queries"] = edit(document["saved_queries"])
        path.write_text(yaml.safe_dump(document, sort_keys=False))
    dbt(project_dir, "parse")


def run_exports(
    project_dir: Path, *args: str, check: bool = True
) -> subprocess.CompletedProcess[str]:
    env = project_env(project_dir)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    completed = subprocess.run(
        [sys.executable, "-m", "saas_kpis.exports", "--project-dir", str(project_dir), *args],
        cwd=project_dir,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if check and completed.returncode != 0:
        raise RuntimeError(f"exports failed:\n{completed.stdout}\n{completed.stderr}")
    return completed


def read_relation(project_dir: Path, schema: str, name: str) -> tuple[list[str], list[tuple]]:
    with duckdb.connect(str(project_dir / DUCKDB_FILE), read_only=True) as connection:
        cursor = connection.execute(f'select * from "{schema}"."{name}"')
        columns = [description[0] for description in cursor.description]
        return columns, cursor.fetchall()


def relations(project_dir: Path) -> dict[tuple[str, str], str]:
    """{(schema, name): table type} of every relation in the warehouse."""
    with duckdb.connect(str(project_dir / DUCKDB_FILE), read_only=True) as connection:
        rows = connection.execute(
            "select table_schema, table_name, table_type from information_schema.tables"
        ).fetchall()
    return {(schema, name): kind for schema, name, kind in rows}


def exports_of(project_dir: Path) -> dict[str, str]:
    return {
        name: kind
        for (schema, name), kind in relations(project_dir).items()
        if schema == EXPORTS_SCHEMA
    }


def copy_build(source: Path, destination: Path) -> Path:
    """A copy of a built project (warehouse and target/ included) to change freely."""
    shutil.copytree(source, destination, ignore=shutil.ignore_patterns("logs"))
    return destination


def group_value(column: str, value: object) -> object:
    """A group-by value of either side, comparable: a day for time columns, else text."""
    if value is None or value == "":
        return None
    if column.startswith("metric_time__"):
        return dt.date.fromisoformat(str(value)[:10])
    return str(value)


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    project_dir = copy_project(tmp_path_factory.mktemp("exports"))
    dbt(project_dir, "build")
    run_exports(project_dir)
    return project_dir


def keyed(
    name: str, columns: list[str], rows: list, metrics: list[str]
) -> dict[tuple, dict[str, object]]:
    """Rows (tuples or dicts) by their group-by values; the keys must be unique."""
    group_columns = [column for column in columns if column not in metrics]
    assert set(columns) - set(group_columns) == set(metrics), f"{name}: metric columns"
    by_key = {}
    for row in rows:
        values = row if isinstance(row, dict) else dict(zip(columns, row, strict=True))
        by_key[tuple(group_value(column, values[column]) for column in group_columns)] = values
    assert len(by_key) == len(rows), f"{name}: duplicate group-by keys"
    return by_key


def compare_rows(
    comparison: Comparison,
    name: str,
    metrics: list[str],
    actual: dict[tuple, dict[str, object]],
    expected: dict[tuple, dict[str, object]],
) -> None:
    """The same keys on both sides, then every metric value with comparison.py's rules."""
    missing = sorted(set(expected) - set(actual), key=repr)
    extra = sorted(set(actual) - set(expected), key=repr)
    assert not missing and not extra, f"{name}: missing rows {missing}, extra rows {extra}"
    for key, expected_row in expected.items():
        for metric in metrics:
            value = expected_row[metric]
            if isinstance(value, str):
                value = None if value == "" else Fraction(value)
            elif isinstance(value, float):
                value = Fraction(value)
            comparison.check(f"{name}.{metric}", key, actual[key][metric], value)


def test_every_export_equals_its_saved_query(exported: Path) -> None:
    saved_queries = saved_query_metrics(exported)
    assert exports_of(exported) == dict.fromkeys(saved_queries, "BASE TABLE")
    exports = {name: read_relation(exported, EXPORTS_SCHEMA, name) for name in saved_queries}
    comparison = Comparison()
    for name, metrics in saved_queries.items():
        expected_rows = mf_query(exported, [], [], saved_query=name)
        assert expected_rows, f"mf query --saved-query {name} returned no rows"
        columns, rows = exports[name]
        assert columns == list(expected_rows[0]), f"{name}: columns differ from mf query"
        compare_rows(
            comparison,
            name,
            metrics,
            keyed(name, columns, rows, metrics),
            keyed(name, columns, expected_rows, metrics),
        )
    comparison.assert_ok(
        [f"{name}.{metric}" for name, metrics in saved_queries.items() for metric in metrics]
    )


def assert_same_exports(
    project_dir: Path,
    expected: dict[str, tuple[list[str], list[tuple]]],
    metrics: dict[str, list[str]],
) -> None:
    comparison = Comparison()
    for name, (columns, rows) in expected.items():
        actual_columns, actual_rows = read_relation(project_dir, EXPORTS_SCHEMA, name)
        assert actual_columns == columns, f"{name}: columns changed"
        compare_rows(
            comparison,
            name,
            metrics[name],
            keyed(name, columns, actual_rows, metrics[name]),
            keyed(name, columns, rows, metrics[name]),
        )
    comparison.assert_ok([f"{name}.{metric}" for name in expected for metric in metrics[name]])


def test_regeneration_replaces_exports_and_drops_stale_ones(exported: Path, tmp_path: Path) -> None:
    project_dir = copy_build(exported, tmp_path / "project")
    saved_queries = saved_query_metrics(project_dir)
    assert REMOVED_SAVED_QUERY in saved_queries
    kept = sorted(set(saved_queries) - {REMOVED_SAVED_QUERY})
    before = {name: read_relation(project_dir, EXPORTS_SCHEMA, name) for name in kept}
    with duckdb.connect(str(project_dir / DUCKDB_FILE)) as connection:
        # An outdated export, and a table of the same name outside the exports schema.
        connection.execute(f"delete from {EXPORTS_SCHEMA}.{kept[0]}")
        connection.execute("create schema other")
        connection.execute(f"create table other.{REMOVED_SAVED_QUERY} as select 1 as kept")
    edit_saved_queries(
        project_dir, lambda queries: [q for q in queries if q["name"] != REMOVED_SAVED_QUERY]
    )
    outside_before = {
        key: kind for key, kind in relations(project_dir).items() if key[0] != "exports"
    }

    first = run_exports(project_dir)
    assert f"dropped stale export {EXPORTS_SCHEMA}.{REMOVED_SAVED_QUERY}" in first.stdout
    assert exports_of(project_dir) == dict.fromkeys(kept, "BASE TABLE")
    assert_same_exports(project_dir, before, saved_queries)
    outside = {key: kind for key, kind in relations(project_dir).items() if key[0] != "exports"}
    assert outside == outside_before

    # Declared as views and run again: every export replaced in place, with the same rows.
    def as_views(queries: list[dict]) -> list[dict]:
        for query in queries:
            for export in query.get("exports", []):
                export["config"]["export_as"] = "view"
        return queries

    edit_saved_queries(project_dir, as_views)
    second = run_exports(project_dir)
    assert "dropped stale" not in second.stdout
    assert exports_of(project_dir) == dict.fromkeys(kept, "VIEW")
    assert_same_exports(project_dir, before, saved_queries)
    assert relations(project_dir)[("other", REMOVED_SAVED_QUERY)] == "BASE TABLE"


def test_failure_names_the_saved_query(exported: Path, tmp_path: Path) -> None:
    project_dir = copy_build(exported, tmp_path / "project")
    with (project_dir / TEAM_YML).open("a") as saved_queries_file:
        saved_queries_file.write(BROKEN_SAVED_QUERY_YML)
    dbt(project_dir, "parse")
    with duckdb.connect(str(project_dir / DUCKDB_FILE)) as connection:
        connection.execute(f"create table {EXPORTS_SCHEMA}.{BROKEN_SAVED_QUERY} as select 1 as old")

    failed = run_exports(project_dir, check=False)
    assert failed.returncode != 0
    assert "1 saved query failed to export" in failed.stderr
    assert f"  {BROKEN_SAVED_QUERY}: " in failed.stderr
    assert "Binder Error" in failed.stderr  # the warehouse's reason follows the name
    assert "Traceback" not in failed.stderr
    # The others are exported; the broken one's previous export is gone.
    assert exports_of(project_dir) == dict.fromkeys(saved_query_metrics(exported), "BASE TABLE")

    refused = run_exports(project_dir, "--schema", "main", check=False)
    assert refused.returncode != 0
    assert "exports schema 'main' holds dbt models" in refused.stderr


def test_declared_schema_alias_and_undeclared_queries(exported: Path, tmp_path: Path) -> None:
    project_dir = copy_build(exported, tmp_path / "project")
    saved_queries = saved_query_metrics(project_dir)
    moved, dropped = sorted(saved_queries)[:2]

    def declare(queries: list[dict]) -> list[dict]:
        for query in queries:
            if query["name"] == moved:
                query["exports"][0]["config"].update(schema="bi_other", alias="renamed_export")
            elif query["name"] == dropped:
                del query["exports"]
        return queries

    edit_saved_queries(project_dir, declare)
    completed = run_exports(project_dir)
    assert f"dropped stale export {EXPORTS_SCHEMA}.{moved}" in completed.stdout
    assert f"dropped stale export {EXPORTS_SCHEMA}.{dropped}" in completed.stdout
    expected = dict.fromkeys(sorted(set(saved_queries) - {moved, dropped}), "BASE TABLE")
    assert exports_of(project_dir) == expected
    assert relations(project_dir)[("bi_other", "renamed_export")] == "BASE TABLE"
    columns, rows = read_relation(exported, EXPORTS_SCHEMA, moved)
    renamed_columns, renamed_rows = read_relation(project_dir, "bi_other", "renamed_export")
    assert renamed_columns == columns
    metrics = saved_queries[moved]
    comparison = Comparison()
    compare_rows(
        comparison,
        moved,
        metrics,
        keyed(moved, columns, renamed_rows, metrics),
        keyed(moved, columns, rows, metrics),
    )
    comparison.assert_ok([f"{moved}.{metric}" for metric in metrics])


def test_two_exports_of_one_name_are_refused(exported: Path, tmp_path: Path) -> None:
    project_dir = copy_build(exported, tmp_path / "project")
    first, second = sorted(saved_query_metrics(project_dir))[:2]

    def collide(queries: list[dict]) -> list[dict]:
        for query in queries:
            if query["name"] == second:
                query["exports"][0]["config"]["alias"] = first
        return queries

    edit_saved_queries(project_dir, collide)
    refused = run_exports(project_dir, check=False)
    assert refused.returncode != 0
    assert f"{EXPORTS_SCHEMA}.{first} is exported by both {first} and {second}" in refused.stderr
    assert "Traceback" not in refused.stderr
