"""The server's side of the semantic query layer: the served snapshot's layer, and clean errors.

Both transports go through `ServedLayer`, so a request is answered from one snapshot and its
errors reach clients the same way: a message about the request, never a stack trace or a path.
"""

from __future__ import annotations

import logging
import re
import traceback
import uuid
from dataclasses import dataclass

import duckdb
import pyarrow as pa

from saas_kpis.semantic import QueryRequest, SemanticLayer
from saas_kpis.semantic.postgres_warehouse import WarehouseQueryError
from saas_kpis.server.auth import Principal
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


@dataclass(frozen=True)
class Answer:
    """A query's result and the SQL that computed it."""

    sql: str
    table: pa.Table


class ServedLayer:
    """The semantic layer of the newest published snapshot, and the one path by which both
    transports plan and run a client's query (so every rule on queries is applied once, here)."""

    def __init__(self, store: SnapshotStore) -> None:
        self.store = store

    def layer(self) -> SemanticLayer:
        """The current snapshot's layer; a request keeps it to the end, even if a newer appears."""
        return self.store.current().layer

    def metadata(self, principal: Principal) -> Metadata:
        """The current snapshot's metadata as the principal's scope sees it."""
        return metadata_for(self.layer(), principal.scope, principal.name)

    def compile(self, request: QueryRequest, principal: Principal) -> str:
        layer = self.layer()
        with errors_redacted(layer, principal.scope):
            return layer.explain(scoped_request(layer, principal.scope, request, principal.name))

    def query(self, request: QueryRequest, principal: Principal) -> Answer:
        layer = self.layer()
        with errors_redacted(layer, principal.scope):
            sql = layer.explain(scoped_request(layer, principal.scope, request, principal.name))
        return Answer(sql=sql, table=layer.execute(sql))

    def dimension_values(self, request: QueryRequest, principal: Principal) -> pa.Table:
        layer = self.layer()
        with errors_redacted(layer, principal.scope):
            return layer.dimension_values(
                scoped_dimension_values_request(layer, principal.scope, request, principal.name)
            )


def public_message(error: BaseException) -> str:
    """An error message fit for a client: no stack trace, no file path, bounded length."""
    # WarehouseQueryError: PostgreSQL's errors, already worded for clients (postgres_warehouse).
    if isinstance(
        error,
        StatementError | LookupError | NoSnapshotError | PermissionError | WarehouseQueryError,
    ):
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
