"""The Arrow Flight SQL half of the Semantic Layer API (what ADBC/JDBC drivers and dbt-sl-sdk use).

Supported: statement queries (`CommandStatementQuery`) and prepared statements
(`CreatePreparedStatement` / `CommandPreparedStatementQuery` / `ClosePreparedStatement`) whose
text is a `{{ semantic_layer.<function>(...) }}` call, bare or inside `select ... from {{ ... }}`,
or `select * from <a table the catalog lists>`; and the catalog commands schema browsers send
first (`CommandGetSqlInfo`, `CommandGetCatalogs`, `CommandGetDbSchemas`, `CommandGetTables`,
`CommandGetTableTypes`, see `flight_catalog`, `sql_info`). Everything else answers UNIMPLEMENTED.
Every answer is computed in GetFlightInfo and streamed by DoGet for the ticket it returns; an
unfetched answer is kept within the limits of `pending_results`.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.flight as flight

from saas_kpis.semantic.query_control import QueryTimeoutError
from saas_kpis.server.adapter import ServedLayer, public_message
from saas_kpis.server.auth import UNAUTHORIZED, Principal, TokenCheck
from saas_kpis.server.flight_catalog import (
    Catalog,
    QueryFunction,
    TablesRequest,
    catalogs_table,
    db_schemas_table,
    table_types_table,
)
from saas_kpis.server.flight_sql_protocol import (
    CATALOG_COMMANDS,
    SQL,
    message,
    optional,
    pack,
    unpack,
)
from saas_kpis.server.limits import BusyError
from saas_kpis.server.pending_results import PendingResults
from saas_kpis.server.sql_info import sql_info_table
from saas_kpis.server.statement_results import run_call
from saas_kpis.server.statements import parse_statement
from saas_kpis.server.table_statements import parse_table_select

log = logging.getLogger(__name__)

MAX_PREPARED = 1000
UNAUTHENTICATED = f"{UNAUTHORIZED}: a valid `authorization: Bearer <token>` header is required"


@dataclass
class Prepared:
    """A prepared statement; its result until the first execution takes it is kept with the
    pending results, under the statement's handle."""

    statement: str
    used_at: float
    owner: str  # the name of the principal that prepared it: only it may run or close it


def client_error(error: Exception) -> Exception:
    """The Flight error a client gets for a failed statement: UNAVAILABLE when the server is
    busy (retry later), TIMED_OUT past the statement timeout, INVALID_ARGUMENT otherwise."""
    message = public_message(error)
    if isinstance(error, BusyError):
        return flight.FlightUnavailableError(message)
    if isinstance(error, QueryTimeoutError):
        return flight.FlightTimedOutError(message)
    return pa.ArrowInvalid(message)


class PrincipalMiddleware(flight.ServerMiddleware):
    """Carries the authenticated principal of one call to its handler."""

    def __init__(self, principal: Principal) -> None:
        super().__init__()
        self.principal = principal


def principal_of(context: Any) -> Principal:
    return context.get_middleware("auth").principal


class BearerAuthFactory(flight.ServerMiddlewareFactory):
    """Reject every call that fails the token check (UNAUTHENTICATED) or names another
    environment (UNAUTHORIZED)."""

    def __init__(self, tokens: TokenCheck, environment_id: int) -> None:
        super().__init__()
        self.tokens = tokens
        self.environment_id = str(environment_id)

    def start_call(self, info: Any, headers: dict[str, list[Any]]) -> PrincipalMiddleware:
        principal = self.tokens.identify(headers.get("authorization", []))
        if principal is None:
            raise flight.FlightUnauthenticatedError(UNAUTHENTICATED)
        environment = headers.get("environmentid")
        if not environment:
            # As GraphQL requires its environmentId argument; ADBC clients send this header.
            raise flight.FlightUnauthorizedError(
                "the `environmentid` header is required: set it to the environment id"
            )
        environment_value = (
            environment[0].decode() if isinstance(environment[0], bytes) else environment[0]
        )
        if environment_value != self.environment_id:
            raise flight.FlightUnauthorizedError(f"unknown environment {environment_value}")
        return PrincipalMiddleware(principal)


