"""Exact pre-aggregated rollups that answer matching semantic-layer queries.

A rollup is a dbt model holding a set of metrics' values, already grouped, for every
`metric_time` grain and every grouping it declares: one row per group, with the columns
`time_grain`, `grouping_name` (the group-by items other than `metric_time`, comma-separated, ''
for none), `metric_time` (the period's first day), one column per group-by item (named as the
layer names it, NULL where not grouped) and one column per metric. A request is answered from a
rollup when it asks only for the rollup's metrics, by one `metric_time` grain and a grouping
present in the table, and its where filters, order and limit use only those group-by items and
metrics. A filter on an item the request groups by keeps or drops whole groups, so applying it to
the groups gives what MetricFlow's filter on the rows gives. Anything else is planned by
MetricFlow over the base tables, as it would be without rollups.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from metricflow_semantic_interfaces.parsing.text_input.ti_description import (
    ObjectBuilderItemDescription,
    QueryItemType,
)
from metricflow_semantic_interfaces.parsing.text_input.ti_processor import (
    ObjectBuilderItemDescriptionProcessor,
    ObjectBuilderTextProcessor,
)
from metricflow_semantic_interfaces.parsing.text_input.valid_method import (
    ConfiguredValidMethodMapping,
)

from saas_kpis.semantic.types import QueryRequest

LOG = logging.getLogger(__name__)
METRIC_TIME = "metric_time"


@dataclass(frozen=True)
class Rollup:
    """A rollup model: where it is stored and which metrics it holds."""

    model: str  # the dbt model (its alias), stored in the schema of `beside`
    beside: str  # a semantic model whose relation shares the rollup's database and schema
    metrics: tuple[str, ...]


# The shipped rollups. A new one is a dbt model of the shape above plus an entry here; the
# test `test_rollups.py` checks every grouping of every entry against MetricFlow's answer.
ROLLUPS = (
    Rollup(
        model="rpt_feature_adoption_rollups",
        beside="feature_usage",
        metrics=(
            "feature_adopters",
            "feature_active_users",
            "feature_launched",
            "feature_adoption_rate",
        ),
    ),
)


@dataclass(frozen=True)
class StoredRollup:
    """A rollup found in the warehouse: its relation and the groups it holds."""

    rollup: Rollup
    relation: str
    groupings: frozenset[tuple[str, frozenset[str]]]  # (time grain, group-by items)
    grouping_names: dict[frozenset[str], str]


class NoRollup(Exception):
    """The request cannot be answered from a rollup."""


class _ColumnRenderer(ObjectBuilderItemDescriptionProcessor):
    """Renders a where filter's items as the rollup answer's columns; refuses anything else."""

    def __init__(self, columns: frozenset[str]) -> None:
        self._columns = columns

    def process_description(self, item_description: ObjectBuilderItemDescription) -> str:
        if (
            item_description.item_type
            not in (QueryItemType.DIMENSION, QueryItemType.TIME_DIMENSION)
            or item_description.date_part_name is not None
        ):
            raise NoRollup
        name = "__".join((*item_description.entity_path, item_description.item_name))
        if item_description.time_granularity_name:
            name = f"{name}__{item_description.time_granularity_name.lower()}"
        if name not in self._columns:
            raise NoRollup
        return name


def render_filter(where: str, columns: frozenset[str]) -> str:
    """A where filter with its items replaced by column names, if it uses only `columns`."""
    try:
        return ObjectBuilderTextProcessor()._process_template(
            jinja_template=where,
            valid_method_mapping=ConfiguredValidMethodMapping.DEFAULT_MAPPING,
            description_processor=_ColumnRenderer(columns),
        )
    except NoRollup:
        raise
    except Exception as error:  # MetricFlow's planner reports a bad filter itself
        raise NoRollup from error


def find_stored(
    rollups: Sequence[Rollup],
    relation_of: Callable[[Rollup], str],
    query: Callable[[str], list[tuple[str, str]]],
) -> tuple[StoredRollup, ...]:
    """The rollups present in the warehouse, with the groupings each holds."""
    found = []
    for rollup in rollups:
        relation = relation_of(rollup)
        try:
            rows = query(f"select distinct time_grain, grouping_name from {relation}")
        except Exception as error:  # a warehouse built before the rollup existed
            LOG.warning("rollup %s is not used: %s", rollup.model, str(error).splitlines()[0])
            continue
        names = {_items(name): name for _, name in rows}
        found.append(
            StoredRollup(
                rollup=rollup,
                relation=relation,
                groupings=frozenset((grain, _items(name)) for grain, name in rows),
                grouping_names=names,
            )
        )
    return tuple(found)


def _items(grouping_name: str) -> frozenset[str]:
    return frozenset(filter(None, grouping_name.split(",")))


def answer_sql(stored: Sequence[StoredRollup], request: QueryRequest) -> str | None:
    """The SQL answering `request` from a rollup, or None when none can."""
    if request.saved_query is not None or not request.metrics:
        return None
    for rollup in stored:
        try:
            return _answer_sql(rollup, request)
        except NoRollup:
            continue
    return None


def _answer_sql(stored: StoredRollup, request: QueryRequest) -> str:
    metrics = request.metrics
    if len(set(metrics)) != len(metrics) or not set(metrics) <= set(stored.rollup.metrics):
        raise NoRollup
    if len(set(request.group_by)) != len(request.group_by):
        raise NoRollup
    times = [name for name in request.group_by if name.startswith(f"{METRIC_TIME}__")]
    if len(times) != 1:
        raise NoRollup
    time_column = times[0]
    grain = time_column.removeprefix(f"{METRIC_TIME}__")
    items = frozenset(name for name in request.group_by if name != time_column)
    if (grain, items) not in stored.groupings:
        raise NoRollup
    columns = frozenset((*request.group_by, *metrics))
    filters = [render_filter(where, frozenset(request.group_by)) for where in request.where]
    order = []
    for item in request.order_by:
        name = item.removeprefix("-")
        if name not in columns:
            raise NoRollup
        order.append(f"{name} desc" if item.startswith("-") else name)
    # MetricFlow's column order: metric_time, the items of the metrics' own semantic model,
    # the joined ones, each in the request's order, then the metrics.
    local = [name for name in request.group_by if name.startswith(f"{stored.rollup.beside}__")]
    joined = [name for name in request.group_by if name != time_column and name not in local]
    selected = ",\n    ".join(
        # the period's first day is a date, as the base tables' time dimensions are: truncated
        # as MetricFlow truncates them, it has the type of MetricFlow's column in each dialect
        (f"date_trunc('{grain}', {METRIC_TIME}) as {time_column}", *local, *joined, *metrics)
    )
    sql = (
        f"select * from (\n  select\n    {selected}\n  from {stored.relation}\n"
        f"  where time_grain = '{grain}'\n"
        f"    and grouping_name = '{stored.grouping_names[items]}'\n) as rollup_answer"
    )
    if filters:
        sql += "\nwhere " + "\n  and ".join(f"({text})" for text in filters)
    if order:
        sql += "\norder by " + ", ".join(order)
    if request.limit is not None:
        sql += f"\nlimit {int(request.limit)}"
    return sql
