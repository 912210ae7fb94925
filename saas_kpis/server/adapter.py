"""The server's side of the semantic query layer: the served snapshot's layer, and clean errors.

Both transports go through `ServedLayer`, so a request is answered from one snapshot and its
errors reach clients the same way: a message about the request, never a stack trace or a path.
"""

from __future__ import annotations

import logging
import re
import time
import traceback
import uuid
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

import duckdb
import pyarrow as pa

from saas_kpis.semantic import QueryRequest, SemanticLayer
from saas_kpis.semantic.postgres_warehouse import WarehouseQueryError
from saas_kpis.semantic.query_control import QueryBoundError, QueryControl
from saas_kpis.server.admission import Admission
from saas_kpis.server.auth import Principal
from saas_kpis.server.declarative_cache import declared_in_snapshot
from saas_kpis.server.limits import LimitError, Limits, check_request
from saas_kpis.server.result_cache import DIMENSION_VALUES, QUERY, CacheKey, ResultCache
from saas_kpis.server.scopes import (
    Metadata,
    errors_redacted,
    metadata_for,
    scoped_dimension_values_request,
    scoped_request,
)
from saas_kpis.server.snapshots import NoSnapshotError, Snapshot, SnapshotStore
from saas_kpis.server.statements import StatementError

log = logging.getLogger(__name__)

PATH_PATTERN = re.compile(r"(?:[A-Za-z]:)?(?:/[\w.\-]+){2,}/?")
MAX_MESSAGE = 2000
# Errors of these libraries describe the request (an unknown name, a bad filter).
CLIENT_ERROR_MODULES = ("metricflow", "dbt_semantic_interfaces")
# Errors whose message is written for the client: a bad request, or a limit it ran into.
CLIENT_ERRORS = (
    StatementError,
    LookupError,
    NoSnapshotError,
    PermissionError,
    LimitError,
    QueryBoundError,
    # PostgreSQL's errors, already worded for clients (postgres_warehouse).
    WarehouseQueryError,
)


@dataclass(frozen=True)
class Answer:
    """A query's result and the SQL that computed it."""

    sql: str
    table: pa.Table


# What the result cache holds: a query's Answer, or a dimension's values.
Cached = Answer | pa.Table


def cached_bytes(value: Cached) -> int:
    if isinstance(value, Answer):
        return value.table.nbytes + len(value.sql.encode())
    return value.nbytes


