"""Alerts on built warehouses: the shipped rules against the independent references, bad rules,
webhook delivery to a real local HTTP receiver, and the command's exit codes."""

from __future__ import annotations

import datetime as dt
import json
import statistics
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml
from conftest import SCENARIOS, Build, build_scenario
from reference_revenue import revenue_reference
from reference_support import support_reference

from saas_kpis.alerts.evaluation import evaluate
from saas_kpis.alerts.rules import RuleError, load_rules
from saas_kpis.alerts.runner import CRITICAL_FIRING, DELIVERY_FAILED, RunResult, run
from saas_kpis.alerts.webhook import Delivery
from saas_kpis.periods import latest_complete, shift
from saas_kpis.project import REPO_ROOT, project_env
from saas_kpis.semantic import MANIFEST_FILE, SemanticLayer

SHIPPED_RULES = REPO_ROOT / "alerts"
# The guardrails of the spec and the frameworks, written here independently of the metrics' meta:
# when each fires.
GUARDRAIL_BREACHED = {
    "tickets_per_account": lambda value: value >= 2.5,
    "nps": lambda value: value <= 35,
    "api_latency_p95_ms": lambda value: value >= 800,
    "uptime": lambda value: value < 0.999,
    "nrr_monthly_trailing_3m": lambda value: value < 1,
}
# What the shipped seeds deserve at their default as_of_date (listed in the README).
SHIPPED_FIRING = {
    "nps_guardrail_by_industry[fintech]",
    "nps_guardrail_by_industry[manufacturing]",
    "nps_guardrail_by_industry[retail]",
}


@pytest.fixture
def layer(build: Build) -> Iterator[SemanticLayer]:
    opened = build.open_layer()
    yield opened
    opened.close()


@pytest.fixture(scope="module")
def any_build(tmp_path_factory: pytest.TempPathFactory) -> Build:
    return build_scenario(sorted(SCENARIOS)[0], tmp_path_factory)


def reference_series(build: Build, metric: str, grain: str, segment: str | None) -> dict:
    if metric in ("tickets_per_account", "nps", "api_latency_p95_ms", "uptime"):
        return support_reference(build.seeds_dir, build.as_of).series[grain][segment][metric]
    assert grain == "month"
    return revenue_reference(build.seeds_dir, build.as_of).monthly[segment][metric]


def expected_state(rule_name: str, metric: str, values: list) -> str:
    """values: the reference series, latest complete period first."""
    if rule_name == "logo_churn_rising":
        if None in values[:3]:
            return "no_data"
        return "firing" if values[0] > values[1] > values[2] else "ok"
    if rule_name == "mrr_anomaly":
        history = [float(value) for value in values[1:13] if value is not None]
        if values[0] is None or len(history) < 6:
            return "no_data"
        median = statistics.median(history)
        mad = statistics.median(abs(value - median) for value in history)
        distance = abs(float(values[0]) - median)
        return "firing" if distance >= 3.5 * 1.4826 * mad and distance > 0 else "ok"
    if values[0] is None:
        return "no_data"
    return "firing" if GUARDRAIL_BREACHED[metric](float(values[0])) else "ok"


def test_shipped_rules_equal_the_independent_references(build: Build, layer: SemanticLayer) -> None:
    rules = load_rules(SHIPPED_RULES, layer)
    evaluations = evaluate(layer, rules, build.as_of)
    assert {evaluation.rule.name for evaluation in evaluations} == {rule.name for rule in rules}
    for rule in rules:
        segment = rule.for_each.split("__")[-1] if rule.for_each else None
        series = reference_series(build, rule.metric, rule.grain, segment)
        latest = latest_complete(build.as_of, rule.grain)
        evaluated = {e.segment or "": e for e in evaluations if e.rule.name == rule.name}
        # Every segment with a value in the latest complete period is evaluated.
        present = {
            key[1] for key, value in series.items() if key[0] == latest and value is not None
        }
        assert present <= set(evaluated), (rule.name, present - set(evaluated))
        for segment_value, evaluation in evaluated.items():
            values = [
                series.get((shift(latest, rule.grain, -back), segment_value)) for back in range(13)
            ]
            expected = expected_state(rule.name, rule.metric, values)
            assert evaluation.outcome.state == expected, (evaluation.key, values[:3])
            if values[0] is None:
                assert evaluation.metric_value is None, evaluation.key
            else:
                assert evaluation.metric_value == pytest.approx(float(values[0]), rel=1e-9)
    if build.as_of == dt.date(2026, 6, 30) and build.seeds_dir == REPO_ROOT / "seeds":
        firing = {e.key for e in evaluations if e.outcome.state == "firing"}
        assert firing == SHIPPED_FIRING


