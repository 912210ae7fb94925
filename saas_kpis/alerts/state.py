"""What has been sent: an alert that stays firing is sent once, and once more when it clears.

The state is a small JSON file keyed by alert (rule and segment). An alert enters it only when
its firing message was delivered and leaves it only when its resolved message was, so a failed
delivery is retried on the next run and nothing is lost.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from saas_kpis.alerts.conditions import FIRING, OK
from saas_kpis.alerts.evaluation import Evaluation

RESOLVED = "resolved"


class StateError(RuntimeError):
    """The state file cannot be read."""


@dataclass(frozen=True)
class Notification:
    kind: str  # firing or resolved
    evaluation: Evaluation


class AlertState:
    """The alerts whose firing message was delivered and that have not been resolved since."""

    def __init__(self, path: Path, sent: dict[str, dict[str, Any]]) -> None:
        self.path = path
        self.sent = sent

    @classmethod
    def load(cls, path: Path) -> AlertState:
        if not path.exists():
            return cls(path, {})
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
            sent = document["sent"]
            if not isinstance(sent, dict):
                raise TypeError("`sent` is not a mapping")
        except (ValueError, KeyError, TypeError) as error:
            raise StateError(
                f"alert state {path} is unreadable ({error}); move it away to start afresh"
            ) from None
        return cls(path, sent)

    def plan(self, evaluations: list[Evaluation]) -> list[Notification]:
        """Firing alerts not sent yet, and sent alerts that are ok now. An alert without data
        keeps its state: nobody knows whether it cleared."""
        notifications = []
        for evaluation in evaluations:
            sent = evaluation.key in self.sent
            if evaluation.outcome.state == FIRING and not sent:
                notifications.append(Notification(FIRING, evaluation))
            elif evaluation.outcome.state == OK and sent:
                notifications.append(Notification(RESOLVED, evaluation))
        return notifications

    def forget_removed_rules(self, rule_names: set[str]) -> list[str]:
        """Drop alerts of rules that no longer exist; returns their keys."""
        removed = [key for key, entry in self.sent.items() if entry.get("rule") not in rule_names]
        for key in removed:
            del self.sent[key]
        if removed:
            self.save()
        return removed

    def record(self, notification: Notification) -> None:
        """A delivered notification; saved at once, so a later crash does not resend it."""
        evaluation = notification.evaluation
        if notification.kind == FIRING:
            self.sent[evaluation.key] = {
                "rule": evaluation.rule.name,
                "segment": evaluation.segment,
                "severity": evaluation.rule.severity,
                "channel": evaluation.rule.channel,
                "period": evaluation.period_label,
                "sent_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            }
        else:
            self.sent.pop(evaluation.key, None)
        self.save()

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps({"sent": self.sent}, indent=2, sort_keys=True) + "\n"
        handle, temporary = tempfile.mkstemp(dir=self.path.parent, prefix=".alert-state-")
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
        os.replace(temporary, self.path)
