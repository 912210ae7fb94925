"""The Semantic Layer API server as a subprocess on free loopback ports, for client tests.

dbt-sl-sdk reads its URL formats from the environment when `dbtsl` is first imported, so a
test module imports this module first (before dbtsl): importing it picks the two ports and
sets the formats.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests
from adbc_driver_flightsql import DatabaseOptions
from adbc_driver_flightsql import dbapi as flightsql

from saas_kpis.project import DUCKDB_FILE, copy_project, project_env, venv_bin
from saas_kpis.server.snapshots import publish


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
        **project_env(project_dir),
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


def build_and_publish(directory: Path) -> Path:
    """One build of the shipped seeds in a copy of the project under `directory`, published to
    its serving/; returns the project copy."""
    project_dir = copy_project(directory)
    built = subprocess.run(
        [venv_bin("dbt"), "build"],
        cwd=project_dir,
        env={**project_env(project_dir), "SAAS_KPIS_THREADS": "2"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert built.returncode == 0, built.stdout[-3000:]
    publish(
        project_dir / DUCKDB_FILE,
        project_dir / "target" / "semantic_manifest.json",
        project_dir / "serving",
    )
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