class ServedLayer:
    """The semantic layer of the newest published snapshot, and the one path by which both
    transports plan and run a client's query (so every rule on queries is applied once, here).

    Queries are checked against the limits; `query` and `dimension_values` turn a client's
    request into the request as executed (the token's scope), and `answer` takes it from the
    result cache or, on a miss, has the fair query workers (`admission`) plan and run it within
    a statement timeout and result caps (`QueryControl`). A hit of an unscoped token is answered
    without waiting for a worker."""

    def __init__(
        self,
        store: SnapshotStore,
        limits: Limits | None = None,
        cache: ResultCache[Cached] | None = None,
    ) -> None:
        self.store = store
        self.limits = limits or Limits()
        self.admission = Admission(
            self.limits.query_workers,
            self.limits.running_per_token,
            self.limits.waiting_per_token,
        )
        self.cache: ResultCache[Cached] = cache or ResultCache(0, cached_bytes)

    def layer(self) -> SemanticLayer:
        """The current snapshot's layer; a request keeps it to the end, even if a newer appears."""
        return self.store.current().layer

    def metadata(self, principal: Principal) -> Metadata:
        """The current snapshot's metadata as the principal's scope sees it."""
        return metadata_for(self.layer(), principal.scope, principal.name)

    def compile(self, request: QueryRequest, principal: Principal) -> str:
        check_request(request, self.limits)
        layer = self.layer()
        with errors_redacted(layer, principal.scope):
            return layer.explain(scoped_request(layer, principal.scope, request, principal.name))

    def control(self) -> QueryControl:
        """A fresh control with the server's statement timeout and result caps."""
        return QueryControl(self.limits.query_bounds)

    def start_query(
        self, request: QueryRequest, principal: Principal, control: QueryControl | None = None
    ) -> Future[Answer]:
        """Queue a query for the principal's turn; `control` lets the caller cancel it."""
        return self._start(QUERY, scoped_request, request, principal, control)

    def query(
        self, request: QueryRequest, principal: Principal, control: QueryControl | None = None
    ) -> Answer:
        answer = self.start_query(request, principal, control).result()
        assert isinstance(answer, Answer)
        return answer

    def dimension_values(self, request: QueryRequest, principal: Principal) -> pa.Table:
        kind, rewrite = DIMENSION_VALUES, scoped_dimension_values_request
        table = self._start(kind, rewrite, request, principal, None).result()
        assert isinstance(table, pa.Table)
        return table

    def _start(
        self,
        kind: str,
        rewrite: Callable[..., QueryRequest],
        request: QueryRequest,
        principal: Principal,
        control: QueryControl | None,
    ) -> Future[Any]:
        check_request(request, self.limits)
        snapshot = self.store.current()
        if principal.scope.unscoped:
            hit = self.cache.get(CacheKey(snapshot.id, kind, request))
            if hit is not None:
                done: Future[Any] = Future()
                done.set_result(hit)
                return done
        bounded = control or self.control()

        def work() -> Cached:
            bounded.check()  # cancelled while it waited
            layer = snapshot.layer
            with errors_redacted(layer, principal.scope):
                executed = rewrite(layer, principal.scope, request, principal.name)
                return self.answer(snapshot, kind, executed, bounded)

        return self.admission.submit(principal, work)

    def answer(
        self,
        snapshot: Snapshot,
        kind: str,
        request: QueryRequest,
        control: QueryControl | None = None,
    ) -> Cached:
        """The answer to a request exactly as it is executed (after every rewrite), on one
        snapshot: from the cache, or planned and run. The cache key is this request, so
        whatever changes what runs must change `request` before this point."""
        key = CacheKey(snapshot.id, kind, request)
        bounded = control or self.control()
        return self.cache.get_or_compute(
            key, lambda: compute(snapshot.layer, kind, request, bounded)
        )

    # -- SnapshotListener: declarative caching -----------------------------------------------

    def prepare(self, snapshot: Snapshot) -> None:
        """Compute the saved queries that the snapshot declares cached, before it is served, so
        that the first request for each is a hit. A saved query that fails is logged and
        skipped: the snapshot is served all the same, and the query is computed on request."""
        names = declared_in_snapshot(snapshot.path)
        if not self.cache.enabled or not names:
            return
        started = time.monotonic()
        failed = []
        for name in names:
            try:
                self.answer(snapshot, QUERY, QueryRequest(saved_query=name))
            except Exception as error:
                failed.append(name)
                log.error("saved query %s not cached for snapshot %s: %s", name, snapshot.id, error)
        log.info(
            "declarative cache: %d of %d saved queries computed for snapshot %s in %.1f s",
            len(names) - len(failed),
            len(names),
            snapshot.id,
            time.monotonic() - started,
        )

    def serving(self, snapshot: Snapshot) -> None:
        self.cache.retain(snapshot.id)


def compute(
    layer: SemanticLayer, kind: str, request: QueryRequest, control: QueryControl
) -> Cached:
    """Plan and run a request within the control's bounds: a query's Answer, or a dimension's
    values."""
    if kind == DIMENSION_VALUES:
        return layer.dimension_values(request, control)
    sql = layer.explain(request)
    return Answer(sql=sql, table=layer.execute(sql, control))


def public_message(error: BaseException) -> str:
    """An error message fit for a client: no stack trace, no file path, bounded length."""
    if isinstance(error, CLIENT_ERRORS):
        message = str(error)
    elif isinstance(error, duckdb.Error):
        message = f"query failed in the warehouse: {str(error).splitlines()[0]}"
    elif type(error).__module__.startswith(CLIENT_ERROR_MODULES):
        message = str(error)
    else:
        reference = uuid.uuid4().hex[:12]
        # An explicit limit: the server sets sys.tracebacklimit = 0 (see __main__).
        trace = "".join(
            traceback.format_exception(type(error), error, error.__traceback__, limit=50)
        )
        log.error("internal error %s\n%s", reference, trace)
        return f"internal error (reference {reference}; see the server log)"
    message = PATH_PATTERN.sub("<path>", message)
    return message if len(message) <= MAX_MESSAGE else message[:MAX_MESSAGE] + " ..."
