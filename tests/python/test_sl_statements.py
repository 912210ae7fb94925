"""The whitelist parser of the Semantic Layer server: a fuzz corpus of hostile input.

Every hostile filter and statement must be rejected with a StatementError (a clean message),
and the legitimate forms that clients send must be accepted, so that the parser is not simply
rejecting everything.
"""

from __future__ import annotations

import pytest

from saas_kpis.semantic import QueryRequest
from saas_kpis.server.statements import (
    StatementError,
    parse_statement,
    validate_where,
)
from saas_kpis.server.table_statements import NamePart, TableSelect, parse_table_select

TIER = "{{ Dimension('account_month__plan_tier') }}"

HOSTILE_FILTERS = [
    "1 = 1",
    "true",
    f"{TIER} = 'pro'; drop table main.fct_account_months",
    f"{TIER} = 'pro' -- trailing comment",
    f"{TIER} = 'pro' /* comment */",
    f"{TIER} in (select plan_tier from main.fct_account_months)",
    f"exists (select 1) and {TIER} = 'pro'",
    f"{TIER} = (select max(plan_tier) from main.fct_account_months)",
    f"{TIER} = 'pro' union select 1",
    f"{TIER} = 'pro' or plan_tier = 'x'",
    f"{TIER} = getenv('HOME')",
    f"{TIER} = read_text('/etc/passwd')",
    f"{TIER} = current_setting('threads')",
    f"{TIER} = pg_sleep(10)",
    f"{TIER} = '{{{{ 7 * 7 }}}}'",
    f"{TIER} = 'a' {{% if true %}} or 1=1 {{% endif %}}",
    f"{TIER} = 'a' {{# comment #}}",
    "{{ Dimension('account_month__plan_tier').__class__ }} = 'a'",
    "{{ ''.__class__.__mro__ }} = 'a'",
    "{{ Dimension(__import__('os').system('id')) }} = 'a'",
    "{{ Dimension('account_month__' + 'plan_tier') }} = 'a'",
    "{{ Dimension('x; drop table t') }} = 'a'",
    "{{ Dimension('account_month__plan_tier').grain('month; drop') }} = 'a'",
    "{{ config }} = 'a'",
    "{{ lipsum.__globals__ }} = 'a'",
    "{{ Dimension('account_month__plan_tier')",
    f"{TIER} = main.fct_account_months.plan_tier",
    f"{TIER}::blob = 'a'",
    f"{TIER} = $$dollar quoted$$",
    f"{TIER} = 'a'; select 1",
    "",
    "   ",
]

ACCEPTED_FILTERS = [
    f"{TIER} = 'pro'",
    f"{TIER} in ('pro', 'enterprise')",
    "{{ TimeDimension('metric_time', 'month') }} >= '2026-01-01'",
    "lower({{ Dimension('account_month__industry') }}) like 'fin%'",
    "not {{ Dimension('account_month__is_partial_month') }}",
    "{{ Dimension('account_month__is_partial_month') }} = false",
    "{{ Entity('account') }} is not null",
    "{{ Metric('mrr', group_by=['account_month']) }} > 100",
]

CALL = (
    '{{ semantic_layer.query(metrics=["mrr"], group_by=[TimeDimension("metric_time", "month")]) }}'
)

HOSTILE_STATEMENTS = [
    "select 1",
    "drop table main.fct_account_months",
    f"{CALL}; drop table main.fct_account_months",
    f"select * from {CALL}; drop table x",
    f"select * from read_csv('/etc/passwd'), {CALL}",
    f"select * from {CALL} join main.fct_account_months using (account_month_id)",
    f"select (select 1) from {CALL}",
    f"select getenv('HOME') from {CALL}",
    f"insert into t select * from {CALL}",
    f"copy (select * from {CALL}) to '/tmp/x.csv'",
    f"attach '/tmp/x.duckdb'; select * from {CALL}",
    f"select * from {CALL} -- comment",
    f"{CALL} {CALL}",
    "{{ semantic_layer.query(metrics=__import__('os').listdir('/')) }}",
    "{{ semantic_layer.__class__ }}",
    '{{ semantic_layer.query(metrics=["mrr"]).__class__ }}',
    '{{ semantic_layer.execute("drop table x") }}',
    '{{ semantic_layer.query("mrr") }}',
    '{{ semantic_layer.query(metrics=["mrr"], limit=-1) }}',
    '{{ semantic_layer.query(metrics=["mrr"], limit="10") }}',
    '{{ semantic_layer.query(metrics=["m r r"]) }}',
    '{{ semantic_layer.query(metrics=["mrr"], group_by=[Dimension("a").grain("month;drop")]) }}',
    '{{ semantic_layer.query(metrics=["mrr"], group_by=[eval("1")]) }}',
    '{{ semantic_layer.query(metrics=["mrr"], where=["1=1"]) }}',
    '{{ semantic_layer.query(metrics=["mrr"], unknown_argument=1) }}',
    '{{ semantic_layer.query(metrics=["mrr"], metrics=["arr"]) }}',
    '{{ semantic_layer.query(metrics=["mrr"], saved_query="executive_arr") }}',
    '{{ semantic_layer.query(metrics=["mrr"] }}',
    '{{ semantic_layer.query(metrics=["mrr"]) ',
    "{{ lipsum.__globals__ }}",
    "{% raw %}{{ semantic_layer.metrics() }}{% endraw %}",
    '{{ semantic_layer.dimension_values(metrics=["mrr"]) }}',
    "{{ (lambda: 1)() }}",
    "{{ semantic_layer.query(**{'metrics': ['mrr']}) }}",
]


