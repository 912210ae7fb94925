"""The GraphQL half of the Semantic Layer API: the schema subset that dbt-sl-sdk requests.

Metadata comes from the semantic manifest of the served snapshot; `createQuery` runs the query
in a worker thread, `query(queryId, pageNum)` polls it and returns the result as a base64
Arrow IPC stream, as dbt's API does.
"""

from __future__ import annotations

import asyncio
import base64
import hmac
import logging
import threading
import uuid
from collections import OrderedDict
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
from ariadne import MutationType, ObjectType, QueryType, ScalarType, make_executable_schema
from ariadne.asgi import GraphQL
from graphql import GraphQLError
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

from saas_kpis.server.engine import SnapshotStore, public_message
from saas_kpis.server.statements import (
    QueryRequest,
    StatementError,
    check_name,
    group_by_name,
    validate_where,
)

log = logging.getLogger(__name__)

UNAUTHORIZED = "User is not authorized"  # the message dbt-sl-sdk maps to AuthError
MAX_KEPT_QUERIES = 500
POLL_WAIT_SECONDS = 2.0

SCHEMA = """
scalar BigInt
scalar JSON

enum MetricType { SIMPLE RATIO CUMULATIVE DERIVED CONVERSION }
enum DimensionType { CATEGORICAL TIME }
enum EntityType { FOREIGN NATURAL PRIMARY UNIQUE }
enum AggregationType { SUM MIN MAX COUNT_DISTINCT SUM_BOOLEAN AVERAGE PERCENTILE MEDIAN COUNT }
enum TimeGranularity {
  NANOSECOND MICROSECOND MILLISECOND SECOND MINUTE HOUR DAY WEEK MONTH QUARTER YEAR
}
enum DatePart { DOY DOW DAY MONTH QUARTER YEAR }
enum QueryStatus { PENDING RUNNING COMPILED SUCCESSFUL FAILED }
enum ExportDestinationType { TABLE VIEW }

type MetricConfig { meta: JSON }

type Metric {
  name: String!
  description: String
  type: MetricType!
  label: String!
  requiresMetricTime: Boolean!
  queryableGranularities: [TimeGranularity!]!
  queryableTimeGranularities: [String!]!
  dimensions: [Dimension!]!
  measures: [Measure!]!
  entities: [Entity!]!
  config: MetricConfig
  meta: JSON
}

type Dimension {
  name: String!
  qualifiedName: String!
  description: String
  type: DimensionType!
  label: String
  isPartition: Boolean!
  expr: String
  queryableGranularities: [TimeGranularity!]!
  queryableTimeGranularities: [String!]!
}

type Entity { name: String! description: String type: EntityType! role: String expr: String }
type Measure { name: String! aggTimeDimension: String agg: AggregationType! expr: String }

type SavedQueryMetricParam { name: String! }
type SavedQueryGroupByParam {
  name: String!
  grain: TimeGranularity
  timeGranularity: String
  datePart: DatePart
}
type WhereFilter { whereSqlTemplate: String! }
type SavedQueryQueryParams {
  metrics: [SavedQueryMetricParam!]!
  groupBy: [SavedQueryGroupByParam!]!
  where: WhereFilter
}
type ExportConfig { alias: String schema: String exportAs: ExportDestinationType! }
type Export { name: String! config: ExportConfig! }
type SavedQuery {
  name: String!
  description: String
  label: String
  queryParams: SavedQueryQueryParams!
  exports: [Export!]!
}

type EnvironmentInfo {
  sqlDialect: String!
  hasMetricsDefined: Boolean!
  dialect: String!
  dialectSupportedBySlg: Boolean!
}

type QueryResult {
  queryId: String!
  status: QueryStatus!
  sql: String
  error: String
  totalPages: Int
  arrowResult: String
}
type CreateQueryResult { queryId: String! }
type CompileSqlResult { sql: String! }

input MetricInput { name: String! }
input GroupByInput {
  name: String!
  grain: TimeGranularity
  timeGranularity: String
  datePart: DatePart
}
input WhereInput { sql: String! }
input OrderByInput { metric: MetricInput groupBy: GroupByInput descending: Boolean }

type Query {
  environmentInfo(environmentId: BigInt!): EnvironmentInfo!
  metrics(environmentId: BigInt!): [Metric!]!
  dimensions(environmentId: BigInt!, metrics: [MetricInput!]!): [Dimension!]!
  measures(environmentId: BigInt!, metrics: [MetricInput!]!): [Measure!]!
  entities(environmentId: BigInt!, metrics: [MetricInput!]!): [Entity!]!
  savedQueries(environmentId: BigInt!): [SavedQuery!]!
  query(environmentId: BigInt!, queryId: String!, pageNum: Int): QueryResult!
}

type Mutation {
  createQuery(
    environmentId: BigInt!, savedQuery: String, metrics: [MetricInput!], groupBy: [GroupByInput!],
    where: [WhereInput!], orderBy: [OrderByInput!], limit: Int, readCache: Boolean
  ): CreateQueryResult!
  compileSql(
    environmentId: BigInt!, savedQuery: String, metrics: [MetricInput!], groupBy: [GroupByInput!],
    where: [WhereInput!], orderBy: [OrderByInput!], limit: Int, readCache: Boolean
  ): CompileSqlResult!
  cancelQuery(environmentId: BigInt!, queryId: String!): CreateQueryResult!
}
"""


