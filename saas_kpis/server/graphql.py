"""The GraphQL half of the Semantic Layer API: the schema subset that dbt-sl-sdk and dbt-mcp
request.

Metadata comes from the semantic manifest of the served snapshot; `createQuery` runs the query
in a worker thread, `query(queryId, pageNum)` polls it and returns the result as a base64
Arrow IPC stream, as dbt's API does. The `*Paginated` fields serve dbt-mcp's metadata tools
(paging rules in `pagination`).
"""

from __future__ import annotations

import asyncio
import base64
import logging
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
from ariadne import MutationType, ObjectType, QueryType, ScalarType, make_executable_schema
from ariadne.asgi import GraphQL
from graphql import GraphQLError
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

from saas_kpis.semantic import (
    Dimension,
    Entity,
    Measure,
    Metric,
    QueryRequest,
    SavedQuery,
)
from saas_kpis.semantic.query_control import QueryControl
from saas_kpis.server import dashboards
from saas_kpis.server.adapter import Answer, ServedLayer, public_message
from saas_kpis.server.auth import UNAUTHORIZED, Principal, TokenCheck
from saas_kpis.server.graphql_limits import BodyLimit, document_parser
from saas_kpis.server.limits import BusyError, LimitError, check_filters
from saas_kpis.server.pagination import Page, page_request, paginate
from saas_kpis.server.statements import (
    StatementError,
    check_name,
    group_by_name,
    validate_where,
)

log = logging.getLogger(__name__)
# ariadne logs every error of a request with its traceback. The internal ones are logged by
# format_error (public_message, with the reference the client sees); the rest are about the
# request (a bad argument, a limit, a busy server) and are no fault of the server.
ARIADNE_ERRORS = logging.getLogger(f"{__name__}.request_errors")
ARIADNE_ERRORS.addHandler(logging.NullHandler())
ARIADNE_ERRORS.propagate = False

SCHEMA = (Path(__file__).with_name("schema.graphql")).read_text(encoding="utf-8")
# Where BearerAuth leaves the authenticated principal in the ASGI scope of a request.
PRINCIPAL_KEY = "saas_kpis.principal"
SCOPED_PAGES = "the dashboards show every metric; this token is scoped to some of them"
MAX_KEPT_QUERIES = 500
POLL_WAIT_SECONDS = 2.0
# The result cache's counters (JSON), for operators and for telling a hit from a miss.
CACHE_STATS_PATH = "/api/cache"


@dataclass
class Job:
    """A query created through GraphQL: its future answer, and the control that cancels it."""

    future: Future[Answer]
    control: QueryControl
    owner: str  # the name of the principal that created it: only it may poll or cancel it
    finished_at: float | None = None
    size: int = 0  # bytes of its result, once it has one

    def finish(self, future: Future[Answer]) -> None:
        if not future.cancelled() and future.exception() is None:
            self.size = future.result().table.get_total_buffer_size()
        self.finished_at = time.monotonic()


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


def metric_fields(metric: Metric) -> dict[str, Any]:
    grains = list(metric.grains)
    meta = dict(metric.meta)
    return {
        "name": metric.name,
        "description": metric.description,
        "type": metric.type,
        "label": metric.label,
        "requiresMetricTime": metric.requires_metric_time,
        "queryableGranularities": grains,
        "queryableTimeGranularities": grains,
        "config": {"meta": meta},
        "meta": meta,
    }


def dimension_fields(dimension: Dimension) -> dict[str, Any]:
    grains = list(dimension.grains)
    return {
        "name": dimension.name,
        "qualifiedName": dimension.qualified_name,
        "description": dimension.description,
        "type": dimension.type,
        "label": dimension.label,
        "isPartition": dimension.is_partition,
        "expr": dimension.expr,
        "queryableGranularities": grains,
        "queryableTimeGranularities": grains,
        "config": {"meta": dict(dimension.meta)},
    }


def agent_dimension_fields(dimension: Dimension) -> dict[str, Any]:
    """A dimension as the paginated fields name it: by the qualified name a query groups by,
    because dbt-mcp reads only `name` and hands it to its agent for `group_by`."""
    return {**dimension_fields(dimension), "name": dimension.qualified_name}


def page_fields(page: Page[Any], fields: Callable[[Any], dict[str, Any]]) -> dict[str, Any]:
    return {
        "pageNum": page.page_num,
        "pageSize": page.page_size,
        "totalItems": page.total_items,
        "totalPages": page.total_pages,
        "items": [fields(item) for item in page.items],
    }


