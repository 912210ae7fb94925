"""What a Flight SQL schema browser sees: the catalog, its schemas and tables, as Arrow tables.

One catalog, `semantic_layer`, with two schemas:
- `saved_queries`: one table (type TABLE) per saved query; its rows are the saved query's
  result, the same as `{{ semantic_layer.query(saved_query='...') }}`.
- `metadata`: the views (type VIEW) `metrics`, `dimensions` and `saved_queries`, whose rows are
  what `semantic_layer.metrics()`, `.dimensions(...)` and `.saved_queries()` return (the
  `dimensions` view lists the dimensions of every metric, once each).

Each answer has the result schema the Flight SQL specification gives for its command
(GetCatalogs, GetDbSchemas, GetTables, GetTableTypes), rows ordered as it asks. A table's Arrow
schema is that of its rows, taken from running it once per served snapshot, so the schema a
browser shows is exactly what a select returns.
"""

from __future__ import annotations

import re
import threading
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pyarrow as pa

from saas_kpis.semantic import QueryRequest, SemanticLayer
from saas_kpis.server.scopes import Metadata, underlying_layer
from saas_kpis.server.statement_results import METADATA_COLUMNS, metadata_table, table_of
from saas_kpis.server.statements import Call, StatementError
from saas_kpis.server.table_statements import TableSelect

CATALOG = "semantic_layer"
SAVED_QUERIES = "saved_queries"
METADATA = "metadata"
TABLE, VIEW = "TABLE", "VIEW"
TABLE_TYPES = (TABLE, VIEW)
METADATA_VIEWS = ("dimensions", "metrics", "saved_queries")
# How the catalog runs a saved query: the served query path of the request's principal.
QueryFunction = Callable[[QueryRequest], pa.Table]

CATALOGS_SCHEMA = pa.schema([pa.field("catalog_name", pa.string(), nullable=False)])
DB_SCHEMAS_SCHEMA = pa.schema(
    [pa.field("catalog_name", pa.string()), pa.field("db_schema_name", pa.string(), False)]
)
TABLES_SCHEMA = pa.schema(
    [
        pa.field("catalog_name", pa.string()),
        pa.field("db_schema_name", pa.string()),
        pa.field("table_name", pa.string(), nullable=False),
        pa.field("table_type", pa.string(), nullable=False),
    ]
)
TABLES_WITH_SCHEMA_SCHEMA = TABLES_SCHEMA.append(
    pa.field("table_schema", pa.binary(), nullable=False)
)
TABLE_TYPES_SCHEMA = pa.schema([pa.field("table_type", pa.string(), nullable=False)])

# The data-source type names JDBC shows for a column (ARROW:FLIGHT:SQL:TYPE_NAME).
SQL_TYPE_NAMES = (
    (pa.types.is_string, "VARCHAR"),
    (pa.types.is_large_string, "VARCHAR"),
    (pa.types.is_boolean, "BOOLEAN"),
    (pa.types.is_int64, "BIGINT"),
    (pa.types.is_integer, "INTEGER"),
    (pa.types.is_floating, "DOUBLE"),
    (pa.types.is_decimal, "DECIMAL"),
    (pa.types.is_date, "DATE"),
    (pa.types.is_timestamp, "TIMESTAMP"),
)


@dataclass(frozen=True)
class ListedTable:
    db_schema: str
    name: str
    type: str


@dataclass(frozen=True)
class TablesRequest:
    """CommandGetTables: None means the client did not narrow by that field."""

    catalog: str | None = None
    db_schema_pattern: str | None = None
    table_pattern: str | None = None
    table_types: tuple[str, ...] = ()
    include_schema: bool = False


def like(pattern: str | None) -> re.Pattern[str] | None:
    """An SQL LIKE pattern (`%` any run, `_` one character, `\\` escapes) as a regex."""
    if pattern is None:
        return None
    parts, escaped = [], False
    for char in pattern:
        if escaped:
            parts.append(re.escape(char))
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == "%":
            parts.append(".*")
        elif char == "_":
            parts.append(".")
        else:
            parts.append(re.escape(char))
    if escaped:
        parts.append(re.escape("\\"))
    return re.compile("".join(parts), re.DOTALL)


def matches(pattern: re.Pattern[str] | None, name: str) -> bool:
    return pattern is None or pattern.fullmatch(name) is not None


def in_catalog(catalog: str | None) -> bool:
    """Whether a request's catalog field admits ours (omitted narrows nothing; "" asks for
    objects without a catalog, and there are none)."""
    return catalog is None or catalog == CATALOG


def db_schemas_table(catalog: str | None, db_schema_pattern: str | None) -> pa.Table:
    pattern = like(db_schema_pattern)
    names = (
        [name for name in sorted((METADATA, SAVED_QUERIES)) if matches(pattern, name)]
        if in_catalog(catalog)
        else []
    )
    return pa.Table.from_pydict(
        {"catalog_name": [CATALOG] * len(names), "db_schema_name": names},
        schema=DB_SCHEMAS_SCHEMA,
    )


def catalogs_table() -> pa.Table:
    return pa.Table.from_pydict({"catalog_name": [CATALOG]}, schema=CATALOGS_SCHEMA)


def table_types_table() -> pa.Table:
    return pa.Table.from_pydict({"table_type": sorted(TABLE_TYPES)}, schema=TABLE_TYPES_SCHEMA)


