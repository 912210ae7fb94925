"""The result cache and declarative caching, against the real server.

A hit is told from a miss by the cache's counters (`GET /api/cache`), read before and after each
request: only this module's client talks to its server. Every answer is compared with the
uncached one, through GraphQL (createQuery + polling, the base64 Arrow stream and the SQL) and
through Flight SQL (ADBC).
"""

from __future__ import annotations

import base64
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest
import requests
from sl_server_process import (
    ENVIRONMENT_ID,
    GRAPHQL_URL,
    TOKEN,
    adbc_connection,
    serving,
)

from saas_kpis.project import DUCKDB_FILE
from saas_kpis.server.snapshots import publish

CACHE_URL = GRAPHQL_URL.replace("/api/graphql", "/api/cache")
HEADERS = {"authorization": f"Bearer {TOKEN}"}
CREATE = """
mutation Create($env: BigInt!, $metrics: [MetricInput!], $groupBy: [GroupByInput!],
                $where: [WhereInput!], $orderBy: [OrderByInput!], $limit: Int,
                $savedQuery: String) {
  createQuery(environmentId: $env, metrics: $metrics, groupBy: $groupBy, where: $where,
              orderBy: $orderBy, limit: $limit, savedQuery: $savedQuery) { queryId }
}"""
POLL = """
query Poll($env: BigInt!, $id: String!) {
  query(environmentId: $env, queryId: $id) { status sql error arrowResult }
}"""
SAVED_QUERIES = (
    "executive_arr",
    "executive_mrr_waterfall",
    "executive_nrr_trend",
    "executive_weekly_revenue",
    "team_feature_adoption",
    "team_guardrails",
    "team_wau_trend",
)
# GraphQL arguments and the same request as a Flight statement.
MRR_BY_MONTH = {
    "metrics": [{"name": "mrr"}],
    "groupBy": [{"name": "metric_time", "grain": "MONTH"}],
}
MRR_BY_MONTH_SQL = (
    "select * from {{ semantic_layer.query(metrics=['mrr'], "
    "group_by=[TimeDimension('metric_time', 'month')]) }}"
)
BY_TIER = {
    "metrics": [{"name": "paying_accounts"}, {"name": "arpa"}],
    "groupBy": [
        {"name": "metric_time", "grain": "QUARTER"},
        {"name": "account_month__plan_tier"},
    ],
    "where": [{"sql": "{{ Dimension('account_month__plan_tier') }} != 'none'"}],
    "orderBy": [{"groupBy": {"name": "metric_time", "grain": "QUARTER"}, "descending": True}],
    "limit": 12,
}


def graphql(document: str, variables: dict[str, Any]) -> dict[str, Any]:
    response = requests.post(
        GRAPHQL_URL, json={"query": document, "variables": variables}, headers=HEADERS, timeout=60
    )
    response.raise_for_status()
    body = response.json()
    assert not body.get("errors"), body["errors"]
    return body["data"]


def graphql_query(arguments: dict[str, Any]) -> tuple[str, str]:
    """createQuery, then poll until it ends, as dbt-sl-sdk does: (SQL, base64 Arrow stream)."""
    created = graphql(CREATE, {"env": ENVIRONMENT_ID, **arguments})
    variables = {"env": ENVIRONMENT_ID, "id": created["createQuery"]["queryId"]}
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        result = graphql(POLL, variables)["query"]
        if result["status"] == "SUCCESSFUL":
            return result["sql"], result["arrowResult"]
        assert result["status"] != "FAILED", result["error"]
    raise AssertionError("the query did not finish in 60 s")


def arrow_table(encoded: str) -> pa.Table:
    return pa.ipc.open_stream(base64.b64decode(encoded)).read_all()


def by_month(encoded: str, column: str) -> dict[Any, float]:
    """A column by month: a query without order_by has no row order to compare by."""
    table = arrow_table(encoded)
    return dict(
        zip(
            table.column("metric_time__month").to_pylist(),
            table.column(column).to_pylist(),
            strict=False,
        )
    )


def same_answer(table: pa.Table) -> tuple[pa.Schema, list[str]]:
    """What two separate computations of one request share: the schema and the rows, in no
    order, floats to 6 decimals (DuckDB sums floats in parallel, in no fixed order)."""
    rows = [
        repr({k: round(v, 6) if isinstance(v, float) else v for k, v in row.items()})
        for row in table.to_pylist()
    ]
    return table.schema, sorted(rows)


