"""Scoped tokens (SAAS_KPIS_SL_TOKEN_FILE) against the real server and clients, as an attacker
would try them: excluded metrics, escaping the row filter, saved queries, dimension values,
metadata and the catalog, on GraphQL, Flight SQL (statements, prepared statements, ADBC) and
dbt-sl-sdk. Expected numbers are computed independently from the unscoped token's answers.

`sl_server_process` picks the ports and sets dbt-sl-sdk's URL formats, so it is imported before
`dbtsl`.
"""

from __future__ import annotations

import base64
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pytest
import requests
from sl_server_process import (
    ENVIRONMENT_ID,
    GRAPHQL_URL,
    HOST,
    TOKEN,
    Served,
    adbc_connection,
    serving,
    start_server,
)

# isort: split
import adbc_driver_flightsql.dbapi as flightsql
from dbtsl import SemanticLayerClient
from dbtsl.error import QueryFailedError

from saas_kpis.semantic import SemanticLayer
from saas_kpis.server.auth import token_sha256
from saas_kpis.server.scopes import Scope, ScopedView
from saas_kpis.server.token_file import (
    TokenFileError,
    check_against_layer,
    load_token_file,
)

PLAN_TIER = "account_month__plan_tier"
ROW_FILTER = "{{ Dimension('account_month__plan_tier') }} = 'enterprise'"
LIST_TOKEN, TIER_TOKEN, ROW_TOKEN, PLAIN_FILE_TOKEN = (
    "list-token-0b7e",
    "tier-token-91c2",
    "row-token-4aa0",
    "plain-file-token-77d1",
)
# The metric-list token: derived/ratio metrics whose inputs (mrr, retained_mrr, starting_mrr)
# are excluded, plus the other metrics of the saved query executive_arr.
LISTED = ["arpa", "arr", "net_revenue_retention_monthly", "paying_accounts"]
GUARDRAILS = ["api_latency_p95_ms", "nps", "tickets_per_account"]
# Platform-wide or time-offset metrics that MetricFlow refuses the segment filter for.
UNREACHABLE = ["uptime", "outage_minutes", "mttr_hours", "cltv", "nrr_monthly_trailing_3m"]
ALL_SAVED = [
    "executive_arr",
    "executive_mrr_waterfall",
    "executive_nrr_trend",
    "executive_weekly_revenue",
    "team_feature_adoption",
    "team_guardrails",
    "team_wau_trend",
]
ROW_SAVED = ["executive_arr", "executive_mrr_waterfall", "team_feature_adoption", "team_wau_trend"]
WATERFALL = [
    "starting_mrr",
    "new_mrr",
    "reactivation_mrr",
    "expansion_mrr",
    "contraction_mrr",
    "churned_mrr",
    "net_new_mrr",
    "mrr",
]

TOKEN_FILE = f"""\
tokens:
  - name: plain-file
    sha256: {token_sha256(PLAIN_FILE_TOKEN).hex()}
  - name: finance-list
    sha256: {token_sha256(LIST_TOKEN).hex()}
    metrics: [{", ".join(LISTED)}]
  - name: guardrail-tier
    sha256: {token_sha256(TIER_TOKEN).hex()}
    metric_tiers: [guardrail]
  - name: cs-enterprise
    sha256: {token_sha256(ROW_TOKEN).hex()}
    row_filter: "{ROW_FILTER}"
"""


@pytest.fixture(scope="module")
def served(shipped_project: Path) -> Iterator[Served]:
    token_file = shipped_project / "scoped_tokens.yml"
    token_file.write_text(TOKEN_FILE)
    with serving(
        shipped_project,
        tokens=[TOKEN],
        extra_env={"SAAS_KPIS_SL_TOKEN_FILE": str(token_file)},
        log_name="scopes.log",
    ) as running:
        yield running


@pytest.fixture(scope="module")
def manifest_layer(shipped_project: Path) -> SemanticLayer:
    """The shipped manifest, metadata only (no warehouse), for the token file's checks."""
    return SemanticLayer.from_manifest(shipped_project / "target" / "semantic_manifest.json")


# -- clients ----------------------------------------------------------------------------------