def test_trailing_mean_condition_equals_the_trailing_metric(
    build: Build, layer: SemanticLayer, tmp_path: Path
) -> None:
    # Two ways to NRR's alert window: the condition over the monthly metric, and the metric.
    write_rules(
        tmp_path,
        """
        - name: by_condition
          metric: net_revenue_retention_monthly
          grain: month
          for_each: account_month__plan_tier
          condition: {type: trailing_mean, periods: 3, operator: "<", value: 1.0}
          severity: info
          owner: FIN
          channel: "#test"
        - name: by_metric
          metric: nrr_monthly_trailing_3m
          grain: month
          for_each: account_month__plan_tier
          condition: {type: threshold, operator: "<", value: 1.0}
          severity: info
          owner: FIN
          channel: "#test"
        """,
    )
    evaluations = evaluate(layer, load_rules(tmp_path, layer), build.as_of)
    by_condition = {e.segment: e.outcome for e in evaluations if e.rule.name == "by_condition"}
    by_metric = {e.segment: e.outcome for e in evaluations if e.rule.name == "by_metric"}
    compared = 0
    for segment, outcome in by_metric.items():
        if outcome.observed is None:
            continue
        assert by_condition[segment].state == outcome.state
        assert by_condition[segment].observed == pytest.approx(outcome.observed, rel=1e-9)
        compared += 1
    assert compared > 0


