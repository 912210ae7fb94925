"""Review packs on the shipped seeds: the metric set of each cadence against the semantic-model
YAML, the values against the independent references, the fired alerts against the ones the
shipped seeds deserve, a resolved alert, the written files and the command."""

from __future__ import annotations

import dataclasses
import datetime as dt
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml
from conftest import Build, build_scenario
from reference_revenue import revenue_reference
from reference_support import support_reference
from test_alerts import SHIPPED_FIRING

from saas_kpis.alerts.rules import load_rules
from saas_kpis.drivers.tree import TREE_PATH, load_tree
from saas_kpis.project import REPO_ROOT, project_env
from saas_kpis.readings import Reading, Threshold
from saas_kpis.reviews import render
from saas_kpis.reviews.__main__ import write
from saas_kpis.reviews.pack import (
    MetricLine,
    Pack,
    alert_changes,
    assemble,
    cadence_metrics,
    owner_actions,
    read_lines,
    reading_grain,
)
from saas_kpis.semantic import Metric

SHIPPED = "shipped"
MAY, APRIL = dt.date(2026, 5, 1), dt.date(2026, 4, 1)


def declared_cadences() -> dict[str, set[str]]:
    """Metric names per review_cadence, read from the semantic-model YAML files themselves."""
    cadences: dict[str, set[str]] = {}
    for path in sorted((REPO_ROOT / "semantic_models").rglob("*.yml")):
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for metric in document.get("metrics") or []:
            meta = (metric.get("config") or {}).get("meta") or metric.get("meta") or {}
            cadences.setdefault(meta.get("review_cadence"), set()).add(metric["name"])
    return cadences


@pytest.fixture(scope="module")
def shipped(tmp_path_factory: pytest.TempPathFactory) -> Build:
    return build_scenario(SHIPPED, tmp_path_factory)


@pytest.fixture(scope="module")
def monthly(shipped: Build) -> Pack:
    """The monthly pack, assembled once; the layer is closed again so that the command can
    open the warehouse."""
    layer = shipped.open_layer()
    try:
        tree = load_tree({m.name: m.meta for m in layer.metrics()}, shipped.project_dir / TREE_PATH)
        rules = load_rules(shipped.project_dir / "alerts", layer)
        return assemble(layer, "monthly", shipped.as_of, rules=rules, tree=tree)
    finally:
        layer.close()


def test_each_cadence_has_the_metrics_its_yaml_declares(shipped: Build, monthly: Pack) -> None:
    declared = declared_cadences()
    assert {line.name for line in monthly.metrics} == declared["monthly"]
    layer = shipped.open_layer()
    try:
        for cadence in ("weekly", "monthly", "quarterly"):
            names = {metric.name for metric in cadence_metrics(layer, cadence)}
            assert names == declared[cadence], cadence
    finally:
        layer.close()


def test_values_equal_the_independent_references(shipped: Build, monthly: Pack) -> None:
    revenue = revenue_reference(shipped.seeds_dir, shipped.as_of).monthly[None]
    support = support_reference(shipped.seeds_dir, shipped.as_of).series["month"][None]
    lines = {line.name: line for line in monthly.metrics}
    assert monthly.period == MAY and monthly.period_label == "2026-05"
    for metric, series in (
        ("mrr", revenue["mrr"]),
        ("net_revenue_retention", revenue["net_revenue_retention"]),
        ("tickets_per_account", support["tickets_per_account"]),
        ("nps", support["nps"]),
    ):
        line = lines[metric]
        for observed, month in ((line.value, MAY), (line.previous, APRIL)):
            expected = series.get((month, ""))
            if expected is None:
                assert observed is None, (metric, month)
            else:
                assert observed == pytest.approx(float(expected), rel=1e-9), (metric, month)
    tickets = lines["tickets_per_account"]
    assert tickets.tier == "guardrail" and tickets.owner == "CS"
    assert tickets.healthy is (float(support["tickets_per_account"][(MAY, "")]) < 2.5)
    assert lines["net_revenue_retention"].tier == "primary"
    # The primary metric's drivers, from explain at the latest complete month.
    explanation = monthly.explanation
    assert explanation is not None and explanation.metric == "net_revenue_retention"
    assert explanation.value_current == pytest.approx(
        float(revenue["net_revenue_retention"][(MAY, "")]), rel=1e-9
    )


def test_the_monthly_pack_fires_what_the_shipped_seeds_deserve(monthly: Pack) -> None:
    assert {evaluation.key for evaluation in monthly.fired} == SHIPPED_FIRING
    actions = {action.owner: action for action in monthly.actions}
    assert {e.key for e in actions["CS"].alerts} == SHIPPED_FIRING
    assert all(action.empty for owner, action in actions.items() if owner != "CS")