def ipc_bytes(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


def flight_table(statement: str) -> pa.Table:
    with adbc_connection() as connection, connection.cursor() as cursor:
        cursor.execute(statement)
        return cursor.fetch_arrow_table()


def stats() -> dict[str, Any]:
    response = requests.get(CACHE_URL, headers=HEADERS, timeout=10)
    response.raise_for_status()
    return response.json()


class Counted:
    """The counters' change over a block: `with Counted() as counted: ...; counted.hits`."""

    def __enter__(self) -> Counted:
        self.before = stats()
        return self

    def __exit__(self, *_: object) -> None:
        after = stats()
        self.hits, self.misses, self.coalesced = (
            after[name] - self.before[name] for name in ("hits", "misses", "coalesced")
        )


def assert_same_table(left: pa.Table, right: pa.Table) -> None:
    """Byte for byte: the same schema (with metadata), the same Arrow stream."""
    assert left.schema.equals(right.schema, check_metadata=True)
    assert ipc_bytes(left) == ipc_bytes(right)


@pytest.fixture
def serving_dir(shipped_project: Path, tmp_path: Path) -> Path:
    """A serving directory of this test alone, with the shipped build published to it."""
    directory = tmp_path / "serving"
    publish(
        shipped_project / DUCKDB_FILE,
        shipped_project / "target" / "semantic_manifest.json",
        directory,
    )
    return directory


@pytest.fixture
def cached_server(shipped_project: Path, serving_dir: Path) -> Iterator[None]:
    with serving(
        shipped_project,
        extra_env={"SAAS_KPIS_SERVING_DIR": str(serving_dir)},
        log_name="cache.log",
    ):
        yield


def test_a_hit_is_the_answer_of_the_miss(cached_server: None) -> None:
    # GraphQL: the first request computes, the second is answered from the cache.
    with Counted() as first:
        sql, encoded = graphql_query(BY_TIER)
    with Counted() as second:
        hit_sql, hit_encoded = graphql_query(BY_TIER)
    assert (first.misses, first.hits, second.misses, second.hits) == (1, 0, 0, 1)
    assert hit_sql == sql and "paying_accounts" in sql
    assert hit_encoded == encoded
    assert arrow_table(encoded).num_rows == 12

    # Flight and GraphQL share an entry: the same request is the same key.
    with Counted() as miss:
        _, graphql_encoded = graphql_query(MRR_BY_MONTH)
    with Counted() as hit:
        flight = flight_table(MRR_BY_MONTH_SQL)
    assert (miss.misses, hit.misses, hit.hits) == (1, 0, 1)
    assert_same_table(flight, arrow_table(graphql_encoded))

    # An outer select runs on the cached answer each time.
    statement = (
        "select metric_time__month, mrr from {{ semantic_layer.query(metrics=['mrr'], "
        "group_by=[TimeDimension('metric_time', 'month')]) }} where mrr > 100000"
    )
    with Counted() as filtered:
        rows = flight_table(statement)
    assert (filtered.misses, filtered.hits) == (0, 1)
    expected = [mrr for mrr in flight.column("mrr").to_pylist() if mrr > 100000]
    assert rows.column("mrr").to_pylist() == expected and expected

    # dimension_values through Flight: a miss, then a hit with the same table.
    values = (
        "select * from {{ semantic_layer.dimension_values(group_by='account_month__industry') }}"
    )
    with Counted() as miss:
        computed = flight_table(values)
    with Counted() as hit:
        cached = flight_table(values)
    assert (miss.misses, hit.misses, hit.hits) == (1, 0, 1)
    assert computed.num_rows > 1
    assert_same_table(cached, computed)


def test_identical_misses_are_computed_once(cached_server: None) -> None:
    arguments = {
        "metrics": [{"name": "mrr"}, {"name": "paying_accounts"}],
        "groupBy": [{"name": "metric_time", "grain": "MONTH"}, {"name": "account_month__industry"}],
    }
    answers: list[tuple[str, str]] = []
    start = threading.Barrier(8)

    def client() -> None:
        start.wait()
        answers.append(graphql_query(arguments))

    with Counted() as counted:
        threads = [threading.Thread(target=client) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert len(answers) == 8 and len(set(answers)) == 1
    # One computation; the others waited for it (coalesced) or found it stored (hits).
    assert counted.misses == 1
    assert counted.hits + counted.coalesced == 7


def publish_changed_build(shipped_project: Path, serving_dir: Path, work: Path) -> str:
    """Publish a copy of the shipped build in which every account's MRR is doubled."""
    work.mkdir()
    warehouse = work / DUCKDB_FILE
    shutil.copy(shipped_project / DUCKDB_FILE, warehouse)
    with duckdb.connect(str(warehouse)) as connection:
        connection.execute("update main.fct_account_months set mrr_usd = mrr_usd * 2")
    manifest = shipped_project / "target" / "semantic_manifest.json"
    return publish(warehouse, manifest, serving_dir).name


def wait_until_serving(snapshot_id: str, timeout: float = 60) -> dict[str, Any]:
    """The counters once the server serves `snapshot_id` (it drops older entries then)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        current = stats()
        if current["oldest_snapshot"] == snapshot_id:
            return current
        time.sleep(0.2)
    raise AssertionError(f"the server did not switch to {snapshot_id}")


def test_saved_queries_are_hits_and_a_new_snapshot_is_never_answered_from_the_old(
    cached_server: None, shipped_project: Path, serving_dir: Path, tmp_path: Path
) -> None:
    # The snapshot's declared saved queries were computed before it was served.
    opened = stats()
    assert (opened["misses"], opened["entries"], opened["hits"]) == (len(SAVED_QUERIES), 7, 0)
    with Counted() as first_loads:
        before = {name: graphql_query({"savedQuery": name}) for name in SAVED_QUERIES}
        listed = flight_table("select * from semantic_layer.saved_queries.executive_arr")
    assert (first_loads.misses, first_loads.hits) == (0, len(SAVED_QUERIES) + 1)
    assert_same_table(listed, arrow_table(before["executive_arr"][1]))
    with Counted() as miss:
        _, mrr_before = graphql_query(MRR_BY_MONTH)
    assert miss.misses == 1

    switched = wait_until_serving(
        publish_changed_build(shipped_project, serving_dir, tmp_path / "changed")
    )
    assert switched["dropped"] >= len(SAVED_QUERIES) + 1  # the old snapshot's entries are gone

    # The first load after the publish is a hit too, and it is the new build's answer.
    with Counted() as after_publish:
        after = {name: graphql_query({"savedQuery": name}) for name in SAVED_QUERIES}
    assert (after_publish.misses, after_publish.hits) == (0, len(SAVED_QUERIES))
    old_arr = by_month(before["executive_arr"][1], "arr")
    new_arr = by_month(after["executive_arr"][1], "arr")
    assert old_arr and None not in old_arr.values() and any(old_arr.values())
    assert new_arr == pytest.approx({month: 2 * old for month, old in old_arr.items()}, rel=1e-12)
    # A request cached on the old snapshot is computed again on the new one.
    with Counted() as recomputed:
        _, mrr_after = graphql_query(MRR_BY_MONTH)
    assert recomputed.misses == 1
    old_mrr, new_mrr = by_month(mrr_before, "mrr"), by_month(mrr_after, "mrr")
    assert any(old_mrr.values())
    assert new_mrr == pytest.approx({month: 2 * old for month, old in old_mrr.items()}, rel=1e-12)


def test_the_byte_bound_evicts_the_least_recently_used(
    shipped_project: Path, serving_dir: Path
) -> None:
    capacity = 48 * 1024
    with serving(
        shipped_project,
        extra_env={
            "SAAS_KPIS_SERVING_DIR": str(serving_dir),
            "SAAS_KPIS_SL_CACHE_BYTES": str(capacity),
        },
        log_name="cache-bounded.log",
    ):
        assert stats()["bytes"] <= capacity
        requests_by_day = [
            {
                "metrics": [{"name": "api_requests"}],
                "groupBy": [{"name": "metric_time", "grain": "DAY"}],
                "limit": 100 + n,
            }
            for n in range(20)
        ]
        first_sql, first_encoded = graphql_query(requests_by_day[0])
        for arguments in requests_by_day[1:]:
            graphql_query(arguments)
            assert stats()["bytes"] <= capacity
        held = stats()
        assert held["evictions"] > 0 and 1 < held["entries"] < len(requests_by_day)
        with Counted() as newest:
            graphql_query(requests_by_day[-1])
        with Counted() as oldest:
            again_sql, again_encoded = graphql_query(requests_by_day[0])
        assert (newest.hits, newest.misses, oldest.hits, oldest.misses) == (1, 0, 0, 1)
        assert (again_sql, again_encoded) == (first_sql, first_encoded)


def answers() -> dict[str, Any]:
    """A mix of requests through both transports, each asked twice (the second a hit when the
    cache is on): the SQL, and the answer as `same_answer` compares it."""
    found: dict[str, Any] = {}
    for _ in range(2):
        for name, arguments in (("by_tier", BY_TIER), ("arr", {"savedQuery": "executive_arr"})):
            sql, encoded = graphql_query(arguments)
            found[name] = (sql, same_answer(arrow_table(encoded)))
        found["flight"] = same_answer(flight_table(MRR_BY_MONTH_SQL))
        found["values"] = same_answer(
            flight_table(
                "select * from {{ semantic_layer.dimension_values("
                "metrics=['mrr'], group_by='account_month__plan_tier') }}"
            )
        )
    return found


def test_answers_are_the_same_with_the_cache_disabled(
    shipped_project: Path, serving_dir: Path
) -> None:
    environment = {"SAAS_KPIS_SERVING_DIR": str(serving_dir)}
    with serving(shipped_project, extra_env=environment, log_name="cache.log"):
        cached = answers()
        assert stats()["hits"] > 0
    disabled = {**environment, "SAAS_KPIS_SL_CACHE_BYTES": "0"}
    with serving(shipped_project, extra_env=disabled, log_name="cache-disabled.log"):
        uncached = answers()
        counters = stats()
    assert uncached == cached
    assert counters["enabled"] is False
    assert (counters["hits"], counters["entries"], counters["misses"]) == (0, 0, 8)
