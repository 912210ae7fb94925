"""The server's limits hold against the abusive requests a probe found, and a normal query sent
at the same time from another token still answers in its usual time.

One server runs on the shipped build with small limits (a 2 s statement timeout, 16 MiB result
cap, 3 s ticket expiry, 2 running and 8 waiting queries per token) so each abuse is quick.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.flight as flight
import pytest
import requests
from sl_server_process import (
    ENVIRONMENT_ID,
    FLIGHT_PORT,
    GRAPHQL_URL,
    HOST,
    TOKEN,
    Served,
    adbc_connection,
    serving,
)

# isort: split
import adbc_driver_flightsql.dbapi as flightsql

from saas_kpis.semantic.query_control import QueryBounds, QueryControl, QueryTimeoutError
from saas_kpis.server.admission import Admission
from saas_kpis.server.auth import Principal
from saas_kpis.server.flight_sql_protocol import SQL, message, pack, unpack
from saas_kpis.server.limits import BusyError
from saas_kpis.server.pending_results import PendingResults

OTHER_TOKEN = "other-token"
MIB = 1024 * 1024
LIMITS = {
    "SAAS_KPIS_SL_QUERY_WORKERS": "4",
    "SAAS_KPIS_SL_RUNNING_PER_TOKEN": "2",
    "SAAS_KPIS_SL_WAITING_PER_TOKEN": "8",
    "SAAS_KPIS_SL_STATEMENT_TIMEOUT_SECONDS": "2",
    "SAAS_KPIS_SL_MAX_RESULT_BYTES": str(16 * MIB),
    "SAAS_KPIS_SL_PENDING_RESULT_BYTES": str(32 * MIB),
    "SAAS_KPIS_SL_PENDING_RESULT_SECONDS": "3",
}
# An answer that usually takes well under a second; under abuse it must still come in time.
NORMAL_SECONDS = 3.0
API_REQUESTS = "semantic_layer.query(metrics=['api_requests'], group_by=['api_request'])"
# Every one of the ~26,000 rows padded with 19,500 characters: about 500 MB if materialised.
PADDED = f"select *, '{'x' * 19_500}' as pad from {{{{ {API_REQUESTS} }}}}"
# Ten rounds of lower(upper(...)) over 9,000-character strings, on each of the ~26,000 rows of
# api_requests: a valid statement that takes DuckDB several seconds.
NESTED = "lower(upper(" * 10 + f"'{'x' * 9_000}' || api_request" + "))" * 10
SLOW = f"select count(distinct {NESTED}) as n from {{{{ {API_REQUESTS} }}}}"


@pytest.fixture(scope="module")
def served(shipped_project: Path) -> Iterator[Served]:
    with serving(
        shipped_project, tokens=[OTHER_TOKEN, TOKEN], extra_env=LIMITS, log_name="limits.log"
    ) as served:
        yield served


def post(document: str, token: str = TOKEN, timeout: float = 30, **variables: Any) -> Any:
    return requests.post(
        GRAPHQL_URL,
        json={"query": document, "variables": variables},
        headers={"authorization": f"Bearer {token}"},
        timeout=timeout,
    )


CREATE = """mutation($env: BigInt!, $where: [WhereInput!]) {
  createQuery(environmentId: $env, metrics: [{name: "mrr"}],
              groupBy: [{name: "metric_time", grain: MONTH}], where: $where) { queryId }
}"""
POLL = """query($env: BigInt!, $id: String!, $page: Int) {
  query(environmentId: $env, queryId: $id, pageNum: $page) { status error totalPages }
}"""
CANCEL = """mutation($env: BigInt!, $id: String!) {
  cancelQuery(environmentId: $env, queryId: $id) { queryId }
}"""


def poll_until_done(query_id: str, token: str = TOKEN, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        result = post(POLL, token, env=ENVIRONMENT_ID, id=query_id).json()["data"]["query"]
        if result["status"] not in ("RUNNING", "PENDING", "COMPILED") or (
            time.monotonic() > deadline
        ):
            return result
        time.sleep(0.05)


def normal_query(token: str = OTHER_TOKEN) -> float:
    """Seconds for a normal GraphQL query (create, then poll to the end); it must succeed."""
    started = time.monotonic()
    response = post(CREATE, token, env=ENVIRONMENT_ID, where=None).json()
    result = poll_until_done(response["data"]["createQuery"]["queryId"], token)
    assert result["status"] == "SUCCESSFUL", result
    return time.monotonic() - started


def while_running(abuse: Callable[[], Any], token: str = OTHER_TOKEN) -> tuple[Any, float]:
    """Run `abuse` in a thread; meanwhile time a normal query from `token`. Returns what the
    abuse returned (or raised) and the normal query's seconds."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = abuse()
        except Exception as error:
            outcome["value"] = error

    thread = threading.Thread(target=run)
    thread.start()
    time.sleep(0.3)  # the abuse has reached the server
    seconds = normal_query(token)
    thread.join(timeout=120)
    assert not thread.is_alive()
    return outcome["value"], seconds