def entity_fields(entity: Entity) -> dict[str, Any]:
    return {
        "name": entity.name,
        "description": entity.description,
        "type": entity.type,
        "role": entity.role,
        "expr": entity.expr,
    }


def measure_fields(measure: Measure) -> dict[str, Any]:
    return {
        "name": measure.name,
        "aggTimeDimension": measure.agg_time_dimension,
        "agg": measure.agg,
        "expr": measure.expr,
    }


def saved_query_fields(saved: SavedQuery) -> dict[str, Any]:
    where = " and ".join(f"({w})" for w in saved.where)
    return {
        "name": saved.name,
        "description": saved.description,
        "label": saved.label,
        "queryParams": {
            "metrics": [{"name": name} for name in saved.metrics],
            "groupBy": [
                {
                    "name": item.name,
                    "grain": item.grain.upper() if item.grain else None,
                    "timeGranularity": item.grain,
                    "datePart": item.date_part.upper() if item.date_part else None,
                }
                for item in saved.group_by
            ],
            "where": {"whereSqlTemplate": where} if where else None,
        },
        "exports": [
            {
                "name": export.name,
                "config": {
                    "alias": export.alias,
                    "schema": export.schema,
                    "exportAs": export.export_as.upper(),
                },
            }
            for export in saved.exports
        ],
    }


# Each is read from the principal's metadata (`ServedLayer.metadata`), by method name.
METRIC_PARTS = {
    "dimensions": ("dimensions", dimension_fields),
    "measures": ("measures", measure_fields),
    "entities": ("entities", entity_fields),
}


