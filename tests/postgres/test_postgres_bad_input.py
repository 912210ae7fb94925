"""Bad seed files on PostgreSQL: the same clear failures as on DuckDB.

An unreadable value stops the seed load with one line naming the file, the line, the column, the
value and the expected type (not PostgreSQL's "invalid input syntax"); a seed without a contract
column fails naming the table and the column; an unexpected column is a warning by name. Runs
with the parity tests (`make postgres-parity`), on the throwaway server, in its own schema.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import psycopg2
import pytest
from seed_files import (
    UNREADABLE,
    Unreadable,
    corrupted,
    read_rows,
    seed_path,
    set_in_row,
    write_rows,
)
from throwaway_server import connection_parameters

from saas_kpis.project import copy_project, project_env, venv_bin

if not os.environ.get("SAAS_KPIS_PG_HOST"):
    raise RuntimeError(
        "the PostgreSQL tests need a server named by SAAS_KPIS_PG_HOST: "
        "`make postgres-parity` starts one"
    )

SCHEMA = "bad_input"


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_project(tmp_path_factory.mktemp("pg_bad_input"))


def seed(project: Path, name: str) -> subprocess.CompletedProcess[str]:
    """`dbt seed` of one seed on the postgres target; stdout and stderr together."""
    environment = project_env(project, "postgres") | {"SAAS_KPIS_PG_SCHEMA": SCHEMA}
    return subprocess.run(
        [venv_bin("dbt"), "seed", "--select", name, "--full-refresh"],
        cwd=project,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        check=False,
    )


@pytest.mark.parametrize("case", UNREADABLE, ids=lambda case: f"{case.seed}.{case.column}")
def test_unreadable_value_names_file_line_column_value_and_type(
    project: Path, case: Unreadable
) -> None:
    with corrupted(project, case.seed, set_in_row(case.row, case.column, case.value)):
        result = seed(project, case.seed)
    assert result.returncode != 0, result.stdout
    assert case.message in result.stdout, result.stdout
    assert "invalid input syntax" not in result.stdout
    assert "out of range" not in result.stdout
    # The file restored, the seed loads.
    assert seed(project, case.seed).returncode == 0


def test_missing_column_fails_and_unexpected_column_warns(project: Path) -> None:
    path = seed_path(project, "billing_plans")
    original = path.read_text()
    fieldnames, rows = read_rows(path)
    try:
        without = [{k: v for k, v in row.items() if k != "plan_tier"} for row in rows]
        write_rows(path, [name for name in fieldnames if name != "plan_tier"], without)
        missing = seed(project, "billing_plans")
        assert missing.returncode != 0
        assert (
            "Missing column in raw table billing_plans (seeds/billing/billing_plans.csv): "
            "plan_tier" in missing.stdout
        ), missing.stdout
        for row in rows:
            row["legacy_code"] = "x"
        write_rows(path, [*fieldnames, "legacy_code"], rows)
        extra = seed(project, "billing_plans")
        assert extra.returncode == 0, extra.stdout
        assert "Unexpected column in raw table billing_plans" in extra.stdout
        assert "legacy_code (not in the contract, ignored)" in extra.stdout
    finally:
        path.write_text(original)


# The date and timestamp check of PostgreSQL before 16 (no pg_input_is_valid): every value it
# lets through must cast, and each bad calendar value in ISO form must be caught.
READABLE = ["2024-02-29", "2026-06-30", " 2026-01-01 ", "1999-12-31"]
READABLE_TIMES = ["2026-06-30 13:45:00", "2026-06-30T13:45", "2026-06-30 23:59:59.123456"]
UNREADABLE_DATES = ["2023-02-29", "2026-13-01", "2026-00-10", "2026-04-31", "0000-01-01"]
UNREADABLE_DATES += ["01/02/2024", "2026-6-1", "yesterday", "", "2026-06-30x"]
UNREADABLE_TIMES = ["2026-06-30 25:00:00", "2026-06-30 12:60:00", "2026-06-30 12:00:61"]
UNREADABLE_TIMES += ["2024-02-30 10:00:00", "2026-06-30 1:00"]


def date_check(project: Path, values: list[str], with_time: bool) -> dict[str, bool]:
    """{value: unreadable} by the macro, through `dbt show` on the postgres target."""
    rows = ", ".join(f"({index}, '{value}')" for index, value in enumerate(values))
    sql = (
        "select position, {{ postgres_date_is_unreadable('raw_value', "
        f"with_time={with_time}) }}}} as unreadable from (values {rows}) as t(position, raw_value)"
    )
    environment = project_env(project, "postgres") | {"SAAS_KPIS_PG_SCHEMA": SCHEMA}
    result = subprocess.run(
        [
            venv_bin("dbt"),
            "show",
            "--inline",
            sql,
            "--limit",
            "-1",
            "--output",
            "json",
            "--log-format",
            "json",
        ],
        cwd=project,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    for line in result.stdout.splitlines():
        event = json.loads(line)
        preview = event.get("data", {}).get("preview")
        if preview:
            return {values[row["position"]]: row["unreadable"] for row in json.loads(preview)}
    raise AssertionError(f"no preview in dbt show's output: {result.stdout}")


def casts(value: str, sql_type: str) -> bool:
    with psycopg2.connect(**connection_parameters()) as connection, connection.cursor() as cursor:
        try:
            cursor.execute(f"select cast(%s as {sql_type})", (value,))
            return True
        except psycopg2.Error:
            return False


@pytest.mark.parametrize("with_time", [False, True], ids=["date", "timestamp"])
def test_date_check_before_postgres_16_agrees_with_the_cast(project: Path, with_time: bool) -> None:
    sql_type = "timestamp" if with_time else "date"
    good = READABLE + (READABLE_TIMES if with_time else [])
    bad = UNREADABLE_DATES + (UNREADABLE_TIMES if with_time else [])
    verdicts = date_check(project, good + bad, with_time)
    assert {value for value in good if verdicts[value]} == set()
    assert {value for value in bad if not verdicts[value]} == set()
    # Whatever passes the check, PostgreSQL reads; what PostgreSQL cannot read is caught.
    for value, unreadable in verdicts.items():
        if not unreadable:
            assert casts(value, sql_type), value
        elif not casts(value, sql_type):
            assert unreadable, value