def flight_options(token: str = TOKEN, environment: bool = True) -> flight.FlightCallOptions:
    headers = [(b"authorization", f"Bearer {token}".encode())]
    if environment:
        headers.append((b"environmentid", str(ENVIRONMENT_ID).encode()))
    return flight.FlightCallOptions(headers=headers)


def flight_info(statement: str, token: str = TOKEN) -> flight.FlightInfo:
    client = flight.FlightClient(f"grpc://{HOST}:{FLIGHT_PORT}")
    descriptor = flight.FlightDescriptor.for_command(
        pack(SQL["CommandStatementQuery"](query=statement))
    )
    return client.get_flight_info(descriptor, flight_options(token))


def adbc_rows(statement: str, token: str = TOKEN) -> Any:
    with adbc_connection(token) as connection, connection.cursor() as cursor:
        cursor.execute(statement)
        return cursor.fetch_arrow_table()


def resident_mib(served: Served) -> float:
    status = Path(f"/proc/{served.process.pid}/status").read_text()
    line = next(line for line in status.splitlines() if line.startswith("VmRSS:"))
    return int(line.split()[1]) / 1024


def assert_clean_log(served: Served) -> None:
    log = (served.project_dir / "limits.log").read_text()
    assert "Traceback" not in log and "internal error" not in log, log[-3000:]


def test_a_normal_query_is_fast(served: Served) -> None:
    normal_query()  # warm up
    assert normal_query() < 1.0


def test_the_padded_outer_select_is_cut_by_the_byte_cap(served: Served) -> None:
    before = resident_mib(served)
    error, seconds = while_running(lambda: adbc_rows(PADDED))
    assert isinstance(error, flightsql.Error), error
    assert "cap of 16,777,216 bytes" in str(error) and "filter" in str(error)
    assert seconds < NORMAL_SECONDS
    # The probe saw +495 MiB; the cap keeps one result (and DuckDB's batch) far below that.
    assert resident_mib(served) - before < 150
    assert_clean_log(served)


def test_four_thousand_repeated_fields_are_refused_before_validation(served: Served) -> None:
    document = f"{{ environmentInfo(environmentId: {ENVIRONMENT_ID}) {{ {' dialect' * 4000} }} }}"
    assert len(document) > 30_000

    def abuse() -> tuple[Any, float]:
        started = time.monotonic()
        response = post(document)
        return response, time.monotonic() - started

    (response, abuse_seconds), seconds = while_running(abuse)
    message = response.json()["errors"][0]["message"]
    assert "selects 4,001 fields" in message and "limit is 100" in message
    assert abuse_seconds < 1.0 and seconds < NORMAL_SECONDS


def test_deep_or_token_heavy_documents_are_refused(served: Served) -> None:
    deep = "{ " + "a { " * 20 + "b" + " }" * 20 + " }"
    assert "nests 21 levels deep" in post(deep).json()["errors"][0]["message"]
    heavy = "{ " + "__typename " * 6000 + "}"
    assert "more than 5,000 tokens" in post(heavy).json()["errors"][0]["message"]


def test_long_and_many_filters_are_refused_before_parsing(served: Served) -> None:
    long_filter = "{{ Dimension('account_month__plan_tier') }} = '" + "x" * 18_800 + "'"
    many_long = [{"sql": long_filter}] * 60

    def abuse() -> Any:
        return post(CREATE, env=ENVIRONMENT_ID, where=many_long)

    response, seconds = while_running(abuse)
    # 60 filters of 18.8k characters are over the body limit already.
    assert response.status_code == 413
    assert seconds < NORMAL_SECONDS
    one_long = post(CREATE, env=ENVIRONMENT_ID, where=[{"sql": long_filter}]).json()
    result = poll_until_done(one_long["data"]["createQuery"]["queryId"])
    assert result["status"] == "FAILED"
    assert "at most 2,000 characters" in result["error"]
    short = {"sql": "{{ Dimension('account_month__plan_tier') }} = 'pro'"}
    many = post(CREATE, env=ENVIRONMENT_ID, where=[short] * 21).json()
    result = poll_until_done(many["data"]["createQuery"]["queryId"])
    assert "at most 20 where filters" in result["error"]
    compiled = post(
        """mutation($env: BigInt!, $where: [WhereInput!]) {
          compileSql(environmentId: $env, metrics: [{name: "mrr"}], where: $where) { sql } }""",
        env=ENVIRONMENT_ID,
        where=[{"sql": long_filter}],
    ).json()
    assert "at most 2,000 characters" in compiled["errors"][0]["message"]
    assert_clean_log(served)