def graphql(token: str, query: str) -> dict[str, Any]:
    response = requests.post(
        GRAPHQL_URL,
        json={"query": query},
        headers={"authorization": f"Bearer {token}"},
        timeout=120,
    )
    answer = response.json()
    # ariadne answers 400 to a request whose only field failed.
    assert response.status_code == (400 if answer.get("errors") and not answer["data"] else 200)
    return answer


def arguments(
    metrics: list[str] | None = None,
    group_by: list[str] | None = None,
    where: list[str] | None = None,
    saved_query: str | None = None,
) -> str:
    """createQuery/compileSql arguments in GraphQL syntax."""
    parts = [f"environmentId: {ENVIRONMENT_ID}"]
    if metrics:
        parts.append("metrics: [" + ", ".join(f'{{name: "{m}"}}' for m in metrics) + "]")
    if group_by:
        parts.append("groupBy: [" + ", ".join(f'{{name: "{g}"}}' for g in group_by) + "]")
    if where:
        quoted = [w.replace("\\", "\\\\").replace('"', '\\"') for w in where]
        parts.append("where: [" + ", ".join(f'{{sql: "{w}"}}' for w in quoted) + "]")
    if saved_query:
        parts.append(f'savedQuery: "{saved_query}"')
    return ", ".join(parts)


def graphql_query(token: str, **params: Any) -> tuple[pa.Table | None, str | None]:
    """createQuery, then poll: the result table, or the error message."""
    created = graphql(token, f"mutation {{ createQuery({arguments(**params)}) {{ queryId }} }}")
    assert not created.get("errors"), created
    query_id = created["data"]["createQuery"]["queryId"]
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        polled = graphql(
            token,
            f'{{ query(environmentId: {ENVIRONMENT_ID}, queryId: "{query_id}") '
            "{ status error arrowResult } }",
        )["data"]["query"]
        if polled["status"] == "FAILED":
            assert polled["arrowResult"] is None
            return None, polled["error"]
        if polled["status"] == "SUCCESSFUL":
            data = base64.b64decode(polled["arrowResult"])
            return pa.ipc.open_stream(data).read_all(), None
        time.sleep(0.2)
    raise AssertionError("the query did not finish")


def compile_sql(token: str, **params: Any) -> tuple[str | None, str | None]:
    answer = graphql(token, f"mutation {{ compileSql({arguments(**params)}) {{ sql }} }}")
    if answer.get("errors"):
        assert answer["data"] is None
        return None, answer["errors"][0]["message"]
    return answer["data"]["compileSql"]["sql"], None


def flight(token: str, statement: str) -> pa.Table:
    with adbc_connection(token) as connection, connection.cursor() as cursor:
        cursor.execute(statement)
        return cursor.fetch_arrow_table()


def flight_error(token: str, statement: str, prepared: bool = False) -> str:
    with (
        adbc_connection(token) as connection,
        connection.cursor() as cursor,
        pytest.raises(flightsql.Error) as raised,
    ):
        if prepared:
            cursor.adbc_prepare(statement)
        else:
            cursor.execute(statement)
            cursor.fetch_arrow_table()
    return str(raised.value)


def sdk(token: str) -> SemanticLayerClient:
    return SemanticLayerClient(environment_id=ENVIRONMENT_ID, auth_token=token, host=HOST)


def query_call(metrics: list[str], group_by: list[str], where: list[str] | None = None) -> str:
    text = f"metrics={metrics!r}, group_by={group_by!r}"
    if where:
        text += f", where={where!r}"
    return "{{ semantic_layer.query(" + text + ") }}"


def by_month(table: pa.Table, metric: str) -> dict[str, float]:
    """A metric's non-null values by month (ISO date text)."""
    return {
        row["metric_time__month"].date().isoformat(): row[metric]
        for row in table.to_pylist()
        if row[metric] is not None
    }


def enterprise_by_month(metrics: list[str]) -> dict[str, dict[str, float]]:
    """The unscoped answer grouped by plan tier, taken for enterprise: the independent
    expectation of what the row-filtered token gets."""
    table, error = graphql_query(TOKEN, metrics=metrics, group_by=["metric_time__month", PLAN_TIER])
    assert error is None, error
    enterprise = table.filter(pc.equal(table[PLAN_TIER], "enterprise"))
    return {metric: by_month(enterprise, metric) for metric in metrics}


