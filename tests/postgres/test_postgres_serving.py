"""Serving from PostgreSQL: the server's connection pool against a real PostgreSQL server.

The pool (saas_kpis/semantic/postgres_warehouse.py) is opened from the `postgres` target of
the project's dbt profile, as the server opens it, and these tests check what makes it safe to
serve clients from the warehouse: its sessions refuse writes, a statement that runs past the
statement timeout is cancelled with a clear error and leaves the pool usable, more concurrent
queries than connections wait for a connection instead of failing, and a connection whose
backend was terminated is replaced rather than reused. Last, a server on a PostgreSQL build
with a tiny statement timeout shows clients the timeout as a clean error on both APIs. The
client suites (test_sl_server, test_sl_catalog) run against a PostgreSQL-served build in the
same `make postgres-parity` run.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

import psycopg2
import pyarrow as pa
import pytest
from sl_server_process import (
    ENVIRONMENT_ID,
    GRAPHQL_URL,
    HOST,
    TOKEN,
    adbc_connection,
    build_and_publish,
    serving,
)
from throwaway_server import connection_parameters

# isort: split
import adbc_driver_flightsql.dbapi as flightsql
import requests
from dbtsl import SemanticLayerClient
from dbtsl.error import QueryFailedError

from saas_kpis.project import REPO_ROOT
from saas_kpis.semantic import MANIFEST_FILE
from saas_kpis.semantic.postgres_warehouse import (
    PoolSettings,
    PostgresPool,
    PostgresWarehouse,
    StatementTimeoutError,
    WarehouseQueryError,
    connection_from_profile,
)
from saas_kpis.semantic.query_control import QueryCancelledError, QueryControl
from saas_kpis.server.declarative_cache import CACHE_FILE
from saas_kpis.server.snapshots import PublishError, publish_target, snapshots
from saas_kpis.server.warehouse_targets import WarehouseTarget

if not os.environ.get("SAAS_KPIS_PG_HOST"):
    raise RuntimeError(
        "the PostgreSQL serving tests need a server named by SAAS_KPIS_PG_HOST: "
        "`make postgres-parity` starts one"
    )

PROBE_TABLE = "public.serving_write_probe"


@contextmanager
def serving_pool(size: int, timeout_seconds: float = 60.0) -> Iterator[PostgresPool]:
    """A pool as the server opens it, named uniquely so a test can find its own sessions."""
    settings = PoolSettings(
        size=size,
        statement_timeout_seconds=timeout_seconds,
        application_name=f"saas_kpis_test_{uuid.uuid4().hex[:8]}",
    )
    connection = connection_from_profile(REPO_ROOT / "profiles", "saas_kpis", "postgres")
    pool = PostgresPool(connection, settings)
    try:
        yield pool
    finally:
        pool.close()


def admin(sql: str) -> list[tuple]:
    """SQL on an ordinary (read-write) connection of the same server."""
    connection = psycopg2.connect(**connection_parameters())
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql)
            return cursor.fetchall() if cursor.description else []
    finally:
        connection.close()


def backends(pool: PostgresPool) -> set[int]:
    rows = admin(
        "select pid from pg_stat_activity "
        f"where application_name = '{pool.settings.application_name}'"
    )
    return {row[0] for row in rows}


def test_the_serving_connections_refuse_writes() -> None:
    admin(f"drop table if exists {PROBE_TABLE}; create table {PROBE_TABLE} as select 1 as x")
    try:
        with serving_pool(size=1) as pool:
            for statement in (
                f"insert into {PROBE_TABLE} values (2)",
                f"delete from {PROBE_TABLE}",
                f"drop table {PROBE_TABLE}",
                "create table public.serving_create_probe (x int)",
                "create temporary table serving_temp_probe (x int)",
                "select 1 as x into public.serving_select_into_probe",
            ):
                with pytest.raises(WarehouseQueryError, match="in a read-only transaction"):
                    pool.query(statement)
            assert pool.query("show transaction_read_only").column(0).to_pylist() == ["on"]
            assert pool.query(f"select x from {PROBE_TABLE}").column("x").to_pylist() == [1]
            with pytest.raises(PermissionError):
                PostgresWarehouse(pool).execute(f"delete from {PROBE_TABLE}")
        assert admin(f"select x from {PROBE_TABLE}") == [(1,)]
        assert admin("select to_regclass('public.serving_create_probe')") == [(None,)]
    finally:
        admin(f"drop table if exists {PROBE_TABLE}")


def test_a_statement_past_the_timeout_is_cancelled_and_the_pool_stays_usable() -> None:
    with serving_pool(size=1, timeout_seconds=1) as pool:
        started = time.monotonic()
        with pytest.raises(StatementTimeoutError) as raised:
            pool.query("select pg_sleep(5)")
        elapsed = time.monotonic() - started
        assert 0.9 < elapsed < 4, elapsed
        assert str(raised.value) == (
            "query cancelled: it ran longer than the statement timeout of 1 s"
        )
        # The one connection of the pool was not lost: it answers the next query.
        before = backends(pool)
        assert pool.query("select 41 + 1 as answer").column("answer").to_pylist() == [42]
        assert backends(pool) == before and len(before) == 1


def test_a_cancel_interrupts_a_running_statement_and_the_pool_stays_usable() -> None:
    with serving_pool(size=1) as pool:
        control = QueryControl()
        canceller = threading.Timer(0.5, control.cancel)
        canceller.start()
        started = time.monotonic()
        with pytest.raises(QueryCancelledError, match="query was cancelled"):
            pool.query("select pg_sleep(5)", control)
        assert time.monotonic() - started < 3  # interrupted, not finished
        canceller.join()
        before = backends(pool)
        assert pool.query("select 41 + 1 as answer").column("answer").to_pylist() == [42]
        assert backends(pool) == before and len(before) == 1


def test_more_concurrent_queries_than_connections_all_succeed() -> None:
    with serving_pool(size=2) as pool:

        def run(index: int) -> tuple[int, int]:
            table = pool.query(f"select {index} as n, pg_backend_pid() as pid from pg_sleep(0.2)")
            return table.column("n")[0].as_py(), table.column("pid")[0].as_py()

        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=12) as executor:
            results = list(executor.map(run, range(12)))
        elapsed = time.monotonic() - started
        assert [n for n, _ in results] == list(range(12))
        pids = {pid for _, pid in results}
        assert len(pids) == 2 and pids == backends(pool)
        # Twelve 0.2 s queries on two connections take at least six rounds.
        assert elapsed >= 1.1, elapsed


def test_a_terminated_backend_is_replaced(caplog: pytest.LogCaptureFixture) -> None:
    with serving_pool(size=2) as pool:
        assert pool.query("select 1 as one").num_rows == 1
        terminated = backends(pool)
        assert len(terminated) == 2
        admin(
            "select pg_terminate_backend(pid) from pg_stat_activity "
            f"where application_name = '{pool.settings.application_name}'"
        )
        deadline = time.monotonic() + 10
        while backends(pool) and time.monotonic() < deadline:
            time.sleep(0.1)
        # Every query succeeds: each dead connection is discarded and the query rerun on a new one.
        with ThreadPoolExecutor(max_workers=4) as executor:
            pids = list(executor.map(lambda _: pool.query("select pg_backend_pid()"), range(8)))
        served_by = {table.column(0)[0].as_py() for table in pids}
        assert served_by and not served_by & terminated
        assert caplog.text.count("a warehouse connection broke") == 2, caplog.text
        assert backends(pool) == served_by and len(served_by) <= 2


def test_results_are_typed_from_the_column_types() -> None:
    with serving_pool(size=1) as pool:
        table = pool.query(
            "select 1::int4 as i4, 2::int8 as i8, 1.25::numeric(10, 2) as exact, "
            "sum(3::int8) as summed, 0.5::float8 as ratio, 'pro'::text as tier, "
            "true as flag, date '2026-06-30' as day, "
            "date_trunc('month', date '2026-06-30') as month, "
            "timestamp '2026-06-30 12:00:00' as at, null::int4 as nothing"
        )
        empty = pool.query("select 1::int4 as i4, now() as at where false")
    assert table.schema == pa.schema(
        [
            ("i4", pa.int32()),
            ("i8", pa.int64()),
            ("exact", pa.decimal128(10, 2)),
            ("summed", pa.float64()),
            ("ratio", pa.float64()),
            ("tier", pa.string()),
            ("flag", pa.bool_()),
            ("day", pa.date32()),
            ("month", pa.timestamp("us")),
            ("at", pa.timestamp("us")),
            ("nothing", pa.int32()),
        ]
    )
    assert table.to_pylist() == [
        {
            "i4": 1,
            "i8": 2,
            "exact": Decimal("1.25"),
            "summed": 3.0,
            "ratio": 0.5,
            "tier": "pro",
            "flag": True,
            "day": dt.date(2026, 6, 30),
            "month": dt.datetime(2026, 6, 1),
            "at": dt.datetime(2026, 6, 30, 12),
            "nothing": None,
        }
    ]
    assert empty.num_rows == 0
    assert empty.schema == pa.schema([("i4", pa.int32()), ("at", pa.timestamp("us"))])


@pytest.fixture(scope="module")
def postgres_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shipped seeds built on PostgreSQL (in a schema of its own) and published."""
    return build_and_publish(tmp_path_factory.mktemp("pg_serving"), target="postgres")


