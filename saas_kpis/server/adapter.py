"""The server's side of the semantic query layer: the served snapshot's layer, and clean errors.

Both transports go through `ServedLayer`, so a request is answered from one snapshot and its
errors reach clients the same way: a message about the request, never a stack trace or a path.
"""

from __future__ import annotations

import logging
import re
import traceback
import uuid
from concurrent.futures import Future
from dataclasses import dataclass

import duckdb
import pyarrow as pa

from saas_kpis.semantic import QueryRequest, SemanticLayer
from saas_kpis.semantic.postgres_warehouse import WarehouseQueryError
from saas_kpis.semantic.query_control import QueryBoundError, QueryControl
from saas_kpis.server.admission import Admission
from saas_kpis.server.auth import Principal
from saas_kpis.server.limits import LimitError, Limits, check_request
from saas_kpis.server.scopes import (
    Metadata,
    errors_redacted,
    metadata_for,
    scoped_dimension_values_request,
    scoped_request,
)
from saas_kpis.server.snapshots import NoSnapshotError, SnapshotStore
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


class ServedLayer:
    """The semantic layer of the newest published snapshot, and the one path by which both
    transports plan and run a client's query (so every rule on queries is applied once, here).

    Queries are checked against the limits, then planned and run by the fair query workers
    (`admission`) within a statement timeout and result caps (`QueryControl`)."""

    def __init__(self, store: SnapshotStore, limits: Limits | None = None) -> None:
        self.store = store
        self.limits = limits or Limits()
        self.admission = Admission(
            self.limits.query_workers,
            self.limits.running_per_token,
            self.limits.waiting_per_token,
        )

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
        check_request(request, self.limits)
        layer = self.layer()
        bounded = control or self.control()

        def work() -> Answer:
            bounded.check()  # cancelled while it waited
            with errors_redacted(layer, principal.scope):
                scoped = scoped_request(layer, principal.scope, request, principal.name)
                sql = layer.explain(scoped)
            return Answer(sql=sql, table=layer.execute(sql, bounded))

        return self.admission.submit(principal, work)

    def query(
        self, request: QueryRequest, principal: Principal, control: QueryControl | None = None
    ) -> Answer:
        return self.start_query(request, principal, control).result()

    def dimension_values(self, request: QueryRequest, principal: Principal) -> pa.Table:
        check_request(request, self.limits)
        layer = self.layer()
        control = self.control()

        def work() -> pa.Table:
            with errors_redacted(layer, principal.scope):
                scoped = scoped_dimension_values_request(
                    layer, principal.scope, request, principal.name
                )
                return layer.dimension_values(scoped, control)

        return self.admission.run(principal, work)


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