def assert_same_values(got: dict[str, float], want: dict[str, float], cents: bool) -> None:
    assert got.keys() == want.keys()
    for month, value in want.items():
        if cents:
            assert round(got[month], 2) == round(value, 2), (month, got[month], value)
        else:
            assert got[month] == pytest.approx(value, rel=1e-12), (month, got[month], value)


def rows(table: pa.Table) -> list[dict[str, Any]]:
    """A table's rows in one order (a query without order_by has none), floats to 6 decimals:
    DuckDB sums floats in parallel, so two runs of one query may differ in the last bit."""
    return sorted(
        (
            {k: round(v, 6) if isinstance(v, float) else v for k, v in row.items()}
            for row in table.to_pylist()
        ),
        key=repr,
    )


def no_number(message: str) -> None:
    """A refusal carries no metric value: no number with a decimal point or of 3+ digits."""
    assert not re.search(r"\d+\.\d+|\d{3,}", message), message


# -- the token file's rules (no server) -------------------------------------------------------

GOOD_HASH = "ab" * 32


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("tokens: []\n", "`tokens` must be a non-empty list"),
        ("users: []\n", "the one key `tokens`"),
        ("tokens: [\n", "not valid YAML"),
        ("tokens:\n  - just-a-string\n", "tokens[0]: an entry must be a mapping"),
        (f"tokens:\n  - sha256: {GOOD_HASH}\n", "tokens[0]: `name` must be"),
        ("tokens:\n  - name: a\n    sha256: 12ab\n", "tokens[0] (a): `sha256` must be 64"),
        (
            f"tokens:\n  - name: a\n    sha256: {GOOD_HASH}\n    metric: [mrr]\n",
            "tokens[0] (a): unknown key(s) metric",
        ),
        (
            f"tokens:\n  - name: a\n    sha256: {GOOD_HASH}\n"
            f"  - name: a\n    sha256: {'cd' * 32}\n",
            "tokens[1] (a): the name is used by an earlier entry",
        ),
        (
            f"tokens:\n  - name: a\n    sha256: {GOOD_HASH}\n"
            f"  - name: b\n    sha256: {GOOD_HASH}\n",
            "tokens[1] (b): the sha256 is that of an earlier entry",
        ),
        (
            f"tokens:\n  - name: a\n    sha256: {GOOD_HASH}\n    metrics: []\n",
            "tokens[0] (a): `metrics` must be a non-empty list of names",
        ),
        (
            f"tokens:\n  - name: a\n    sha256: {GOOD_HASH}\n    metric_tiers: guardrail\n",
            "tokens[0] (a): `metric_tiers` must be a non-empty list of names",
        ),
        (
            f"tokens:\n  - name: a\n    sha256: {GOOD_HASH}\n    row_filter: \"plan_tier = 'x'\"\n",
            "tokens[0] (a): `row_filter` is not a valid filter",
        ),
        (
            f"tokens:\n  - name: a\n    sha256: {GOOD_HASH}\n    row_filter: "
            "\"{{ Metric('mrr', group_by=['account_month']) }} > 0\"\n",
            "tokens[0] (a): `row_filter` may not reference Metric()",
        ),
    ],
)
def test_token_file_rules(tmp_path: Path, text: str, rule: str) -> None:
    path = tmp_path / "tokens.yml"
    path.write_text(text)
    with pytest.raises(TokenFileError) as raised:
        load_token_file(path)
    assert str(raised.value).startswith(f"{path}: ")
    assert rule in str(raised.value)


def test_a_missing_token_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "absent.yml"
    with pytest.raises(TokenFileError, match=r"absent\.yml: cannot be read"):
        load_token_file(path)


