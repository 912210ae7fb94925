"""The Arrow Flight SQL half of the Semantic Layer API (what ADBC/JDBC drivers and dbt-sl-sdk use).

Supported: statement queries (`CommandStatementQuery`) and prepared statements
(`CreatePreparedStatement` / `CommandPreparedStatementQuery` / `ClosePreparedStatement`) whose
text is a `{{ semantic_layer.<function>(...) }}` call, bare or inside `select ... from {{ ... }}`.
Everything else answers UNIMPLEMENTED. The Flight SQL messages are protobuf messages, defined
here from their field numbers in the Flight SQL specification (FlightSql.proto) and handled by
the protobuf library.
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.flight as flight
from google.protobuf import any_pb2, descriptor_pb2, descriptor_pool, message_factory

from saas_kpis.semantic import SemanticLayer
from saas_kpis.server.adapter import ServedLayer, public_message
from saas_kpis.server.auth import UNAUTHORIZED, TokenCheck
from saas_kpis.server.statements import OUTER_TABLE, Call, parse_statement

log = logging.getLogger(__name__)

PACKAGE = "arrow.flight.protocol.sql"
MAX_PENDING_RESULTS = 200
MAX_PREPARED = 1000
UNAUTHENTICATED = f"{UNAUTHORIZED}: a valid `authorization: Bearer <token>` header is required"

_FIELD = descriptor_pb2.FieldDescriptorProto
_MESSAGES = {
    "CommandStatementQuery": [("query", _FIELD.TYPE_STRING), ("transaction_id", _FIELD.TYPE_BYTES)],
    "TicketStatementQuery": [("statement_handle", _FIELD.TYPE_BYTES)],
    "ActionCreatePreparedStatementRequest": [
        ("query", _FIELD.TYPE_STRING),
        ("transaction_id", _FIELD.TYPE_BYTES),
    ],
    "ActionCreatePreparedStatementResult": [
        ("prepared_statement_handle", _FIELD.TYPE_BYTES),
        ("dataset_schema", _FIELD.TYPE_BYTES),
        ("parameter_schema", _FIELD.TYPE_BYTES),
    ],
    "CommandPreparedStatementQuery": [("prepared_statement_handle", _FIELD.TYPE_BYTES)],
    "ActionClosePreparedStatementRequest": [("prepared_statement_handle", _FIELD.TYPE_BYTES)],
}


def _message_classes() -> dict[str, type]:
    file_proto = descriptor_pb2.FileDescriptorProto(
        name="saas_kpis_flight_sql_subset.proto", package=PACKAGE, syntax="proto3"
    )
    for name, fields in _MESSAGES.items():
        message = file_proto.message_type.add(name=name)
        for number, (field_name, field_type) in enumerate(fields, start=1):
            message.field.add(
                name=field_name, number=number, type=field_type, label=_FIELD.LABEL_OPTIONAL
            )
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file_proto)
    return {
        name: message_factory.GetMessageClass(pool.FindMessageTypeByName(f"{PACKAGE}.{name}"))
        for name in _MESSAGES
    }


SQL = _message_classes()


def pack(message: Any) -> bytes:
    wrapper = any_pb2.Any()
    wrapper.Pack(message)
    return wrapper.SerializeToString()


def unpack(data: bytes) -> tuple[str, any_pb2.Any]:
    wrapper = any_pb2.Any()
    try:
        wrapper.ParseFromString(data)
    except Exception:
        raise pa.ArrowInvalid("malformed Flight SQL command") from None
    return wrapper.TypeName(), wrapper


def message(wrapper: any_pb2.Any, name: str) -> Any:
    result = SQL[name]()
    wrapper.Unpack(result)
    return result


def cell(value: Any) -> Any:
    """A metadata value as one Arrow cell: JSON text for mappings, comma-joined lists."""
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True)
    if isinstance(value, list | tuple):
        return ",".join(str(v) for v in value)
    return value


def table_of(rows: list[Any], columns: dict[str, Any]) -> pa.Table:
    """Metadata objects as a table: one column per {name: getter}."""
    return pa.table({name: [cell(get(row)) for row in rows] for name, get in columns.items()})


METADATA_COLUMNS: dict[str, dict[str, Any]] = {
    "metrics": {
        "name": lambda m: m.name,
        "label": lambda m: m.label,
        "description": lambda m: m.description,
        "type": lambda m: m.type,
        "queryable_time_granularities": lambda m: m.grains,
        "requires_metric_time": lambda m: m.requires_metric_time,
        "meta": lambda m: dict(m.meta),
    },
    "saved_queries": {
        "name": lambda s: s.name,
        "label": lambda s: s.label,
        "description": lambda s: s.description,
    },
    "dimensions": {
        "name": lambda d: d.name,
        "qualified_name": lambda d: d.qualified_name,
        "type": lambda d: d.type,
        "label": lambda d: d.label,
        "description": lambda d: d.description,
        "queryable_time_granularities": lambda d: d.grains,
    },
    "entities": {
        "name": lambda e: e.name,
        "type": lambda e: e.type,
        "role": lambda e: e.role,
        "description": lambda e: e.description,
        "expr": lambda e: e.expr,
    },
    "measures": {
        "name": lambda m: m.name,
        "agg": lambda m: m.agg,
        "agg_time_dimension": lambda m: m.agg_time_dimension,
        "expr": lambda m: m.expr,
    },
}


def run_call(layer: SemanticLayer, call: Call) -> pa.Table:
    """Result of a parsed call on a layer, with the outer select applied if there is one."""
    request = call.request
    if call.function == "query":
        table = layer.query(request)
    elif call.function == "dimension_values":
        table = layer.dimension_values(request)
    elif call.function in ("metrics", "saved_queries"):
        table = table_of(getattr(layer, call.function)(), METADATA_COLUMNS[call.function])
    else:
        metrics = list(request.metrics)
        if not metrics:
            raise pa.ArrowInvalid(f"semantic_layer.{call.function}() needs metrics=[...]")
        items = getattr(layer, call.function)(metrics)
        table = table_of(items, METADATA_COLUMNS[call.function])
    return execute_outer(table, call.outer_sql) if call.outer_sql else table


def execute_outer(table: pa.Table, outer_sql: str) -> pa.Table:
    """Run the validated select around a call on the call's result, in a sandboxed DuckDB."""
    connection = duckdb.connect(
        ":memory:", config={"enable_external_access": False, "lock_configuration": True}
    )
    try:
        connection.register(OUTER_TABLE, table)
        return connection.execute(outer_sql).to_arrow_table()
    finally:
        connection.close()


