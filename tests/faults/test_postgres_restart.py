"""PostgreSQL restarted under a running `dbt build`: a clear failure, then a rerun that works.

Runs under `tests/postgres/throwaway_server.py` (as `make faults` does), which names the
server's data and binary directories. The reference is a clean build in its own schema; the
faulted build runs in another schema, the server is restarted in immediate mode (as a crash
and recovery would) part-way through, and the rerun must equal the reference in every mart.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import psycopg2
import pytest
from throwaway_server import SERVER_USER, connection_parameters

from saas_kpis.project import copy_project, project_env, venv_bin

if not os.environ.get("SAAS_KPIS_PG_DATA_DIR"):
    raise RuntimeError("the PostgreSQL fault test needs the throwaway server: run `make faults`")

DOUBLE_PLACES = 6
RESTART_AT = 0.4


def build(project_dir: Path, schema: str) -> subprocess.Popen:
    env = {**project_env(project_dir, target="postgres"), "SAAS_KPIS_PG_SCHEMA": schema}
    return subprocess.Popen(
        [venv_bin("dbt"), "build", "--vars", json.dumps({"as_of_date": "2026-06-30"})],
        cwd=project_dir,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def restart_server() -> None:
    pg_ctl = Path(os.environ["SAAS_KPIS_PG_BIN_DIR"]) / "pg_ctl"
    command = [str(pg_ctl), "--pgdata", os.environ["SAAS_KPIS_PG_DATA_DIR"]]
    command += ["--mode", "immediate", "--wait", "restart"]
    if os.geteuid() == 0:
        command = ["runuser", "-u", SERVER_USER, "--", *command]
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def mart_fingerprints(schema: str) -> dict[str, list[tuple]]:
    """Every mart of a schema's build as sorted rows, doubles rounded."""
    connection = psycopg2.connect(**connection_parameters())
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "select table_name, column_name, data_type from information_schema.columns "
                "where table_schema = %s order by table_name, ordinal_position",
                (schema,),
            )
            columns: dict[str, list[str]] = {}
            for table, column, data_type in cursor.fetchall():
                quoted = f'"{column}"'
                columns.setdefault(table, []).append(
                    f"round({quoted}::numeric, {DOUBLE_PLACES})"
                    if data_type == "double precision"
                    else quoted
                )
            result = {}
            for table, select in columns.items():
                cursor.execute(f'select {", ".join(select)} from "{schema}"."{table}"')
                result[table] = sorted(cursor.fetchall(), key=repr)
            return result
    finally:
        connection.close()


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_project(tmp_path_factory.mktemp("pg_restart"))


def test_a_restart_fails_the_build_clearly_and_the_rerun_equals_a_clean_build(
    project: Path,
) -> None:
    started = time.monotonic()
    clean = build(project, "clean")
    output, _ = clean.communicate(timeout=1200)
    assert clean.returncode == 0, output[-3000:]
    clean_seconds = time.monotonic() - started

    faulted = build(project, "restarted")
    time.sleep(RESTART_AT * clean_seconds)
    assert faulted.poll() is None, "the build finished before the restart"
    restart_server()
    output, _ = faulted.communicate(timeout=1200)
    assert faulted.returncode != 0, "a build whose database restarted must fail"
    assert "Traceback" not in output
    assert "Database Error" in output or "connection" in output.lower(), output[-3000:]

    rerun = build(project, "restarted")
    output, _ = rerun.communicate(timeout=1200)
    assert rerun.returncode == 0, output[-3000:]
    assert mart_fingerprints("restarted") == mart_fingerprints("clean")
