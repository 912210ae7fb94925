"""The semantic query layer: the only code that talks to MetricFlow.

`SemanticLayer` opens a dbt semantic manifest over a warehouse (a read-only DuckDB file, a dbt
profile target, or PostgreSQL through the server's read-only pool), lists what can be queried
and explains or runs typed `QueryRequest`s, returning Arrow. Everything above it (the server,
exports, summary, catalog, benchmark, tests) asks here.
"""

from saas_kpis.semantic.layer import MANIFEST_FILE, SemanticLayer
from saas_kpis.semantic.types import (
    OWNER_TEAMS,
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

__all__ = [
    "MANIFEST_FILE",
    "OWNER_TEAMS",
    "STANDARD_GRAINS",
    "Dimension",
    "Entity",
    "Export",
    "GroupByParam",
    "GroupBys",
    "Measure",
    "Metric",
    "QueryRequest",
    "SavedQuery",
    "SemanticLayer",
]
