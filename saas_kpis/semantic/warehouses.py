"""Where the semantic layer's SQL runs: a DuckDB file opened read-only, or a dbt profile target.

MetricFlow plans a query into SQL for a dialect; a warehouse runs that SQL and returns Arrow.
The DuckDB warehouse executes with DuckDB's own Arrow export (the served snapshots and the dev
file); the dbt warehouse goes through the dbt adapter of the profile target, as `mf` does, so it
works on every warehouse MetricFlow supports and can also run the DDL of the exports.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import duckdb
import pyarrow as pa
from dbt.adapters.base import BaseAdapter
from metricflow.protocols.sql_client import SqlClient, SqlEngine
from metricflow.sql.render.duckdb_renderer import DuckDbSqlPlanRenderer
from metricflow.sql.render.sql_plan_renderer import SqlPlanRenderer
from metricflow_semantics.sql.sql_bind_parameters import SqlBindParameterSet

from saas_kpis.semantic.query_control import QueryControl

NO_PARAMETERS = SqlBindParameterSet()


class Warehouse(Protocol):
    """What the semantic layer needs of a warehouse."""

    @property
    def sql_client(self) -> SqlClient:
        """The client MetricFlow plans with (its dialect and renderer)."""
        ...

    def query(self, sql: str, control: QueryControl | None = None) -> pa.Table:
        """Run `sql`; with a control, within its bounds and stoppable by it."""
        ...

    def execute(self, sql: str) -> None: ...

    def dry_run(self, sql: str) -> None: ...

    def relation(self, schema: str, identifier: str | None = None) -> str: ...

    def close(self) -> None: ...


def quoted_relation(schema: str, identifier: str | None = None) -> str:
    """A schema or relation name with each part double-quoted (DuckDB and PostgreSQL alike)."""
    parts = [schema] if identifier is None else [schema, identifier]
    return ".".join('"' + part.replace('"', '""') + '"' for part in parts)


class PlanningClient:
    """MetricFlow's SqlClient for a warehouse that MetricFlow only plans with: the engine and
    renderer of its dialect, and a dry run through the warehouse; the warehouse runs the SQL."""

    def __init__(
        self, engine: SqlEngine, renderer: SqlPlanRenderer, explain: Callable[[str], None]
    ) -> None:
        self._engine = engine
        self._renderer = renderer
        self._explain = explain

    @property
    def sql_engine_type(self) -> SqlEngine:
        return self._engine

    @property
    def sql_plan_renderer(self) -> SqlPlanRenderer:
        return self._renderer

    def query(self, stmt: str, sql_bind_parameter_set: SqlBindParameterSet = NO_PARAMETERS) -> Any:
        raise NotImplementedError("the semantic layer runs the SQL through its warehouse")

    def execute(
        self, stmt: str, sql_bind_parameter_set: SqlBindParameterSet = NO_PARAMETERS
    ) -> None:
        raise PermissionError("the semantic layer is read-only")

    def dry_run(
        self, stmt: str, sql_bind_parameter_set: SqlBindParameterSet = NO_PARAMETERS
    ) -> None:
        self._explain(f"explain {stmt}")

    def close(self) -> None:
        """The connection belongs to the warehouse, which closes it."""

    def render_bind_parameter_key(self, bind_parameter_key: str) -> str:
        raise NotImplementedError("bind parameters are not used")


class DuckDbWarehouse:
    """A DuckDB file opened read-only, without access to other files or the network."""

    def __init__(self, path: Path, settings: dict[str, Any] | None = None) -> None:
        self.path = path
        self.connection = duckdb.connect(
            str(path),
            read_only=True,
            config={
                **(settings or {}),
                "enable_external_access": False,
                "lock_configuration": True,
            },
        )
        self._client = PlanningClient(SqlEngine.DUCKDB, DuckDbSqlPlanRenderer(), self._explain)

    @property
    def sql_client(self) -> SqlClient:
        return self._client  # type: ignore[return-value]

    def query(self, sql: str, control: QueryControl | None = None) -> pa.Table:
        cursor = self.connection.cursor()  # one cursor per query: queries may run in threads
        try:
            # The control interrupts this cursor only, so other queries on the file go on.
            return (control or QueryControl()).read_duckdb(cursor, sql)
        finally:
            cursor.close()

    def execute(self, sql: str) -> None:
        raise PermissionError("the semantic layer is read-only on a DuckDB snapshot")

    def _explain(self, sql: str) -> None:
        cursor = self.connection.cursor()
        try:
            cursor.execute(sql)
        finally:
            cursor.close()

    def dry_run(self, sql: str) -> None:
        self._client.dry_run(sql)

    def relation(self, schema: str, identifier: str | None = None) -> str:
        return quoted_relation(schema, identifier)

    def close(self) -> None:
        self.connection.close()


class DbtWarehouse:
    """The warehouse of a dbt profile target, through its dbt adapter."""

    def __init__(self, client: SqlClient, adapter: BaseAdapter, credentials: Any) -> None:
        self._client = client
        self.adapter = adapter
        self.database: str | None = getattr(credentials, "database", None)
        self.default_schema: str | None = getattr(credentials, "schema", None)

    @property
    def sql_client(self) -> SqlClient:
        return self._client

    def query(self, sql: str, control: QueryControl | None = None) -> pa.Table:
        # dbt adapters return the whole result and cannot be interrupted from here: only the
        # result caps apply, once it has arrived.
        table = self._client.query(sql)
        columns = list(table.column_names)
        result = pa.table({name: [row[i] for row in table.rows] for i, name in enumerate(columns)})
        if control is not None:
            control.check_size(result.num_rows, result.nbytes)
        return result

    def execute(self, sql: str) -> None:
        self._client.execute(sql)

    def dry_run(self, sql: str) -> None:
        self._client.dry_run(sql)

    def relation(self, schema: str, identifier: str | None = None) -> str:
        """A schema or relation name, quoted as the adapter quotes it."""
        rendered = self.adapter.Relation.create(
            database=self.database, schema=schema, identifier=identifier
        )
        if identifier is None:
            rendered = rendered.without_identifier()
        return rendered.render()

    def close(self) -> None:
        self._client.close()
