"""dbt Labs' own MCP server, `dbt-mcp`, against the Semantic Layer API server.

One build of the shipped seeds (a throw-away copy of the project), published and served as in
tests/python/test_sl_server.py. The agent side is the real thing: `dbt-mcp` from `.venv-mcp`
(Python 3.12, `make mcp` creates it) started as an MCP stdio server by the real MCP client in
`dbt_mcp_driver.py`, with the environment the README's recipe gives. Each of its seven
semantic-layer tools is called, and the answers are checked against the build's own artifacts
and `mf query`. The paginated GraphQL fields that dbt-mcp reads are also checked over HTTP.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from mf_cli import mf_query
from sl_server_process import (
    ENVIRONMENT_ID,
    FLIGHT_PORT,
    GRAPHQL_PORT,
    TOKEN,
    Served,
    serve_shipped_build,
)

from saas_kpis.project import REPO_ROOT

MCP_PYTHON = REPO_ROOT / ".venv-mcp" / "bin" / "python"
DRIVER = Path(__file__).with_name("dbt_mcp_driver.py")
ROOT_URL = f"http://127.0.0.1:{GRAPHQL_PORT}/"
SEGMENTS = {
    "account_month__plan_tier",
    "account_month__industry",
    "account_month__account_age_band",
}
SEMANTIC_LAYER_TOOLS = [
    "get_dimension_values",
    "get_dimensions",
    "get_entities",
    "get_metrics_compiled_sql",
    "list_metrics",
    "list_saved_queries",
    "query_metrics",
]


def semantic_manifest(served: Served) -> dict[str, Any]:
    return json.loads((served.project_dir / "target" / "semantic_manifest.json").read_text())


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    assert MCP_PYTHON.exists(), "no .venv-mcp: run `make mcp`, which creates it"
    with serve_shipped_build(tmp_path_factory.mktemp("dbt_mcp")) as shipped:
        yield shipped


def dbt_mcp_environment(token: str) -> dict[str, str]:
    """The README's recipe: dbt-mcp on a local host, the semantic-layer tools alone."""
    return {
        "DBT_HOST": f"localhost:{GRAPHQL_PORT}",
        "DBT_TOKEN": token,
        "DBT_PROD_ENV_ID": str(ENVIRONMENT_ID),
        "DBT_SL_GRAPHQL_URL_FORMAT": "http://{server_host}/api/graphql",
        "DBT_SL_ADBC_URL_FORMAT": f"grpc://localhost:{FLIGHT_PORT}",
        "DISABLE_DBT_CLI": "true",
        "DISABLE_DBT_CODEGEN": "true",
        "DISABLE_DISCOVERY": "true",
        "DISABLE_ADMIN_API": "true",
        "DISABLE_SQL": "true",
        "DISABLE_LSP": "true",
        "DISABLE_PRODUCT_DOCS": "true",
        "DISABLE_MCP_SERVER_METADATA": "true",
        "DISABLE_MCP_APPS": "true",
        "DO_NOT_TRACK": "1",
    }