@pytest.mark.parametrize(
    ("entry", "rule"),
    [
        ("    metrics: [mrr, no_such_metric]\n", "unknown metric(s) no_such_metric"),
        ("    metric_tiers: [guardrail, gold]\n", "unknown metric tier(s) gold"),
        (
            "    row_filter: \"{{ Dimension('account_month__no_such_dimension') }} = 'x'\"\n",
            "`row_filter` does not validate",
        ),
        (
            # Valid alone, but reaches none of the token's (platform-wide) metrics.
            f'    metrics: [uptime, outage_minutes]\n    row_filter: "{ROW_FILTER}"\n',
            "`row_filter` does not validate",
        ),
    ],
)
def test_token_file_names_are_checked_against_the_manifest(
    tmp_path: Path, manifest_layer: SemanticLayer, entry: str, rule: str
) -> None:
    path = tmp_path / "tokens.yml"
    path.write_text(
        f"tokens:\n  - name: ok\n    sha256: {GOOD_HASH}\n  - name: bad\n    sha256: "
        f"{'cd' * 32}\n{entry}"
    )
    tokens = load_token_file(path)
    with pytest.raises(TokenFileError) as raised:
        check_against_layer(path, tokens, manifest_layer)
    assert str(raised.value).startswith(f"{path}: tokens[1] (bad): ")
    assert rule in str(raised.value)


def test_scoped_views_hide_what_they_exclude(manifest_layer: SemanticLayer) -> None:
    everything = {metric.name for metric in manifest_layer.metrics()}
    row = ScopedView(manifest_layer, Scope(row_filter=ROW_FILTER))
    assert row.visible == everything - set(UNREACHABLE) - {
        "catch_up_cwgr",
        "minutes_in_period",
        "weekly_revenue_growth_rate",
    }
    assert [saved.name for saved in row.saved_queries()] == ROW_SAVED
    tier = ScopedView(manifest_layer, Scope(metric_tiers=frozenset({"guardrail"})))
    assert sorted(tier.visible) == GUARDRAILS
    assert tier.saved_queries() == []
    # A scope whose row filter reaches none of its metrics sees nothing at all.
    nothing = ScopedView(
        manifest_layer, Scope(metrics=frozenset({"uptime"}), row_filter=ROW_FILTER)
    )
    assert nothing.metrics() == [] and nothing.saved_queries() == []
    with pytest.raises(LookupError, match=r"^unknown metric\(s\): uptime$"):
        nothing.dimensions(["uptime"])


# -- the server -------------------------------------------------------------------------------


def test_a_bad_token_file_stops_the_server_at_startup(shipped_project: Path) -> None:
    token_file = shipped_project / "bad_tokens.yml"
    token_file.write_text(
        f"tokens:\n  - name: typo\n    sha256: {GOOD_HASH}\n    metrics: [mrrr]\n"
    )
    with pytest.raises(RuntimeError) as raised:
        start_server(
            shipped_project,
            [TOKEN],
            ENVIRONMENT_ID,
            shipped_project / "scopes_bad_file.log",
            extra_env={"SAAS_KPIS_SL_TOKEN_FILE": str(token_file)},
        )
    message = str(raised.value)
    assert "server exited with 2" in message
    assert f"{token_file}: tokens[0] (typo): unknown metric(s) mrrr" in message


def test_an_excluded_metric_is_refused_like_an_unknown_one_everywhere(served: Served) -> None:
    unknown = "unknown metric(s): no_such_metric"
    # The same words for a metric that does not exist and for one the scope excludes.
    assert graphql_query(LIST_TOKEN, metrics=["no_such_metric"]) == (None, unknown)
    for token, metric in [(LIST_TOKEN, "mrr"), (TIER_TOKEN, "mrr"), (ROW_TOKEN, "uptime")]:
        expected = f"unknown metric(s): {metric}"
        group_by = ["metric_time__month"]
        assert graphql_query(token, metrics=[metric], group_by=group_by) == (None, expected)
        assert compile_sql(token, metrics=[metric], group_by=group_by) == (None, expected)
        statement = query_call([metric], group_by)
        for prepared in (False, True):
            message = flight_error(token, statement, prepared=prepared)
            assert expected in message
            no_number(message)
        outer = f"select sum({metric}) from {statement}"
        assert expected in flight_error(token, outer)
        with sdk(token).session() as sl, pytest.raises(QueryFailedError) as raised:
            sl.query(metrics=[metric], group_by=group_by)
        assert expected in str(raised.value)
        no_number(str(raised.value))
        # Next to an allowed metric, the whole query is refused.
        allowed = LISTED[0] if token == LIST_TOKEN else GUARDRAILS[0]
        if token == ROW_TOKEN:
            allowed = "mrr"
        assert graphql_query(token, metrics=[allowed, metric]) == (None, expected)