def test_clients_see_the_statement_timeout_as_a_clean_error(postgres_build: Path) -> None:
    expected = "query cancelled: it ran longer than the statement timeout of 0.001 s"
    settings = {"SAAS_KPIS_SL_STATEMENT_TIMEOUT_SECONDS": "0.001", "SAAS_KPIS_SL_PG_POOL_SIZE": "1"}
    with serving(postgres_build, extra_env=settings, log_name="timeout.log"):
        info = requests.post(
            GRAPHQL_URL,
            json={"query": f"{{ environmentInfo(environmentId: {ENVIRONMENT_ID}) {{ dialect }} }}"},
            headers={"authorization": f"Bearer {TOKEN}"},
            timeout=30,
        )
        assert info.json()["data"]["environmentInfo"]["dialect"] == "POSTGRES"
        client = SemanticLayerClient(environment_id=ENVIRONMENT_ID, auth_token=TOKEN, host=HOST)
        with client.session():
            # Metadata needs no warehouse; the query is planned, then cancelled by PostgreSQL.
            assert "mrr" in {metric.name for metric in client.metrics()}
            for _ in range(2):  # the pool's one connection serves the next query too
                with pytest.raises(QueryFailedError) as raised:
                    client.query(metrics=["mrr"], group_by=["metric_time__month"])
                assert expected in str(raised.value)
        with adbc_connection() as connection, connection.cursor() as cursor:
            with pytest.raises(flightsql.Error) as flight_raised:
                cursor.execute("{{ semantic_layer.query(metrics=['mrr']) }}")
                cursor.fetch_arrow_table()
            assert expected in str(flight_raised.value)