@dataclass
class Prepared:
    """A prepared statement, with its result until the first execution takes it."""

    statement: str
    table: pa.Table | None


class BearerAuthFactory(flight.ServerMiddlewareFactory):
    """Reject every call that fails the token check (UNAUTHENTICATED) or names another
    environment (UNAUTHORIZED)."""

    def __init__(self, tokens: TokenCheck, environment_id: int) -> None:
        super().__init__()
        self.tokens = tokens
        self.environment_id = str(environment_id)

    def start_call(self, info: Any, headers: dict[str, list[Any]]) -> None:
        if not self.tokens.authorized(headers.get("authorization", [])):
            raise flight.FlightUnauthenticatedError(UNAUTHENTICATED)
        environment = headers.get("environmentid", [self.environment_id])
        environment_value = (
            environment[0].decode() if isinstance(environment[0], bytes) else environment[0]
        )
        if environment_value != self.environment_id:
            raise flight.FlightUnauthorizedError(f"unknown environment {environment_value}")
        return None


class SemanticLayerFlightServer(flight.FlightServerBase):
    """Flight SQL statements over the served layer; results go from GetFlightInfo to DoGet."""

    def __init__(
        self, location: str, served: ServedLayer, tokens: TokenCheck, environment_id: int
    ) -> None:
        super().__init__(location, middleware={"auth": BearerAuthFactory(tokens, environment_id)})
        self.served = served
        self.results: OrderedDict[bytes, pa.Table] = OrderedDict()
        self.prepared: OrderedDict[bytes, Prepared] = OrderedDict()
        self.lock = threading.Lock()

    def run(self, statement: str) -> pa.Table:
        try:
            call = parse_statement(statement)
            return run_call(self.served.layer(), call)
        except Exception as error:
            raise pa.ArrowInvalid(public_message(error)) from None

    @staticmethod
    def remember(store: OrderedDict, key: bytes, value: Any, limit: int) -> None:
        store[key] = value
        while len(store) > limit:
            store.popitem(last=False)

    def result_of(self, command: bytes) -> pa.Table:
        """Run the statement of a Flight SQL command (or take a prepared statement's result)."""
        type_name, wrapper = unpack(command)
        if type_name == f"{PACKAGE}.CommandStatementQuery":
            return self.run(message(wrapper, "CommandStatementQuery").query)
        if type_name == f"{PACKAGE}.CommandPreparedStatementQuery":
            handle = message(wrapper, "CommandPreparedStatementQuery").prepared_statement_handle
            with self.lock:
                prepared = self.prepared.get(handle)
                if prepared is None:
                    raise pa.ArrowInvalid("unknown or closed prepared statement")
                table, prepared.table = prepared.table, None
            # The first execution uses the result computed for the schema at prepare time.
            return table if table is not None else self.run(prepared.statement)
        raise NotImplementedError(
            f"Flight SQL command {type_name or 'without type'} is not supported"
        )

    def get_flight_info(
        self, context: Any, descriptor: flight.FlightDescriptor
    ) -> flight.FlightInfo:
        if descriptor.descriptor_type != flight.DescriptorType.CMD:
            raise NotImplementedError("only Flight SQL commands are supported")
        table = self.result_of(descriptor.command)
        handle = uuid.uuid4().bytes
        with self.lock:
            self.remember(self.results, handle, table, MAX_PENDING_RESULTS)
        ticket = flight.Ticket(pack(SQL["TicketStatementQuery"](statement_handle=handle)))
        return flight.FlightInfo(
            table.schema, descriptor, [flight.FlightEndpoint(ticket, [])], table.num_rows, -1
        )

    def do_get(self, context: Any, ticket: flight.Ticket) -> flight.RecordBatchStream:
        type_name, wrapper = unpack(ticket.ticket)
        if type_name != f"{PACKAGE}.TicketStatementQuery":
            raise pa.ArrowInvalid("unknown ticket")
        handle = message(wrapper, "TicketStatementQuery").statement_handle
        with self.lock:
            table = self.results.pop(handle, None)
        if table is None:
            raise pa.ArrowInvalid("unknown or already fetched ticket")
        return flight.RecordBatchStream(table)

    def do_action(self, context: Any, action: flight.Action) -> list[bytes]:
        if action.type == "CreatePreparedStatement":
            _, wrapper = unpack(action.body.to_pybytes())
            statement = message(wrapper, "ActionCreatePreparedStatementRequest").query
            # Run it now: the answer carries the result schema, which JDBC drivers read.
            table = self.run(statement)
            handle = uuid.uuid4().bytes
            with self.lock:
                self.remember(self.prepared, handle, Prepared(statement, table), MAX_PREPARED)
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
            with self.lock:
                self.prepared.pop(handle, None)
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
