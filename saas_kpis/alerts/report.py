"""The run's result: a table for people, a JSON file for machines."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from saas_kpis.alerts.conditions import FIRING
from saas_kpis.alerts.evaluation import Evaluation
from saas_kpis.alerts.state import Notification

COLUMNS = ("rule", "severity", "segment", "period", "value", "threshold", "state")


@dataclass(frozen=True)
class Sent:
    notification: Notification
    delivered: bool
    error: str | None = None


def _number(value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"{value:,.4f}" if abs(value) < 1000 else f"{value:,.0f}"


def table(evaluations: list[Evaluation]) -> str:
    rows = [
        (
            evaluation.rule.name,
            evaluation.rule.severity,
            evaluation.segment or "all",
            evaluation.period_label,
            _number(evaluation.outcome.observed),
            evaluation.condition,
            evaluation.outcome.state.upper()
            if evaluation.outcome.state == FIRING
            else evaluation.outcome.state,
        )
        for evaluation in evaluations
    ]
    widths = [max(len(str(row[i])) for row in [COLUMNS, *rows]) for i in range(len(COLUMNS))]
    lines = ["  ".join(f"{cell:<{width}}" for cell, width in zip(COLUMNS, widths, strict=True))]
    lines += ["  ".join("-" * width for width in widths)]
    lines += [
        "  ".join(f"{cell:<{width}}" for cell, width in zip(row, widths, strict=True))
        for row in rows
    ]
    return "\n".join(line.rstrip() for line in lines)


def document(as_of: dt.date, evaluations: list[Evaluation], sent: list[Sent]) -> dict[str, Any]:
    firing = [evaluation for evaluation in evaluations if evaluation.outcome.state == FIRING]
    return {
        "as_of_date": as_of.isoformat(),
        "generated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "firing": len(firing),
        "critical_firing": sum(evaluation.rule.severity == "critical" for evaluation in firing),
        "evaluations": [
            {
                "key": evaluation.key,
                "rule": evaluation.rule.name,
                "metric": evaluation.rule.metric,
                "grain": evaluation.rule.grain,
                "severity": evaluation.rule.severity,
                "owner": evaluation.rule.owner,
                "channel": evaluation.rule.channel,
                "segment_dimension": evaluation.rule.for_each,
                "segment": evaluation.segment,
                "period": evaluation.period_label,
                "period_start": evaluation.period.isoformat(),
                "metric_value": evaluation.metric_value,
                "observed": evaluation.outcome.observed,
                "condition": evaluation.condition,
                "state": evaluation.outcome.state,
                "detail": evaluation.outcome.detail,
            }
            for evaluation in evaluations
        ],
        "notifications": [
            {
                "kind": item.notification.kind,
                "key": item.notification.evaluation.key,
                "channel": item.notification.evaluation.rule.channel,
                "delivered": item.delivered,
                "error": item.error,
            }
            for item in sent
        ],
    }


def write(path: Path, content: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(_finite(content), indent=2, allow_nan=False)
    path.write_text(text + "\n", encoding="utf-8")


def _finite(value: Any) -> Any:
    """JSON has no infinity: a flat history's infinite anomaly score is written as text."""
    if isinstance(value, float) and value in (float("inf"), float("-inf")):
        return "Infinity" if value > 0 else "-Infinity"
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_finite(item) for item in value]
    return value