def test_a_thirty_mib_body_is_refused_with_413(served: Served) -> None:
    body = b'{"query": "' + b" " * (30 * MIB) + b'{ __typename }"}'

    def abuse() -> Any:
        return requests.post(
            GRAPHQL_URL,
            data=body,
            headers={"authorization": f"Bearer {TOKEN}", "content-type": "application/json"},
            timeout=30,
        )

    response, seconds = while_running(abuse)
    assert isinstance(response, requests.Response), response
    assert response.status_code == 413
    assert "larger than the server's limit of 1,048,576 bytes" in response.text
    assert seconds < NORMAL_SECONDS
    # Streamed without a Content-Length, the body is cut when it passes the limit.
    chunks = (b" " * 65_536 for _ in range(480))
    streamed = requests.post(
        GRAPHQL_URL,
        data=chunks,
        headers={"authorization": f"Bearer {TOKEN}", "content-type": "application/json"},
        timeout=30,
    )
    assert streamed.status_code == 413


def slow_statements(count: int = 2) -> list[threading.Thread]:
    """Threads running SLOW from TOKEN (each stopped by the 2 s timeout), already started."""
    threads = [
        threading.Thread(target=lambda: pytest.raises(flightsql.Error, adbc_rows, SLOW))
        for _ in range(count)
    ]
    for thread in threads:
        thread.start()
    time.sleep(0.5)  # both hold one of the token's two running slots
    return threads


def test_one_token_flooding_the_workers_does_not_delay_another(served: Served) -> None:
    slow = slow_statements()
    aliases = " ".join(
        f'q{n}: createQuery(environmentId: {ENVIRONMENT_ID}, metrics: [{{name: "mrr"}}])'
        " { queryId }"
        for n in range(20)
    )
    answer = post(f"mutation {{ {aliases} }}").json()
    # Mutations run in order: the first ones wait their turn; the first refused one ends the
    # request (createQuery's result is non-null, so its error nulls the whole data).
    [busy] = answer["errors"]
    assert busy["path"][0] in {"q8", "q9", "q10"}, answer
    assert "busy" in busy["message"] and "at most 8 may wait" in busy["message"]
    assert "retry" in busy["message"]
    # Flight answers UNAVAILABLE while the token's queue is full, for a request not answered
    # before (a cached answer is given without waiting for a worker).
    fresh = "semantic_layer.query(metrics=['api_requests'], group_by=['api_request'], limit=11)"
    with pytest.raises(flight.FlightUnavailableError, match="retry"):
        flight_info(f"{{{{ {fresh} }}}}")
    # Meanwhile another token's query answers in its usual time.
    assert normal_query(OTHER_TOKEN) < NORMAL_SECONDS
    for thread in slow:
        thread.join(timeout=60)
    # The token's queue drains: its next query answers.
    assert normal_query(TOKEN) < NORMAL_SECONDS
    assert_clean_log(served)


def test_a_slow_statement_is_interrupted_at_the_timeout(served: Served) -> None:
    def abuse() -> tuple[Any, float]:
        started = time.monotonic()
        try:
            flight_info(SLOW)
        except flight.FlightTimedOutError as error:
            return error, time.monotonic() - started
        raise AssertionError("the slow statement was not stopped")

    (error, abuse_seconds), seconds = while_running(abuse)
    assert "ran longer than the statement timeout of 2 s" in str(error)
    assert abuse_seconds < 6 and seconds < NORMAL_SECONDS
    # The worker is free again: the same token's next query answers at once.
    assert normal_query(TOKEN) < NORMAL_SECONDS
    assert_clean_log(served)