def test_a_postgres_snapshot_names_the_target_and_needs_the_built_relations(
    postgres_build: Path, tmp_path: Path
) -> None:
    serving_dir = postgres_build / "serving"
    (published,) = snapshots(serving_dir)
    # The saved queries to compute before serving (declarative caching), the manifest, the
    # checksums and the target: no data.
    assert sorted(path.name for path in published.iterdir()) == [
        CACHE_FILE,
        MANIFEST_FILE,
        "snapshot.json",
        "warehouse.json",
    ]
    target = WarehouseTarget.read(published / "warehouse.json")
    assert target == WarehouseTarget(adapter="postgres", profile="saas_kpis", target="postgres")
    # A manifest that reads a relation the warehouse lacks (a build that never ran there).
    manifest = json.loads((postgres_build / "target" / MANIFEST_FILE).read_text())
    relation = manifest["semantic_models"][0]["node_relation"]
    relation["relation_name"] = relation["relation_name"].replace(
        relation["schema_name"], "never_built"
    )
    unbuilt = tmp_path / MANIFEST_FILE
    unbuilt.write_text(json.dumps(manifest))
    with pytest.raises(PublishError, match=r"never_built.*run dbt build"):
        publish_target(target, unbuilt, serving_dir)
    assert snapshots(serving_dir) == [published]
