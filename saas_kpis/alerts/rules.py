"""Alert rules: the YAML files of `alerts/`, read into typed rules and checked before any run.

A rule names a metric, a grain, a condition, a severity, an owner and a channel, and optionally a
segment filter (a MetricFlow `where`) or a `for_each` segment dimension. A guardrail rule may leave
out its comparison: it then fires when the metric misses the `threshold` of its meta, so that the
threshold lives in one place.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from saas_kpis.periods import CADENCE_GRAINS, GRAINS
from saas_kpis.semantic import OWNER_TEAMS, Metric, QueryRequest, SemanticLayer

OPERATORS = ("<", "<=", ">", ">=")
# The comparison that breaches a guardrail whose meta threshold says what healthy is.
MISSED = {"<": ">=", "<=": ">", ">": "<=", ">=": "<"}
SEVERITIES = ("critical", "warning", "info")
CONDITION_TYPES = ("threshold", "trailing_mean", "consecutive", "change", "anomaly")
NAME = re.compile(r"^[a-z][a-z0-9_]*$")


class RuleError(ValueError):
    """One or more rules are wrong; the message has a line per problem, naming the rule."""


@dataclass(frozen=True)
class Comparison:
    operator: str
    value: float

    def breached(self, observed: float) -> bool:
        # A value within floating-point noise of the threshold is at the threshold.
        if math.isclose(observed, self.value, rel_tol=1e-9, abs_tol=1e-12):
            return self.operator in ("<=", ">=")
        return {
            "<": observed < self.value,
            "<=": observed <= self.value,
            ">": observed > self.value,
            ">=": observed >= self.value,
        }[self.operator]

    def __str__(self) -> str:
        return f"{self.operator} {self.value:g}"


@dataclass(frozen=True)
class Condition:
    """What makes a rule fire; the fields that apply depend on `type`.

    threshold      the latest complete period's value against `comparison`;
    trailing_mean  the mean of the last `periods` periods against `comparison`;
    consecutive    each of the last `periods` periods breaches `comparison`, on the value or
                   (`of: change`) on the absolute change from the period before;
    change         the change from the previous period or the same period a year earlier
                   (`compare_to`), `absolute` or `relative` (`kind`), against `comparison`;
    anomaly        the robust score (value - median) / (1.4826 * MAD) of the latest period over
                   up to `periods` earlier ones (at least `min_history`) reaches `score`, in
                   `direction` up, down or both.
    """

    type: str
    comparison: Comparison | None = None
    periods: int = 1
    of: str = "value"
    compare_to: str = "previous_period"
    kind: str = "absolute"
    min_history: int = 0
    score: float = 0.0
    direction: str = "both"


@dataclass(frozen=True)
class Rule:
    name: str
    description: str
    metric: str
    grain: str
    condition: Condition
    severity: str
    owner: str
    channel: str
    for_each: str | None
    filter: str | None
    source: str

    def request(self) -> QueryRequest:
        """The semantic-layer query of the rule's series."""
        group_by = (f"metric_time__{self.grain}",)
        if self.for_each:
            group_by += (self.for_each,)
        return QueryRequest(
            metrics=(self.metric,),
            group_by=group_by,
            where=(self.filter,) if self.filter else (),
        )


def load_rules(directory: Path, layer: SemanticLayer) -> list[Rule]:
    """Every rule of the YAML files in `directory`, checked against the semantic layer's
    metrics, grains, dimensions and filters. Raises RuleError listing every problem."""
    metrics = {metric.name: metric for metric in layer.metrics()}
    rules: list[Rule] = []
    problems: list[str] = []
    files = sorted(directory.glob("*.yml")) + sorted(directory.glob("*.yaml"))
    if not files:
        raise RuleError(f"{directory}: no alert rule files (*.yml)")
    for path in files:
        try:
            document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as error:
            problems.append(f"{path.name}: not valid YAML: {error}")
            continue
        entries = document.get("alerts") if isinstance(document, dict) else None
        if not isinstance(entries, list):
            problems.append(f"{path.name}: expected a top-level `alerts:` list")
            continue
        for index, entry in enumerate(entries):
            label = f"{path.name}: rule {index + 1}"
            if isinstance(entry, dict) and isinstance(entry.get("name"), str):
                label = f"{path.name}: rule {entry['name']}"
            try:
                rule = parse_rule(entry, metrics, path.name)
                check_queryable(rule, layer)
            except RuleError as error:
                problems.append(f"{label}: {error}")
                continue
            rules.append(rule)
    seen: set[str] = set()
    for rule in rules:
        if rule.name in seen:
            problems.append(f"{rule.source}: rule {rule.name}: the name is used twice")
        seen.add(rule.name)
    if problems:
        raise RuleError("\n".join(problems))
    return rules


