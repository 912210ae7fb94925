"""The load test's clients (`saas_kpis.bench.load`): the request mix and one client process.

Each client loops over a fixed mix of dbt-sl-sdk's GraphQL documents (sent over HTTP as the SDK
sends them) and ADBC Flight SQL statements, with one of the run's tokens, and records every
request's kind, start, latency and error; nothing is retried.
"""

from __future__ import annotations

import base64
import random
import threading
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HOST = "127.0.0.1"
ENVIRONMENT_ID = 1
POLL_DEADLINE_SECONDS = 300
# The mix: a request kind and its weight.
WEIGHTS = {
    "graphql_query": 30,
    "graphql_saved_query": 10,
    "graphql_metadata": 15,
    "flight_query": 30,
    "flight_saved_query": 8,
    "flight_dimension_values": 4,
    "flight_metadata": 3,
}
# Metrics asked together, and the metric_time grains each family is read at.
FAMILIES: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = (
    (("mrr", "paying_accounts"), ("month", "quarter")),
    (("arr",), ("month", "quarter")),
    (("arpa",), ("month", "year")),
    (("net_revenue_retention", "gross_revenue_retention"), ("month", "quarter")),
    (("logo_churn_rate",), ("month", "quarter")),
    (("new_mrr", "expansion_mrr", "churned_mrr"), ("month", "quarter")),
    (("api_requests", "api_error_rate"), ("week", "month")),
    (("api_latency_p95_ms",), ("day", "month")),
    (("nps",), ("month", "quarter")),
    (("activation_rate",), ("week", "month")),
)
SEGMENTS = (
    None,
    "account_month__plan_tier",
    "account_month__industry",
    "account_month__account_age_band",
)
PAYING_ONLY = "{{ Dimension('account_month__plan_tier') }} != 'none'"
DIMENSION_VALUES = (
    (("mrr",), "account_month__plan_tier"),
    (("mrr",), "account_month__industry"),
    (("api_requests",), "account_month__account_age_band"),
)


@dataclass(frozen=True)
class QuerySpec:
    """One ad-hoc query of the mix."""

    metrics: tuple[str, ...]
    group_by: tuple[str, ...]
    where: tuple[str, ...] = ()
    limit: int | None = None


@dataclass(frozen=True)
class Mix:
    """What the clients ask: ad-hoc queries, saved queries, metrics for metadata calls."""

    queries: tuple[QuerySpec, ...]
    saved_queries: tuple[str, ...]
    metrics: tuple[str, ...]


@dataclass(frozen=True)
class ClientGroup:
    """The clients of one process."""

    first_client: int
    clients: int
    tokens: tuple[str, ...]
    graphql_url: str
    flight_uri: str
    start_at: float  # wall clock (time.time()); all processes start together
    seconds: float
    mix: Mix


def query_mix() -> list[QuerySpec]:
    """Every family at each of its grains, alone and by each segment, with and without the
    paying-accounts filter, and a few with a limit."""
    specs = []
    for metrics, grains in FAMILIES:
        for grain in grains:
            for segment in SEGMENTS:
                group_by = (f"metric_time__{grain}", *((segment,) if segment else ()))
                specs.append(QuerySpec(metrics, group_by))
                if segment is not None:
                    specs.append(QuerySpec(metrics, group_by, where=(PAYING_ONLY,)))
            specs.append(QuerySpec(metrics, (f"metric_time__{grain}",), limit=12))
    return specs


def checked_mix(manifest: Path) -> Mix:
    """The mix, each query validated by MetricFlow against the served manifest (so that an
    error in the run is the server's, never the mix's)."""
    from saas_kpis.semantic import QueryRequest, SemanticLayer

    layer = SemanticLayer.from_manifest(manifest)
    specs = query_mix()
    for spec in specs:
        layer.validate(QueryRequest(spec.metrics, spec.group_by, spec.where, limit=spec.limit))
    metrics = sorted({metric for spec in specs for metric in spec.metrics})
    return Mix(tuple(specs), tuple(s.name for s in layer.saved_queries()), tuple(metrics))


# -- the clients (in worker processes) -------------------------------------------------------


def python_list(items: tuple[str, ...]) -> str:
    return "[" + ", ".join(repr(item) for item in items) + "]"


def flight_statement(spec: QuerySpec) -> str:
    arguments = [f"metrics={python_list(spec.metrics)}", f"group_by={python_list(spec.group_by)}"]
    if spec.where:
        arguments.append(f"where={python_list(spec.where)}")
    if spec.limit is not None:
        arguments.append(f"limit={spec.limit}")
    return "select * from {{ semantic_layer.query(" + ", ".join(arguments) + ") }}"