def test_cancel_interrupts_a_running_duckdb_query() -> None:
    """The control's cancel reaches DuckDB: a query of many seconds stops within a moment."""
    connection = duckdb.connect(":memory:")
    control = QueryControl(QueryBounds(timeout_seconds=60))
    timer = threading.Timer(0.3, control.cancel)
    timer.start()
    started = time.monotonic()
    with pytest.raises(Exception, match="query was cancelled"):
        control.read_duckdb(connection, "select count(*) from range(100000000000)")
    assert time.monotonic() - started < 3
    timed = QueryControl(QueryBounds(timeout_seconds=0.3))
    with pytest.raises(QueryTimeoutError, match=r"statement timeout of 0\.3 s"):
        timed.read_duckdb(connection, "select count(*) from range(100000000000)")
    connection.close()


def test_cancel_query_stops_a_waiting_or_running_query(served: Served) -> None:
    slow = slow_statements()
    query_id = post(CREATE, env=ENVIRONMENT_ID, where=None).json()["data"]["createQuery"]
    query_id = query_id["queryId"]
    cancelled = post(CANCEL, env=ENVIRONMENT_ID, id=query_id).json()
    assert cancelled["data"]["cancelQuery"]["queryId"] == query_id
    result = poll_until_done(query_id)
    assert result == {"status": "FAILED", "error": "query was cancelled", "totalPages": None}
    for thread in slow:
        thread.join(timeout=60)


def test_unfetched_tickets_expire(served: Served) -> None:
    info = flight_info(f"{{{{ {API_REQUESTS} }}}}")
    time.sleep(4.5)
    client = flight.FlightClient(f"grpc://{HOST}:{FLIGHT_PORT}")
    with pytest.raises(pa.ArrowInvalid, match="expired") as raised:
        client.do_get(info.endpoints[0].ticket, flight_options()).read_all()
    assert "kept for 3 s" in str(raised.value)
    fresh = flight_info(f"{{{{ {API_REQUESTS} }}}}")
    assert client.do_get(fresh.endpoints[0].ticket, flight_options()).read_all().num_rows > 0


def test_unpolled_graphql_results_expire(served: Served) -> None:
    created = post(CREATE, env=ENVIRONMENT_ID, where=None).json()["data"]["createQuery"]
    time.sleep(4.5)
    # The next query made forgets the results older than the 3 s they are kept.
    normal_query(TOKEN)
    unknown = post(POLL, env=ENVIRONMENT_ID, id=created["queryId"], page=1).json()
    assert "a result is kept 3 s after its query ends" in unknown["errors"][0]["message"]


def test_query_ids_tickets_and_prepared_statements_belong_to_their_token(
    served: Served,
) -> None:
    # Another token's query id is unknown, to poll and to cancel.
    query_id = post(CREATE, env=ENVIRONMENT_ID, where=None).json()["data"]["createQuery"]["queryId"]
    for document in (POLL, CANCEL):
        variables = {"env": ENVIRONMENT_ID, "id": query_id, "page": 1}
        if document is CANCEL:
            del variables["page"]
        foreign = post(document, token=OTHER_TOKEN, **variables).json()
        assert foreign["errors"][0]["message"].startswith(f"unknown query id {query_id}")
    assert poll_until_done(query_id)["status"] == "SUCCESSFUL"
    # Another token's ticket reads nothing, and leaves the result to its owner.
    client = flight.FlightClient(f"grpc://{HOST}:{FLIGHT_PORT}")
    ticket = flight_info(f"{{{{ {API_REQUESTS} }}}}").endpoints[0].ticket
    with pytest.raises(pa.ArrowInvalid, match="unknown, expired or already fetched ticket"):
        client.do_get(ticket, flight_options(OTHER_TOKEN)).read_all()
    assert client.do_get(ticket, flight_options()).read_all().num_rows > 0
    # Another token cannot run or close a prepared statement.
    prepared = SQL["ActionCreatePreparedStatementRequest"](query=f"{{{{ {API_REQUESTS} }}}}")
    action = flight.Action("CreatePreparedStatement", pack(prepared))
    [result] = list(client.do_action(action, flight_options()))
    _, wrapper = unpack(result.body.to_pybytes())
    created = message(wrapper, "ActionCreatePreparedStatementResult").prepared_statement_handle
    execute = flight.FlightDescriptor.for_command(
        pack(SQL["CommandPreparedStatementQuery"](prepared_statement_handle=created))
    )
    with pytest.raises(pa.ArrowInvalid, match="unknown, expired or closed prepared statement"):
        client.get_flight_info(execute, flight_options(OTHER_TOKEN))
    close = SQL["ActionClosePreparedStatementRequest"](prepared_statement_handle=created)
    list(
        client.do_action(
            flight.Action("ClosePreparedStatement", pack(close)), flight_options(OTHER_TOKEN)
        )
    )
    owner_info = client.get_flight_info(execute, flight_options())
    assert client.do_get(owner_info.endpoints[0].ticket, flight_options()).read_all().num_rows > 0