def test_a_resolved_alert_is_listed(shipped: Build, monthly: Pack, tmp_path: Path) -> None:
    mrr = revenue_reference(shipped.seeds_dir, shipped.as_of).monthly[None]["mrr"]
    april, may = float(mrr[(APRIL, "")]), float(mrr[(MAY, "")])
    # Between April's and May's MRR: breached in April only, whichever way MRR moved.
    operator = "<" if april < may else ">"
    (tmp_path / "rules.yml").write_text(
        textwrap.dedent(
            f"""\
            alerts:
              - name: mrr_crossed
                metric: mrr
                grain: month
                condition: {{type: threshold, operator: "{operator}", value: {(april + may) / 2}}}
                severity: warning
                owner: FIN
                channel: "#test"
              - name: mrr_positive
                metric: mrr
                grain: month
                condition: {{type: threshold, operator: ">", value: 0}}
                severity: info
                owner: FIN
                channel: "#test"
            """
        ),
        encoding="utf-8",
    )
    layer = shipped.open_layer()
    try:
        fired, resolved = alert_changes(layer, load_rules(tmp_path, layer), "month", shipped.as_of)
    finally:
        layer.close()
    assert [e.key for e in fired] == ["mrr_positive"]
    assert [item.before.key for item in resolved] == ["mrr_crossed"]
    assert resolved[0].before.period == APRIL and resolved[0].state_now == "ok"
    assert resolved[0].before.metric_value == pytest.approx(april, rel=1e-9)
    text = render.markdown(dataclasses.replace(monthly, resolved=resolved))
    resolved_section = text.split("### Resolved since 2026-04 (1)")[1].split("## Why")[0]
    assert "| mrr_crossed | all | warning |" in resolved_section


def test_the_files_hold_the_values(shipped: Build, monthly: Pack, tmp_path: Path) -> None:
    markdown, page = write(monthly, tmp_path / "reviews")
    assert (markdown.name, page.name) == ("monthly-2026-05.md", "monthly-2026-05.html")
    revenue = revenue_reference(shipped.seeds_dir, shipped.as_of).monthly[None]
    mrr = f"${float(revenue['mrr'][(MAY, '')]):,.2f}"
    nrr = f"{float(revenue['net_revenue_retention'][(MAY, '')]) * 100:.2f} %"
    md, html = markdown.read_text(encoding="utf-8"), page.read_text(encoding="utf-8")
    for text in (md, html):
        assert mrr in text and nrr in text
        assert "as_of_date 2026-06-30" in text
        for key in SHIPPED_FIRING:
            assert key.split("[")[1].rstrip("]") in text
        assert "nothing to act on" in text
        assert "Why did Net revenue retention (12 months) move?" in text
    assert "| nps_guardrail_by_industry | fintech | warning |" in md
    # Self-contained and escaped: no script, no external resource, conditions escaped.
    assert "<script" not in html and "http" not in html
    assert "&lt;= 35" in html and "<= 35" not in html


def test_a_metric_without_the_cadence_grain_is_read_at_a_coarser_one(shipped: Build) -> None:
    month_only = Metric("m", "M", None, "SIMPLE", ("MONTH", "QUARTER", "YEAR"), False)
    assert reading_grain(month_only, "week") == "month"
    assert reading_grain(month_only, "quarter") == "quarter"
    layer = shipped.open_layer()
    try:
        metric = next(m for m in layer.metrics() if m.name == "core_feature_adoption_rate")
        (line,) = read_lines(layer, [metric], "week", shipped.as_of)
    finally:
        layer.close()
    assert (line.grain, line.period_label) == ("month", "2026-05")
    assert line.grain_note == "read by month: the metric has no week grain"


def test_a_missed_threshold_is_an_action_for_its_owner() -> None:
    line = MetricLine(
        name="nps",
        label="NPS",
        tier="guardrail",
        owner="CS",
        unit="score -100..100",
        reading=Reading("nps", "month", MAY, {MAY: 30.0, APRIL: 40.0}),
        threshold=Threshold(">", 35),
    )
    actions = {action.owner: action for action in owner_actions([line], [])}
    assert actions["CS"].missed == (line,)
    assert all(action.empty for owner, action in actions.items() if owner != "CS")
    assert render.status_text(line) == "MISSED"


def run_command(build: Build, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "saas_kpis.reviews", "--project-dir", str(build.project_dir), *args],
        env=project_env(build.project_dir),
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO_ROOT,
    )


def test_the_command_writes_the_weekly_pack(shipped: Build, monthly: Pack, tmp_path: Path) -> None:
    completed = run_command(shipped, "--cadence", "weekly", "--out", str(tmp_path))
    assert completed.returncode == 0, completed.stderr
    # 2026-06-30 is in ISO week 27, so week 26 is the latest complete one.
    paths = [Path(line) for line in completed.stdout.split()]
    assert [path.name for path in paths] == ["weekly-2026-W26.md", "weekly-2026-W26.html"]
    text = paths[0].read_text(encoding="utf-8")
    for name in declared_cadences()["weekly"]:
        assert f"({name})" in text, name
    support = support_reference(shipped.seeds_dir, shipped.as_of).series["week"][None]
    p95 = float(support["api_latency_p95_ms"][(dt.date(2026, 6, 22), "")])
    assert f"| {p95:,.2f} |" in text


def test_a_bad_cadence_fails_clearly(shipped: Build) -> None:
    completed = run_command(shipped, "--cadence", "daily")
    assert completed.returncode == 2
    assert "invalid choice: 'daily'" in completed.stderr
    assert "weekly" in completed.stderr
