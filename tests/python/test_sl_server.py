"""The Semantic Layer API server against the unmodified official clients.

One build of the shipped seeds (a throw-away copy of the project), published to a serving
snapshot; the server runs as a subprocess on free loopback ports. dbt-sl-sdk reads its URL
formats from the environment when `dbtsl` is first imported, so `sl_server_process`, which
picks the ports and sets them, is imported first. The returned tables are compared with
`mf query` on the same build.

The build and server are the session's `served` fixture (conftest), shared with
test_sl_catalog. The last test rebuilds the project with another `as_of_date` while clients
query, so it must stay the last one of the module; test_sl_catalog compares the server only
with itself, so it holds on either build.

With SAAS_KPIS_TEST_SERVE_TARGET=postgres (`make postgres-parity`), the same tests run on a
build made on PostgreSQL and served from the warehouse; `mf query` then runs on that target.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import http.client
import json
import math
import os
import subprocess
import threading
import time
from typing import Any

import pyarrow as pa
import pytest
import requests
from browser import chromium, open_page, screenshot
from mf_cli import mf_query
from sl_server_process import (
    DIALECT,
    ENVIRONMENT_ID,
    GRAPHQL_PORT,
    GRAPHQL_URL,
    HOST,
    ON_POSTGRES,
    TOKEN,
    Served,
    adbc_connection,
    publish_build,
    relation_name,
    warehouse_rows,
)

# isort: split
import adbc_driver_flightsql.dbapi as flightsql
import dbtsl.env
from dbtsl import OrderByGroupBy, OrderByMetric, SemanticLayerClient
from dbtsl.api.graphql.client.sync import SyncGraphQLClient
from dbtsl.asyncio import AsyncSemanticLayerClient
from dbtsl.error import AuthError, QueryFailedError

from saas_kpis.project import venv_bin
from saas_kpis.server.snapshots import snapshots

LEAK_MARKERS = ("Traceback", 'File "', "/work/", "/tmp/", "site-packages", '.py"')
SEGMENTS = [
    "account_month__plan_tier",
    "account_month__industry",
    "account_month__account_age_band",
]


def graphql_client(lazy: bool) -> SyncGraphQLClient:
    """The GraphQL half of dbt-sl-sdk alone, for createQuery / cancelQuery."""
    return SyncGraphQLClient(
        server_host=HOST,
        environment_id=ENVIRONMENT_ID,
        auth_token=TOKEN,
        url_format=dbtsl.env.GRAPHQL_URL_FORMAT,
        lazy=lazy,
    )


def client(token: str = TOKEN) -> SemanticLayerClient:
    return SemanticLayerClient(environment_id=ENVIRONMENT_ID, auth_token=token, host=HOST)


def normalized(value: Any) -> Any:
    """One comparable form for Arrow values and `mf query --csv` text."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()[:10]
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        if len(value) >= 10 and value[4] == "-" and value[7] == "-":
            return value[:10]
        if value in ("True", "False"):
            return value == "True"
        try:
            return float(value)
        except ValueError:
            return value
    return float(value)


def same(left: Any, right: Any) -> bool:
    if isinstance(left, float) and isinstance(right, float):
        return math.isclose(left, right, rel_tol=1e-9, abs_tol=1e-9)
    return left == right


def assert_table_equals_mf(table: pa.Table, rows: list[dict[str, str]], ordered: bool) -> None:
    assert rows, "the reference query returned nothing"
    assert sorted(table.column_names) == sorted(rows[0]), (table.column_names, list(rows[0]))
    columns = sorted(table.column_names)
    actual = [tuple(normalized(row[c]) for c in columns) for row in table.to_pylist()]
    expected = [tuple(normalized(row[c]) for c in columns) for row in rows]
    if not ordered:
        actual, expected = sorted(actual, key=repr), sorted(expected, key=repr)
    assert len(actual) == len(expected), (len(actual), len(expected))
    for got, want in zip(actual, expected, strict=True):
        assert all(same(g, w) for g, w in zip(got, want, strict=True)), (got, want)


def assert_clean(message: str) -> None:
    leaks = [marker for marker in LEAK_MARKERS if marker in message]
    assert not leaks, f"error leaks {leaks}: {message}"


def manifest(served: Served) -> dict[str, Any]:
    return json.loads((served.project_dir / "target" / "semantic_manifest.json").read_text())