def test_the_server_logs_token_names_never_tokens(served: Served) -> None:
    graphql_query(LIST_TOKEN, metrics=["mrr"])
    log = (served.project_dir / "scopes.log").read_text()
    assert "finance-list refused metric(s) mrr" in log
    for token in (TOKEN, LIST_TOKEN, TIER_TOKEN, ROW_TOKEN, PLAIN_FILE_TOKEN):
        assert token not in log


def test_unscoped_tokens_answer_as_before(served: Served) -> None:
    group_by = ["metric_time__month", PLAN_TIER]
    reference, error = graphql_query(TOKEN, metrics=["mrr"], group_by=group_by)
    assert error is None
    file_token, error = graphql_query(PLAIN_FILE_TOKEN, metrics=["mrr"], group_by=group_by)
    assert error is None and rows(file_token) == rows(reference)
    everything = graphql(TOKEN, f"{{ metrics(environmentId: {ENVIRONMENT_ID}) {{ name }} }}")
    plain = graphql(PLAIN_FILE_TOKEN, f"{{ metrics(environmentId: {ENVIRONMENT_ID}) {{ name }} }}")
    assert plain == everything and len(everything["data"]["metrics"]) > 90
    statement = query_call(["uptime"], ["metric_time__month"])
    assert rows(flight(PLAIN_FILE_TOKEN, statement)) == rows(flight(TOKEN, statement))


def test_the_row_filtered_mrr_is_the_enterprise_segment_to_the_cent(served: Served) -> None:
    expected = enterprise_by_month(["mrr"])["mrr"]
    assert len(expected) > 12
    table, error = graphql_query(ROW_TOKEN, metrics=["mrr"], group_by=["metric_time__month"])
    assert error is None
    assert_same_values(by_month(table, "mrr"), expected, cents=True)
    with sdk(ROW_TOKEN).session() as sl:
        from_sdk = sl.query(metrics=["mrr"], group_by=["metric_time__month"])
    assert_same_values(by_month(from_sdk, "mrr"), expected, cents=True)


def test_ratio_and_derived_metrics_are_filtered_in_every_input(served: Served) -> None:
    metrics = ["net_revenue_retention_monthly", "arr", "arpa"]
    expected = enterprise_by_month(metrics)
    table, error = graphql_query(ROW_TOKEN, metrics=metrics, group_by=["metric_time__month"])
    assert error is None
    for metric in metrics:
        assert_same_values(by_month(table, metric), expected[metric], cents=False)
    sql, error = compile_sql(
        ROW_TOKEN, metrics=["net_revenue_retention_monthly", "arr"], group_by=["metric_time__month"]
    )
    assert error is None
    # The server's row filter is applied where each input is read: the retention model
    # (numerator and denominator together) and the account months (arr's input); the numbers
    # above show it reaches all of them.
    assert "fct_monthly_retention" in sql and "fct_account_months" in sql
    assert sql.count("WHERE account_month__plan_tier = 'enterprise'") >= 2
    # The metric-list token may see the derived and ratio metrics whose inputs it may not:
    # the same numbers as the unscoped token (each is allowed on its own).
    unscoped, _ = graphql_query(TOKEN, metrics=LISTED, group_by=["metric_time__month"])
    listed, error = graphql_query(LIST_TOKEN, metrics=LISTED, group_by=["metric_time__month"])
    assert error is None and rows(listed) == rows(unscoped)


@pytest.mark.parametrize(
    "escape",
    [
        "{{ Dimension('account_month__plan_tier') }} = 'starter' or 1=1",
        "{{ Dimension('account_month__plan_tier') }} = 'enterprise' or "
        "{{ Dimension('account_month__plan_tier') }} = 'starter'",
        "({{ Dimension('account_month__plan_tier') }} = 'enterprise') or true",
    ],
)
def test_a_client_filter_cannot_widen_the_row_filter(served: Served, escape: str) -> None:
    expected = enterprise_by_month(["mrr"])["mrr"]
    table, error = graphql_query(
        ROW_TOKEN, metrics=["mrr"], group_by=["metric_time__month"], where=[escape]
    )
    assert error is None
    assert_same_values(by_month(table, "mrr"), expected, cents=True)
    statement = query_call(["mrr"], ["metric_time__month", PLAN_TIER], [escape])
    tiers = flight(ROW_TOKEN, f"select distinct {PLAN_TIER} from {statement}")
    assert tiers.column(0).to_pylist() == ["enterprise"]
    sql, error = compile_sql(ROW_TOKEN, metrics=["mrr"], where=[escape])
    assert error is None and "account_month__plan_tier = 'enterprise'" in sql