class Client:
    """One client: an HTTP session and an ADBC connection with its token."""

    def __init__(self, group: ClientGroup, number: int) -> None:
        import adbc_driver_flightsql.dbapi as flightsql
        import requests
        from adbc_driver_flightsql import DatabaseOptions
        from dbtsl.api.graphql.protocol import GraphQLProtocol

        token = group.tokens[number % len(group.tokens)]
        self.group = group
        self.random = random.Random(number)
        self.protocol = GraphQLProtocol
        self.session = requests.Session()
        self.session.headers["authorization"] = f"Bearer {token}"
        self.flight = flightsql.connect(
            group.flight_uri,
            db_kwargs={
                DatabaseOptions.AUTHORIZATION_HEADER.value: f"Bearer {token}",
                f"{DatabaseOptions.RPC_CALL_HEADER_PREFIX.value}environmentid": str(ENVIRONMENT_ID),
            },
        )
        self.kinds: dict[str, Callable[[], object]] = {
            "graphql_query": self.graphql_query,
            "graphql_saved_query": self.graphql_saved_query,
            "graphql_metadata": self.graphql_metadata,
            "flight_query": self.flight_query,
            "flight_saved_query": self.flight_saved_query,
            "flight_dimension_values": self.flight_dimension_values,
            "flight_metadata": self.flight_metadata,
        }

    def close(self) -> None:
        self.flight.close()
        self.session.close()

    def post(self, operation: Any, variables: Any) -> dict[str, Any]:
        body = {
            "query": operation.get_request_text(lazy=True),
            "variables": operation.get_request_variables(ENVIRONMENT_ID, variables),
        }
        response = self.session.post(self.group.graphql_url, json=body, timeout=120)
        response.raise_for_status()
        payload = response.json()
        if payload.get("errors"):
            raise RuntimeError(f"GraphQL errors: {payload['errors']}")
        return payload["data"]

    def run_graphql(self, parameters: dict[str, Any]) -> int:
        """createQuery, then poll `query` until it ends; the rows of the decoded result."""
        import pyarrow as pa

        created = self.post(self.protocol.create_query, parameters)
        query_id = created["createQuery"]["queryId"]
        deadline = time.monotonic() + POLL_DEADLINE_SECONDS
        while time.monotonic() < deadline:
            result = self.post(self.protocol.get_query_result, {"query_id": query_id})["query"]
            if result["status"] == "FAILED":
                raise RuntimeError(f"query failed: {result['error']}")
            if result["status"] == "SUCCESSFUL":
                stream = base64.b64decode(result["arrowResult"])
                return pa.ipc.open_stream(stream).read_all().num_rows
        raise RuntimeError(f"query {query_id} did not finish in {POLL_DEADLINE_SECONDS} s")

    def graphql_query(self) -> int:
        spec = self.random.choice(self.group.mix.queries)
        parameters: dict[str, Any] = {
            "metrics": list(spec.metrics),
            "group_by": list(spec.group_by),
        }
        if spec.where:
            parameters["where"] = list(spec.where)
        if spec.limit is not None:
            parameters["limit"] = spec.limit
        return self.run_graphql(parameters)

    def graphql_saved_query(self) -> int:
        return self.run_graphql({"saved_query": self.random.choice(self.group.mix.saved_queries)})

    def graphql_metadata(self) -> int:
        metric = self.random.choice(self.group.mix.metrics)
        operation = self.random.choice(("metrics", "dimensions", "entities", "saved_queries"))
        variables = {} if operation in ("metrics", "saved_queries") else {"metrics": [metric]}
        data = self.post(getattr(self.protocol, operation), variables)
        return len(next(iter(data.values())))

    def flight_rows(self, statement: str) -> int:
        with self.flight.cursor() as cursor:
            cursor.execute(statement)
            return cursor.fetch_arrow_table().num_rows

    def flight_query(self) -> int:
        return self.flight_rows(flight_statement(self.random.choice(self.group.mix.queries)))

    def flight_saved_query(self) -> int:
        name = self.random.choice(self.group.mix.saved_queries)
        return self.flight_rows(f"select * from semantic_layer.saved_queries.{name}")

    def flight_dimension_values(self) -> int:
        metrics, dimension = self.random.choice(DIMENSION_VALUES)
        return self.flight_rows(
            "select * from {{ semantic_layer.dimension_values("
            f"metrics={python_list(metrics)}, group_by={dimension!r}) }}}}"
        )

    def flight_metadata(self) -> int:
        return self.flight_rows("select * from {{ semantic_layer.metrics() }}")

    def loop(self, samples: list[tuple[str, float, float, str | None]]) -> None:
        """Requests until the run's end: (kind, start offset, seconds, error or None) each."""
        kinds, weights = list(WEIGHTS), list(WEIGHTS.values())
        end = self.group.start_at + self.group.seconds
        while (now := time.time()) < self.group.start_at:
            time.sleep(min(0.05, self.group.start_at - now))
        while time.time() < end:
            kind = self.random.choices(kinds, weights)[0]
            started = time.perf_counter()
            offset = time.time() - self.group.start_at
            error = None
            try:
                self.kinds[kind]()
            except Exception as failure:
                error = f"{type(failure).__name__}: {str(failure)[:300]}"
            samples.append((kind, offset, time.perf_counter() - started, error))


def run_client_group(group: ClientGroup) -> list[tuple[str, float, float, str | None]]:
    """A worker process: its clients, one thread each; the samples of all of them."""
    # ADBC warns on every connection that Flight SQL has no transactions to turn off.
    warnings.filterwarnings("ignore", message="Cannot disable autocommit")
    clients = [Client(group, group.first_client + n) for n in range(group.clients)]
    samples: list[tuple[str, float, float, str | None]] = []
    threads = [threading.Thread(target=client.loop, args=(samples,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for client in clients:
        client.close()
    return samples