def test_client_reads_the_url_formats_from_the_environment() -> None:
    assert os.environ["DBT_SL_GRAPHQL_URL_FORMAT"] == dbtsl.env.GRAPHQL_URL_FORMAT
    assert os.environ["DBT_SL_ADBC_URL_FORMAT"] == dbtsl.env.ADBC_URL_FORMAT


def test_a_fresh_server_answers_dimensions_first(served: Served) -> None:
    # Metadata is computed lazily; dimensions() needs the metrics' granularities first.
    with client().session() as sl:
        dimensions = sl.dimensions(metrics=["mrr"])
    assert set(SEGMENTS) <= {d.qualified_name for d in dimensions}


def test_sync_client_lists_the_semantic_manifest(served: Served) -> None:
    semantic_manifest = manifest(served)
    with client().session() as sl:
        metrics = {metric.name: metric for metric in sl.metrics()}
        assert sorted(metrics) == sorted(m["name"] for m in semantic_manifest["metrics"])
        mrr = metrics["mrr"]
        assert mrr.label == "MRR" and mrr.type.value == "SIMPLE"
        assert {d.qualified_name for d in mrr.dimensions} >= {*SEGMENTS, "metric_time"}
        assert [m.name for m in mrr.measures] == ["mrr_usd"]
        assert "MONTH" in mrr.queryable_time_granularities
        dimensions = {
            d.qualified_name: d for d in sl.dimensions(metrics=["mrr", "paying_accounts"])
        }
        assert set(SEGMENTS) <= set(dimensions)
        assert dimensions["metric_time"].type.value == "TIME"
        assert dimensions["account_month__plan_tier"].type.value == "CATEGORICAL"
        assert {e.name for e in sl.entities(metrics=["mrr"])} >= {"account_month"}
        saved = {s.name: s for s in sl.saved_queries()}
        assert sorted(saved) == sorted(s["name"] for s in semantic_manifest["saved_queries"])
        waterfall = saved["executive_mrr_waterfall"]
        assert "net_new_mrr" in [m.name for m in waterfall.query_params.metrics]
        assert waterfall.query_params.group_by[0].time_granularity == "month"
        info = sl.environment_info()
        assert info.dialect.value == DIALECT and info.has_metrics_defined


def test_metric_meta_is_available_over_graphql(served: Served) -> None:
    response = requests.post(
        GRAPHQL_URL,
        json={
            "query": "query($e: BigInt!) { metrics(environmentId: $e) { name config { meta } } }",
            "variables": {"e": ENVIRONMENT_ID},
        },
        headers={"authorization": f"Bearer {TOKEN}"},
        timeout=30,
    )
    served_meta = {m["name"]: m["config"]["meta"] for m in response.json()["data"]["metrics"]}
    expected = {m["name"]: m["config"]["meta"] for m in manifest(served)["metrics"]}
    assert served_meta == expected
    assert served_meta["net_revenue_retention"]["tier"]


def test_sync_query_equals_mf_query(served: Served) -> None:
    where = "{{ Dimension('account_month__plan_tier') }} in ('pro', 'enterprise')"
    with client().session() as sl:
        table = sl.query(
            metrics=["mrr", "paying_accounts", "net_new_mrr"],
            group_by=["metric_time__month", "account_month__plan_tier"],
            where=[where],
            order_by=[OrderByGroupBy(name="metric_time", grain="month", descending=True), "mrr"],
            limit=15,
        )
    rows = mf_query(
        served.project_dir,
        ["mrr", "paying_accounts", "net_new_mrr"],
        ["metric_time__month", "account_month__plan_tier"],
        where=where,
        order_by=["-metric_time__month", "mrr"],
        limit=15,
        env=served.env,
    )
    assert table.num_rows == 15
    assert_table_equals_mf(table, rows, ordered=True)


def test_saved_query_and_graphql_query_equal_mf_query(served: Served) -> None:
    with client().session() as sl:
        table = sl.query(saved_query="executive_mrr_waterfall")
    assert_table_equals_mf(
        table,
        mf_query(served.project_dir, [], [], saved_query="executive_mrr_waterfall", env=served.env),
        ordered=False,
    )
    # The GraphQL half (createQuery, then polling query) of the same client package.
    gql = graphql_client(lazy=False)
    with gql.session():
        by_industry = gql.query(
            metrics=["paying_accounts"],
            group_by=["metric_time__quarter", "account_month__industry"],
            where=["{{ Dimension('account_month__is_partial_month') }} = false"],
        )
    rows = mf_query(
        served.project_dir,
        ["paying_accounts"],
        ["metric_time__quarter", "account_month__industry"],
        where="{{ Dimension('account_month__is_partial_month') }} = false",
        env=served.env,
    )
    assert_table_equals_mf(by_industry, rows, ordered=False)