def test_another_segment_gets_nothing(served: Served) -> None:
    starter = "{{ Dimension('account_month__plan_tier') }} = 'starter'"
    table, error = graphql_query(
        ROW_TOKEN, metrics=["mrr"], group_by=["metric_time__month", PLAN_TIER], where=[starter]
    )
    assert error is None
    assert [value for value in table.column("mrr").to_pylist() if value] == []


def test_grouping_by_the_segment_shows_only_the_segment(served: Served) -> None:
    table = flight(ROW_TOKEN, query_call(["mrr", "paying_accounts"], [PLAN_TIER]))
    assert table.column(PLAN_TIER).to_pylist() == ["enterprise"]
    whole = flight(TOKEN, query_call(["mrr", "paying_accounts"], [PLAN_TIER]))
    assert sorted(whole.column(PLAN_TIER).to_pylist()) != ["enterprise"]
    assert table.to_pylist() == [row for row in whole.to_pylist() if row[PLAN_TIER] == "enterprise"]


def test_dimension_values_are_filtered_and_need_visible_metrics(served: Served) -> None:
    call = f"{{{{ semantic_layer.dimension_values(metrics=['mrr'], group_by='{PLAN_TIER}') }}}}"
    assert flight(ROW_TOKEN, call).column(0).to_pylist() == ["enterprise"]
    assert len(flight(TOKEN, call).column(0)) > 1
    with sdk(ROW_TOKEN).session() as sl:
        assert sl.dimension_values(metrics=["mrr"], group_by=PLAN_TIER).column(0).to_pylist() == [
            "enterprise"
        ]
    without_metrics = f"{{{{ semantic_layer.dimension_values(group_by='{PLAN_TIER}') }}}}"
    assert "needs metrics" in flight_error(ROW_TOKEN, without_metrics)
    assert "needs metrics" in flight_error(LIST_TOKEN, without_metrics)
    assert "unknown metric(s): mrr" in flight_error(LIST_TOKEN, call)
    listed = call.replace("'mrr'", "'arr'")
    assert len(flight(LIST_TOKEN, listed).column(0)) > 1


def test_saved_queries_need_every_metric_and_run_under_the_row_filter(served: Served) -> None:
    # Refused: a metric outside the scope (nrr_monthly_trailing_3m cannot take the filter;
    # executive_mrr_waterfall has mrr, outside the metric list).
    for token, name in [
        (ROW_TOKEN, "executive_nrr_trend"),
        (LIST_TOKEN, "executive_mrr_waterfall"),
    ]:
        expected = f"unknown saved query: {name}"
        assert graphql_query(token, saved_query=name) == (None, expected)
        assert compile_sql(token, saved_query=name) == (None, expected)
        assert expected in flight_error(
            token, f"{{{{ semantic_layer.query(saved_query='{name}') }}}}"
        )
        assert "unknown table" in flight_error(token, f"select * from saved_queries.{name}")
        with sdk(token).session() as sl, pytest.raises(QueryFailedError) as raised:
            sl.query(saved_query=name)
        assert expected in str(raised.value)
    # Allowed: the waterfall for the enterprise segment, equal to the unscoped metrics grouped
    # by plan tier.
    expected = enterprise_by_month(WATERFALL)
    table, error = graphql_query(ROW_TOKEN, saved_query="executive_mrr_waterfall")
    assert error is None
    for metric in WATERFALL:
        assert_same_values(by_month(table, metric), expected[metric], cents=True)
    from_catalog = flight(ROW_TOKEN, "select * from saved_queries.executive_mrr_waterfall")
    assert rows(from_catalog) == rows(table)
    sql, error = compile_sql(ROW_TOKEN, saved_query="executive_mrr_waterfall")
    assert error is None and "account_month__plan_tier = 'enterprise'" in sql
    # The metric-list token runs executive_arr, whose metrics it may all see, unfiltered.
    listed, error = graphql_query(LIST_TOKEN, saved_query="executive_arr")
    unscoped, _ = graphql_query(TOKEN, saved_query="executive_arr")
    assert error is None and rows(listed) == rows(unscoped)


