"""Account early warnings against the independent reference (reference_early_warnings).

Mart: every row and every column of fct_account_early_warnings. Semantic layer:
`at_risk_accounts`, `mrr_at_risk` and the five per-signal counts at day grain (the as_of_date),
ungrouped and by each segment, and ungrouped at month grain (a snapshot: the month shows its
latest as_of_date), through the project's semantic query layer. Comparison rule: on the union of
keys; a key that one side lacks is 0 (every metric is a count or sum filled with 0). Every
scenario must have at-risk accounts, and every signal must fire in some scenario, so that no
comparison is vacuous.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections import defaultdict
from fractions import Fraction

import pytest
import yaml
from comparison import Comparison, compare_mart, compare_series, segment_column
from conftest import SCENARIOS, Build, build_scenario
from reference_early_warnings import (
    API_LATENCY_P95_GUARDRAIL_MS,
    COLUMNS,
    SIGNALS,
    EarlyWarningReference,
    early_warning_reference,
    is_api_breach,
)
from reference_revenue import SEGMENTS, Segment

from saas_kpis.semantic import QueryRequest

METRICS = {
    "at_risk_accounts": "is_at_risk",
    "mrr_at_risk": None,
    "early_warning_low_adoption_accounts": "is_low_adoption",
    "early_warning_tickets_rising_accounts": "is_tickets_rising",
    "early_warning_usage_drop_accounts": "is_usage_drop",
    "early_warning_csat_falling_accounts": "is_csat_falling",
    "early_warning_api_guardrail_breach_accounts": "is_api_guardrail_breach",
}
# NULL without a rated ticket / a request: required to be non-NULL somewhere by
# test_at_risk_accounts_in_every_scenario_and_every_signal_somewhere instead.
NULLABLE_COLUMNS = (
    "latest_mean_csat_score",
    "previous_mean_csat_score",
    "latest_api_latency_p95_ms",
    "latest_api_error_rate",
)
Key = tuple[dt.date, str]


def reference_for(build: Build) -> EarlyWarningReference:
    return early_warning_reference(build.seeds_dir, build.as_of)


def expected_metrics(
    reference: EarlyWarningReference, period: dt.date, segment: Segment
) -> dict[str, dict[Key, Fraction]]:
    """Each metric by (period, segment value) over the reference rows."""
    expected: dict[str, dict[Key, Fraction]] = {name: defaultdict(Fraction) for name in METRICS}
    for account_id, row in reference.rows.items():
        key = (period, reference.segments[account_id][segment] if segment else "")
        for name, flag in METRICS.items():
            if flag is None:
                expected[name][key] += row.mrr_usd if row.is_at_risk else 0
            else:
                expected[name][key] += int(getattr(row, flag))
    return {name: dict(values) for name, values in expected.items()}


def test_early_warnings_mart(build: Build) -> None:
    expected = {key: row.as_row() for key, row in reference_for(build).rows.items()}
    compare_mart(
        build,
        "fct_account_early_warnings",
        ("account_id",),
        COLUMNS,
        expected,
        labels=[column for column in COLUMNS if column not in NULLABLE_COLUMNS],
    )


QUERIES = (("day", None), ("month", None), *(("day", segment) for segment in SEGMENTS))


def as_date(value: dt.date | dt.datetime) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value


def test_early_warning_metrics_from_semantic_layer(build: Build) -> None:
    """Every metric by each (grain, segment) of QUERIES, through one warm semantic layer (a
    cold `mf query` per query costs seconds; test_semantic_layer.py checks that the layer
    answers as `mf query` does)."""
    reference = reference_for(build)
    layer = build.open_layer()
    comparison = Comparison()
    try:
        for grain, segment in QUERIES:
            time_column = f"metric_time__{grain}"
            group_by = (time_column, *segment_column(segment))
            request = QueryRequest(metrics=tuple(METRICS), group_by=group_by)
            rows = layer.query(request).to_pylist()
            keys = [
                (as_date(row[time_column]), row[group_by[-1]] if segment else "") for row in rows
            ]
            assert len(keys) == len(set(keys)), f"duplicate rows by {group_by}"
            period = build.as_of if grain == "day" else build.as_of.replace(day=1)
            expected = expected_metrics(reference, period, segment)
            for metric in METRICS:
                actual = {key: row[metric] for key, row in zip(keys, rows, strict=True)}
                compare_series(
                    comparison,
                    f"{metric} by {group_by}",
                    actual,
                    expected[metric],
                    lambda key: True,
                    additive=True,
                )
    finally:
        layer.close()
    comparison.assert_ok(
        f"{metric} by {(f'metric_time__{grain}', *segment_column(segment))}"
        for grain, segment in QUERIES
        for metric in METRICS
    )


@pytest.mark.skipif(
    bool(os.environ.get("SAAS_KPIS_SCENARIOS")),
    reason="random property draws may be too small; the default scenarios guard this",
)
def test_at_risk_accounts_in_every_scenario_and_every_signal_somewhere(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """Not vacuous: each scenario has at-risk accounts and a non-NULL value in each nullable
    column; each signal fires, and stays off, for some account across the scenarios."""
    fired: dict[str, set[bool]] = defaultdict(set)
    for name in sorted(SCENARIOS):
        build = build_scenario(name, tmp_path_factory)
        rows = [row.as_row() for row in reference_for(build).rows.values()]
        assert any(row["is_at_risk"] for row in rows), f"{name}: no account at risk"
        for column in NULLABLE_COLUMNS:
            assert any(row[column] is not None for row in rows), f"{name}: {column} all NULL"
        for signal in SIGNALS:
            fired[signal] |= {row[signal] for row in rows}
    missing = [signal for signal in SIGNALS if fired[signal] != {True, False}]
    assert not missing, f"signals that never fire (or always fire) in any scenario: {missing}"


def test_api_latency_var_equals_the_guardrail(build: Build) -> None:
    """var early_warning_api_latency_p95_ms is the threshold of metric api_latency_p95_ms."""
    project = yaml.safe_load((build.project_dir / "dbt_project.yml").read_text())
    manifest = json.loads((build.project_dir / "target" / "semantic_manifest.json").read_text())
    (metric,) = [item for item in manifest["metrics"] if item["name"] == "api_latency_p95_ms"]
    threshold = metric["config"]["meta"]["threshold"]
    assert threshold["operator"] == "<"
    assert project["vars"]["early_warning_api_latency_p95_ms"] == threshold["value"]
    assert threshold["value"] == API_LATENCY_P95_GUARDRAIL_MS


def test_api_breach_boundaries() -> None:
    assert is_api_breach(Fraction(800), Fraction(0))
    assert not is_api_breach(Fraction(7999, 10), Fraction(0))
    assert is_api_breach(Fraction(0), Fraction(1, 20))
    assert not is_api_breach(Fraction(0), Fraction(49, 1000))
    assert not is_api_breach(None, None)