def test_compile_sql_and_dimension_values(served: Served) -> None:
    with client().session() as sl:
        sql = sl.compile_sql(metrics=["mrr"], group_by=["account_month__industry"], limit=100)
        table = sl.query(metrics=["mrr"], group_by=["account_month__industry"], limit=100)
        industries = sl.dimension_values(metrics=["mrr"], group_by="account_month__industry")
    # The compiled SQL, run on the warehouse itself, gives the query's rows.
    compiled = [
        tuple(normalized(v) for v in row) for row in warehouse_rows(served.project_dir, sql)
    ]
    served_rows = [tuple(normalized(v) for v in row.values()) for row in table.to_pylist()]
    assert len(compiled) == len(served_rows)
    for got, want in zip(sorted(compiled, key=repr), sorted(served_rows, key=repr), strict=True):
        assert all(same(g, w) for g, w in zip(got, want, strict=True)), (got, want)
    assert "fct_account_months" in sql
    rows = mf_query(served.project_dir, ["mrr"], ["account_month__industry"], env=served.env)
    assert_table_equals_mf(table, rows, ordered=False)
    assert industries.column_names == ["account_month__industry"]
    assert industries.column(0).to_pylist() == sorted(r["account_month__industry"] for r in rows)


def test_async_client_matches_sync_client(served: Served) -> None:
    params: dict[str, Any] = {
        "metrics": ["arr", "arpa"],
        "group_by": ["metric_time__month", "account_month__account_age_band"],
        "order_by": [OrderByMetric(name="arr", descending=True)],
        "limit": 10,
    }
    with client().session() as sl:
        expected = sl.query(**params)
        expected_metrics = [m.name for m in sl.metrics()]

    async def run() -> tuple[pa.Table, list[str], list[str]]:
        sl = AsyncSemanticLayerClient(environment_id=ENVIRONMENT_ID, auth_token=TOKEN, host=HOST)
        async with sl.session():
            table, metrics, dimensions = await asyncio.gather(
                sl.query(**params), sl.metrics(), sl.dimensions(metrics=["arr"])
            )
        return table, [m.name for m in metrics], [d.qualified_name for d in dimensions]

    table, metrics, dimensions = asyncio.run(run())
    assert table.equals(expected)
    assert metrics == expected_metrics
    assert set(SEGMENTS) <= set(dimensions)


def test_adbc_outer_select(served: Served) -> None:
    statement = (
        "select metric_time__month, mrr from {{ semantic_layer.query(metrics=['mrr'], "
        "group_by=[TimeDimension('metric_time', 'month')]) }} where mrr > 300000 "
        "order by metric_time__month"
    )
    with adbc_connection() as connection, connection.cursor() as cursor:
        cursor.execute(statement)
        table = cursor.fetch_arrow_table()
        cursor.execute("select name, label from {{ semantic_layer.metrics() }} where name = 'nps'")
        nps = cursor.fetchall()
        cursor.execute(
            "select qualified_name from {{ semantic_layer.dimensions(metrics=['mrr']) }} "
            "where type = 'CATEGORICAL' order by 1"
        )
        categorical = [row[0] for row in cursor.fetchall()]
        cursor.execute(
            "{{ semantic_layer.dimension_values(metrics=['mrr'], "
            "group_by=Dimension('account_month__plan_tier')) }}"
        )
        tiers = cursor.fetch_arrow_table().column(0).to_pylist()
    rows = [
        r
        for r in mf_query(served.project_dir, ["mrr"], ["metric_time__month"], env=served.env)
        if float(r["mrr"]) > 300000
    ]
    assert_table_equals_mf(table, sorted(rows, key=lambda r: r["metric_time__month"]), ordered=True)
    assert nps == [
        ("nps", next(m["label"] for m in manifest(served)["metrics"] if m["name"] == "nps"))
    ]
    assert set(SEGMENTS) <= set(categorical)
    fct_account_months = relation_name(served.project_dir, "fct_account_months")
    known = warehouse_rows(
        served.project_dir, f"select distinct plan_tier from {fct_account_months}"
    )
    assert tiers == sorted(row[0] for row in known)