class SemanticLayerGraphQL:
    """Resolvers over the served semantic layer, and the query jobs they start."""

    def __init__(self, served: ServedLayer, environment_id: int) -> None:
        self.served = served
        self.environment_id = environment_id
        self.jobs: OrderedDict[str, Job] = OrderedDict()
        self.jobs_lock = threading.Lock()

    def check_environment(self, environment_id: Any) -> None:
        if int(environment_id) != self.environment_id:
            raise GraphQLError(f"unknown environment {environment_id}")

    def request_of(self, arguments: dict[str, Any]) -> QueryRequest:
        """createQuery/compileSql arguments as a request: the filters' number and size are
        checked before they are parsed; call it off the event loop (the parsing is CPU work)."""
        check_filters([w["sql"] for w in arguments.get("where") or []], self.served.limits)
        return request_from_arguments(arguments)

    async def create_job(self, arguments: dict[str, Any], principal: Principal) -> str:
        """Start a query job. A request that is malformed or over a limit becomes a failed job,
        as dbt's API reports it; a token with too many queries waiting is refused (BusyError)."""
        control = self.served.control()
        try:
            request = await asyncio.to_thread(self.request_of, arguments)
            future = self.served.start_query(request, principal, control)
        except BusyError:
            raise
        except (StatementError, LimitError) as error:
            future = Future()
            future.set_exception(error)
        job_id = uuid.uuid4().hex
        job = Job(future=future, control=control, owner=principal.name)
        future.add_done_callback(job.finish)
        with self.jobs_lock:
            self.jobs[job_id] = job
            while len(self.jobs) > MAX_KEPT_QUERIES:
                # Nobody can poll a forgotten job any more: stop it if it still runs.
                self.jobs.popitem(last=False)[1].control.cancel()
            self.forget_old_results()
        return job_id

    def forget_old_results(self) -> None:
        """Drop finished jobs kept longer than a pending Flight result is, and the oldest ones
        past the same byte budget, so results nobody polls do not pile up. Called with the
        jobs lock held."""
        limits = self.served.limits
        now, held = time.monotonic(), 0
        for job_id, job in reversed(list(self.jobs.items())):  # the newest are kept first
            if job.finished_at is None:
                continue
            held += job.size
            expired = now - job.finished_at > limits.pending_result_seconds
            if expired or held > limits.pending_result_bytes:
                del self.jobs[job_id]

    def job(self, job_id: str, principal: Principal) -> Job:
        """A job of the principal's; another token's query id is unknown to it."""
        job = self.jobs.get(job_id)
        if job is None or job.owner != principal.name:
            raise GraphQLError(
                f"unknown query id {job_id}: a result is kept"
                f" {self.served.limits.pending_result_seconds:g} s after its query ends"
            )
        return job

    async def poll(self, job_id: str, page: int, principal: Principal) -> dict[str, Any]:
        job = self.job(job_id, principal)
        result: dict[str, Any] = {"queryId": job_id, "sql": None, "error": None}
        if job.control.cancelled:
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
        answer = job.future.result()
        encoded = await asyncio.to_thread(arrow_base64, answer.table)
        return {
            **result,
            "sql": answer.sql,
            "status": "SUCCESSFUL",
            "totalPages": 1,
            "arrowResult": encoded,
        }

    def cancel(self, job_id: str, principal: Principal) -> dict[str, Any]:
        job = self.job(job_id, principal)
        # A waiting query never starts; a running one is interrupted in the warehouse.
        job.control.cancel()
        job.future.cancel()
        return {"queryId": job_id}

    def schema(self) -> Any:
        query, mutation = QueryType(), MutationType()
        big_int = ScalarType("BigInt", serializer=int, value_parser=int)
        json_scalar = ScalarType("JSON", serializer=lambda v: v, value_parser=lambda v: v)

        def names(metrics: list[dict[str, str]]) -> list[str]:
            return [check_name(m["name"], "metric") for m in metrics]

        @query.field("environmentInfo")
        async def environment_info(_: Any, info: Any, environmentId: int) -> Any:
            self.check_environment(environmentId)
            layer = self.served.metadata(principal_of(info))
            return {
                "sqlDialect": layer.dialect,
                "hasMetricsDefined": bool(await asyncio.to_thread(layer.metrics)),
                "dialect": layer.dialect,
                "dialectSupportedBySlg": True,
            }

        @query.field("metrics")
        async def metrics(_: Any, info: Any, environmentId: int) -> Any:
            self.check_environment(environmentId)
            layer = self.served.metadata(principal_of(info))
            # Nested fields (a metric's dimensions) are answered from the same snapshot.
            return [
                {**metric_fields(metric), "_layer": layer}
                for metric in await asyncio.to_thread(layer.metrics)
            ]

        for kind, (method, fields) in METRIC_PARTS.items():

            def resolver(method: Any = method, fields: Any = fields) -> Any:
                async def resolve(_: Any, info: Any, environmentId: int, metrics: list) -> Any:
                    self.check_environment(environmentId)
                    layer = self.served.metadata(principal_of(info))
                    items = await asyncio.to_thread(getattr(layer, method), names(metrics))
                    return [fields(item) for item in items]

                return resolve

            query.set_field(kind, resolver())

        @query.field("savedQueries")
        async def saved_queries(_: Any, info: Any, environmentId: int) -> Any:
            self.check_environment(environmentId)
            layer = self.served.metadata(principal_of(info))
            return [saved_query_fields(s) for s in await asyncio.to_thread(layer.saved_queries)]

        def paginated(list_items: str, name_of: Callable, fields: Callable) -> Any:
            async def resolve(
                _: Any,
                info: Any,
                environmentId: int,
                pageNum: int | None = None,
                pageSize: int | None = None,
                search: str | None = None,
                searchTerms: list[str] | None = None,
                metrics: list | None = None,
            ) -> Any:
                self.check_environment(environmentId)
                # Arguments are checked before any metadata is computed.
                request = page_request(pageNum, pageSize, search, searchTerms)
                layer = self.served.metadata(principal_of(info))
                arguments = () if metrics is None else (names(metrics),)
                items = await asyncio.to_thread(getattr(layer, list_items), *arguments)
                page = paginate(items, name_of, request)
                return page_fields(page, lambda item: fields(item, layer))

            return resolve

        query.set_field(
            "metricsPaginated",
            paginated(
                "metrics",
                lambda m: m.name,
                # Nested dimensions are named as in dimensionsPaginated, by qualified name.
                lambda m, layer: {**metric_fields(m), "_layer": layer, "_qualified": True},
            ),
        )
        query.set_field(
            "dimensionsPaginated",
            paginated(
                "dimensions",
                lambda d: d.qualified_name,
                lambda d, _: agent_dimension_fields(d),
            ),
        )
        query.set_field(
            "entitiesPaginated",
            paginated("entities", lambda e: e.name, lambda e, _: entity_fields(e)),
        )
        query.set_field(
            "savedQueriesPaginated",
            paginated("saved_queries", lambda s: s.name, lambda s, _: saved_query_fields(s)),
        )

        @query.field("query")
        async def poll(
            _: Any, info: Any, environmentId: int, queryId: str, pageNum: int = 1
        ) -> Any:
            self.check_environment(environmentId)
            return await self.poll(queryId, pageNum or 1, principal_of(info))

        @mutation.field("createQuery")
        async def create_query(_: Any, info: Any, environmentId: int, **arguments: Any) -> Any:
            self.check_environment(environmentId)
            self.served.layer()
            return {"queryId": await self.create_job(arguments, principal_of(info))}

        @mutation.field("compileSql")
        async def compile_sql(_: Any, info: Any, environmentId: int, **arguments: Any) -> Any:
            self.check_environment(environmentId)
            request = await asyncio.to_thread(self.request_of, arguments)
            sql = await asyncio.to_thread(self.served.compile, request, principal_of(info))
            return {"sql": sql}

        @mutation.field("cancelQuery")
        async def cancel_query(_: Any, info: Any, environmentId: int, queryId: str) -> Any:
            self.check_environment(environmentId)
            return self.cancel(queryId, principal_of(info))

        metric_type = ObjectType("Metric")
        for kind, (method, fields) in METRIC_PARTS.items():

            def nested(method: Any = method, fields: Any = fields) -> Any:
                async def resolve(metric: dict[str, Any], _: Any) -> Any:
                    method_of_layer = getattr(metric["_layer"], method)
                    items = await asyncio.to_thread(method_of_layer, [metric["name"]])
                    if metric.get("_qualified") and fields is dimension_fields:
                        return [agent_dimension_fields(item) for item in items]
                    return [fields(item) for item in items]

                return resolve

            metric_type.set_field(kind, nested())

        return make_executable_schema(SCHEMA, query, mutation, metric_type, big_int, json_scalar)