@dataclass
class Job:
    """A query created through GraphQL: its future result, or its cancellation."""

    future: Future
    cancelled: bool = False
    sql: str | None = None


def request_from_arguments(arguments: dict[str, Any]) -> QueryRequest:
    """The GraphQL createQuery/compileSql arguments as a validated request."""

    def group_by(item: dict[str, Any]) -> str:
        grain = item.get("timeGranularity") or item.get("grain")
        return group_by_name(item["name"], grain, item.get("datePart"))

    order_by = []
    for clause in arguments.get("orderBy") or []:
        if bool(clause.get("metric")) == bool(clause.get("groupBy")):
            raise StatementError("each orderBy needs exactly one of metric or groupBy")
        name = (
            check_name(clause["metric"]["name"], "orderBy metric")
            if clause.get("metric")
            else group_by(clause["groupBy"])
        )
        order_by.append(("-" if clause.get("descending") else "") + name)
    metrics = tuple(check_name(m["name"], "metric") for m in arguments.get("metrics") or [])
    saved_query = arguments.get("savedQuery")
    if saved_query is not None:
        check_name(saved_query, "savedQuery")
        if metrics or arguments.get("groupBy"):
            raise StatementError("savedQuery cannot be combined with metrics or groupBy")
    elif not metrics:
        raise StatementError("a query needs metrics or savedQuery")
    limit = arguments.get("limit")
    if limit is not None and limit < 0:
        raise StatementError("limit must not be negative")
    return QueryRequest(
        metrics=metrics,
        group_by=tuple(group_by(g) for g in arguments.get("groupBy") or []),
        where=tuple(validate_where(w["sql"]) for w in arguments.get("where") or []),
        order_by=tuple(order_by),
        limit=limit,
        saved_query=saved_query,
    )


def arrow_base64(table: pa.Table) -> str:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return base64.b64encode(sink.getvalue().to_pybytes()).decode("ascii")


