"""Slack-compatible webhook messages, posted with a timeout and retries.

The URL never lives in the repository: it comes from the environment, per channel
(`SAAS_KPIS_ALERTS_WEBHOOK_<CHANNEL>`, the channel upper-cased with every other character as `_`,
so `#revenue-metrics` reads `SAAS_KPIS_ALERTS_WEBHOOK_REVENUE_METRICS`) or for all channels
(`SAAS_KPIS_ALERTS_WEBHOOK_URL`).
"""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from saas_kpis.alerts.conditions import FIRING
from saas_kpis.alerts.state import Notification

DEFAULT_URL_VARIABLE = "SAAS_KPIS_ALERTS_WEBHOOK_URL"
ICONS = {"critical": ":rotating_light:", "warning": ":warning:", "info": ":information_source:"}


class DeliveryError(RuntimeError):
    """A message could not be delivered after every attempt."""


@dataclass(frozen=True)
class Delivery:
    timeout_seconds: float = 10.0
    attempts: int = 3
    backoff_seconds: float = 1.0  # doubled after each failed attempt


def url_variable(channel: str) -> str:
    return "SAAS_KPIS_ALERTS_WEBHOOK_" + re.sub(r"[^A-Z0-9]+", "_", channel.upper()).strip("_")


def webhook_url(channel: str, environ: Mapping[str, str]) -> str | None:
    return environ.get(url_variable(channel)) or environ.get(DEFAULT_URL_VARIABLE) or None


def payload(notification: Notification) -> dict[str, Any]:
    """A Slack incoming-webhook message: `text` for notifications, `blocks` for the client."""
    evaluation = notification.evaluation
    rule = evaluation.rule
    where = (
        f" for {rule.for_each.split('__')[-1]} {evaluation.segment}" if evaluation.segment else ""
    )
    observed = evaluation.outcome.observed
    shown = "n/a" if observed is None else f"{observed:,.4g}"
    if notification.kind == FIRING:
        head = f"{ICONS[rule.severity]} *{rule.severity.upper()}* {rule.name}{where}"
        body = (
            f"{rule.metric} in {evaluation.period_label}: {shown} "
            f"(fires when {evaluation.condition})"
        )
    else:
        head = f":white_check_mark: *RESOLVED* {rule.name}{where}"
        body = (
            f"{rule.metric} in {evaluation.period_label}: {shown} ({evaluation.condition} no more)"
        )
    text = f"{head}\n{body}"
    if rule.description:
        text += f"\n{rule.description}"
    return {
        "channel": rule.channel,
        "text": text,
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": text}},
            {
                "type": "context",
                "elements": [
                    {"type": "mrkdwn", "text": f"owner {rule.owner} · {rule.source}"},
                ],
            },
        ],
    }


def post(url: str, message: dict[str, Any], delivery: Delivery) -> None:
    """POST the message as JSON; retried on timeouts, connection errors, 429 and 5xx."""
    body = json.dumps(message).encode("utf-8")
    wait = delivery.backoff_seconds
    failures = []
    for attempt in range(1, delivery.attempts + 1):
        request = urllib.request.Request(
            url, data=body, method="POST", headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=delivery.timeout_seconds) as response:
                response.read()
            return
        except urllib.error.HTTPError as error:
            failures.append(f"HTTP {error.code}")
            if error.code != 429 and error.code < 500:
                break
        except TimeoutError:
            failures.append(f"no answer within {delivery.timeout_seconds:g} s")
        except (urllib.error.URLError, ConnectionError) as error:
            reason = getattr(error, "reason", error)
            if isinstance(reason, TimeoutError):
                failures.append(f"no answer within {delivery.timeout_seconds:g} s")
            else:
                failures.append(str(reason))
        if attempt < delivery.attempts:
            time.sleep(wait)
            wait *= 2
    raise DeliveryError(f"{len(failures)} attempt(s) failed: {'; '.join(failures)}")
