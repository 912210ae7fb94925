"""The semantic query layer: a semantic manifest and MetricFlow over one warehouse.

Every consumer asks its metric values and metadata here: the server's two transports, the
exports, the summary, the catalog, the benchmark and the tests. It opens a manifest over a
read-only DuckDB snapshot, the dev DuckDB file, PostgreSQL through a read-only connection pool
(serving) or any dbt profile target that MetricFlow supports, lists metrics, dimensions,
entities, measures and saved queries with their queryable grains, and explains or runs typed
query requests, returning Arrow.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable, Sequence
from functools import cached_property
from pathlib import Path
from typing import Any, TypeVar

import pyarrow as pa
from dbt_metricflow.cli.cli_configuration import CLIConfiguration
from metricflow.engine.metricflow_engine import (
    MetricFlowEngine,
    MetricFlowQueryRequest,
    MetricFlowQueryType,
)
from metricflow_semantic_interfaces.parsing.text_input.ti_processor import (
    ObjectBuilderTextProcessor,
)
from metricflow_semantic_interfaces.parsing.text_input.valid_method import (
    ConfiguredValidMethodMapping,
)
from metricflow_semantic_interfaces.references import MetricReference
from metricflow_semantics.model.dbt_manifest_parser import (
    parse_manifest_from_dbt_generated_manifest,
)
from metricflow_semantics.model.linkable_element_property import GroupByItemProperty
from metricflow_semantics.model.semantic_manifest_lookup import SemanticManifestLookup
from metricflow_semantics.model.semantics.element_filter import GroupByItemSetFilter
from metricflow_semantics.model.semantics.linkable_element import LinkableElementType
from metricflow_semantics.model.semantics.linkable_element_set_base import AnnotatedSpec
from metricflow_semantics.query.query_parser import MetricFlowQueryParser

from saas_kpis.semantic.postgres_warehouse import PostgresPool, PostgresWarehouse
from saas_kpis.semantic.query_control import QueryControl
from saas_kpis.semantic.rollups import ROLLUPS, Rollup, StoredRollup, answer_sql, find_stored
from saas_kpis.semantic.types import (
    STANDARD_GRAINS,
    Dimension,
    Entity,
    Export,
    GroupByParam,
    GroupBys,
    Measure,
    Metric,
    QueryRequest,
    SavedQuery,
)
from saas_kpis.semantic.warehouses import DbtWarehouse, DuckDbWarehouse, Warehouse

MANIFEST_FILE = "semantic_manifest.json"
METRIC_TIME = "metric_time"
# MetricFlow's planner keeps process-wide state (sequential ids), so planning is serialized;
# executing the SQL is not. Reentrant: metadata computations call each other.
PLANNING_LOCK = threading.RLock()
# The exclusions of `MetricFlowEngine.list_group_bys(include_derived_time_granularities=True)`:
# no group-by metrics, no date parts, no local dimensions prefixed twice by their own entity.
GROUP_BY_DENYLIST = frozenset(
    {
        GroupByItemProperty.METRIC,
        GroupByItemProperty.DATE_PART,
        GroupByItemProperty.LOCAL_LINKED,
    }
)
T = TypeVar("T")


def _enum_name(value: Any) -> str:
    return str(getattr(value, "name", value)).upper()


def _dunder(spec: AnnotatedSpec) -> str:
    return "__".join((*spec.entity_link_names, spec.element_name))


def _grain_names(specs: Iterable[AnnotatedSpec]) -> tuple[str, ...]:
    with_grain = [spec for spec in specs if spec.time_grain is not None]
    ordered = sorted(
        with_grain,
        key=lambda spec: (spec.time_grain.base_granularity.to_int(), spec.time_grain.name),
    )
    return tuple(dict.fromkeys(spec.time_grain.name for spec in ordered))


def _standard(grains: Iterable[str]) -> tuple[str, ...]:
    upper = {grain.upper() for grain in grains}
    return tuple(grain for grain in STANDARD_GRAINS if grain in upper)


class SemanticLayer:
    """A semantic manifest, MetricFlow planning on it, and optionally a warehouse to run on."""

    def __init__(
        self,
        manifest_json: str,
        warehouse: Warehouse | None = None,
        *,
        lookup: SemanticManifestLookup | None = None,
    ) -> None:
        self.manifest_json = manifest_json
        self.warehouse = warehouse
        with PLANNING_LOCK:
            self._lookup = lookup or SemanticManifestLookup(
                parse_manifest_from_dbt_generated_manifest(manifest_json)
            )
            self._engine = (
                MetricFlowEngine(
                    semantic_manifest_lookup=self._lookup, sql_client=warehouse.sql_client
                )
                if warehouse is not None
                else None
            )
        self._manifest = self._lookup.semantic_manifest
        self._memo: dict[tuple, Any] = {}
        self._memo_lock = threading.Lock()
        self._rollups: tuple[StoredRollup, ...] | None = None

    # -- opening ----------------------------------------------------------------------------

    @classmethod
    def from_manifest(cls, manifest_path: Path) -> SemanticLayer:
        """Metadata only, offline: no warehouse, nothing can be run."""
        if not manifest_path.exists():
            raise FileNotFoundError(f"{manifest_path} not found: run `dbt parse` first")
        return cls(manifest_path.read_text(encoding="utf-8"))

    @classmethod
    def open_duckdb(
        cls, warehouse_path: Path, manifest_path: Path, settings: dict[str, Any] | None = None
    ) -> SemanticLayer:
        """A DuckDB file (a published snapshot or the dev file), read-only, with optional
        DuckDB settings (memory_limit, threads)."""
        manifest_json = manifest_path.read_text(encoding="utf-8")
        warehouse = DuckDbWarehouse(warehouse_path, settings)
        try:
            return cls(manifest_json, warehouse)
        except Exception:
            warehouse.close()
            raise

    @classmethod
    def open_postgres(cls, pool: PostgresPool, manifest_path: Path) -> SemanticLayer:
        """A PostgreSQL warehouse through a pool of read-only connections (see
        postgres_warehouse); the pool stays open when the layer closes."""
        return cls(manifest_path.read_text(encoding="utf-8"), PostgresWarehouse(pool))

    @classmethod
    def open_dbt_project(cls, project_dir: Path, profiles_dir: Path | None = None) -> SemanticLayer:
        """A built dbt project on its profile target (SAAS_KPIS_TARGET), as `mf` opens it."""
        configuration = CLIConfiguration()
        configuration.setup(
            dbt_profiles_path=profiles_dir,
            dbt_project_path=project_dir,
            configure_file_logging=False,
        )
        metadata = configuration.dbt_project_metadata
        warehouse = DbtWarehouse(
            configuration.sql_client,
            configuration.dbt_artifacts.adapter,
            metadata.profile.credentials,
        )
        manifest_path = (
            Path(metadata.project.project_root) / metadata.project.target_path / MANIFEST_FILE
        )
        return cls(
            manifest_path.read_text(encoding="utf-8"),
            warehouse,
            lookup=configuration.semantic_manifest_lookup,
        )

    def close(self) -> None:
        if self.warehouse is not None:
            self.warehouse.close()

    # -- metadata ---------------------------------------------------------------------------

    def _memoized(self, key: tuple, compute: Callable[[], T]) -> T:
        with self._memo_lock:
            if key in self._memo:
                return self._memo[key]
        with PLANNING_LOCK:
            value = compute()
        with self._memo_lock:
            self._memo[key] = value
        return value

    @property
    def dialect(self) -> str:
        if self.warehouse is None:
            return "DUCKDB"
        return _enum_name(self.warehouse.sql_client.sql_engine_type)

    @cached_property
    def manifest_metrics(self) -> dict[str, dict[str, Any]]:
        """Each metric's manifest JSON (type params, filters, config), by name."""
        return {metric["name"]: metric for metric in json.loads(self.manifest_json)["metrics"]}

    def relation_schemas(self) -> set[str]:
        """Schemas of the relations the semantic models and time spines read."""
        schemas = {model.node_relation.schema_name for model in self._manifest.semantic_models}
        schemas.update(
            spine.node_relation.schema_name
            for spine in self._manifest.project_configuration.time_spines
        )
        return schemas

    def check_metrics(self, names: Sequence[str]) -> None:
        known = {metric.name for metric in self._manifest.metrics}
        unknown = [name for name in names if name not in known]
        if unknown:
            raise LookupError(f"unknown metric(s): {', '.join(unknown)}")

    def _check_saved_query(self, name: str) -> None:
        if name not in {saved.name for saved in self._manifest.saved_queries}:
            raise LookupError(f"unknown saved query: {name}")

    def group_bys(self, metric_name: str) -> GroupBys:
        """The metric's group-by items according to MetricFlow, split by kind and sorted."""
        self.check_metrics([metric_name])
        return self._memoized(("group_bys", metric_name), lambda: self._group_bys([metric_name]))

    def _group_bys(self, metric_names: Sequence[str]) -> GroupBys:
        item_set = self._lookup.metric_lookup.get_common_group_by_items(
            metric_references=tuple(MetricReference(element_name=n) for n in metric_names),
            set_filter=GroupByItemSetFilter.create(any_properties_denylist=GROUP_BY_DENYLIST),
        )
        specs = item_set.annotated_specs
        time_specs: dict[str, list[AnnotatedSpec]] = {}
        for spec in specs:
            if spec.element_type is LinkableElementType.TIME_DIMENSION and spec.date_part is None:
                time_specs.setdefault(_dunder(spec), []).append(spec)

        def names(element_type: LinkableElementType) -> tuple[str, ...]:
            return tuple(sorted({_dunder(s) for s in specs if s.element_type is element_type}))

        return GroupBys(
            metric_time_grains=_grain_names(time_specs.pop(METRIC_TIME, [])),
            dimensions=names(LinkableElementType.DIMENSION),
            time_dimensions=tuple(
                (name, _grain_names(specs_of_name))
                for name, specs_of_name in sorted(time_specs.items())
            ),
            entities=names(LinkableElementType.ENTITY),
        )

    def metrics(self) -> list[Metric]:
        return self._memoized(("metrics",), self._metrics)

    def _metrics(self) -> list[Metric]:
        result = []
        for metric in sorted(self._manifest.metrics, key=lambda m: m.name):
            meta = dict(metric.config.meta) if metric.config else {}
            result.append(
                Metric(
                    name=metric.name,
                    label=metric.label or metric.name,
                    description=metric.description,
                    type=_enum_name(metric.type),
                    grains=_standard(self.group_bys(metric.name).metric_time_grains),
                    requires_metric_time=bool(
                        metric.type_params.window or metric.type_params.grain_to_date
                    ),
                    meta=meta,
                )
            )
        return result

    def metric_grains(self, metric_names: Sequence[str]) -> tuple[str, ...]:
        """The metric_time grains that all the metrics can be queried at together."""
        self.check_metrics(metric_names)
        by_name = {metric.name: set(metric.grains) for metric in self.metrics()}
        if not metric_names:
            return ()
        common = set.intersection(*(by_name[name] for name in metric_names))
        return tuple(grain for grain in STANDARD_GRAINS if grain in common)

    def dimensions(self, metric_names: Sequence[str]) -> list[Dimension]:
        self.check_metrics(metric_names)
        key = ("dimensions", *metric_names)
        return self._memoized(key, lambda: self._dimensions(metric_names))

    def _dimensions(self, metric_names: Sequence[str]) -> list[Dimension]:
        time_grains = dict(self._group_bys(metric_names).time_dimensions)
        by_name: dict[str, Dimension] = {}
        for dimension in self._planner.simple_dimensions_for_metrics(list(metric_names)):
            qualified = dimension.granularity_free_dunder_name
            kind = _enum_name(dimension.type)
            if qualified == METRIC_TIME:
                grains = self.metric_grains(metric_names)
            elif kind == "TIME":
                grains = _standard(time_grains.get(qualified, ()))
            else:
                grains = ()
            by_name.setdefault(
                qualified,
                Dimension(
                    name=dimension.name,
                    qualified_name=qualified,
                    description=dimension.description,
                    type=kind,
                    label=dimension.label,
                    is_partition=dimension.is_partition,
                    expr=dimension.expr,
                    grains=grains,
                    meta=dict(dimension.config.meta) if dimension.config else {},
                ),
            )
        return sorted(by_name.values(), key=lambda d: d.qualified_name)

    def entities(self, metric_names: Sequence[str]) -> list[Entity]:
        self.check_metrics(metric_names)
        key = ("entities", *metric_names)
        return self._memoized(key, lambda: self._entities(metric_names))

    def _entities(self, metric_names: Sequence[str]) -> list[Entity]:
        seen: dict[str, Entity] = {}
        for entity in self._planner.entities_for_metrics(list(metric_names)):
            seen.setdefault(
                entity.name,
                Entity(
                    name=entity.name,
                    description=entity.description,
                    type=_enum_name(entity.type),
                    role=entity.role or "",
                    expr=entity.expr or entity.name,
                ),
            )
        return sorted(seen.values(), key=lambda e: e.name)

    def measures(self, metric_names: Sequence[str]) -> list[Measure]:
        self.check_metrics(metric_names)
        key = ("measures", *metric_names)
        return self._memoized(key, lambda: self._measures(metric_names))

    def _measures(self, metric_names: Sequence[str]) -> list[Measure]:
        wanted: set[str] = set()
        for name in metric_names:
            wanted |= self._input_measures(name)
        result = []
        for model in self._manifest.semantic_models:
            default_time = model.defaults.agg_time_dimension if model.defaults else None
            result.extend(
                Measure(
                    name=measure.name,
                    agg=_enum_name(measure.agg),
                    agg_time_dimension=measure.agg_time_dimension or default_time,
                    expr=measure.expr or measure.name,
                )
                for measure in model.measures
                if measure.name in wanted
            )
        return sorted(result, key=lambda m: m.name)

    def _input_measures(self, metric_name: str) -> set[str]:
        """Measures a metric reads, following derived and ratio metrics to their inputs."""
        metrics = {m.name: m for m in self._manifest.metrics}
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

    def saved_queries(self) -> list[SavedQuery]:
        return self._memoized(("saved_queries",), self._saved_queries)

    def _saved_queries(self) -> list[SavedQuery]:
        result = []
        for saved in sorted(self._manifest.saved_queries, key=lambda s: s.name):
            params = saved.query_params
            where = params.where.where_filters if params.where else []
            result.append(
                SavedQuery(
                    name=saved.name,
                    label=saved.label,
                    description=saved.description,
                    metrics=tuple(params.metrics),
                    group_by=tuple(_group_by_param(item) for item in params.group_by),
                    where=tuple(w.where_sql_template for w in where),
                    exports=tuple(
                        Export(
                            name=export.name,
                            export_as=_enum_name(export.config.export_as).lower(),
                            schema=export.config.schema_name,
                            alias=export.config.alias,
                        )
                        for export in saved.exports
                    ),
                )
            )
        return result

    # -- queries ----------------------------------------------------------------------------

    @property
    def _planner(self) -> MetricFlowEngine:
        if self._engine is None:
            raise RuntimeError("this semantic layer was opened without a warehouse")
        return self._engine

    @cached_property
    def _parser(self) -> MetricFlowQueryParser:
        return MetricFlowQueryParser(semantic_manifest_lookup=self._lookup)

    def validate(self, request: QueryRequest) -> None:
        """Check a request's names, grains and filters against the manifest, offline.

        Raises MetricFlow's error, which names what it does not know, before any SQL is planned.
        """
        if request.saved_query is not None:
            self._check_saved_query(request.saved_query)
            return
        with PLANNING_LOCK:
            self._parser.parse_and_validate_query(
                metric_names=list(request.metrics) or None,
                group_by_names=list(request.group_by) or None,
                where_constraint_strs=list(request.where) or None,
                order_by_names=list(request.order_by) or None,
                limit=request.limit,
            )

    def explain(
        self, request: QueryRequest, *, descriptions: bool = True, rollups: bool = True
    ) -> str:
        """The SQL that answers a request: from a rollup when one holds the answer (see
        rollups; not with `rollups=False`), else MetricFlow's SQL over the base tables (with its
        comments, by default)."""
        if request.metrics:
            self.check_metrics(request.metrics)
        if request.saved_query:
            self._check_saved_query(request.saved_query)
        if rollups and self.warehouse is not None:
            sql = answer_sql(self.rollups(), self._as_metrics_request(request))
            if sql is not None:
                return f"-- Answered from a rollup (see rollups.py)\n{sql}" if descriptions else sql
        mf_request = MetricFlowQueryRequest.create(
            saved_query_name=request.saved_query,
            metric_names=list(request.metrics) or None,
            group_by_names=list(request.group_by) or None,
            where_constraints=list(request.where) or None,
            order_by_names=list(request.order_by) or None,
            limit=request.limit,
        )
        with PLANNING_LOCK:
            statement = self._planner.explain(mf_request).sql_statement
        return (statement if descriptions else statement.without_descriptions).sql

    def explain_dimension_values(self, request: QueryRequest) -> str:
        """The SQL of the distinct values of one group-by item (for the given metrics, under
        the request's where filters)."""
        if request.metrics:
            self.check_metrics(request.metrics)
        mf_request = MetricFlowQueryRequest.create(
            metric_names=list(request.metrics) or None,
            group_by_names=list(request.group_by),
            where_constraints=list(request.where) or None,
            query_type=MetricFlowQueryType.DIMENSION_VALUES,
        )
        with PLANNING_LOCK:
            return self._planner.explain(mf_request).sql_statement.sql

    def execute(self, sql: str, control: QueryControl | None = None) -> pa.Table:
        """Run SQL (planned by this layer) on the warehouse, within the control's bounds."""
        if self.warehouse is None:
            raise RuntimeError("this semantic layer was opened without a warehouse")
        return self.warehouse.query(sql, control)

    def query(self, request: QueryRequest, *, rollups: bool = True) -> pa.Table:
        return self.execute(self.explain(request, rollups=rollups))

    def rollups(self) -> tuple[StoredRollup, ...]:
        """The rollups of ROLLUPS found in the warehouse (looked up once per layer)."""
        if self._rollups is None:
            warehouse = self.warehouse
            assert warehouse is not None
            schemas = {model.name: model.node_relation for model in self._manifest.semantic_models}

            def relation_of(rollup: Rollup) -> str:
                return warehouse.relation(schemas[rollup.beside].schema_name, rollup.model)

            def rows(sql: str) -> list[tuple[str, str]]:
                table = warehouse.query(sql)
                return list(zip(*(table.column(i).to_pylist() for i in range(2)), strict=True))

            self._rollups = find_stored(ROLLUPS, relation_of, rows)
        return self._rollups

    def _as_metrics_request(self, request: QueryRequest) -> QueryRequest:
        """A saved query as the metrics request it stands for (other requests as they are)."""
        if request.saved_query is None:
            return request
        saved = next(query for query in self.saved_queries() if query.name == request.saved_query)
        if any(param.date_part for param in saved.group_by):
            return QueryRequest()
        return QueryRequest(
            metrics=saved.metrics,
            group_by=tuple(
                f"{param.name}__{param.grain}" if param.grain else param.name
                for param in saved.group_by
            ),
            where=saved.where,
        )

    def dimension_values(
        self, request: QueryRequest, control: QueryControl | None = None
    ) -> pa.Table:
        table = self.execute(self.explain_dimension_values(request), control)
        return table.sort_by([(table.column_names[0], "ascending")])


_TEXT_PROCESSOR = ObjectBuilderTextProcessor()


def _group_by_param(text: str) -> GroupByParam:
    """A saved query's group-by item (`TimeDimension('metric_time', 'month')`) as typed data."""
    description = _TEXT_PROCESSOR.get_description(
        text, ConfiguredValidMethodMapping.DEFAULT_MAPPING
    )
    name = "__".join((*description.entity_path, description.item_name))
    return GroupByParam(
        name=name,
        grain=description.time_granularity_name.lower()
        if description.time_granularity_name
        else None,
        date_part=description.date_part_name.lower() if description.date_part_name else None,
    )
