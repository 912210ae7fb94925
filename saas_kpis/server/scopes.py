"""Scoped tokens: what one token may see of the semantic layer, and its requests rewritten for it.

A scope narrows a token to some metrics (by name or by the `tier` of their meta) and optionally
to one segment of rows (a MetricFlow where filter, the row filter). The rules, applied by
`ServedLayer` to every query path and by the transports to every metadata answer:

- A metric is visible when the scope's lists admit it *and*, with a row filter, MetricFlow accepts
  the row filter for it (platform-wide metrics without the segment's dimensions are not). A
  derived or ratio metric is judged on its own: its inputs are computed under the row filter
  anyway, so admitting `arr` does not expose an excluded `mrr` beyond the segment.
- A metric that is not visible is answered like an unknown one: the same message, so a token
  cannot tell an excluded metric from a missing one.
- The row filter is added as its own where constraint (never joined with a client's filter as
  text), and MetricFlow applies query-level constraints to every input measure.
- `Metric()` references in a client filter name visible metrics only; with a row filter they are
  refused altogether, because MetricFlow computes the referenced metric in a subquery without the
  query's where constraints.
- A saved query runs only when all its metrics are visible, with the row filter added to its own
  where filters (MetricFlow merges the two).

MetricFlow's errors name the metrics it resolved, a derived metric's inputs included; for a scoped
token the names of metrics outside its scope are replaced in them (`errors_redacted`).

The visible metrics of a (snapshot layer, scope) pair are computed once: validating the row filter
for each metric costs MetricFlow planning time.
"""

from __future__ import annotations

import logging
import re
import threading
import weakref
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from functools import cached_property

from metricflow_semantic_interfaces.implementations.filters.where_filter import (
    PydanticWhereFilter,
)

from saas_kpis.semantic import (
    Dimension,
    Entity,
    Measure,
    Metric,
    QueryRequest,
    SavedQuery,
    SemanticLayer,
)
from saas_kpis.server.statements import StatementError

log = logging.getLogger(__name__)

TIER_KEY = "tier"
HIDDEN = "<hidden>"
# The libraries whose errors describe a request (as `adapter.CLIENT_ERROR_MODULES`).
PLANNER_MODULES = ("metricflow", "dbt_semantic_interfaces")


@dataclass(frozen=True)
class Scope:
    """What a token may see. None for a list means "not narrowed by it"; with both lists a metric
    is admitted by either (a name list plus a tier, e.g. every guardrail and `mrr`)."""

    metrics: frozenset[str] | None = None
    metric_tiers: frozenset[str] | None = None
    row_filter: str | None = None

    @property
    def unscoped(self) -> bool:
        return self.metrics is None and self.metric_tiers is None and self.row_filter is None

    def admits(self, metric: Metric) -> bool:
        """Whether the scope's lists admit a metric (the row filter is judged by the layer)."""
        if self.metrics is None and self.metric_tiers is None:
            return True
        if self.metrics is not None and metric.name in self.metrics:
            return True
        return self.metric_tiers is not None and metric.meta.get(TIER_KEY) in self.metric_tiers


UNSCOPED = Scope()


def unknown_metrics(names: Iterable[str]) -> LookupError:
    """The error of `SemanticLayer.check_metrics`, word for word."""
    return LookupError(f"unknown metric(s): {', '.join(names)}")


def unknown_saved_query(name: str) -> LookupError:
    """The error the layer gives for a saved query it does not know."""
    return LookupError(f"unknown saved query: {name}")


def metric_references(where: str) -> tuple[str, ...]:
    """The metrics a where filter references with `{{ Metric(...) }}`, as MetricFlow reads it."""
    parameter_sets = PydanticWhereFilter(where_sql_template=where).call_parameter_sets(
        custom_granularity_names=()
    )
    return tuple(
        parameters.metric_reference.element_name
        for parameters in parameter_sets.metric_call_parameter_sets
    )


def row_filter_accepted(layer: SemanticLayer, metric: str, row_filter: str) -> bool:
    """Whether MetricFlow can apply the row filter to a metric (it reaches the segment's
    dimension from every input measure)."""
    try:
        layer.validate(QueryRequest(metrics=(metric,), where=(row_filter,)))
    except Exception:  # MetricFlow's resolution errors have no common base class
        return False
    return True


class VisibleMetrics:
    """The metric names each scope may see on each snapshot layer, computed once per pair.

    Keyed weakly by the layer, so a replaced snapshot's entries go with it."""

    def __init__(self) -> None:
        self._memo: weakref.WeakKeyDictionary[SemanticLayer, dict[Scope, frozenset[str]]]
        self._memo = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()

    def of(self, layer: SemanticLayer, scope: Scope) -> frozenset[str]:
        with self._lock:
            known = self._memo.get(layer, {}).get(scope)
        if known is not None:
            return known
        admitted = [metric.name for metric in layer.metrics() if scope.admits(metric)]
        if scope.row_filter is not None:
            row_filter = scope.row_filter
            admitted = [name for name in admitted if row_filter_accepted(layer, name, row_filter)]
        visible = frozenset(admitted)
        with self._lock:
            self._memo.setdefault(layer, {})[scope] = visible
        return visible


