"""The Flight SQL protobuf messages the server reads and writes, and their `Any` wrapping.

The messages are defined here from their field numbers in the Flight SQL specification
(apache/arrow `format/FlightSql.proto`) and handled by the protobuf library, so the server does
not depend on generated code. Proto3 `optional` fields are declared as the specification does
(a synthetic one-field oneof), because the catalog commands tell "omitted" (do not narrow the
search) from "empty string" (only objects without a catalog) by field presence.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa
from google.protobuf import any_pb2, descriptor_pb2, descriptor_pool, message_factory

PACKAGE = "arrow.flight.protocol.sql"

_FIELD = descriptor_pb2.FieldDescriptorProto
STRING, BYTES = _FIELD.TYPE_STRING, _FIELD.TYPE_BYTES
BOOL, UINT32 = _FIELD.TYPE_BOOL, _FIELD.TYPE_UINT32
# Field number = position in the list (every message used here numbers its fields 1, 2, ...).
# A field is (name, type) or (name, type, "optional" | "repeated").
_MESSAGES: dict[str, list[tuple[Any, ...]]] = {
    "CommandStatementQuery": [("query", STRING), ("transaction_id", BYTES, "optional")],
    "TicketStatementQuery": [("statement_handle", BYTES)],
    "ActionCreatePreparedStatementRequest": [
        ("query", STRING),
        ("transaction_id", BYTES, "optional"),
    ],
    "ActionCreatePreparedStatementResult": [
        ("prepared_statement_handle", BYTES),
        ("dataset_schema", BYTES),
        ("parameter_schema", BYTES),
    ],
    "CommandPreparedStatementQuery": [("prepared_statement_handle", BYTES)],
    "ActionClosePreparedStatementRequest": [("prepared_statement_handle", BYTES)],
    "CommandGetSqlInfo": [("info", UINT32, "repeated")],
    "CommandGetCatalogs": [],
    "CommandGetDbSchemas": [
        ("catalog", STRING, "optional"),
        ("db_schema_filter_pattern", STRING, "optional"),
    ],
    "CommandGetTables": [
        ("catalog", STRING, "optional"),
        ("db_schema_filter_pattern", STRING, "optional"),
        ("table_name_filter_pattern", STRING, "optional"),
        ("table_types", STRING, "repeated"),
        ("include_schema", BOOL),
    ],
    "CommandGetTableTypes": [],
}
CATALOG_COMMANDS = (
    "CommandGetSqlInfo",
    "CommandGetCatalogs",
    "CommandGetDbSchemas",
    "CommandGetTables",
    "CommandGetTableTypes",
)


def _message_classes() -> dict[str, type]:
    file_proto = descriptor_pb2.FileDescriptorProto(
        name="saas_kpis_flight_sql_subset.proto", package=PACKAGE, syntax="proto3"
    )
    for name, fields in _MESSAGES.items():
        message = file_proto.message_type.add(name=name)
        for number, (field_name, field_type, *kind) in enumerate(fields, start=1):
            field = message.field.add(
                name=field_name,
                number=number,
                type=field_type,
                label=_FIELD.LABEL_REPEATED if kind == ["repeated"] else _FIELD.LABEL_OPTIONAL,
            )
            if kind == ["optional"]:
                field.oneof_index = len(message.oneof_decl)
                field.proto3_optional = True
                message.oneof_decl.add(name=f"_{field_name}")
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
    """The Flight SQL message name (without the package) and the wrapper holding it."""
    wrapper = any_pb2.Any()
    try:
        wrapper.ParseFromString(data)
    except Exception:
        raise pa.ArrowInvalid("malformed Flight SQL command") from None
    type_name = wrapper.TypeName()
    prefix = f"{PACKAGE}."
    return (type_name[len(prefix) :] if type_name.startswith(prefix) else type_name), wrapper


def message(wrapper: any_pb2.Any, name: str) -> Any:
    result = SQL[name]()
    if not wrapper.Unpack(result):
        raise pa.ArrowInvalid(f"malformed {name}")
    return result


def optional(command: Any, field_name: str) -> str | None:
    """A proto3 `optional` string field: None when the client omitted it."""
    return getattr(command, field_name) if command.HasField(field_name) else None
