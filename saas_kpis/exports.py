"""Materialize each saved query's declared exports as tables or views in the warehouse.

dbt Core has no export runner, so SQL-only BI tools (Superset, Metabase) could not read the saved
queries. A saved query declares its exports in YAML, as dbt does:

    exports:
      - name: executive_arr
        config:
          export_as: table    # or view
          schema: exports     # optional: the command's --schema by default
          alias: arr_by_month # optional: the export's name by default

This command asks the semantic query layer for the SQL of `mf query --saved-query <name>` and
creates one relation per export on the warehouse of the dbt profile target, so it works on any
warehouse the profile points at, and the columns are exactly those of the saved query.

Each schema the exports write to belongs to this command: a table or view in it that is not a
current export is dropped. A saved query that fails to export is named in the error, and its
previous export is dropped, never left stale.
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

from saas_kpis.semantic import QueryRequest, SavedQuery, SemanticLayer
from saas_kpis.semantic.warehouses import DbtWarehouse

SCHEMA_ENV = "SAAS_KPIS_EXPORTS_SCHEMA"
DEFAULT_SCHEMA = "exports"
MATERIALIZATIONS = ("table", "view")
# Export names and schemas become identifiers, so they must be plain ones on every warehouse.
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
class Target:
    """Where one export of a saved query goes."""

    saved_query: str
    schema: str
    name: str
    materialization: str


class Existing(NamedTuple):
    """A relation found in an exports schema, with its name as the warehouse spells it."""

    name: str
    kind: str  # "table" or "view"


def sql_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def check_identifier(kind: str, name: str) -> str:
    if not IDENTIFIER.fullmatch(name):
        raise ExportError(
            f"{kind} {name!r} is not a plain identifier (letters, digits and underscores, "
            "not starting with a digit)"
        )
    return name


def targets(
    saved_queries: Sequence[SavedQuery], default_schema: str, dbt_schema: str | None
) -> list[Target]:
    """Every declared export, checked: plain names, a known materialization, no duplicates.

    dbt writes the target's schema into an export that declares none, so that schema stands
    for "not declared" and the export goes to the default exports schema.
    """
    result: list[Target] = []
    seen: dict[tuple[str, str], str] = {}
    for saved in saved_queries:
        for export in saved.exports:
            declared = export.schema if export.schema != dbt_schema else None
            target = Target(
                saved_query=saved.name,
                schema=check_identifier(
                    f"schema of export {export.name!r}", declared or default_schema
                ),
                name=check_identifier("export name", export.alias or export.name),
                materialization=export.export_as,
            )
            if target.materialization not in MATERIALIZATIONS:
                raise ExportError(
                    f"export {export.name!r} of {saved.name}: export_as must be one of "
                    f"{MATERIALIZATIONS}, not {target.materialization!r}"
                )
            key = (target.schema.lower(), target.name.lower())
            if key in seen:
                raise ExportError(
                    f"{target.schema}.{target.name} is exported by both "
                    f"{seen[key]} and {saved.name}"
                )
            seen[key] = saved.name
            result.append(target)
    return result


def dbt_schemas(target_dir: Path) -> set[str]:
    """The schemas of every dbt node and source in target/manifest.json, if it exists."""
    manifest_path = target_dir / "manifest.json"
    if not manifest_path.exists():
        return set()
    manifest = json.loads(manifest_path.read_text())
    nodes = [*manifest.get("nodes", {}).values(), *manifest.get("sources", {}).values()]
    return {node["schema"] for node in nodes if node.get("schema")}


class Exporter:
    """Creates and drops the export relations through the layer's dbt warehouse."""

    def __init__(self, layer: SemanticLayer, protected_schemas: set[str]) -> None:
        if not isinstance(layer.warehouse, DbtWarehouse):
            raise ExportError("exports need the semantic layer opened on a dbt profile target")
        self.layer = layer
        self.warehouse: DbtWarehouse = layer.warehouse
        protected = {*protected_schemas, *layer.relation_schemas(), self.warehouse.default_schema}
        self.protected = {schema.lower() for schema in protected if schema}

    def existing(self, schema: str) -> dict[str, Existing]:
        """{lower-case name: relation} of the tables and views in a schema."""
        condition = f"lower(table_schema) = lower({sql_literal(schema)})"
        if self.warehouse.database:
            condition += (
                f" and lower(table_catalog) = lower({sql_literal(self.warehouse.database)})"
            )
        table = self.warehouse.query(
            f"select table_name, table_type from information_schema.tables where {condition}"
        )
        return {
            str(name).lower(): Existing(
                str(name), "view" if "VIEW" in str(kind).upper() else "table"
            )
            for name, kind in zip(
                table.column(0).to_pylist(), table.column(1).to_pylist(), strict=True
            )
        }

    def drop(self, schema: str, existing: Existing) -> None:
        relation = self.warehouse.relation(schema, existing.name)
        self.warehouse.execute(f"drop {existing.kind} if exists {relation}")

    def create(self, target: Target) -> ExportResult:
        sql = self.layer.explain(QueryRequest(saved_query=target.saved_query), descriptions=False)
        self.warehouse.dry_run(sql)
        relation = self.warehouse.relation(target.schema, target.name)
        self.warehouse.execute(f"create {target.materialization} {relation} as\n{sql}")
        count = self.warehouse.query(f"select count(*) as row_count from {relation}")
        return ExportResult(
            target.saved_query, relation, target.materialization, int(count.column(0)[0].as_py())
        )

    def export_all(
        self, default_schema: str
    ) -> tuple[list[ExportResult], list[str], dict[str, str]]:
        """Create every export; drop stale ones. Returns results, dropped names, failures."""
        check_identifier("exports schema", default_schema)
        planned = targets(self.layer.saved_queries(), default_schema, self.warehouse.default_schema)
        schemas = sorted({default_schema, *(target.schema for target in planned)})
        for schema in schemas:
            if schema.lower() in self.protected:
                raise ExportError(
                    f"exports schema {schema!r} holds dbt models, sources or semantic models; "
                    "choose a dedicated schema (the command drops everything else in it)"
                )
        existing: dict[str, dict[str, Existing]] = {}
        for schema in schemas:
            self.warehouse.execute(f"create schema if not exists {self.warehouse.relation(schema)}")
            existing[schema] = self.existing(schema)
        results: list[ExportResult] = []
        failures: dict[str, str] = {}
        for target in planned:
            old = existing[target.schema].pop(target.name.lower(), None)
            if old is not None:
                self.drop(target.schema, old)
            try:
                results.append(self.create(target))
            except Exception as error:
                failures[target.saved_query] = f"{type(error).__name__}: {error}"
        dropped = []
        for schema in schemas:
            for stale in sorted(existing[schema].values()):
                self.drop(schema, stale)
                dropped.append(f"{schema}.{stale.name}")
        return results, dropped, failures


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m saas_kpis.exports", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "--schema",
        default=os.environ.get(SCHEMA_ENV, DEFAULT_SCHEMA),
        help=f"schema of exports that name none (default: ${SCHEMA_ENV} or {DEFAULT_SCHEMA!r})",
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
        layer = SemanticLayer.open_dbt_project(project_dir, profiles_dir)
    except Exception as error:
        sys.exit(f"exports: cannot load the built dbt project in {project_dir}: {error}")
    try:
        exporter = Exporter(layer, dbt_schemas(project_dir / "target"))
        results, dropped, failures = exporter.export_all(args.schema)
    except ExportError as error:
        sys.exit(f"exports: {error}")
    for result in results:
        print(
            f"exported {result.saved_query} as {result.materialization} {result.relation} "
            f"({result.row_count} rows)"
        )
    for name in dropped:
        print(f"dropped stale export {name} (no saved query exports it)")
    if failures:
        details = "\n".join(f"  {name}: {message}" for name, message in failures.items())
        sys.exit(
            f"exports: {len(failures)} saved quer{'y' if len(failures) == 1 else 'ies'} "
            f"failed to export:\n{details}"
        )


if __name__ == "__main__":
    main()