def test_a_cancelled_query_reports_failed(served: Served) -> None:
    gql = graphql_client(lazy=True)
    with gql.session():
        query_id = gql.create_query(metrics=["mrr"], group_by=["metric_time__day"])
        assert gql.cancel_query(query_id=query_id) == query_id
        result = gql.get_query_result(query_id=query_id, page_num=1)
    assert result.status.value == "FAILED"
    assert result.error == "query was cancelled"


def test_wrong_or_missing_token_is_an_auth_error(served: Served) -> None:
    with client("wrong-token").session() as sl:
        with pytest.raises(AuthError):
            sl.metrics()
        with pytest.raises(AuthError):
            sl.query(metrics=["mrr"], group_by=["metric_time__month"])

    async def run_async() -> None:
        sl = AsyncSemanticLayerClient(environment_id=ENVIRONMENT_ID, auth_token="nope", host=HOST)
        async with sl.session():
            with pytest.raises(AuthError):
                await sl.metrics()

    asyncio.run(run_async())
    response = requests.post(GRAPHQL_URL, json={"query": "{ __typename }"}, timeout=10)
    assert response.status_code == 401
    assert response.json()["errors"][0]["message"] == "User is not authorized"


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"metrics": ["no_such_metric"]}, "no_such_metric"),
        ({"metrics": ["mrr"], "group_by": ["account_month__no_such_dimension"]}, "group-by"),
        (
            {
                "metrics": ["mrr"],
                "where": ["{{ Dimension('account_month__plan_tier') }} in (select 1)"],
            },
            "subqueries",
        ),
        ({"metrics": ["mrr"], "where": ["1 = 1 or true"]}, "must reference"),
        (
            {
                "metrics": ["mrr"],
                "where": ["{{ Dimension('account_month__plan_tier') }} = getenv('HOME')"],
            },
            "not allowed",
        ),
    ],
)
def test_bad_queries_get_clean_errors_on_both_apis(
    served: Served, params: dict[str, Any], expected: str
) -> None:
    gql = graphql_client(lazy=True)
    with client().session() as sl, gql.session():
        for run in (sl.query, gql.query):
            with pytest.raises(QueryFailedError) as raised:
                run(**params)
            assert expected in str(raised.value)
            assert_clean(str(raised.value))
        # The server keeps serving after the error.
        assert sl.query(metrics=["mrr"], limit=1).num_rows == 1


def test_malformed_statements_get_clean_errors(served: Served) -> None:
    statements = [
        "select 1",
        "{{ semantic_layer.query(metrics=['mrr'] }}",
        "{{ semantic_layer.__class__ }}",
        "select * from {{ semantic_layer.query(metrics=['mrr']) }}; drop table x",
        "select * from read_csv('/etc/passwd'), {{ semantic_layer.query(metrics=['mrr']) }}",
        "{{ semantic_layer.dimension_values(metrics=['mrr'], group_by='account_month__nope') }}",
    ]
    with adbc_connection() as connection:
        for statement in statements:
            with connection.cursor() as cursor, pytest.raises(flightsql.ProgrammingError) as raised:
                cursor.execute(statement)
                cursor.fetch_arrow_table()
            assert "INVALID_ARGUMENT" in str(raised.value)
            assert_clean(str(raised.value))


DASHBOARDS_URL = f"http://{HOST}:{GRAPHQL_PORT}/dashboards"


def dashboard_page(name: str, auth: Any = ("anyone", TOKEN), timeout: float = 120) -> Any:
    """GET a dashboard file, waiting while the server renders the snapshot's pages (503)."""
    deadline = time.monotonic() + timeout
    while True:
        response = requests.get(f"{DASHBOARDS_URL}/{name}", auth=auth, timeout=10)
        if response.status_code != 503 or time.monotonic() > deadline:
            return response
        time.sleep(1)


def raw_status(path: str, headers: dict[str, str]) -> int:
    """The status of a GET of `path` sent as written (requests would normalize `..`)."""
    connection = http.client.HTTPConnection(HOST, GRAPHQL_PORT, timeout=10)
    try:
        connection.putrequest("GET", path, skip_accept_encoding=True)
        for name, value in headers.items():
            connection.putheader(name, value)
        connection.endheaders()
        return connection.getresponse().status
    finally:
        connection.close()


