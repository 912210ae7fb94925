"""The typed data that the semantic query layer takes and returns.

Names follow MetricFlow's query names (`metric_time__month`, `account_month__plan_tier`); each
consumer (GraphQL, Flight SQL, exports, summary, catalog) renders them in its own wire format.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# The teams a metric's meta `owner` names (the spec's section 4); alert rules and the driver
# tree name their owners from the same list.
OWNER_TEAMS = ("GTM", "PRD", "CS", "ENG", "FIN")
# The standard time grains, finest first, as the Semantic Layer APIs spell them.
STANDARD_GRAINS = ("DAY", "WEEK", "MONTH", "QUARTER", "YEAR")


@dataclass(frozen=True)
class QueryRequest:
    """A semantic-layer query: metrics by group-by items, or one saved query."""

    metrics: tuple[str, ...] = ()
    group_by: tuple[str, ...] = ()
    where: tuple[str, ...] = ()
    order_by: tuple[str, ...] = ()  # a leading "-" sorts descending
    limit: int | None = None
    saved_query: str | None = None


@dataclass(frozen=True)
class GroupBys:
    """What a metric can be grouped by, as MetricFlow's group-by names."""

    metric_time_grains: tuple[str, ...]  # lower case, finest first, custom grains included
    dimensions: tuple[str, ...]
    time_dimensions: tuple[tuple[str, tuple[str, ...]], ...]  # (name, grains)
    entities: tuple[str, ...]


@dataclass(frozen=True)
class Metric:
    name: str
    label: str
    description: str | None
    type: str  # SIMPLE, RATIO, CUMULATIVE, DERIVED or CONVERSION
    grains: tuple[str, ...]  # queryable metric_time grains, STANDARD_GRAINS spelling
    requires_metric_time: bool
    meta: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Dimension:
    name: str
    qualified_name: str
    description: str | None
    type: str  # CATEGORICAL or TIME
    label: str | None
    is_partition: bool
    expr: str | None
    grains: tuple[str, ...]  # empty for categorical dimensions
    meta: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Entity:
    name: str
    description: str | None
    type: str  # PRIMARY, UNIQUE, FOREIGN or NATURAL
    role: str
    expr: str


@dataclass(frozen=True)
class Measure:
    name: str
    agg: str
    agg_time_dimension: str | None
    expr: str


@dataclass(frozen=True)
class GroupByParam:
    """One group-by item of a saved query."""

    name: str
    grain: str | None = None  # lower case
    date_part: str | None = None  # lower case


@dataclass(frozen=True)
class Export:
    """A saved query's export as its YAML declares it."""

    name: str
    export_as: str  # "table" or "view"
    schema: str | None
    alias: str | None


@dataclass(frozen=True)
class SavedQuery:
    name: str
    label: str | None
    description: str | None
    metrics: tuple[str, ...]
    group_by: tuple[GroupByParam, ...]
    where: tuple[str, ...]
    exports: tuple[Export, ...]