def agent(calls: list[dict[str, Any]], token: str = TOKEN) -> dict[str, Any]:
    """Run the calls through dbt-mcp; its tools' names and each call's MCP result."""
    # Only what a person's shell would have: no variable of the test venv leaks into dbt-mcp.
    env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp")}
    completed = subprocess.run(
        [str(MCP_PYTHON), str(DRIVER)],
        input=json.dumps(calls),
        env={**env, **dbt_mcp_environment(token)},
        cwd=DRIVER.parent,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    return json.loads(completed.stdout)


def call(name: str, **arguments: Any) -> dict[str, Any]:
    return {"tool": name, "arguments": arguments}


def result(answer: dict[str, Any]) -> Any:
    assert not answer["is_error"], answer["text"]
    return answer["structured"]["result"]


def csv_rows(text: str) -> list[dict[str, str]]:
    lines = [line for line in text.splitlines(keepends=True) if not line.startswith("#")]
    return list(csv.DictReader(io.StringIO("".join(lines))))


@pytest.fixture(scope="module")
def answers(served: Served) -> dict[str, Any]:
    """One dbt-mcp session that calls each of its seven semantic-layer tools."""
    month = [{"name": "metric_time", "type": "time_dimension", "grain": "MONTH"}]
    calls = [
        call("list_metrics", search="retention"),
        call("list_metrics", search=["MRR", "arpa"], page_size=5, page_num=2),
        call("list_saved_queries"),
        call("get_dimensions", metrics=["mrr"]),
        call("get_entities", metrics=["mrr"]),
        call("get_dimension_values", dimension="account_month__plan_tier", metrics=["mrr"]),
        call(
            "query_metrics",
            metrics=["mrr"],
            group_by=month,
            order_by=[{"name": "metric_time", "descending": False}],
        ),
        call("get_metrics_compiled_sql", metrics=["mrr"], group_by=month),
    ]
    output = agent(calls)
    output["by_call"] = output.pop("results")
    return output


def test_dbt_mcp_offers_the_seven_semantic_layer_tools(answers: dict[str, Any]) -> None:
    assert answers["tools"] == SEMANTIC_LAYER_TOOLS


def test_list_metrics_searches_names_with_real_descriptions(
    served: Served, answers: dict[str, Any]
) -> None:
    manifest = {m["name"]: m for m in semantic_manifest(served)["metrics"]}
    by_search = answers["by_call"][0]
    rows = {row["name"]: row for row in csv_rows(result(by_search))}
    assert sorted(rows) == sorted(name for name in manifest if "retention" in name)
    nrr = rows["net_revenue_retention"]
    assert nrr["description"] == manifest["net_revenue_retention"]["description"]
    assert nrr["label"] == manifest["net_revenue_retention"]["label"]
    assert json.loads(nrr["metadata"]) == manifest["net_revenue_retention"]["config"]["meta"]
    # Nested dimensions name what a query groups by.
    assert set(nrr["dimensions"].split(",")) >= SEGMENTS
    assert by_search["structured"]["pagination"]["total_items"] == len(rows)
    # Several terms: any may match, case-insensitively; page 2 of pages of 5.
    by_terms = answers["by_call"][1]
    matching = sorted(n for n in manifest if "mrr" in n or "arpa" in n)
    assert [row["name"] for row in csv_rows(result(by_terms))] == matching[5:10]
    pagination = by_terms["structured"]["pagination"]
    assert pagination["total_items"] == len(matching)
    assert pagination["has_more"] == (len(matching) > 10)


def test_list_saved_queries_lists_the_project_saved_queries(
    served: Served, answers: dict[str, Any]
) -> None:
    saved = {s["name"]: s for s in result(answers["by_call"][2])}
    expected = {s["name"]: s for s in semantic_manifest(served)["saved_queries"]}
    assert sorted(saved) == sorted(expected)
    waterfall = saved["executive_mrr_waterfall"]
    assert waterfall["label"] == expected["executive_mrr_waterfall"]["label"]
    assert "net_new_mrr" in waterfall["metrics"] and waterfall["group_by"] == ["metric_time"]


def test_get_dimensions_and_entities_of_mrr(answers: dict[str, Any]) -> None:
    dimensions = {d["name"]: d for d in result(answers["by_call"][3])}
    assert set(dimensions) >= SEGMENTS
    assert dimensions["account_month__plan_tier"]["type"] == "CATEGORICAL"
    assert "MONTH" in dimensions["metric_time"]["granularities"]
    entities = {e["name"]: e["type"] for e in result(answers["by_call"][4])}
    assert entities["account_month"] == "PRIMARY"


def test_get_dimension_values_equal_mf_query(served: Served, answers: dict[str, Any]) -> None:
    values = result(answers["by_call"][5])
    rows = mf_query(served.project_dir, ["mrr"], ["account_month__plan_tier"])
    assert not values["truncated"]
    assert sorted(values["values"]) == sorted(r["account_month__plan_tier"] for r in rows)


def test_query_metrics_equals_mf_query(served: Served, answers: dict[str, Any]) -> None:
    answer = answers["by_call"][6]
    got = {row["metric_time__month"][:10]: row["mrr"] for row in json.loads(result(answer))}
    rows = mf_query(served.project_dir, ["mrr"], ["metric_time__month"])
    want = {row["metric_time__month"][:10]: float(row["mrr"]) for row in rows}
    assert sorted(got) == list(got), "ordered by month, as asked"
    assert got.keys() == want.keys() and len(got) > 12
    assert all(math.isclose(got[m], want[m], rel_tol=1e-9) for m in want)


def test_get_metrics_compiled_sql_returns_the_sql(answers: dict[str, Any]) -> None:
    sql = result(answers["by_call"][7])
    assert "fct_account_months" in sql and "metric_time__month" in sql


def test_a_wrong_token_is_an_auth_error_through_dbt_mcp(served: Served) -> None:
    output = agent(
        [call("list_metrics"), call("query_metrics", metrics=["mrr"])], token="not-a-token"
    )
    listing, query = output["results"]
    assert listing["is_error"] and "401 Unauthorized" in listing["text"]
    assert query["is_error"] and "not authorized" in query["text"]


# -- the paginated GraphQL fields over HTTP, at the root path dbt-mcp posts to ---------------


def graphql(query: str, token: str = TOKEN, url: str = ROOT_URL) -> requests.Response:
    return requests.post(
        url,
        json={"query": query, "variables": {"e": ENVIRONMENT_ID}},
        headers={"authorization": f"Bearer {token}"},
        timeout=60,
    )


def metric_page(arguments: str) -> requests.Response:
    return graphql(
        f"query($e: BigInt!) {{ metricsPaginated(environmentId: $e, {arguments}) "
        "{ pageNum pageSize totalItems totalPages items { name } } }"
    )


def test_paginated_metrics_page_through_every_metric(served: Served) -> None:
    expected = sorted(m["name"] for m in semantic_manifest(served)["metrics"])
    first = metric_page("pageNum: 1, pageSize: 30").json()["data"]["metricsPaginated"]
    assert first["totalItems"] == len(expected)
    assert first["totalPages"] == math.ceil(len(expected) / 30)
    names = []
    for page in range(1, first["totalPages"] + 1):
        body = metric_page(f"pageNum: {page}, pageSize: 30").json()["data"]["metricsPaginated"]
        assert body["pageNum"] == page and len(body["items"]) <= 30
        names += [item["name"] for item in body["items"]]
    assert sorted(names) == expected and len(set(names)) == len(names)


def test_paginated_search_is_case_insensitive_on_names(served: Served) -> None:
    names = [m["name"] for m in semantic_manifest(served)["metrics"]]
    expected = sorted(name for name in names if "churn" in name)
    body = metric_page('search: "ChUrN", pageNum: 1, pageSize: 100').json()
    assert sorted(i["name"] for i in body["data"]["metricsPaginated"]["items"]) == expected
    both = metric_page('search: "mrr", searchTerms: ["churn"], pageNum: 1, pageSize: 100').json()
    names = [i["name"] for i in both["data"]["metricsPaginated"]["items"]]
    assert names and all("mrr" in n and "churn" in n for n in names)
    nothing = metric_page('search: "no-such-metric", pageNum: 1, pageSize: 10').json()
    assert nothing["data"]["metricsPaginated"] == {
        "pageNum": 1,
        "pageSize": 10,
        "totalItems": 0,
        "totalPages": 0,
        "items": [],
    }


def test_paginated_dimensions_entities_and_saved_queries(served: Served) -> None:
    body = graphql(
        """query($e: BigInt!) {
          d: dimensionsPaginated(environmentId: $e, metrics: [{name: "mrr"}], search: "TIER",
                                 pageNum: 1, pageSize: 10) { totalItems items { name } }
          n: entitiesPaginated(environmentId: $e, metrics: [{name: "mrr"}], pageNum: 2,
                               pageSize: 1) { pageNum totalItems totalPages items { name } }
          s: savedQueriesPaginated(environmentId: $e, pageNum: 1, pageSize: 2) {
            totalItems totalPages items { name queryParams { metrics { name } } } }
        }"""
    ).json()["data"]
    assert [i["name"] for i in body["d"]["items"]] == ["account_month__plan_tier"]
    assert body["n"]["pageNum"] == 2 and len(body["n"]["items"]) == 1
    assert body["n"]["totalPages"] == body["n"]["totalItems"] >= 2
    saved = semantic_manifest(served)["saved_queries"]
    assert body["s"]["totalItems"] == len(saved) and len(body["s"]["items"]) == 2
    assert body["s"]["totalPages"] == math.ceil(len(saved) / 2)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ("pageNum: 999, pageSize: 50", "page 999 does not exist"),
        ("pageNum: 0, pageSize: 50", "pageNum must be 1 or more"),
        ("pageNum: 1, pageSize: 0", "pageSize must be between 1 and"),
        ("pageNum: 1, pageSize: 100000", "pageSize must be between 1 and"),
        (f'search: "{"x" * 500}", pageNum: 1, pageSize: 5', "longer than"),
    ],
)
def test_bad_paging_arguments_are_client_errors(
    served: Served, arguments: str, message: str
) -> None:
    response = metric_page(arguments)
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert message in errors[0]["message"], errors
    assert "internal error" not in errors[0]["message"]


def test_unknown_metric_in_paginated_dimensions_is_a_client_error(served: Served) -> None:
    response = graphql(
        'query($e: BigInt!) { dimensionsPaginated(environmentId: $e, metrics: [{name: "nope"}],'
        " pageNum: 1, pageSize: 5) { totalItems } }"
    )
    message = response.json()["errors"][0]["message"]
    assert "nope" in message and "internal error" not in message


def test_the_root_path_needs_the_token_as_api_graphql_does(served: Served) -> None:
    query = "query($e: BigInt!) { metricsPaginated(environmentId: $e) { totalItems } }"
    assert graphql(query, token="wrong").status_code == 401
    assert graphql(query, token="wrong", url=ROOT_URL + "api/graphql").status_code == 401
    at_root = graphql(query).json()["data"]
    assert at_root == graphql(query, url=ROOT_URL + "api/graphql").json()["data"]