def sql_type_name(data_type: pa.DataType) -> str:
    return next((name for test, name in SQL_TYPE_NAMES if test(data_type)), str(data_type))


def annotated(schema: pa.Schema, table: ListedTable) -> pa.Schema:
    """A table's schema with the column metadata keys the specification defines for GetTables."""
    return pa.schema(
        [
            field.with_metadata(
                {
                    "ARROW:FLIGHT:SQL:CATALOG_NAME": CATALOG,
                    "ARROW:FLIGHT:SQL:DB_SCHEMA_NAME": table.db_schema,
                    "ARROW:FLIGHT:SQL:TABLE_NAME": table.name,
                    "ARROW:FLIGHT:SQL:TYPE_NAME": sql_type_name(field.type),
                    "ARROW:FLIGHT:SQL:IS_READ_ONLY": "1",
                    "ARROW:FLIGHT:SQL:IS_SEARCHABLE": "0",
                }
            )
            for field in schema
        ]
    )


class Catalog:
    """The listed tables of the served layer, and their schemas remembered per snapshot."""

    def __init__(self) -> None:
        # Keyed by the snapshot's layer: a newly published snapshot starts afresh, and an old
        # snapshot's schemas go when its layer does.
        self._schemas: weakref.WeakKeyDictionary[SemanticLayer, dict[ListedTable, pa.Schema]]
        self._schemas = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()

    @staticmethod
    def tables(layer: Metadata) -> list[ListedTable]:
        """Every listed table, ordered by schema and name."""
        listed = [ListedTable(METADATA, name, VIEW) for name in METADATA_VIEWS]
        listed += [ListedTable(SAVED_QUERIES, saved.name, TABLE) for saved in layer.saved_queries()]
        return sorted(listed, key=lambda t: (t.db_schema, t.name, t.type))

    @staticmethod
    def rows(layer: Metadata, table: ListedTable, query: QueryFunction) -> pa.Table:
        """A listed table's rows; a saved query's are computed by `query` (the served path)."""
        if table.db_schema == SAVED_QUERIES:
            return query(QueryRequest(saved_query=table.name))
        if table.name == "dimensions":
            unique = {}
            for metric in layer.metrics():
                for dimension in layer.dimensions([metric.name]):
                    unique.setdefault(dimension.qualified_name, dimension)
            dimensions = [unique[name] for name in sorted(unique)]
            return table_of(dimensions, METADATA_COLUMNS["dimensions"])
        return metadata_table(layer, Call(function=table.name))

    def schema(self, layer: Metadata, table: ListedTable, query: QueryFunction) -> pa.Schema:
        # A table's columns do not depend on the scope it is listed to, so schemas are kept
        # per snapshot; a scope is only ever asked for the tables it lists.
        snapshot = underlying_layer(layer)
        with self._lock:
            known = self._schemas.setdefault(snapshot, {}).get(table)
        if known is None:
            known = self.rows(layer, table, query).schema
            with self._lock:
                self._schemas.setdefault(snapshot, {})[table] = known
        return known

    def resolve(self, layer: Metadata, select: TableSelect) -> ListedTable:
        """The listed table a `select * from` names; a bare name must name exactly one."""
        *qualifiers, name = select.parts
        catalog = qualifiers[0] if len(qualifiers) == 2 else None
        db_schema = qualifiers[-1] if qualifiers else None
        found = [
            table
            for table in self.tables(layer)
            if name.matches(table.name)
            and (db_schema is None or db_schema.matches(table.db_schema))
            and (catalog is None or catalog.matches(CATALOG))
        ]
        written = ".".join(part.text for part in select.parts)
        if not found:
            raise StatementError(
                f"unknown table {written}; the catalog {CATALOG} lists "
                f"{SAVED_QUERIES}.<saved query> and {METADATA}.{{{','.join(METADATA_VIEWS)}}}"
            )
        if len(found) > 1:
            raise StatementError(f"{written} names more than one table; qualify it with a schema")
        return found[0]

    def select(self, layer: Metadata, select: TableSelect, query: QueryFunction) -> pa.Table:
        table = self.rows(layer, self.resolve(layer, select), query)
        return table if select.limit is None else table.slice(0, select.limit)

    def tables_table(
        self, layer: Metadata, request: TablesRequest, query: QueryFunction
    ) -> pa.Table:
        """GetTables: the listed tables that pass the request's filters."""
        schema_pattern, table_pattern = like(request.db_schema_pattern), like(request.table_pattern)
        found = [
            table
            for table in self.tables(layer)
            if in_catalog(request.catalog)
            and matches(schema_pattern, table.db_schema)
            and matches(table_pattern, table.name)
            and (not request.table_types or table.type in request.table_types)
        ]
        columns: dict[str, Sequence[object]] = {
            "catalog_name": [CATALOG] * len(found),
            "db_schema_name": [table.db_schema for table in found],
            "table_name": [table.name for table in found],
            "table_type": [table.type for table in found],
        }
        if not request.include_schema:
            return pa.Table.from_pydict(columns, schema=TABLES_SCHEMA)
        columns["table_schema"] = [
            annotated(self.schema(layer, table, query), table).serialize().to_pybytes()
            for table in found
        ]
        return pa.Table.from_pydict(columns, schema=TABLES_WITH_SCHEMA_SCHEMA)