def test_metric_filters_cannot_reach_outside_the_scope(served: Served) -> None:
    on_mrr = "{{ Metric('mrr', group_by=['account_month']) }} > 0"
    assert graphql_query(LIST_TOKEN, metrics=["paying_accounts"], where=[on_mrr]) == (
        None,
        "unknown metric(s): mrr",
    )
    statement = query_call(["paying_accounts"], ["metric_time__month"], [on_mrr])
    assert "unknown metric(s): mrr" in flight_error(LIST_TOKEN, statement)
    # MetricFlow computes a Metric() filter in a subquery without the query's constraints, so
    # a row-filtered token may not use Metric() filters at all.
    on_paying = "{{ Metric('paying_accounts', group_by=['account_month']) }} > 0"
    expected = "Metric() filters are not available to this token"
    assert graphql_query(ROW_TOKEN, metrics=["mrr"], where=[on_paying]) == (None, expected)
    assert compile_sql(ROW_TOKEN, metrics=["mrr"], where=[on_paying]) == (None, expected)
    # An unscoped token still may.
    table, error = graphql_query(TOKEN, metrics=["mrr"], where=[on_paying])
    assert error is None and table.num_rows == 1


def test_outer_selects_go_through_the_scope(served: Served) -> None:
    expected = enterprise_by_month(["mrr"])["mrr"]
    statement = (
        "select count(*) as months, sum(mrr) as total from "
        + query_call(["mrr"], ["metric_time__month"])
        + " where mrr is not null"
    )
    row = flight(ROW_TOKEN, statement).to_pylist()[0]
    assert row["months"] == len(expected)
    assert row["total"] == pytest.approx(sum(expected.values()), rel=1e-12)


GRAPHQL_METADATA = f"""{{
  environmentInfo(environmentId: {ENVIRONMENT_ID}) {{ hasMetricsDefined }}
  metrics(environmentId: {ENVIRONMENT_ID}) {{ name }}
  savedQueries(environmentId: {ENVIRONMENT_ID}) {{ name }}
  metricsPaginated(environmentId: {ENVIRONMENT_ID}, pageSize: 500) {{
    totalItems items {{ name }} }}
  savedQueriesPaginated(environmentId: {ENVIRONMENT_ID}, pageSize: 500) {{
    totalItems items {{ name }} }}
}}"""


def visible_sets() -> dict[str, tuple[list[str], list[str]]]:
    """Each token's visible metrics and saved queries, as the unscoped metadata gives them."""
    answer = graphql(TOKEN, GRAPHQL_METADATA)["data"]
    everything = sorted(m["name"] for m in answer["metrics"])
    assert sorted(s["name"] for s in answer["savedQueries"]) == ALL_SAVED
    unreachable = {"catch_up_cwgr", "minutes_in_period", "weekly_revenue_growth_rate"}
    return {
        TOKEN: (everything, ALL_SAVED),
        LIST_TOKEN: (LISTED, ["executive_arr"]),
        TIER_TOKEN: (GUARDRAILS, []),
        ROW_TOKEN: (
            [m for m in everything if m not in set(UNREACHABLE) | unreachable],
            ROW_SAVED,
        ),
    }


