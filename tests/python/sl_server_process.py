"""The Semantic Layer API server as a subprocess on free loopback ports, for client tests.

dbt-sl-sdk reads its URL formats from the environment when `dbtsl` is first imported, so a
test module imports this module first (before dbtsl): importing it picks the two ports and
sets the formats.

With SAAS_KPIS_TEST_SERVE_TARGET=postgres (and the SAAS_KPIS_PG_* variables of a server, as
`make postgres-parity` sets them), the build is made on PostgreSQL, in a schema of its own named
after the project copy, published as a PostgreSQL snapshot and served from the warehouse.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb
import psycopg2
import requests
from adbc_driver_flightsql import DatabaseOptions
from adbc_driver_flightsql import dbapi as flightsql

from saas_kpis.project import DUCKDB_FILE, copy_project, project_env, venv_bin
from saas_kpis.semantic import MANIFEST_FILE
from saas_kpis.server.snapshots import publish, publish_target
from saas_kpis.server.warehouse_targets import WarehouseTarget


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


HOST = "127.0.0.1"
GRAPHQL_PORT, FLIGHT_PORT = free_port(), free_port()
GRAPHQL_URL = f"http://{HOST}:{GRAPHQL_PORT}/api/graphql"
os.environ["DBT_SL_GRAPHQL_URL_FORMAT"] = f"http://{{server_host}}:{GRAPHQL_PORT}/api/graphql"
os.environ["DBT_SL_ADBC_URL_FORMAT"] = f"grpc://{{server_host}}:{FLIGHT_PORT}"
TOKEN = "test-token-5c1d"
ENVIRONMENT_ID = 7
# The profile target the served build is made on: `dev` (DuckDB, served from a snapshot copy)
# or `postgres` (served from the warehouse).
SERVE_TARGET = os.environ.get("SAAS_KPIS_TEST_SERVE_TARGET", "dev")
ON_POSTGRES = SERVE_TARGET == "postgres"
DIALECT = "POSTGRES" if ON_POSTGRES else "DUCKDB"


def target_env(project_dir: Path, target: str = SERVE_TARGET) -> dict[str, str]:
    """dbt's, mf's and the server's environment for the project copy on `target`: on
    PostgreSQL its own schema, so that it clashes neither with the parity build (the profile's
    default schema) nor with another copy."""
    env = project_env(project_dir, target)
    if target == "postgres":
        env["SAAS_KPIS_PG_SCHEMA"] = "sl_" + re.sub(r"\W", "_", project_dir.name.lower())
    return env


def publish_build(project_dir: Path, target: str = SERVE_TARGET) -> Path:
    """Publish the project copy's finished build on `target` to its serving/, as `make publish`
    does; returns the snapshot."""
    manifest = project_dir / "target" / MANIFEST_FILE
    if target == "postgres":
        served_from = WarehouseTarget(adapter="postgres", profile="saas_kpis", target=target)
        return publish_target(served_from, manifest, project_dir / "serving")
    return publish(project_dir / DUCKDB_FILE, manifest, project_dir / "serving")


def warehouse_rows(project_dir: Path, sql: str) -> list[tuple]:
    """Rows of SQL run directly on the project copy's warehouse (not through the server)."""
    if ON_POSTGRES:
        env = target_env(project_dir)
        connection = psycopg2.connect(
            host=env.get("SAAS_KPIS_PG_HOST", "127.0.0.1"),
            port=env.get("SAAS_KPIS_PG_PORT", "5432"),
            user=env.get("SAAS_KPIS_PG_USER", "postgres"),
            password=env.get("SAAS_KPIS_PG_PASSWORD", ""),
            dbname=env.get("SAAS_KPIS_PG_DBNAME", "saas_kpis"),
        )
        try:
            with connection.cursor() as cursor:
                cursor.execute(sql)
                return cursor.fetchall()
        finally:
            connection.close()
    with duckdb.connect(str(project_dir / DUCKDB_FILE), read_only=True) as connection:
        return connection.execute(sql).fetchall()