class SemanticLayerFlightServer(flight.FlightServerBase):
    """Flight SQL statements over the served layer; results go from GetFlightInfo to DoGet."""

    def __init__(
        self, location: str, served: ServedLayer, tokens: TokenCheck, environment_id: int
    ) -> None:
        super().__init__(location, middleware={"auth": BearerAuthFactory(tokens, environment_id)})
        self.served = served
        limits = served.limits
        self.results = PendingResults(limits.pending_result_seconds, limits.pending_result_bytes)
        self.prepared: OrderedDict[bytes, Prepared] = OrderedDict()
        self.lock = threading.Lock()
        self.catalog = Catalog()

    def saved_query_function(self, principal: Principal) -> QueryFunction:
        return lambda request: self.served.query(request, principal).table

    def run(self, statement: str, principal: Principal) -> pa.Table:
        try:
            selected = parse_table_select(statement)
            if selected is not None:
                layer = self.served.metadata(principal)
                return self.catalog.select(layer, selected, self.saved_query_function(principal))
            return run_call(self.served, principal, parse_statement(statement))
        except Exception as error:
            raise client_error(error) from None

    def catalog_result(self, name: str, wrapper: Any, principal: Principal) -> pa.Table:
        """The answer to one of the catalog commands (CATALOG_COMMANDS)."""
        command = message(wrapper, name)
        if name == "CommandGetSqlInfo":
            return sql_info_table(command.info)
        if name == "CommandGetCatalogs":
            return catalogs_table()
        if name == "CommandGetTableTypes":
            return table_types_table()
        if name == "CommandGetDbSchemas":
            return db_schemas_table(
                optional(command, "catalog"), optional(command, "db_schema_filter_pattern")
            )
        request = TablesRequest(
            catalog=optional(command, "catalog"),
            db_schema_pattern=optional(command, "db_schema_filter_pattern"),
            table_pattern=optional(command, "table_name_filter_pattern"),
            table_types=tuple(command.table_types),
            include_schema=command.include_schema,
        )
        try:
            return self.catalog.tables_table(
                self.served.metadata(principal), request, self.saved_query_function(principal)
            )
        except Exception as error:
            raise client_error(error) from None

    def prepare(self, handle: bytes, statement: str, principal: Principal) -> None:
        """Keep a prepared statement: at most MAX_PREPARED, each until it has been unused for
        as long as a pending result is kept."""
        now = time.monotonic()
        with self.lock:
            self.prepared[handle] = Prepared(statement, now, principal.name)
            idle = now - self.served.limits.pending_result_seconds
            while self.prepared and (
                len(self.prepared) > MAX_PREPARED
                or next(iter(self.prepared.values())).used_at < idle
            ):
                self.prepared.popitem(last=False)

    def result_of(self, command: bytes, principal: Principal) -> pa.Table:
        """Run the statement of a Flight SQL command (or take a prepared statement's result)."""
        type_name, wrapper = unpack(command)
        if type_name in CATALOG_COMMANDS:
            return self.catalog_result(type_name, wrapper, principal)
        if type_name == "CommandStatementQuery":
            return self.run(message(wrapper, "CommandStatementQuery").query, principal)
        if type_name == "CommandPreparedStatementQuery":
            handle = message(wrapper, "CommandPreparedStatementQuery").prepared_statement_handle
            with self.lock:
                prepared = self.prepared.get(handle)
                if prepared is None or prepared.owner != principal.name:
                    raise pa.ArrowInvalid("unknown, expired or closed prepared statement")
                prepared.used_at = time.monotonic()
                self.prepared.move_to_end(handle)
            # The first execution uses the result computed for the schema at prepare time,
            # unless it has expired since.
            table = self.results.take(handle, principal)
            return table if table is not None else self.run(prepared.statement, principal)
        raise NotImplementedError(
            f"Flight SQL command {type_name or 'without type'} is not supported"
        )

    def get_flight_info(
        self, context: Any, descriptor: flight.FlightDescriptor
    ) -> flight.FlightInfo:
        if descriptor.descriptor_type != flight.DescriptorType.CMD:
            raise NotImplementedError("only Flight SQL commands are supported")
        principal = principal_of(context)
        table = self.result_of(descriptor.command, principal)
        handle = uuid.uuid4().bytes
        self.results.put(handle, table, principal)
        ticket = flight.Ticket(pack(SQL["TicketStatementQuery"](statement_handle=handle)))
        return flight.FlightInfo(
            table.schema, descriptor, [flight.FlightEndpoint(ticket, [])], table.num_rows, -1
        )

    def do_get(self, context: Any, ticket: flight.Ticket) -> flight.RecordBatchStream:
        type_name, wrapper = unpack(ticket.ticket)
        if type_name != "TicketStatementQuery":
            raise pa.ArrowInvalid("unknown ticket")
        handle = message(wrapper, "TicketStatementQuery").statement_handle
        table = self.results.take(handle, principal_of(context))
        if table is None:
            raise pa.ArrowInvalid(
                "unknown, expired or already fetched ticket: a result is kept for"
                f" {self.served.limits.pending_result_seconds:g} s after GetFlightInfo; ask again"
            )
        return flight.RecordBatchStream(table)

    def do_action(self, context: Any, action: flight.Action) -> list[bytes]:
        if action.type == "CreatePreparedStatement":
            _, wrapper = unpack(action.body.to_pybytes())
            statement = message(wrapper, "ActionCreatePreparedStatementRequest").query
            # Run it now: the answer carries the result schema, which JDBC drivers read.
            principal = principal_of(context)
            table = self.run(statement, principal)
            handle = uuid.uuid4().bytes
            self.prepare(handle, statement, principal)
            self.results.put(handle, table, principal)
            result = SQL["ActionCreatePreparedStatementResult"](
                prepared_statement_handle=handle,
                dataset_schema=table.schema.serialize().to_pybytes(),
            )
            return [pack(result)]
        if action.type == "ClosePreparedStatement":
            _, wrapper = unpack(action.body.to_pybytes())
            handle = message(
                wrapper, "ActionClosePreparedStatementRequest"
            ).prepared_statement_handle
            principal = principal_of(context)
            with self.lock:
                prepared = self.prepared.get(handle)
                if prepared is not None and prepared.owner == principal.name:
                    del self.prepared[handle]
            self.results.take(handle, principal)
            return []
        raise NotImplementedError(f"action {action.type} is not supported")

    def list_actions(self, context: Any) -> list[tuple[str, str]]:
        return [
            ("CreatePreparedStatement", "prepare a semantic_layer statement"),
            ("ClosePreparedStatement", "close a prepared statement"),
        ]

    def do_put(self, context: Any, descriptor: Any, reader: Any, writer: Any) -> None:
        raise flight.FlightUnauthorizedError("the semantic layer server is read-only")

    def do_exchange(self, context: Any, descriptor: Any, reader: Any, writer: Any) -> None:
        raise NotImplementedError("DoExchange is not supported")