def principal_of(info: Any) -> Principal:
    """The principal that BearerAuth authenticated for the request being resolved."""
    return info.context["request"].scope[PRINCIPAL_KEY]


def format_error(error: GraphQLError, debug: bool = False) -> dict[str, Any]:
    """Client-facing errors: a clean message and the location, never a stack trace."""
    original = error.original_error
    # A GraphQLError raised by a resolver (an unknown environment or query id) arrives as the
    # original error of the located one: its message is already meant for the client.
    if original is None or isinstance(original, GraphQLError):
        message = error.message
    else:
        message = public_message(original)
    formatted: dict[str, Any] = {"message": message}
    if error.path:
        formatted["path"] = error.path
    return formatted


class BearerAuth:
    """ASGI middleware: every HTTP request passes the token check, or gets 401. The dashboards
    also take the token as the password of HTTP basic authentication, which a browser asks for."""

    def __init__(self, app: Any, tokens: TokenCheck) -> None:
        self.app = app
        self.tokens = tokens

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            values = [v for k, v in scope.get("headers", []) if k.lower() == b"authorization"]
            pages = scope.get("path", "").startswith(dashboards.PREFIX)
            principal = self.tokens.identify(values, basic=pages)
            if pages and principal is not None and not principal.scope.unscoped:
                # The pages show every metric of the snapshot; a scoped token may not see them.
                response = JSONResponse({"errors": [{"message": SCOPED_PAGES}]}, status_code=403)
                await response(scope, receive, send)
                return
            if principal is None:
                challenge = 'Basic realm="saas-kpis dashboards"' if pages else "Bearer"
                response = JSONResponse(
                    {"data": None, "errors": [{"message": UNAUTHORIZED}]},
                    status_code=401,
                    headers={"www-authenticate": challenge},
                )
                await response(scope, receive, send)
                return
            scope = {**scope, PRINCIPAL_KEY: principal}
        await self.app(scope, receive, send)


def create_app(
    served: ServedLayer,
    tokens: TokenCheck,
    environment_id: int,
    pages: dashboards.DashboardPages | None = None,
) -> Any:
    """The HTTP application behind bearer authentication: GraphQL at /api/graphql and at / and,
    with `pages`, the dashboards at /dashboards/.

    dbt-mcp posts to the root of a `localhost` host (it adds /api/graphql only for remote
    hosts), so the same GraphQL app answers there too."""
    api = SemanticLayerGraphQL(served, environment_id)
    graphql_app = GraphQL(
        api.schema(),
        debug=False,
        error_formatter=format_error,
        logger=ARIADNE_ERRORS,
        query_parser=document_parser(served.limits),
    )
    routes = [Route(path, graphql_app, methods=["GET", "POST"]) for path in ("/api/graphql", "/")]

    async def cache_stats(_: Any) -> JSONResponse:
        return JSONResponse(asdict(served.cache.stats()))

    routes.append(Route(CACHE_STATS_PATH, cache_stats, methods=["GET"]))
    if pages is not None:
        routes += dashboards.routes(pages)
    app = Starlette(routes=routes)
    app.state.api = api
    # Authentication first (it reads only headers), then the body limit, then the parsing.
    return BearerAuth(BodyLimit(app, served.limits.max_body_bytes), tokens)
