"""The server killed and restarted while clients query: a clean error or the right answer;
a damaged snapshot published under the running server: refused, and the answers stay.

Clients of both transports (dbt-sl-sdk over GraphQL, ADBC over Flight SQL) query in a loop;
the server is killed (SIGKILL, as an out-of-memory kill would) and started again on the same
ports. Every answer a client gets must equal the published build's; a query in flight when the
server dies fails with an error, never with a wrong or partial result; after the restart the
same clients' new sessions are answered again.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pytest
from sl_server_process import FLIGHT_PORT, HOST, start_server, stop_server

# isort: split
import adbc_driver_flightsql.dbapi as flightsql
from adbc_driver_flightsql import DatabaseOptions
from dbtsl import SemanticLayerClient

from saas_kpis.project import DUCKDB_FILE, copy_project, dbt
from saas_kpis.server.snapshots import publish

TOKEN = "restart-token"
ENVIRONMENT_ID = 3
STATEMENT = (
    "{{ semantic_layer.query(metrics=['mrr'], group_by=[TimeDimension('metric_time', 'month')], "
    "order_by=['metric_time__month']) }}"
)
CLIENTS_PER_TRANSPORT = 3


@dataclass
class Outcomes:
    """What the clients saw, per phase."""

    answers: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    wrong: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answered(self, phase: str) -> None:
        with self.lock:
            self.answers[phase] = self.answers.get(phase, 0) + 1


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    project_dir = copy_project(tmp_path_factory.mktemp("restart"))
    dbt(project_dir, "build")
    publish(
        project_dir / DUCKDB_FILE,
        project_dir / "target" / "semantic_manifest.json",
        project_dir / "serving",
    )
    return project_dir


def sdk_query() -> pa.Table:
    client = SemanticLayerClient(environment_id=ENVIRONMENT_ID, auth_token=TOKEN, host=HOST)
    with client.session():
        return client.query(
            metrics=["mrr"], group_by=["metric_time__month"], order_by=["metric_time__month"]
        )


def adbc_query() -> pa.Table:
    with (
        flightsql.connect(
            f"grpc://{HOST}:{FLIGHT_PORT}",
            db_kwargs={
                DatabaseOptions.AUTHORIZATION_HEADER.value: f"Bearer {TOKEN}",
                f"{DatabaseOptions.RPC_CALL_HEADER_PREFIX.value}environmentid": str(ENVIRONMENT_ID),
            },
        ) as connection,
        connection.cursor() as cursor,
    ):
        cursor.execute(STATEMENT)
        return cursor.fetch_arrow_table()


def values(table: pa.Table) -> list[tuple]:
    return [tuple(str(value) for value in row.values()) for row in table.to_pylist()]


@pytest.fixture
def server(project: Path, tmp_path: Path) -> Iterator[list[subprocess.Popen]]:
    processes: list[subprocess.Popen] = []
    yield processes
    for process in processes:
        stop_server(process)


def test_clients_see_errors_or_right_answers_across_a_restart(
    project: Path, tmp_path: Path, server: list[subprocess.Popen]
) -> None:
    log = tmp_path / "server.log"
    server.append(start_server(project, [TOKEN], ENVIRONMENT_ID, log))
    expected = {"sdk": values(sdk_query()), "adbc": values(adbc_query())}
    assert expected["sdk"] == expected["adbc"] and len(expected["sdk"]) > 12
    outcomes = Outcomes()
    phase = ["before"]
    stop = threading.Event()

    def client(kind: str) -> None:
        query = sdk_query if kind == "sdk" else adbc_query
        while not stop.is_set():
            current = phase[0]
            try:
                result = values(query())
            except Exception as error:
                with outcomes.lock:
                    outcomes.errors.append(f"{kind}: {type(error).__name__}: {error}")
                time.sleep(0.1)
                continue
            if result != expected[kind]:
                with outcomes.lock:
                    outcomes.wrong.append(f"{kind} during {current}: {result[:3]}")
            outcomes.answered(current)

    threads = [
        threading.Thread(target=client, args=(kind,), daemon=True)
        for kind in ("sdk", "adbc")
        for _ in range(CLIENTS_PER_TRANSPORT)
    ]
    for thread in threads:
        thread.start()
    time.sleep(3)
    phase[0] = "down"
    server[0].send_signal(signal.SIGKILL)
    server[0].wait()
    time.sleep(2)
    phase[0] = "restarted"
    server.append(start_server(project, [TOKEN], ENVIRONMENT_ID, log))
    time.sleep(5)
    stop.set()
    for thread in threads:
        thread.join(timeout=60)

    assert not outcomes.wrong, outcomes.wrong[:5]
    assert outcomes.answers.get("before", 0) > 0 and outcomes.answers.get("restarted", 0) > 0
    assert outcomes.errors, "no client was refused while the server was down"
    assert not any("Traceback" in error for error in outcomes.errors), outcomes.errors[:3]


def test_a_damaged_newest_snapshot_is_refused_and_the_answers_stay(
    project: Path, tmp_path: Path, server: list[subprocess.Popen]
) -> None:
    log = tmp_path / "server.log"
    server.append(start_server(project, [TOKEN], ENVIRONMENT_ID, log))
    expected = values(adbc_query())
    serving = project / "serving"
    damaged = publish(project / DUCKDB_FILE, project / "target" / "semantic_manifest.json", serving)
    with (damaged / DUCKDB_FILE).open("r+b") as warehouse:
        warehouse.truncate(warehouse.seek(0, os.SEEK_END) // 3)
    deadline = time.monotonic() + 30
    while f"refused snapshot {damaged.name}" not in log.read_text():
        assert time.monotonic() < deadline, "the server did not refuse the damaged snapshot"
        time.sleep(0.5)
    assert values(adbc_query()) == expected
    assert values(sdk_query()) == expected
    assert "were published" in log.read_text()
    shutil.rmtree(damaged)
