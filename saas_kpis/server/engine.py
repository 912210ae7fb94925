"""MetricFlow in process, over read-only snapshots of the warehouse.

DuckDB lets no other process open a file while dbt writes it, so the server never reads the
warehouse that `dbt build` writes. After a successful build, `publish()` copies the warehouse
and its semantic manifest into a new snapshot directory (written under a temporary name, then
renamed, so a snapshot is complete or absent). The server opens the newest snapshot read-only
and switches to a newer one when it appears; queries that started on the old one finish there.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
import shutil
import threading
import traceback
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
from metricflow.engine.metricflow_engine import (
    MetricFlowEngine,
    MetricFlowQueryRequest,
    MetricFlowQueryType,
)
from metricflow.protocols.sql_client import SqlEngine
from metricflow.sql.render.duckdb_renderer import DuckDbSqlPlanRenderer
from metricflow_semantic_interfaces.references import MetricReference
from metricflow_semantics.model.dbt_manifest_parser import (
    parse_manifest_from_dbt_generated_manifest,
)
from metricflow_semantics.model.semantic_manifest_lookup import SemanticManifestLookup
from metricflow_semantics.sql.sql_bind_parameters import SqlBindParameterSet

from saas_kpis.server.statements import (
    OUTER_TABLE,
    QueryRequest,
    StatementError,
    group_by_item_parts,
)

log = logging.getLogger(__name__)

MANIFEST_FILE = "semantic_manifest.json"
SNAPSHOT_PREFIX = "snapshot-"
STANDARD_GRAINS = ("DAY", "WEEK", "MONTH", "QUARTER", "YEAR")
# MetricFlow's planner keeps process-wide state (sequential ids), so planning is serialized;
# executing the SQL is not. Reentrant: metadata computations call each other.
PLANNING_LOCK = threading.RLock()
NO_PARAMETERS = SqlBindParameterSet()


class NoSnapshotError(RuntimeError):
    """No published build yet."""


def publish(warehouse: Path, manifest: Path, serving_dir: Path, keep: int = 3) -> Path:
    """Copy a finished build into a new snapshot directory; return its path."""
    if not warehouse.is_file():
        raise FileNotFoundError(f"no warehouse to publish at {warehouse}; run dbt build first")
    if not manifest.is_file():
        raise FileNotFoundError(f"no semantic manifest at {manifest}; run dbt build first")
    serving_dir.mkdir(parents=True, exist_ok=True)
    name = SNAPSHOT_PREFIX + dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%f")
    staging = serving_dir / f".{name}.tmp"
    staging.mkdir()
    # The file keeps its name: DuckDB names the catalog after it, and the SQL uses the catalog.
    shutil.copyfile(warehouse, staging / warehouse.name)
    wal = warehouse.with_name(warehouse.name + ".wal")
    if wal.exists():
        shutil.copyfile(wal, staging / wal.name)
    shutil.copyfile(manifest, staging / MANIFEST_FILE)
    final = serving_dir / name
    os.rename(staging, final)
    for old in snapshots(serving_dir)[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
    return final


def snapshots(serving_dir: Path) -> list[Path]:
    """Complete snapshots, oldest first."""
    if not serving_dir.is_dir():
        return []
    return sorted(
        p for p in serving_dir.iterdir() if p.is_dir() and p.name.startswith(SNAPSHOT_PREFIX)
    )


class ReadOnlyDuckDbClient:
    """The SqlClient that MetricFlow's engine needs; only its dialect is used for planning."""

    def __init__(self, connection: duckdb.DuckDBPyConnection) -> None:
        self._connection = connection
        self._renderer = DuckDbSqlPlanRenderer()

    @property
    def sql_engine_type(self) -> SqlEngine:
        return SqlEngine.DUCKDB

    @property
    def sql_plan_renderer(self) -> DuckDbSqlPlanRenderer:
        return self._renderer

    def query(self, stmt: str, sql_bind_parameter_set: SqlBindParameterSet = NO_PARAMETERS) -> Any:
        raise NotImplementedError("the server executes compiled SQL itself")

    def execute(
        self, stmt: str, sql_bind_parameter_set: SqlBindParameterSet = NO_PARAMETERS
    ) -> None:
        raise PermissionError("the semantic layer server is read-only")

    def dry_run(
        self, stmt: str, sql_bind_parameter_set: SqlBindParameterSet = NO_PARAMETERS
    ) -> None:
        cursor = self._connection.cursor()
        try:
            cursor.execute(f"explain {stmt}")
        finally:
            cursor.close()

    def close(self) -> None:
        self._connection.close()

    def render_bind_parameter_key(self, bind_parameter_key: str) -> str:
        raise NotImplementedError("bind parameters are not used")