def test_a_deeply_nested_statement_is_a_client_error(served: Served) -> None:
    nested = "lower(" * 60 + "api_request" + ")" * 60
    with pytest.raises(flightsql.Error, match="nests its expressions too deeply"):
        adbc_rows(f"select {nested} from {{{{ {API_REQUESTS} }}}}")
    assert_clean_log(served)


def test_flight_requires_the_environmentid_header(served: Served) -> None:
    client = flight.FlightClient(f"grpc://{HOST}:{FLIGHT_PORT}")
    descriptor = flight.FlightDescriptor.for_command(pack(SQL["CommandGetCatalogs"]()))
    with pytest.raises(flight.FlightUnauthorizedError, match="environmentid"):
        client.get_flight_info(descriptor, flight_options(environment=False))
    assert adbc_rows(f"{{{{ {API_REQUESTS} }}}}").num_rows > 0  # ADBC sends it


def test_client_errors_are_client_errors(served: Served) -> None:
    wrong = post(CREATE, env=999, where=None).json()
    assert wrong["errors"][0]["message"] == "unknown environment 999"
    unknown = post(POLL, env=ENVIRONMENT_ID, id="nope", page=1).json()
    assert unknown["errors"][0]["message"] == (
        "unknown query id nope: a result is kept 3 s after its query ends"
    )
    created = post(CREATE, env=ENVIRONMENT_ID, where=None).json()["data"]["createQuery"]
    assert poll_until_done(created["queryId"])["status"] == "SUCCESSFUL"
    page = post(POLL, env=ENVIRONMENT_ID, id=created["queryId"], page=3).json()
    assert page["errors"][0]["message"] == "page 3 does not exist; the result has 1 page"
    assert_clean_log(served)


def test_the_workers_take_tokens_in_turn() -> None:
    """A token with many queued queries does not go before a token that asked later."""
    admission = Admission(workers=1, running_per_token=1, waiting_per_token=3)
    first, second = Principal("token-1"), Principal("token-2")
    release = threading.Event()
    order: list[str] = []
    lock = threading.Lock()

    def work(label: str) -> Callable[[], str]:
        def run() -> str:
            if label == "1-block":
                release.wait(10)
            with lock:
                order.append(label)
            return label

        return run

    futures = [admission.submit(first, work("1-block"))]
    time.sleep(0.1)  # the worker holds the blocking query
    futures += [admission.submit(first, work(f"1-{n}")) for n in range(3)]
    with pytest.raises(BusyError, match="at most 3 may wait"):
        admission.submit(first, work("1-refused"))
    futures.append(admission.submit(second, work("2-0")))
    release.set()
    assert [f.result(timeout=10) for f in futures] == ["1-block", "1-0", "1-1", "1-2", "2-0"]
    assert order == ["1-block", "2-0", "1-0", "1-1", "1-2"]
    admission.close()


def test_unfetched_results_are_evicted_from_the_largest_holder() -> None:
    table = pa.table({"x": list(range(10_000))})
    size = table.get_total_buffer_size()
    results = PendingResults(ttl_seconds=60, max_bytes=3 * size)
    piler, other = Principal("token-1"), Principal("token-2")
    results.put(b"p1", table, piler)
    results.put(b"o1", table, other)
    results.put(b"p2", table, piler)
    results.put(b"p3", table, piler)  # over budget: the piler's oldest goes
    assert results.take(b"p1", piler) is None
    results.put(b"o2", table, other)  # again the piler's (2 results against 1)
    assert results.take(b"p2", piler) is None
    assert results.take(b"o1", other) is not None and results.take(b"o2", other) is not None
    assert results.take(b"p3", piler) is not None and results.total_bytes == 0
    results.stop()


def test_a_result_is_taken_only_by_its_own_token() -> None:
    table = pa.table({"x": [1, 2, 3]})
    results = PendingResults(ttl_seconds=60, max_bytes=2**20)
    owner, other = Principal("token-1"), Principal("token-2")
    results.put(b"h", table, owner)
    assert results.take(b"h", other) is None  # a leaked handle reads nothing
    assert results.take(b"h", owner) == table
    results.stop()