def relation_name(project_dir: Path, model: str) -> str:
    """A model's relation as dbt built it (database, schema and name, quoted)."""
    nodes = json.loads((project_dir / "target" / "manifest.json").read_text())["nodes"]
    return next(
        node["relation_name"]
        for node in nodes.values()
        if node["resource_type"] == "model" and node["name"] == model
    )


def start_server(
    project_dir: Path,
    tokens: list[str],
    environment_id: int,
    log: Path,
    timeout: float = 90,
    extra_env: dict[str, str] | None = None,
) -> subprocess.Popen:
    """`python -m saas_kpis.server serve` on the project's serving/, ready to answer; `extra_env`
    sets more of the server's settings."""
    env = {
        **target_env(project_dir),
        "SAAS_KPIS_SERVING_DIR": str(project_dir / "serving"),
        "SAAS_KPIS_SL_TOKENS": ",".join(tokens),
        "SAAS_KPIS_SL_GRAPHQL_PORT": str(GRAPHQL_PORT),
        "SAAS_KPIS_SL_FLIGHT_PORT": str(FLIGHT_PORT),
        "SAAS_KPIS_SL_ENVIRONMENT_ID": str(environment_id),
        **(extra_env or {}),
    }
    with log.open("a") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "saas_kpis.server", "serve"],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    ready = {"query": f"query {{ environmentInfo(environmentId: {environment_id}) {{ dialect }} }}"}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"server exited with {process.returncode}: {log.read_text()[-2000:]}"
            )
        try:
            response = requests.post(
                GRAPHQL_URL,
                json=ready,
                headers={"authorization": f"bearer {tokens[-1]}"},
                timeout=2,
            )
            if response.status_code == 200 and response.json().get("data"):
                return process
        except requests.ConnectionError:
            pass
        time.sleep(0.3)
    stop_server(process)
    raise RuntimeError("server did not become ready")


def stop_server(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass(frozen=True)
class Served:
    project_dir: Path
    serving_dir: Path
    process: subprocess.Popen

    @property
    def env(self) -> dict[str, str]:
        """The environment for dbt and mf on the served build's target."""
        return target_env(self.project_dir)


def build_and_publish(directory: Path, target: str = SERVE_TARGET) -> Path:
    """One build of the shipped seeds in a copy of the project under `directory` on `target`,
    published to its serving/; returns the project copy. (The server needs no target: a
    snapshot says what it serves from.)"""
    project_dir = copy_project(directory)
    built = subprocess.run(
        [venv_bin("dbt"), "build"],
        cwd=project_dir,
        env={**target_env(project_dir, target), "SAAS_KPIS_THREADS": "2"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert built.returncode == 0, built.stdout[-3000:]
    publish_build(project_dir, target)
    return project_dir


@contextmanager
def serving(
    project_dir: Path,
    tokens: list[str] | None = None,
    extra_env: dict[str, str] | None = None,
    log_name: str = "server.log",
) -> Iterator[Served]:
    """The server on a built project's serving/ (by default with TOKEN and another token, for
    ENVIRONMENT_ID); stopped on exit."""
    process = start_server(
        project_dir,
        tokens or ["other-token", TOKEN],
        ENVIRONMENT_ID,
        project_dir / log_name,
        extra_env=extra_env,
    )
    try:
        yield Served(project_dir=project_dir, serving_dir=project_dir / "serving", process=process)
    finally:
        stop_server(process)


@contextmanager
def serve_shipped_build(directory: Path) -> Iterator[Served]:
    """One build of the shipped seeds, published and served with TOKEN (and another token) for
    ENVIRONMENT_ID; stopped on exit."""
    with serving(build_and_publish(directory)) as served:
        yield served


def adbc_connection(token: str = TOKEN) -> flightsql.Connection:
    """An ADBC Flight SQL connection to the server, as a BI tool opens it."""
    return flightsql.connect(
        f"grpc://{HOST}:{FLIGHT_PORT}",
        db_kwargs={
            DatabaseOptions.AUTHORIZATION_HEADER.value: f"Bearer {token}",
            f"{DatabaseOptions.RPC_CALL_HEADER_PREFIX.value}environmentid": str(ENVIRONMENT_ID),
        },
    )