class SemanticLayerGraphQL:
    """Resolvers over a snapshot store, and the query jobs they start."""

    def __init__(self, store: SnapshotStore, environment_id: int, workers: int = 4) -> None:
        self.store = store
        self.environment_id = environment_id
        self.executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sl-query")
        self.jobs: OrderedDict[str, Job] = OrderedDict()
        self.jobs_lock = threading.Lock()

    def check_environment(self, environment_id: Any) -> None:
        if int(environment_id) != self.environment_id:
            raise GraphQLError(f"unknown environment {environment_id}")

    async def metadata(self, method: str, *args: Any) -> Any:
        snapshot = self.store.current()
        return await asyncio.to_thread(getattr(snapshot, method), *args)

    def run_job(self, job: Job, request: QueryRequest) -> pa.Table:
        snapshot = self.store.current()
        job.sql = snapshot.compile(request)
        return snapshot.execute(job.sql)

    def create_job(self, arguments: dict[str, Any]) -> str:
        job_id = uuid.uuid4().hex
        with self.jobs_lock:
            future: Future = Future()
            job = self.jobs[job_id] = Job(future=future)
            while len(self.jobs) > MAX_KEPT_QUERIES:
                self.jobs.popitem(last=False)

        def work() -> None:
            if job.cancelled:
                return
            try:
                request = request_from_arguments(arguments)
                future.set_result(self.run_job(job, request))
            except Exception as error:
                future.set_exception(error)

        self.executor.submit(work)
        return job_id

    async def poll(self, job_id: str, page: int) -> dict[str, Any]:
        job = self.jobs.get(job_id)
        if job is None:
            raise GraphQLError(f"unknown query id {job_id}")
        result: dict[str, Any] = {"queryId": job_id, "sql": job.sql, "error": None}
        if job.cancelled:
            return {
                **result,
                "status": "FAILED",
                "error": "query was cancelled",
                "totalPages": None,
            }
        if not job.future.done():
            # Wait a little for a running query, so that a poll does not return RUNNING needlessly.
            await asyncio.wait([asyncio.wrap_future(job.future)], timeout=POLL_WAIT_SECONDS)
        if not job.future.done():
            return {**result, "status": "RUNNING", "totalPages": None, "arrowResult": None}
        error = job.future.exception()
        if error is not None:
            return {
                **result,
                "status": "FAILED",
                "error": public_message(error),
                "totalPages": None,
            }
        if page != 1:
            raise GraphQLError(f"page {page} does not exist; the result has 1 page")
        table = job.future.result()
        encoded = await asyncio.to_thread(arrow_base64, table)
        return {
            **result,
            "sql": job.sql,
            "status": "SUCCESSFUL",
            "totalPages": 1,
            "arrowResult": encoded,
        }

    def cancel(self, job_id: str) -> dict[str, Any]:
        job = self.jobs.get(job_id)
        if job is None:
            raise GraphQLError(f"unknown query id {job_id}")
        job.cancelled = True  # a running query finishes, but its result is never returned
        return {"queryId": job_id}

    def schema(self) -> Any:
        query, mutation = QueryType(), MutationType()
        big_int = ScalarType("BigInt", serializer=int, value_parser=int)
        json_scalar = ScalarType("JSON", serializer=lambda v: v, value_parser=lambda v: v)

        def names(metrics: list[dict[str, str]]) -> list[str]:
            return [check_name(m["name"], "metric") for m in metrics]

        @query.field("environmentInfo")
        async def environment_info(_: Any, __: Any, environmentId: int) -> Any:
            self.check_environment(environmentId)
            return await self.metadata("environment_info")

        @query.field("metrics")
        async def metrics(_: Any, __: Any, environmentId: int) -> Any:
            self.check_environment(environmentId)
            return [
                {**m, "_snapshot": self.store.current()} for m in await self.metadata("metrics")
            ]

        for kind in ("dimensions", "measures", "entities"):

            def resolver(kind: str = kind) -> Any:
                async def resolve(_: Any, __: Any, environmentId: int, metrics: list) -> Any:
                    self.check_environment(environmentId)
                    return await self.metadata(kind, names(metrics))

                return resolve

            query.set_field(kind, resolver())

        @query.field("savedQueries")
        async def saved_queries(_: Any, __: Any, environmentId: int) -> Any:
            self.check_environment(environmentId)
            return await self.metadata("saved_queries")

        @query.field("query")
        async def poll(_: Any, __: Any, environmentId: int, queryId: str, pageNum: int = 1) -> Any:
            self.check_environment(environmentId)
            return await self.poll(queryId, pageNum or 1)

        @mutation.field("createQuery")
        async def create_query(_: Any, __: Any, environmentId: int, **arguments: Any) -> Any:
            self.check_environment(environmentId)
            self.store.current()
            return {"queryId": self.create_job(arguments)}

        @mutation.field("compileSql")
        async def compile_sql(_: Any, __: Any, environmentId: int, **arguments: Any) -> Any:
            self.check_environment(environmentId)
            request = request_from_arguments(arguments)
            return {"sql": await self.metadata("compile", request)}

        @mutation.field("cancelQuery")
        async def cancel_query(_: Any, __: Any, environmentId: int, queryId: str) -> Any:
            self.check_environment(environmentId)
            return self.cancel(queryId)

        metric_type = ObjectType("Metric")
        for kind in ("dimensions", "measures", "entities"):

            def nested(kind: str = kind) -> Any:
                async def resolve(metric: dict[str, Any], _: Any) -> Any:
                    snapshot = metric["_snapshot"]
                    return await asyncio.to_thread(getattr(snapshot, kind), [metric["name"]])

                return resolve

            metric_type.set_field(kind, nested())

        return make_executable_schema(SCHEMA, query, mutation, metric_type, big_int, json_scalar)


def format_error(error: GraphQLError, debug: bool = False) -> dict[str, Any]:
    """Client-facing errors: a clean message and the location, never a stack trace."""
    original = error.original_error
    message = public_message(original) if original is not None else error.message
    formatted: dict[str, Any] = {"message": message}
    if error.path:
        formatted["path"] = error.path
    return formatted


class BearerAuth:
    """ASGI middleware: every request needs `authorization: bearer <token>` with a known token."""

    def __init__(self, app: Any, tokens: list[str]) -> None:
        self.app = app
        self.tokens = [t.encode() for t in tokens]

    def authorized(self, headers: list[tuple[bytes, bytes]]) -> bool:
        values = [v for k, v in headers if k.lower() == b"authorization"]
        if len(values) != 1:
            return False
        scheme, _, token = values[0].partition(b" ")
        return scheme.lower() == b"bearer" and any(
            hmac.compare_digest(token.strip(), t) for t in self.tokens
        )

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and not self.authorized(scope.get("headers", [])):
            response = JSONResponse(
                {"data": None, "errors": [{"message": UNAUTHORIZED}]},
                status_code=401,
                headers={"www-authenticate": "Bearer"},
            )
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


def create_app(store: SnapshotStore, tokens: list[str], environment_id: int) -> Any:
    """The HTTP application: GraphQL at /api/graphql behind bearer authentication."""
    api = SemanticLayerGraphQL(store, environment_id)
    graphql_app = GraphQL(api.schema(), debug=False, error_formatter=format_error)
    app = Starlette(routes=[Route("/api/graphql", graphql_app, methods=["GET", "POST"])])
    app.state.api = api
    return BearerAuth(app, tokens)