@pytest.mark.parametrize("where", HOSTILE_FILTERS)
def test_hostile_filters_are_rejected(where: str) -> None:
    with pytest.raises(StatementError) as raised:
        validate_where(where)
    assert str(raised.value), "the error must say what is wrong"


@pytest.mark.parametrize("where", ACCEPTED_FILTERS)
def test_legitimate_filters_are_accepted(where: str) -> None:
    rendered = validate_where(where)
    assert "{{" in rendered and "}}" in rendered


def test_filter_references_are_canonical() -> None:
    rendered = validate_where(
        "{{ Dimension('account_month__plan_tier') }} = 'pro' "
        "and {{ TimeDimension('metric_time', 'MONTH') }} >= '2026-01-01'"
    )
    assert rendered == (
        "{{ Dimension('account_month__plan_tier') }} = 'pro' "
        "AND {{ TimeDimension('metric_time', 'month') }} >= '2026-01-01'"
    )


@pytest.mark.parametrize("statement", HOSTILE_STATEMENTS)
def test_hostile_statements_are_rejected(statement: str) -> None:
    with pytest.raises(StatementError) as raised:
        parse_statement(statement)
    message = str(raised.value)
    assert message and "Traceback" not in message


def test_sdk_statement_is_parsed_into_metricflow_names() -> None:
    # The exact text dbt-sl-sdk 0.13 sends for query() (ADBCProtocol.get_query_sql).
    statement = (
        '{{ semantic_layer.query(group_by=[TimeDimension("metric_time", "MONTH"),'
        'Dimension("account_month__plan_tier")],limit=5,metrics=["mrr","arr"],'
        'order_by=[Metric("mrr").descending(True),Dimension("metric_time").grain("month")],'
        "read_cache=True,where=[\"{{ Dimension('account_month__plan_tier') }} = 'pro'\"]) }}"
    )
    call = parse_statement(statement)
    assert call.function == "query" and call.outer_sql is None
    assert call.request == QueryRequest(
        metrics=("mrr", "arr"),
        group_by=("metric_time__month", "account_month__plan_tier"),
        where=("{{ Dimension('account_month__plan_tier') }} = 'pro'",),
        order_by=("-mrr", "metric_time__month"),
        limit=5,
    )


def test_outer_select_is_normalized() -> None:
    call = parse_statement(f"select metric_time__month, mrr from {CALL} where mrr > 10 order by 1")
    assert call.outer_sql == (
        "SELECT metric_time__month, mrr FROM semantic_layer_result WHERE mrr > 10 ORDER BY 1"
    )


def test_table_selects_are_parsed_into_name_parts() -> None:
    assert parse_table_select('SELECT * FROM "semantic_layer"."saved_queries"."x_1"') == (
        TableSelect(
            parts=(
                NamePart("semantic_layer", quoted=True),
                NamePart("saved_queries", quoted=True),
                NamePart("x_1", quoted=True),
            )
        )
    )
    assert parse_table_select("  select *  from Metadata . metrics limit 5 ;") == TableSelect(
        parts=(NamePart("Metadata", quoted=False), NamePart("metrics", quoted=False)), limit=5
    )
    assert NamePart("Metadata", quoted=False).matches("metadata")
    assert not NamePart("Metadata", quoted=True).matches("metadata")


@pytest.mark.parametrize(
    "statement",
    [
        *HOSTILE_STATEMENTS,
        "select * from a.b.c.d",
        "select * from x where 1 = 1",
        "select * from x limit -1",
        "select * from x limit 1 offset 2",
        "select a from x",
        "select * from x; drop table x",
        "select * from x, y",
        'select * from "x"";drop table y"',
        "select * from x -- comment",
        "select * from x/**/",
        "select * from read_csv('/etc/passwd')",
        f"select * from {CALL}",
    ],
)
def test_anything_but_a_plain_table_select_is_not_one(statement: str) -> None:
    assert parse_table_select(statement) is None