def test_graphql_metadata_lists_only_what_the_scope_allows(served: Served) -> None:
    for token, (metrics, saved) in visible_sets().items():
        answer = graphql(token, GRAPHQL_METADATA)
        assert not answer.get("errors"), answer
        data = answer["data"]
        assert data["environmentInfo"]["hasMetricsDefined"] is True
        assert sorted(m["name"] for m in data["metrics"]) == metrics
        assert sorted(s["name"] for s in data["savedQueries"]) == saved
        assert data["metricsPaginated"]["totalItems"] == len(metrics)
        assert sorted(m["name"] for m in data["metricsPaginated"]["items"]) == metrics
        assert sorted(s["name"] for s in data["savedQueriesPaginated"]["items"]) == saved
        with sdk(token).session() as sl:
            assert sorted(m.name for m in sl.metrics()) == metrics
            assert sorted(s.name for s in sl.saved_queries()) == saved
    # Metadata about an excluded metric is refused with the unknown-metric message.
    for field in ("dimensions", "measures", "entities"):
        query = (
            f'{{ {field}(environmentId: {ENVIRONMENT_ID}, metrics: [{{name: "mrr"}}]) {{ name }} }}'
        )
        assert graphql(LIST_TOKEN, query)["errors"][0]["message"] == "unknown metric(s): mrr"
        assert not graphql(ROW_TOKEN, query).get("errors")
    for field in ("dimensionsPaginated", "entitiesPaginated"):
        query = (
            f'{{ {field}(environmentId: {ENVIRONMENT_ID}, metrics: [{{name: "uptime"}}]) '
            "{ totalItems } }"
        )
        assert graphql(ROW_TOKEN, query)["errors"][0]["message"] == "unknown metric(s): uptime"
        assert not graphql(TOKEN, query).get("errors")


def test_flight_metadata_and_catalog_list_only_what_the_scope_allows(served: Served) -> None:
    for token, (metrics, saved) in visible_sets().items():
        listed = flight(token, "{{ semantic_layer.metrics() }}").column("name").to_pylist()
        assert sorted(listed) == metrics
        view = flight(token, "select * from metadata.metrics").column("name").to_pylist()
        assert sorted(view) == metrics
        saved_call = flight(token, "{{ semantic_layer.saved_queries() }}")
        assert sorted(saved_call.column("name").to_pylist()) == saved
        with adbc_connection(token) as connection:
            objects = connection.adbc_get_objects().read_all().to_pylist()
        schemas = {
            schema["db_schema_name"]: [table["table_name"] for table in schema["db_schema_tables"]]
            for schema in objects[0]["catalog_db_schemas"]
        }
        assert schemas["saved_queries"] == saved
        assert schemas["metadata"] == ["dimensions", "metrics", "saved_queries"]
    assert "unknown metric(s): mrr" in flight_error(
        LIST_TOKEN, "{{ semantic_layer.dimensions(metrics=['mrr']) }}"
    )
    # The dimensions view lists the dimensions of the visible metrics only.
    tier_dimensions = flight(TIER_TOKEN, "select * from metadata.dimensions")
    all_dimensions = flight(TOKEN, "select * from metadata.dimensions")
    tier_names = set(tier_dimensions.column("qualified_name").to_pylist())
    assert tier_names < set(all_dimensions.column("qualified_name").to_pylist())


def test_planner_errors_do_not_name_metrics_outside_the_scope(served: Served) -> None:
    typo = "{{ Dimension('account_month__plan_tierr') }} = 'x'"
    _, unscoped = graphql_query(TOKEN, metrics=["arr"], where=[typo])
    # MetricFlow names the derived metric's input in its error...
    assert "SimpleMetric('mrr')" in unscoped
    # ...which a token that may see arr but not mrr gets without the name.
    _, scoped = graphql_query(LIST_TOKEN, metrics=["arr"], where=[typo])
    assert "SimpleMetric('<hidden>')" in scoped and "mrr" not in scoped
    assert "ComplexMetric('arr')" in scoped
    _, compiled = compile_sql(LIST_TOKEN, metrics=["arr"], where=[typo])
    assert compiled == scoped


def test_scoped_tokens_may_not_open_the_dashboards(served: Served) -> None:
    url = GRAPHQL_URL.replace("/api/graphql", "/dashboards/")
    for token in (ROW_TOKEN, LIST_TOKEN, TIER_TOKEN):
        bearer = requests.get(url, headers={"authorization": f"Bearer {token}"}, timeout=30)
        basic = requests.get(url, auth=("viewer", token), timeout=30)
        assert bearer.status_code == basic.status_code == 403
        assert "scoped" in bearer.json()["errors"][0]["message"]
    for token in (TOKEN, PLAIN_FILE_TOKEN):
        response = requests.get(url, auth=("viewer", token), timeout=30)
        # 503 while the first render of the pages is under way.
        assert response.status_code in (200, 503)