def test_dashboards_are_served_behind_the_token(served: Served) -> None:
    index = dashboard_page("")
    assert index.status_code == 200, index.text
    assert 'href="team.html"' in index.text
    assert dashboard_page("", auth=None).status_code == 401
    assert dashboard_page("", auth=None).headers["www-authenticate"].startswith("Basic")
    assert dashboard_page("", auth=("anyone", "wrong-token")).status_code == 401
    bearer = requests.get(
        f"{DASHBOARDS_URL}/team.html", headers={"authorization": f"Bearer {TOKEN}"}, timeout=10
    )
    assert bearer.status_code == 200
    # Basic authentication is for browsers on the pages only, not for the APIs.
    api = requests.post(GRAPHQL_URL, json={"query": "{ __typename }"}, auth=("x", TOKEN))
    assert api.status_code == 401
    assert requests.post(f"{DASHBOARDS_URL}/team.html", auth=("x", TOKEN)).status_code == 405
    basic = "Basic " + base64.b64encode(f"x:{TOKEN}".encode()).decode()
    for path in (
        "/dashboards/../serving/snapshot.json",
        "/dashboards/..%2f..%2fdbt_project.yml",
        "/dashboards/%2e%2e/%2e%2e/etc/passwd",
        "/dashboards/team.html%00.js",
        "/dashboards/.dashboards-old",
        "/dashboards/TEAM.HTML",
    ):
        assert raw_status(path, {"authorization": basic}) in (401, 404), path
        assert raw_status(path, {}) == 401, path

    with chromium() as browser:
        watched = open_page(
            browser,
            f"{DASHBOARDS_URL}/team.html",
            http_credentials={"username": "anyone", "password": TOKEN},
        )
        assert watched.errors == [] and watched.remote_requests == []
        page = watched.page
        assert page.get_attribute("body", "data-as-of") == "2026-06-30"
        shown = float(page.get_attribute("[data-tile='nrr'] .headline .value", "data-value"))
        screenshot(page, "served-team")
    with client().session() as sl:
        table = sl.query(metrics=["net_revenue_retention"], group_by=["metric_time__month"])
    months = dict(zip(table.column(0).to_pylist(), table.column(1).to_pylist(), strict=True))
    month_key = next(key for key in months if normalized(key) == "2026-05-01")
    assert math.isclose(shown, months[month_key], rel_tol=1e-12)


def test_queries_keep_working_during_a_build_and_then_see_it(served: Served) -> None:
    """Eight clients query in a loop while dbt rebuilds the warehouse with another as_of_date.

    During the build every query succeeds and sees the published build (through 2026-06);
    after the build is published, queries see the new one (through 2026-03). On PostgreSQL the
    server queries the warehouse that dbt rebuilds (dbt swaps each table in a transaction), so
    there every query must succeed, but may see a table already rebuilt before the publish.
    """
    params = {
        "metrics": ["mrr"],
        "group_by": ["metric_time__month"],
        "order_by": ["-metric_time__month"],
    }
    with client().session() as sl:
        before = sl.query(**params)
    assert normalized(before.column("metric_time__month")[0].as_py()) == "2026-06-01"

    build = subprocess.Popen(
        [venv_bin("dbt"), "build", "--vars", json.dumps({"as_of_date": "2026-03-31"})],
        cwd=served.project_dir,
        env={**served.env, "SAAS_KPIS_THREADS": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    failures: list[str] = []
    counts = [0] * 8
    done = threading.Event()
    deadline = time.monotonic() + 600

    def worker(index: int) -> None:
        with client().session() as sl:
            while not done.is_set() and time.monotonic() < deadline and counts[index] < 2000:
                try:
                    table = sl.query(**params)
                    if not ON_POSTGRES and not table.equals(before):
                        failures.append(
                            f"client {index}: a result differs from the published build"
                        )
                except Exception as error:
                    failures.append(f"client {index}: {error!r}")
                counts[index] += 1
                time.sleep(0.5)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    try:
        output, _ = build.communicate(timeout=600)
    finally:
        done.set()
        for thread in threads:
            thread.join(timeout=60)
    assert build.returncode == 0, output[-3000:]
    assert not failures, failures[:10]
    assert all(count >= 3 for count in counts), counts

    publish_build(served.project_dir)
    assert len(snapshots(served.serving_dir)) == 2
    deadline = time.monotonic() + 60
    with client().session() as sl:
        while time.monotonic() < deadline:
            latest = sl.query(**params).column("metric_time__month")[0].as_py()
            if normalized(latest) == "2026-03-01":
                break
            time.sleep(0.5)
    assert normalized(latest) == "2026-03-01"
    # The dashboards follow the published build: re-rendered on the new snapshot.
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if 'data-as-of="2026-03-31"' in dashboard_page("team.html").text:
            break
        time.sleep(1)
    assert 'data-as-of="2026-03-31"' in dashboard_page("team.html").text