def grains_from(minimum: str) -> list[str]:
    minimum = minimum.upper()
    return (
        list(STANDARD_GRAINS[STANDARD_GRAINS.index(minimum) :])
        if minimum in STANDARD_GRAINS
        else []
    )


def enum_name(value: Any) -> str:
    return str(getattr(value, "name", value)).upper()


class Snapshot:
    """One published build: its read-only warehouse and a MetricFlow engine on its manifest."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.id = path.name
        manifest_text = (path / MANIFEST_FILE).read_text()
        self.manifest = parse_manifest_from_dbt_generated_manifest(manifest_text)
        warehouse = next(p for p in path.iterdir() if p.suffix == ".duckdb")
        self.connection = duckdb.connect(
            str(warehouse),
            read_only=True,
            config={"enable_external_access": False, "lock_configuration": True},
        )
        with PLANNING_LOCK:
            self.lookup = SemanticManifestLookup(self.manifest)
            self.engine = MetricFlowEngine(
                semantic_manifest_lookup=self.lookup,
                sql_client=ReadOnlyDuckDbClient(self.connection),
            )
        self._cache: dict[tuple, Any] = {}
        self._cache_lock = threading.Lock()

    def cached(self, key: tuple, compute: Callable[[], Any]) -> Any:
        with self._cache_lock:
            if key in self._cache:
                return self._cache[key]
        with PLANNING_LOCK:
            value = compute()
        with self._cache_lock:
            self._cache[key] = value
        return value

    # -- metadata ------------------------------------------------------------------

    def metrics(self) -> list[dict[str, Any]]:
        return self.cached(("metrics",), self._metrics)

    def _metrics(self) -> list[dict[str, Any]]:
        result = []
        for metric in sorted(self.manifest.metrics, key=lambda m: m.name):
            reference = _metric_reference(metric.name)
            minimum = self.lookup.metric_lookup.get_min_queryable_time_granularity(reference)
            grains = grains_from(enum_name(minimum))
            result.append(
                {
                    "name": metric.name,
                    "description": metric.description,
                    "type": enum_name(metric.type),
                    "queryableGranularities": grains,
                    "queryableTimeGranularities": grains,
                    "label": metric.label or metric.name,
                    "requiresMetricTime": bool(
                        metric.type_params.window or metric.type_params.grain_to_date
                    ),
                    "config": {"meta": dict(metric.config.meta) if metric.config else {}},
                    "meta": dict(metric.config.meta) if metric.config else {},
                }
            )
        return result

    def check_metrics(self, names: list[str]) -> None:
        known = {metric.name for metric in self.manifest.metrics}
        unknown = [name for name in names if name not in known]
        if unknown:
            raise LookupError(f"unknown metric(s): {', '.join(unknown)}")

    def dimensions(self, metric_names: list[str]) -> list[dict[str, Any]]:
        self.check_metrics(metric_names)
        return self.cached(("dimensions", *metric_names), lambda: self._dimensions(metric_names))

    def _dimensions(self, metric_names: list[str]) -> list[dict[str, Any]]:
        by_name: dict[str, dict[str, Any]] = {}
        for dimension in self.engine.simple_dimensions_for_metrics(metric_names):
            qualified = dimension.granularity_free_dunder_name
            kind = enum_name(dimension.type)
            grains: list[str] = []
            if kind == "TIME" and dimension.type_params is not None:
                grains = grains_from(enum_name(dimension.type_params.time_granularity))
            entry = by_name.setdefault(
                qualified,
                {
                    "name": dimension.name,
                    "qualifiedName": qualified,
                    "description": dimension.description,
                    "type": kind,
                    "label": dimension.label,
                    "isPartition": dimension.is_partition,
                    "expr": dimension.expr,
                    "queryableGranularities": grains,
                    "queryableTimeGranularities": grains,
                },
            )
            for grain in grains:
                if grain not in entry["queryableGranularities"]:
                    entry["queryableGranularities"].append(grain)
        if "metric_time" in by_name:
            grains = self.metric_grains(metric_names)
            by_name["metric_time"]["queryableGranularities"] = grains
            by_name["metric_time"]["queryableTimeGranularities"] = grains
        return sorted(by_name.values(), key=lambda d: d["qualifiedName"])

    def metric_grains(self, metric_names: list[str]) -> list[str]:
        grains = [
            set(m["queryableTimeGranularities"])
            for m in self.metrics()
            if m["name"] in metric_names
        ]
        common = set.intersection(*grains) if grains else set()
        return [g for g in STANDARD_GRAINS if g in common]

    def entities(self, metric_names: list[str]) -> list[dict[str, Any]]:
        self.check_metrics(metric_names)
        return self.cached(("entities", *metric_names), lambda: self._entities(metric_names))

    def _entities(self, metric_names: list[str]) -> list[dict[str, Any]]:
        seen: dict[str, dict[str, Any]] = {}
        for entity in self.engine.entities_for_metrics(metric_names):
            seen.setdefault(
                entity.name,
                {
                    "name": entity.name,
                    "description": entity.description,
                    "type": enum_name(entity.type),
                    "role": entity.role or "",
                    "expr": entity.expr or entity.name,
                },
            )
        return sorted(seen.values(), key=lambda e: e["name"])

    def measures(self, metric_names: list[str]) -> list[dict[str, Any]]:
        self.check_metrics(metric_names)
        return self.cached(("measures", *metric_names), lambda: self._measures(metric_names))

    def _measures(self, metric_names: list[str]) -> list[dict[str, Any]]:
        wanted: set[str] = set()
        for name in metric_names:
            wanted |= self._input_measures(name)
        result = []
        for model in self.manifest.semantic_models:
            default_time = model.defaults.agg_time_dimension if model.defaults else None
            for measure in model.measures:
                if measure.name in wanted:
                    result.append(
                        {
                            "name": measure.name,
                            "aggTimeDimension": measure.agg_time_dimension or default_time,
                            "agg": enum_name(measure.agg),
                            "expr": measure.expr or measure.name,
                        }
                    )
        return sorted(result, key=lambda m: m["name"])

    def _input_measures(self, metric_name: str) -> set[str]:
        """Measures a metric reads, following derived and ratio metrics to their inputs."""
        metrics = {m.name: m for m in self.manifest.metrics}
        found: set[str] = set()
        pending, visited = [metric_name], set()
        while pending:
            metric = metrics.get(pending.pop())
            if metric is None or metric.name in visited:
                continue
            visited.add(metric.name)
            params = metric.type_params
            found.update(m.name for m in params.input_measures or [])
            if params.measure is not None:
                found.add(params.measure.name)
            pending.extend(m.name for m in params.metrics or [])
            pending.extend(m.name for m in (params.numerator, params.denominator) if m is not None)
        return found

    def saved_queries(self) -> list[dict[str, Any]]:
        return self.cached(("saved_queries",), self._saved_queries)

    def _saved_queries(self) -> list[dict[str, Any]]:
        result = []
        for saved in sorted(self.manifest.saved_queries, key=lambda s: s.name):
            params = saved.query_params
            where = params.where.where_filters if params.where else []
            result.append(
                {
                    "name": saved.name,
                    "description": saved.description,
                    "label": saved.label,
                    "queryParams": {
                        "metrics": [{"name": m} for m in params.metrics],
                        "groupBy": [_saved_group_by(g) for g in params.group_by],
                        "where": {
                            "whereSqlTemplate": " and ".join(
                                f"({w.where_sql_template})" for w in where
                            )
                        }
                        if where
                        else None,
                    },
                    "exports": [
                        {
                            "name": export.name,
                            "config": {
                                "alias": export.config.alias,
                                "schema": export.config.schema_name,
                                "exportAs": enum_name(export.config.export_as),
                            },
                        }
                        for export in saved.exports
                    ],
                }
            )
        return result

    def environment_info(self) -> dict[str, Any]:
        return {
            "sqlDialect": "DUCKDB",
            "hasMetricsDefined": bool(self.manifest.metrics),
            "dialect": "DUCKDB",
            "dialectSupportedBySlg": True,
        }

    # -- queries -------------------------------------------------------------------

    def compile(self, request: QueryRequest) -> str:
        """The SQL that MetricFlow generates for a request."""
        if request.metrics:
            self.check_metrics(list(request.metrics))
        if request.saved_query and request.saved_query not in {
            s.name for s in self.manifest.saved_queries
        }:
            raise LookupError(f"unknown saved query: {request.saved_query}")
        mf_request = MetricFlowQueryRequest.create(
            saved_query_name=request.saved_query,
            metric_names=list(request.metrics) or None,
            group_by_names=list(request.group_by) or None,
            where_constraints=list(request.where) or None,
            order_by_names=list(request.order_by) or None,
            limit=request.limit,
        )
        with PLANNING_LOCK:
            return self.engine.explain(mf_request).sql_statement.sql

    def compile_dimension_values(self, request: QueryRequest) -> str:
        if request.metrics:
            self.check_metrics(list(request.metrics))
        mf_request = MetricFlowQueryRequest.create(
            metric_names=list(request.metrics) or None,
            group_by_names=list(request.group_by),
            query_type=MetricFlowQueryType.DIMENSION_VALUES,
        )
        with PLANNING_LOCK:
            return self.engine.explain(mf_request).sql_statement.sql

    def execute(self, sql: str) -> pa.Table:
        cursor = self.connection.cursor()
        try:
            return cursor.execute(sql).to_arrow_table()
        finally:
            cursor.close()

    def close(self) -> None:
        self.connection.close()


def _metric_reference(name: str) -> MetricReference:
    return MetricReference(element_name=name)


def _saved_group_by(text: str) -> dict[str, Any]:
    """`TimeDimension('metric_time', 'month')` (the manifest's form) as the API's group-by param."""
    try:
        name, grain, date_part = group_by_item_parts(text)
    except StatementError:
        name, grain, date_part = text, None, None
    return {
        "name": name,
        "grain": grain.upper() if grain else None,
        "timeGranularity": grain,
        "datePart": date_part.upper() if date_part else None,
    }


class SnapshotStore:
    """The newest published snapshot, watched in a background thread."""

    def __init__(self, serving_dir: Path, poll_seconds: float = 1.0) -> None:
        self.serving_dir = serving_dir
        self.poll_seconds = poll_seconds
        self._current: Snapshot | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def current(self) -> Snapshot:
        snapshot = self._current
        if snapshot is None:
            raise NoSnapshotError(
                "no published build yet: run `make build` (dbt build, then publish)"
            )
        return snapshot

    def current_or_none(self) -> Snapshot | None:
        return self._current

    def refresh(self) -> bool:
        """Open the newest snapshot if it is newer than the current one."""
        available = snapshots(self.serving_dir)
        if not available:
            return False
        newest = available[-1]
        with self._lock:
            if self._current is not None and self._current.id >= newest.name:
                return False
            try:
                snapshot = Snapshot(newest)
            except Exception:
                log.exception("could not open snapshot %s", newest.name)
                return False
            self._current = snapshot  # in-flight queries keep their reference to the old one
            log.info("serving snapshot %s", snapshot.id)
            return True

    def start(self) -> None:
        self.refresh()
        self._thread = threading.Thread(target=self._watch, name="snapshot-watcher", daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while not self._stop.wait(self.poll_seconds):
            self.refresh()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)


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


PATH_PATTERN = re.compile(r"(?:[A-Za-z]:)?(?:/[\w.\-]+){2,}/?")
MAX_MESSAGE = 2000


def public_message(error: BaseException) -> str:
    """An error message fit for a client: no stack trace, no file path, bounded length."""
    if isinstance(error, StatementError | LookupError | NoSnapshotError | PermissionError):
        message = str(error)
    elif isinstance(error, duckdb.Error):
        message = f"query failed in the warehouse: {str(error).splitlines()[0]}"
    elif type(error).__module__.startswith(("metricflow", "dbt_semantic_interfaces")):
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