VISIBLE = VisibleMetrics()


class ScopedView:
    """A layer's metadata as one scope sees it: the same methods as `SemanticLayer`'s metadata
    (so the transports serialise it unchanged), hiding what the scope excludes."""

    def __init__(self, layer: SemanticLayer, scope: Scope, holder: str = "") -> None:
        self.layer = layer
        self.scope = scope
        self.holder = holder  # the token's name, for the log

    @cached_property
    def visible(self) -> frozenset[str]:
        # Computed on first use, so that building a view costs nothing on an event loop; the
        # transports read metadata in worker threads.
        return VISIBLE.of(self.layer, self.scope)

    def redact(self, message: str) -> str:
        """A message with the names of the metrics outside the scope replaced."""
        hidden = sorted(set(self.layer.manifest_metrics) - self.visible, key=len, reverse=True)
        if not hidden:
            return message
        pattern = re.compile(r"\b(?:" + "|".join(map(re.escape, hidden)) + r")\b")
        return pattern.sub(HIDDEN, message)

    @property
    def dialect(self) -> str:
        return self.layer.dialect

    def check_metrics(self, names: Sequence[str]) -> None:
        hidden = [name for name in names if name not in self.visible]
        if hidden:
            raise unknown_metrics(hidden)

    def metrics(self) -> list[Metric]:
        return [metric for metric in self.layer.metrics() if metric.name in self.visible]

    def dimensions(self, metric_names: Sequence[str]) -> list[Dimension]:
        self.check_metrics(metric_names)
        return self.layer.dimensions(metric_names)

    def entities(self, metric_names: Sequence[str]) -> list[Entity]:
        self.check_metrics(metric_names)
        return self.layer.entities(metric_names)

    def measures(self, metric_names: Sequence[str]) -> list[Measure]:
        self.check_metrics(metric_names)
        return self.layer.measures(metric_names)

    def saved_queries(self) -> list[SavedQuery]:
        return [
            saved
            for saved in self.layer.saved_queries()
            if all(name in self.visible for name in saved.metrics)
        ]

    def saved_query(self, name: str) -> SavedQuery:
        """A saved query the scope may run, or the error of an unknown one."""
        for saved in self.saved_queries():
            if saved.name == name:
                return saved
        raise unknown_saved_query(name)

    def query_request(self, request: QueryRequest) -> QueryRequest:
        """A client's query as this scope may run it: refused if it names what the scope
        excludes, with the row filter added as a separate where constraint."""
        if request.saved_query is not None:
            self.saved_query(request.saved_query)
        hidden = [name for name in request.metrics if name not in self.visible]
        if hidden:
            log.info("the scope of %s refused metric(s) %s", self.holder, ", ".join(hidden))
            raise unknown_metrics(hidden)
        for where in request.where:
            referenced = metric_references(where)
            if referenced and self.scope.row_filter is not None:
                raise StatementError("Metric() filters are not available to this token")
            self.check_metrics(referenced)
        if self.scope.row_filter is None:
            return request
        return replace(request, where=(*request.where, self.scope.row_filter))

    def dimension_values_request(self, request: QueryRequest) -> QueryRequest:
        """A dimension-values request as this scope may run it: for named, visible metrics
        only (without metrics a dimension's values would not pass through any metric's
        scope), under the row filter."""
        if not request.metrics:
            raise StatementError("dimension_values needs metrics=[...] for this token")
        return self.query_request(request)


@contextmanager
def errors_redacted(layer: SemanticLayer, scope: Scope) -> Iterator[None]:
    """Planning under a scope: MetricFlow's errors (which name a derived metric's inputs) reach
    a scoped token without the names of metrics outside its scope."""
    if scope.unscoped:
        yield
        return
    try:
        yield
    except Exception as error:
        if not type(error).__module__.startswith(PLANNER_MODULES):
            raise
        raise StatementError(ScopedView(layer, scope).redact(str(error))) from None


# What the transports read metadata from: the layer itself for an unscoped token.
Metadata = SemanticLayer | ScopedView


def metadata_for(layer: SemanticLayer, scope: Scope, holder: str = "") -> Metadata:
    return layer if scope.unscoped else ScopedView(layer, scope, holder)


def underlying_layer(metadata: Metadata) -> SemanticLayer:
    """The snapshot layer behind the metadata (what per-snapshot caches are keyed by)."""
    return metadata.layer if isinstance(metadata, ScopedView) else metadata


def scoped_request(
    layer: SemanticLayer, scope: Scope, request: QueryRequest, holder: str = ""
) -> QueryRequest:
    """A client's query as the scope may run it (unchanged for an unscoped token)."""
    if scope.unscoped:
        return request
    return ScopedView(layer, scope, holder).query_request(request)


def scoped_dimension_values_request(
    layer: SemanticLayer, scope: Scope, request: QueryRequest, holder: str = ""
) -> QueryRequest:
    if scope.unscoped:
        return request
    return ScopedView(layer, scope, holder).dimension_values_request(request)