def write_rules(folder: Path, rules_yaml: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    body = textwrap.indent(textwrap.dedent(rules_yaml).strip("\n"), "  ")
    (folder / "rules.yml").write_text(f"alerts:\n{body}\n", encoding="utf-8")
    return folder


GOOD_RULE = {
    "name": "good_rule",
    "metric": "mrr",
    "grain": "month",
    "condition": {"type": "threshold", "operator": "<", "value": 1},
    "severity": "info",
    "owner": "FIN",
    "channel": "#test",
}
# Each bad rule: what it changes in a good rule, and what the message must say.
BAD_RULES = {
    "unknown metric": ({"metric": "no_such_metric"}, "unknown metric 'no_such_metric'"),
    "unknown grain": ({"grain": "fortnight"}, "grain 'fortnight' is not one of"),
    "grain the metric lacks": (
        {"metric": "tickets_per_account", "grain": "week"},
        "has no grain week",
    ),
    "unknown dimension": (
        {"for_each": "account_month__shoe_size"},
        "the semantic layer refuses its for_each / filter",
    ),
    "bad filter": (
        {"filter": "{{ Dimension('account_month__nope') }} = 'x'"},
        "the semantic layer refuses its for_each / filter",
    ),
    "text threshold": (
        {"condition": {"type": "threshold", "operator": "<", "value": "high"}},
        "value must be a number, got 'high'",
    ),
    "boolean threshold": (
        {"condition": {"type": "threshold", "operator": "<", "value": True}},
        "value must be a number, got True",
    ),
    "no meta threshold": ({"condition": {"type": "threshold"}}, "metric mrr has no meta threshold"),
    "unknown condition": ({"condition": {"type": "vibes"}}, "condition type 'vibes' is not one of"),
    "stray key": (
        {"condition": {"type": "threshold", "operator": "<", "value": 1, "periods": 3}},
        "condition threshold does not take periods",
    ),
    "unknown severity": ({"severity": "urgent"}, "severity 'urgent' is not one of"),
    "unknown owner": ({"owner": "Sales"}, "owner 'Sales' is not one of"),
}


@pytest.mark.parametrize("case", sorted(BAD_RULES))
def test_a_bad_rule_fails_naming_the_rule(any_build: Build, tmp_path: Path, case: str) -> None:
    change, message = BAD_RULES[case]
    bad = GOOD_RULE | {"name": "the_bad_rule"} | change
    (tmp_path / "rules.yml").write_text(yaml.safe_dump({"alerts": [GOOD_RULE, bad]}))
    layer = SemanticLayer.from_manifest(any_build.project_dir / "target" / MANIFEST_FILE)
    with pytest.raises(RuleError) as raised:
        load_rules(tmp_path, layer)
    lines = str(raised.value).splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("rules.yml: rule the_bad_rule: ")
    assert message in lines[0]


def test_every_bad_rule_is_listed_at_once(any_build: Build, tmp_path: Path) -> None:
    rules = [
        GOOD_RULE | {"name": f"bad_{i}"} | change
        for i, (change, _) in enumerate(BAD_RULES.values())
    ]
    (tmp_path / "rules.yml").write_text(yaml.safe_dump({"alerts": [*rules, GOOD_RULE, GOOD_RULE]}))
    layer = SemanticLayer.from_manifest(any_build.project_dir / "target" / MANIFEST_FILE)
    with pytest.raises(RuleError) as raised:
        load_rules(tmp_path, layer)
    lines = str(raised.value).splitlines()
    assert len(lines) == len(BAD_RULES) + 1
    assert lines[-1] == "rules.yml: rule good_rule: the name is used twice"


def test_a_window_longer_than_the_history_fails_before_anything_is_sent(
    build: Build, layer: SemanticLayer, tmp_path: Path
) -> None:
    write_rules(
        tmp_path / "rules",
        """
        - name: way_back
          metric: mrr
          grain: month
          condition: {type: anomaly, periods: 600, min_history: 500}
          severity: critical
          owner: FIN
          channel: "#test"
        """,
    )
    with (
        Receiver() as receiver,
        pytest.raises(RuleError, match="rule way_back: its window is 501 months"),
    ):
        run(
            layer,
            tmp_path / "rules",
            build.as_of,
            state_path=tmp_path / "state.json",
            report_path=tmp_path / "report.json",
            environ={"SAAS_KPIS_ALERTS_WEBHOOK_URL": receiver.url},
        )
    assert receiver.messages == []
    assert not (tmp_path / "state.json").exists()
    assert not (tmp_path / "report.json").exists()


class Receiver:
    """A real HTTP server on loopback that records webhook messages. `script` says what each
    successive request gets: an HTTP status, or "hang" (no answer for `hang_seconds`)."""

    def __init__(self, script: list[int | str] | None = None, hang_seconds: float = 3.0) -> None:
        self.script = list(script or [])
        self.hang_seconds = hang_seconds
        self.messages: list[dict] = []
        self.requests = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests += 1
                action = receiver.script.pop(0) if receiver.script else 200
                if action == "hang":
                    time.sleep(receiver.hang_seconds)
                    return
                if action == 200:
                    receiver.messages.append(json.loads(body))
                self.send_response(action)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/alerts"

    def __enter__(self) -> Receiver:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


TWO_RULES = """
- name: mrr_positive
  description: Fires on any data with revenue.
  metric: mrr
  grain: month
  condition: {{type: threshold, operator: ">", value: {threshold}}}
  severity: {severity}
  owner: FIN
  channel: "#revenue-metrics"
- name: paying_by_tier
  metric: paying_accounts
  grain: month
  for_each: account_month__plan_tier
  condition: {{type: threshold, operator: ">=", value: 1}}
  severity: info
  owner: CS
  channel: "#cs"
"""


def fire(tmp_path: Path, threshold: float = 0, severity: str = "critical") -> Path:
    return write_rules(tmp_path / "rules", TWO_RULES.format(threshold=threshold, severity=severity))


FAST = Delivery(timeout_seconds=0.5, attempts=3, backoff_seconds=0.05)


def run_at(
    build: Build,
    layer: SemanticLayer,
    tmp_path: Path,
    environ: dict[str, str],
    delivery: Delivery = FAST,
) -> RunResult:
    """One alerts run of the rules of `fire`, with its state and report in tmp_path."""
    return run(
        layer,
        tmp_path / "rules",
        build.as_of,
        state_path=tmp_path / "state.json",
        report_path=tmp_path / "report.json",
        environ=environ,
        delivery=delivery,
    )


def test_webhook_sends_once_then_resolves(
    build: Build, layer: SemanticLayer, tmp_path: Path
) -> None:
    fire(tmp_path)
    with Receiver() as default, Receiver() as cs:
        environ = {
            "SAAS_KPIS_ALERTS_WEBHOOK_URL": default.url,
            "SAAS_KPIS_ALERTS_WEBHOOK_CS": cs.url,
        }
        first = run_at(build, layer, tmp_path, environ)
        assert first.exit_code == CRITICAL_FIRING
        tiers = sorted(
            e.segment
            for e in first.evaluations
            if e.rule.name == "paying_by_tier" and e.outcome.state == "firing"
        )
        assert tiers, "no plan tier had a paying account"
        # One message per firing alert, each to its channel's webhook.
        assert [m["channel"] for m in default.messages] == ["#revenue-metrics"]
        assert "*CRITICAL* mrr_positive" in default.messages[0]["text"]
        assert (
            sorted(m["text"].split("\n")[0].split(" for plan_tier ")[1] for m in cs.messages)
            == tiers
        )
        report = json.loads((tmp_path / "report.json").read_text())
        assert report["critical_firing"] == 1
        assert all(item["delivered"] for item in report["notifications"])
        # Still firing: nothing is re-sent.
        second = run_at(build, layer, tmp_path, environ)
        assert second.sent == []
        assert second.exit_code == CRITICAL_FIRING
        assert len(default.messages) == 1
        # Cleared (the same rule with a threshold no MRR reaches): one resolved message.
        fire(tmp_path, threshold=1e15)
        third = run_at(build, layer, tmp_path, environ)
        assert third.exit_code == 0
        assert [m["text"].split("\n")[0] for m in default.messages[1:]] == [
            ":white_check_mark: *RESOLVED* mrr_positive"
        ]
        run_at(build, layer, tmp_path, environ)
        assert len(default.messages) == 2
        assert len(cs.messages) == len(tiers)


def test_webhook_retries_a_failing_receiver(
    build: Build, layer: SemanticLayer, tmp_path: Path
) -> None:
    fire(tmp_path, severity="warning")
    with Receiver(script=[503, 500]) as receiver:
        environ = {"SAAS_KPIS_ALERTS_WEBHOOK_REVENUE_METRICS": receiver.url}
        result = run_at(build, layer, tmp_path, environ)
    assert receiver.requests == 3
    assert [m["channel"] for m in receiver.messages] == ["#revenue-metrics"]
    revenue = [
        item
        for item in result.sent
        if item.notification.evaluation.rule.channel == "#revenue-metrics"
    ]
    assert [item.delivered for item in revenue] == [True]
    # #cs has no webhook configured: not sent, not remembered, not an error.
    assert all(
        not item.delivered and item.error is None for item in result.sent if item not in revenue
    )
    assert result.exit_code == 0


def test_webhook_hanging_receiver_times_out_and_nothing_is_lost(
    build: Build, layer: SemanticLayer, tmp_path: Path
) -> None:
    fire(tmp_path, severity="warning")
    state = tmp_path / "state.json"
    with Receiver(script=["hang", "hang"], hang_seconds=2) as receiver:
        environ = {"SAAS_KPIS_ALERTS_WEBHOOK_REVENUE_METRICS": receiver.url}
        slow = Delivery(timeout_seconds=0.3, attempts=2, backoff_seconds=0.05)
        started = time.monotonic()
        failed = run_at(build, layer, tmp_path, environ, slow)
        assert time.monotonic() - started < 10
        assert failed.exit_code == DELIVERY_FAILED
        [item] = [item for item in failed.sent if item.error]
        assert "no answer within 0.3 s" in item.error
        assert not state.exists() or "mrr_positive" not in json.loads(state.read_text())["sent"]
        report = json.loads((tmp_path / "report.json").read_text())
        assert [n["delivered"] for n in report["notifications"] if n["key"] == "mrr_positive"] == [
            False
        ]
        # The receiver is back: the next run delivers what was not delivered.
        recovered = run_at(build, layer, tmp_path, environ, slow)
    assert recovered.exit_code == 0
    assert [m["channel"] for m in receiver.messages] == ["#revenue-metrics"]
    assert "mrr_positive" in json.loads(state.read_text())["sent"]


def test_command_gates_on_critical_alerts(any_build: Build, tmp_path: Path) -> None:
    rules = fire(tmp_path)
    env = project_env(any_build.project_dir)

    def command(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [
                sys.executable,
                "-m",
                "saas_kpis.alerts",
                "--project-dir",
                str(any_build.project_dir),
                *args,
            ],
            env=env | {"SAAS_KPIS_ALERTS_WEBHOOK_URL": receiver.url},
            capture_output=True,
            text=True,
            check=False,
            cwd=REPO_ROOT,
        )

    with Receiver() as receiver:
        state = str(tmp_path / "state.json")
        fired = command(
            "--rules",
            str(rules),
            "--as-of",
            str(any_build.as_of),
            "--state",
            state,
            "--timeout",
            "2",
        )
        assert fired.returncode == CRITICAL_FIRING, fired.stderr
        assert "FIRING" in fired.stdout
        assert any(m["channel"] == "#revenue-metrics" for m in receiver.messages)
        quiet = command(
            "--rules",
            str(fire(tmp_path, threshold=1e15)),
            "--as-of",
            str(any_build.as_of),
            "--state",
            state,
            "--no-send",
        )
        assert quiet.returncode == 0, quiet.stderr
        wrong_date = command(
            "--rules", str(rules), "--as-of", str(any_build.as_of - dt.timedelta(days=70))
        )
        assert wrong_date.returncode == 2
        assert "does not match the warehouse" in wrong_date.stderr
    report = json.loads((any_build.project_dir / "target" / "alerts" / "report.json").read_text())
    assert report["as_of_date"] == str(any_build.as_of)
