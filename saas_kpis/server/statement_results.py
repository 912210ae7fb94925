"""The tables that Flight SQL statements answer: a `semantic_layer` call's result, the layer's
metadata as tables, and the validated outer select run around a result.

Shared by the statement path and the catalog (whose metadata views are these same tables), so a
view listed in the catalog and the call it stands for return the same columns.
"""

from __future__ import annotations

import json
from typing import Any

import duckdb
import pyarrow as pa

from saas_kpis.semantic.query_control import QueryControl
from saas_kpis.server.adapter import ServedLayer
from saas_kpis.server.auth import Principal
from saas_kpis.server.scopes import Metadata
from saas_kpis.server.statements import OUTER_TABLE, Call


def cell(value: Any) -> Any:
    """A metadata value as one Arrow cell: JSON text for mappings, comma-joined lists."""
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True)
    if isinstance(value, list | tuple):
        return ",".join(str(v) for v in value)
    return value


# Every metadata cell is text except these; the types are fixed rather than inferred, so that a
# column whose values are all null (no dimension has a label) is still text, as the catalog says.
BOOLEAN_COLUMNS = {"requires_metric_time"}


def table_of(rows: list[Any], columns: dict[str, Any]) -> pa.Table:
    """Metadata objects as a table: one column per {name: getter}."""
    return pa.table(
        {
            name: pa.array(
                [cell(get(row)) for row in rows],
                type=pa.bool_() if name in BOOLEAN_COLUMNS else pa.string(),
            )
            for name, get in columns.items()
        }
    )


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


def run_call(served: ServedLayer, principal: Principal, call: Call) -> pa.Table:
    """Result of a parsed call for a principal, with the outer select applied if there is
    one. Queries go through the served layer; metadata calls read the current snapshot as the
    principal's scope sees it."""
    if call.function == "query":
        table = served.query(call.request, principal).table
    elif call.function == "dimension_values":
        table = served.dimension_values(call.request, principal)
    else:
        table = metadata_table(served.metadata(principal), call)
    if not call.outer_sql:
        return table
    # The outer select runs DuckDB too: in the principal's turn, with the same bounds.
    outer_sql, control = call.outer_sql, served.control()
    return served.admission.run(principal, lambda: execute_outer(table, outer_sql, control))


def metadata_table(layer: Metadata, call: Call) -> pa.Table:
    """The answer to a metadata call (`metrics`, `dimensions`, ...) as a table."""
    if call.function in ("metrics", "saved_queries"):
        return table_of(getattr(layer, call.function)(), METADATA_COLUMNS[call.function])
    metrics = list(call.request.metrics)
    if not metrics:
        raise pa.ArrowInvalid(f"semantic_layer.{call.function}() needs metrics=[...]")
    items = getattr(layer, call.function)(metrics)
    return table_of(items, METADATA_COLUMNS[call.function])


def execute_outer(table: pa.Table, outer_sql: str, control: QueryControl | None = None) -> pa.Table:
    """Run the validated select around a call on the call's result, in a sandboxed DuckDB,
    within the control's timeout and result caps.

    DuckDB computes a select over a small registered table whole when it starts, whatever the
    reader then asks for (a 19.5k-character literal on each of 26,000 rows took 500 MB before the
    first batch was read), so the size of the result is measured first, by an aggregate that
    holds none of it, and an oversized result is refused before it is computed."""
    control = control or QueryControl()
    connection = duckdb.connect(
        ":memory:", config={"enable_external_access": False, "lock_configuration": True}
    )
    try:
        connection.register(OUTER_TABLE, table)
        schema = connection.execute(f"select * from ({outer_sql}) limit 0").to_arrow_table().schema
        columns = [f"c{n}" for n in range(len(schema))]
        text = [
            f"coalesce(sum(strlen({column}::varchar)), 0)"
            for column, data_type in zip(columns, schema.types, strict=True)
            if pa.types.is_string(data_type) or pa.types.is_large_string(data_type)
        ]
        measured = control.read_duckdb(
            connection,
            f"select count(*), {' + '.join(text) or '0'}"
            f" from ({outer_sql}) as measured({', '.join(columns)})",
        )
        rows, text_bytes = measured.column(0)[0].as_py(), measured.column(1)[0].as_py()
        # Fixed-width columns count 8 bytes a value, about what Arrow holds for them.
        control.check_size(rows, int(text_bytes) + rows * 8 * (len(columns) - len(text)))
        return control.read_duckdb(connection, outer_sql)
    finally:
        connection.close()