def parse_rule(entry: Any, metrics: Mapping[str, Metric], source: str) -> Rule:
    if not isinstance(entry, dict):
        raise RuleError("a rule is a mapping of name, metric, condition, ...")
    known = {"name", "description", "metric", "grain", "condition", "severity", "owner"}
    known |= {"channel", "for_each", "filter"}
    unknown = sorted(set(entry) - known)
    if unknown:
        raise RuleError(f"unknown key(s) {', '.join(unknown)}; expected {', '.join(sorted(known))}")
    name = _text(entry, "name")
    if not NAME.match(name):
        raise RuleError(f"name {name!r} must be lower case letters, digits and underscores")
    metric_name = _text(entry, "metric")
    metric = metrics.get(metric_name)
    if metric is None:
        raise RuleError(f"unknown metric {metric_name!r}")
    grain = entry.get("grain") or CADENCE_GRAINS.get(str(metric.meta.get("review_cadence")))
    if grain not in GRAINS:
        raise RuleError(f"grain {grain!r} is not one of {', '.join(GRAINS)}")
    if grain.upper() not in metric.grains:
        raise RuleError(
            f"metric {metric_name} has no grain {grain}; it has "
            f"{', '.join(g.lower() for g in metric.grains)}"
        )
    severity = _choice(entry, "severity", SEVERITIES)
    owner = _choice(entry, "owner", OWNER_TEAMS)
    for_each = entry.get("for_each")
    row_filter = entry.get("filter")
    for key, value in (("for_each", for_each), ("filter", row_filter)):
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise RuleError(f"{key} must be a non-empty text")
    return Rule(
        name=name,
        description=str(entry.get("description") or ""),
        metric=metric_name,
        grain=grain,
        condition=parse_condition(entry.get("condition"), metric),
        severity=severity,
        owner=owner,
        channel=_text(entry, "channel"),
        for_each=for_each,
        filter=row_filter,
        source=source,
    )


def parse_condition(raw: Any, metric: Metric) -> Condition:
    if not isinstance(raw, dict):
        raise RuleError("condition must be a mapping with a `type`")
    kind = raw.get("type")
    if kind not in CONDITION_TYPES:
        raise RuleError(f"condition type {kind!r} is not one of {', '.join(CONDITION_TYPES)}")
    allowed = {
        "threshold": {"operator", "value"},
        "trailing_mean": {"operator", "value", "periods"},
        "consecutive": {"operator", "value", "periods", "of"},
        "change": {"operator", "value", "compare_to", "kind"},
        "anomaly": {"periods", "min_history", "score", "direction"},
    }[kind]
    unknown = sorted(set(raw) - allowed - {"type"})
    if unknown:
        raise RuleError(
            f"condition {kind} does not take {', '.join(unknown)}; it takes "
            f"{', '.join(sorted(allowed))}"
        )
    if kind == "anomaly":
        periods = _count(raw, "periods", 12, minimum=2)
        min_history = _count(raw, "min_history", min(6, periods), minimum=2)
        if min_history > periods:
            raise RuleError(f"min_history {min_history} is more than periods {periods}")
        score = _number(raw, "score", 3.5)
        if score <= 0:
            raise RuleError(f"score must be positive, got {score:g}")
        direction = raw.get("direction", "both")
        if direction not in ("up", "down", "both"):
            raise RuleError(f"direction {direction!r} is not one of up, down, both")
        return Condition(
            type=kind,
            periods=periods,
            min_history=min_history,
            score=score,
            direction=direction,
        )
    condition = Condition(
        type=kind,
        comparison=_comparison(raw, metric, kind),
        periods=_count(raw, "periods", 3 if kind == "trailing_mean" else 2, minimum=1)
        if kind in ("trailing_mean", "consecutive")
        else 1,
        of=raw.get("of", "value"),
        compare_to=raw.get("compare_to", "previous_period"),
        kind=raw.get("kind", "absolute"),
    )
    if condition.of not in ("value", "change"):
        raise RuleError(f"of {condition.of!r} is not one of value, change")
    if condition.compare_to not in ("previous_period", "previous_year"):
        raise RuleError(
            f"compare_to {condition.compare_to!r} is not one of previous_period, previous_year"
        )
    if condition.kind not in ("absolute", "relative"):
        raise RuleError(f"kind {condition.kind!r} is not one of absolute, relative")
    return condition


def check_queryable(rule: Rule, layer: SemanticLayer) -> None:
    """The rule's series query names dimensions and a filter the semantic layer knows."""
    try:
        layer.validate(rule.request())
    except Exception as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
        what = "for_each / filter" if (rule.for_each or rule.filter) else "query"
        raise RuleError(f"the semantic layer refuses its {what}: {first_line}") from None


def _comparison(raw: Mapping[str, Any], metric: Metric, kind: str) -> Comparison:
    if "operator" not in raw and "value" not in raw:
        threshold = metric.meta.get("threshold")
        if kind != "threshold" or not isinstance(threshold, Mapping):
            raise RuleError(
                f"condition {kind} needs `operator` and `value`"
                + ("" if kind != "threshold" else f"; metric {metric.name} has no meta threshold")
            )
        operator = threshold.get("operator")
        if operator not in MISSED:
            raise RuleError(f"metric {metric.name}'s meta threshold operator {operator!r}")
        return Comparison(MISSED[operator], _number(threshold, "value", None))
    operator = raw.get("operator")
    if operator not in OPERATORS:
        raise RuleError(f"operator {operator!r} is not one of {', '.join(OPERATORS)}")
    return Comparison(operator, _number(raw, "value", None))


def _number(raw: Mapping[str, Any], key: str, default: float | None) -> float:
    value = raw.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise RuleError(f"{key} must be a number, got {value!r}")
    return float(value)


def _count(raw: Mapping[str, Any], key: str, default: int, minimum: int) -> int:
    value = raw.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise RuleError(f"{key} must be a whole number ≥ {minimum}, got {value!r}")
    return value


def _text(raw: Mapping[str, Any], key: str) -> str:
    value = raw.get(key)
    if not isinstance(value, str) or not value.strip():
        raise RuleError(f"`{key}` is required (a non-empty text)")
    return value.strip()


def _choice(raw: Mapping[str, Any], key: str, choices: tuple[str, ...]) -> str:
    value = raw.get(key)
    if value not in choices:
        raise RuleError(f"{key} {value!r} is not one of {', '.join(choices)}")
    return value
