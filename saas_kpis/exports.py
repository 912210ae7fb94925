"""Materialize every saved query as a table (or view) in the warehouse's `exports` schema.

dbt Core has no export runner, so SQL-only BI tools (Superset, Metabase) could
not read the saved queries. This command asks MetricFlow, in process, for the
SQL that `mf query --saved-query <name>` runs, and creates one relation per
saved query, named after it, through the dbt-adapter-backed SQL client that
`mf` itself uses. So it works on any warehouse the dbt profile points at, and
the columns are exactly those of `mf query --saved-query <name>`.

The exports schema belongs to this command: a table or view in it that is not
the export of a current saved query is dropped. A saved query that fails to
export is named in the error, and its previous export is dropped, never left
stale.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from dbt.adapters.base import BaseAdapter
from dbt_metricflow.cli.cli_configuration import CLIConfiguration
from metricflow.engine.metricflow_engine import MetricFlowEngine, MetricFlowQueryRequest
from metricflow.protocols.sql_client import SqlClient, SqlEngine

SCHEMA_ENV = "SAAS_KPIS_EXPORTS_SCHEMA"
MATERIALIZATION_ENV = "SAAS_KPIS_EXPORTS_MATERIALIZATION"
DEFAULT_SCHEMA = "exports"
DEFAULT_MATERIALIZATION = "table"
MATERIALIZATIONS = ("table", "view")
# Saved-query names are validated by dbt; the schema name comes from the user.
# Both become identifiers, so they must be plain ones on every warehouse.
IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class ExportError(Exception):
    """An export could not be created; the message names what is wrong."""


@dataclass(frozen=True)
class ExportResult:
    saved_query: str
    relation: str
    materialization: str
    row_count: int


@dataclass(frozen=True)
class Warehouse:
    """The MetricFlow engine, its SQL client and the dbt adapter behind them."""

    engine: MetricFlowEngine
    client: SqlClient
    adapter: BaseAdapter
    database: str | None
    protected_schemas: frozenset[str]


def sql_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def check_identifier(kind: str, name: str) -> str:
    if not IDENTIFIER.fullmatch(name):
        raise ExportError(
            f"{kind} {name!r} is not a plain identifier (letters, digits and underscores, "
            "not starting with a digit)"
        )
    return name


def connect(project_dir: Path, profiles_dir: Path) -> Warehouse:
    """Load the dbt project, its profile and target/semantic_manifest.json, like `mf` does."""
    configuration = CLIConfiguration()
    configuration.setup(dbt_profiles_path=profiles_dir, dbt_project_path=project_dir)
    metadata = configuration.dbt_project_metadata
    credentials = metadata.profile.credentials
    protected = {credentials.schema}
    manifest = configuration.semantic_manifest
    protected.update(model.node_relation.schema_name for model in manifest.semantic_models)
    protected.update(
        spine.node_relation.schema_name for spine in manifest.project_configuration.time_spines
    )
    protected.update(
        dbt_schemas(Path(metadata.project.project_root) / metadata.project.target_path)
    )
    return Warehouse(
        engine=configuration.mf,
        client=configuration.sql_client,
        adapter=configuration.dbt_artifacts.adapter,
        database=getattr(credentials, "database", None),
        protected_schemas=frozenset(schema.lower() for schema in protected if schema),
    )


def dbt_schemas(target_dir: Path) -> set[str]:
    """The schemas of every dbt node and source in target/manifest.json, if it exists."""
    manifest_path = target_dir / "manifest.json"
    if not manifest_path.exists():
        return set()
    manifest = json.loads(manifest_path.read_text())
    nodes = [*manifest.get("nodes", {}).values(), *manifest.get("sources", {}).values()]
    return {node["schema"] for node in nodes if node.get("schema")}


def relation(warehouse: Warehouse, schema: str, identifier: str | None = None) -> str:
    """The name of a schema or relation, quoted as the adapter quotes it."""
    adapter = warehouse.adapter
    rendered = adapter.Relation.create(
        database=warehouse.database, schema=schema, identifier=identifier
    )
    if identifier is None:
        rendered = rendered.without_identifier()
    return rendered.render()


class Existing(NamedTuple):
    """A relation found in the exports schema, with its name as the warehouse spells it."""

    name: str
    kind: str  # "table" or "view"


def existing_relations(warehouse: Warehouse, schema: str) -> dict[str, Existing]:
    """{lower-case name: relation} of the tables and views in the exports schema."""
    engine = warehouse.client.sql_engine_type
    schema_filter = f"lower(table_schema) = lower({sql_literal(schema)})"
    if engine is SqlEngine.BIGQUERY:
        source = f"{relation(warehouse, schema)}.INFORMATION_SCHEMA.TABLES"
    else:
        source = "information_schema.tables"
        if warehouse.database:
            schema_filter += f" and lower(table_catalog) = lower({sql_literal(warehouse.database)})"
    table = warehouse.client.query(
        f"select table_name, table_type from {source} where {schema_filter}"
    )
    return {
        str(name).lower(): Existing(str(name), "view" if "VIEW" in str(kind).upper() else "table")
        for name, kind in table.rows
    }


def drop(warehouse: Warehouse, schema: str, existing: Existing) -> None:
    target = relation(warehouse, schema, existing.name)
    warehouse.client.execute(f"drop {existing.kind} if exists {target}")


def saved_query_sql(warehouse: Warehouse, name: str) -> str:
    """The SQL that `mf query --saved-query <name>` runs, checked by the warehouse."""
    explain = warehouse.engine.explain(MetricFlowQueryRequest.create(saved_query_name=name))
    sql = explain.sql_statement.without_descriptions.sql
    warehouse.client.dry_run(sql)
    return sql


def export_saved_query(
    warehouse: Warehouse,
    schema: str,
    name: str,
    materialization: str,
    existing: dict[str, Existing],
) -> ExportResult:
    check_identifier("saved query name", name)
    sql = saved_query_sql(warehouse, name)
    target = relation(warehouse, schema, name)
    if name.lower() in existing:
        drop(warehouse, schema, existing.pop(name.lower()))
    warehouse.client.execute(f"create {materialization} {target} as\n{sql}")
    count = warehouse.client.query(f"select count(*) as row_count from {target}")
    return ExportResult(name, target, materialization, int(count.rows[0][0]))


def export_all(
    warehouse: Warehouse, schema: str, materialization: str
) -> tuple[list[ExportResult], list[str], dict[str, str]]:
    """Export every saved query; drop stale exports. Returns results, dropped, failures."""
    check_identifier("exports schema", schema)
    if materialization not in MATERIALIZATIONS:
        raise ExportError(
            f"materialization must be one of {MATERIALIZATIONS}, not {materialization!r}"
        )
    if schema.lower() in warehouse.protected_schemas:
        raise ExportError(
            f"exports schema {schema!r} holds dbt models, sources or semantic models; "
            "choose a dedicated schema (the command drops everything else in it)"
        )
    warehouse.client.execute(f"create schema if not exists {relation(warehouse, schema)}")
    existing = existing_relations(warehouse, schema)
    results: list[ExportResult] = []
    failures: dict[str, str] = {}
    for saved_query in warehouse.engine.list_saved_queries():
        name = saved_query.name
        try:
            results.append(export_saved_query(warehouse, schema, name, materialization, existing))
        except Exception as error:
            failures[name] = f"{type(error).__name__}: {error}"
            if name.lower() in existing:
                drop(warehouse, schema, existing.pop(name.lower()))
    stale = sorted(existing.values())
    for stale_relation in stale:
        drop(warehouse, schema, stale_relation)
    return results, [stale_relation.name for stale_relation in stale], failures


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m saas_kpis.exports", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "--schema",
        default=os.environ.get(SCHEMA_ENV, DEFAULT_SCHEMA),
        help=f"schema of the exports (default: ${SCHEMA_ENV} or {DEFAULT_SCHEMA!r})",
    )
    parser.add_argument(
        "--materialization",
        choices=MATERIALIZATIONS,
        default=os.environ.get(MATERIALIZATION_ENV, DEFAULT_MATERIALIZATION),
        help=f"table or view (default: ${MATERIALIZATION_ENV} or {DEFAULT_MATERIALIZATION!r})",
    )
    parser.add_argument(
        "--project-dir",
        type=Path,
        default=Path.cwd(),
        help="dbt project directory, built (default: the current directory)",
    )
    parser.add_argument(
        "--profiles-dir",
        type=Path,
        default=None,
        help="directory of profiles.yml (default: $DBT_PROFILES_DIR or <project-dir>/profiles)",
    )
    args = parser.parse_args(argv)
    project_dir = args.project_dir.resolve()
    profiles_dir = args.profiles_dir or Path(
        os.environ.get("DBT_PROFILES_DIR", project_dir / "profiles")
    )
    try:
        warehouse = connect(project_dir, profiles_dir)
    except Exception as error:
        sys.exit(f"exports: cannot load the built dbt project in {project_dir}: {error}")
    try:
        results, dropped, failures = export_all(warehouse, args.schema, args.materialization)
    except ExportError as error:
        sys.exit(f"exports: {error}")
    for result in results:
        print(
            f"exported {result.saved_query} as {result.materialization} {result.relation} "
            f"({result.row_count} rows)"
        )
    for name in dropped:
        print(f"dropped stale export {args.schema}.{name} (no saved query of that name)")
    if failures:
        details = "\n".join(f"  {name}: {message}" for name, message in failures.items())
        sys.exit(
            f"exports: {len(failures)} saved quer{'y' if len(failures) == 1 else 'ies'} "
            f"failed to export:\n{details}"
        )


if __name__ == "__main__":
    main()
