"""One alerts run: rules checked, evaluated, reported, sent, remembered."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from saas_kpis.alerts import report
from saas_kpis.alerts.conditions import FIRING
from saas_kpis.alerts.evaluation import Evaluation, check_as_of, evaluate
from saas_kpis.alerts.rules import load_rules
from saas_kpis.alerts.state import AlertState
from saas_kpis.alerts.webhook import Delivery, DeliveryError, payload, post, webhook_url
from saas_kpis.semantic import SemanticLayer

# Exit codes: a pipeline step gates on them.
CRITICAL_FIRING = 1
BAD_RULES = 2
DELIVERY_FAILED = 3


@dataclass(frozen=True)
class RunResult:
    evaluations: list[Evaluation]
    sent: list[report.Sent]

    @property
    def critical_firing(self) -> bool:
        return any(
            evaluation.rule.severity == "critical" and evaluation.outcome.state == FIRING
            for evaluation in self.evaluations
        )

    @property
    def exit_code(self) -> int:
        if self.critical_firing:
            return CRITICAL_FIRING
        if any(not item.delivered and item.error for item in self.sent):
            return DELIVERY_FAILED
        return 0


def run(
    layer: SemanticLayer,
    rules_dir: Path,
    as_of: dt.date,
    *,
    state_path: Path,
    report_path: Path | None,
    environ: Mapping[str, str],
    delivery: Delivery | None = None,
    send: bool = True,
) -> RunResult:
    """Evaluate every rule of `rules_dir` at `as_of` and deliver what changed.

    Raises RuleError (bad rules, a window longer than the history, a warehouse built for another
    date) before anything is evaluated or sent.
    """
    rules = load_rules(rules_dir, layer)
    check_as_of(layer, as_of)
    evaluations = evaluate(layer, rules, as_of)
    state = AlertState.load(state_path)
    sent: list[report.Sent] = []
    if send:
        state.forget_removed_rules({rule.name for rule in rules})
        for notification in state.plan(evaluations):
            url = webhook_url(notification.evaluation.rule.channel, environ)
            if url is None:
                sent.append(report.Sent(notification, delivered=False))
                continue
            try:
                post(url, payload(notification), delivery or Delivery())
            except DeliveryError as error:
                sent.append(report.Sent(notification, delivered=False, error=str(error)))
                continue
            state.record(notification)
            sent.append(report.Sent(notification, delivered=True))
    if report_path is not None:
        report.write(report_path, report.document(as_of, evaluations, sent))
    return RunResult(evaluations, sent)
