"""Each alert condition on hand-made metric series: boundaries, NULLs, partial periods, short
history, and the state that dedupes firing alerts and resolves cleared ones."""

from __future__ import annotations

import datetime as dt
import math

import pytest

from saas_kpis.alerts.conditions import FIRING, NO_DATA, OK, Outcome, decide, window
from saas_kpis.alerts.evaluation import Evaluation, check_history
from saas_kpis.alerts.rules import Comparison, Condition, Rule, RuleError
from saas_kpis.alerts.state import RESOLVED, AlertState, StateError
from saas_kpis.periods import latest_complete, year_earlier

MAY = dt.date(2026, 5, 1)


def months(*values: float | None, last: dt.date = MAY) -> dict[dt.date, float | None]:
    """A monthly series ending at `last`, oldest value first."""
    series = {}
    for back, value in enumerate(reversed(values)):
        index = last.year * 12 + last.month - 1 - back
        series[dt.date(index // 12, index % 12 + 1, 1)] = value
    return series


def threshold(operator: str, value: float) -> Condition:
    return Condition("threshold", Comparison(operator, value))


@pytest.mark.parametrize(
    ("operator", "value", "state"),
    [("<", 2.5, OK), ("<=", 2.5, FIRING), (">", 2.5, OK), (">=", 2.5, FIRING), ("<", 2.6, FIRING)],
)
def test_threshold_exactly_at_the_boundary(operator: str, value: float, state: str) -> None:
    outcome = decide(threshold(operator, value), months(9.0, 2.5), MAY, "month")
    assert outcome == Outcome(state, 2.5)


def test_threshold_null_or_missing_latest_period_has_no_data() -> None:
    assert decide(threshold("<", 1), months(0.5, None), MAY, "month").state == NO_DATA
    assert decide(threshold("<", 1), months(0.5, last=dt.date(2026, 4, 1)), MAY, "month").state == (
        NO_DATA
    )


def test_latest_complete_period_skips_the_partial_one() -> None:
    # The period that contains as_of_date is partial, also on its last day (the spec's rule).
    assert latest_complete(dt.date(2026, 6, 30), "month") == MAY
    assert latest_complete(dt.date(2026, 6, 1), "month") == MAY
    assert latest_complete(dt.date(2026, 6, 28), "week") == dt.date(2026, 6, 15)  # a Sunday
    assert latest_complete(dt.date(2026, 6, 29), "week") == dt.date(2026, 6, 22)  # a Monday
    assert latest_complete(dt.date(2026, 1, 15), "quarter") == dt.date(2025, 10, 1)
    assert latest_complete(dt.date(2026, 1, 15), "year") == dt.date(2025, 1, 1)
    # A partial June value, however bad, is never read.
    series = months(1.1, 0.2, last=dt.date(2026, 6, 1))
    assert decide(threshold("<", 1), series, MAY, "month") == Outcome(OK, 1.1)


def test_trailing_mean_and_a_null_in_the_window() -> None:
    condition = Condition("trailing_mean", Comparison("<", 1.0), periods=3)
    assert decide(condition, months(0.5, 1.0, 1.0, 0.97), MAY, "month") == Outcome(
        FIRING, pytest.approx(0.99)
    )
    assert decide(condition, months(0.5, 1.0, 1.03, 0.97), MAY, "month").state == OK
    assert decide(condition, months(1.0, None, 0.9), MAY, "month").state == NO_DATA
    assert decide(condition, months(0.9, 0.9), MAY, "month").state == NO_DATA


def test_consecutive_on_values_and_on_changes() -> None:
    on_value = Condition("consecutive", Comparison(">=", 2.5), periods=2)
    assert decide(on_value, months(1, 2.5, 2.6), MAY, "month").state == FIRING
    assert decide(on_value, months(3, 2.4, 2.6), MAY, "month").state == OK
    rising = Condition("consecutive", Comparison(">", 0), periods=2, of="change")
    assert decide(rising, months(0.01, 0.02, 0.03), MAY, "month") == Outcome(
        FIRING, pytest.approx(0.01)
    )
    # Flat is not rising: the boundary.
    assert decide(rising, months(0.01, 0.02, 0.02), MAY, "month").state == OK
    assert decide(rising, months(None, 0.02, 0.03), MAY, "month").state == NO_DATA


def test_change_absolute_relative_previous_year() -> None:
    drop = Condition("change", Comparison("<=", -0.1), kind="relative")
    assert decide(drop, months(100.0, 90.0), MAY, "month") == Outcome(FIRING, pytest.approx(-0.1))
    assert decide(drop, months(100.0, 91.0), MAY, "month").state == OK
    # Floating-point noise at the boundary counts as the boundary.
    assert decide(threshold(">=", 0.3), months(0.1 + 0.2), MAY, "month").state == FIRING
    assert decide(threshold(">", 0.3), months(0.1 + 0.2), MAY, "month").state == OK
    # A relative change over a base ≤ 0 is NULL (the spec's growth-rate rule).
    assert decide(drop, months(0.0, 5.0), MAY, "month").state == NO_DATA
    assert decide(drop, months(-5.0, 5.0), MAY, "month").state == NO_DATA
    up = Condition("change", Comparison(">", 10), compare_to="previous_year")
    series = months(100.0, *[0.0] * 11, 111.0)
    assert decide(up, series, MAY, "month") == Outcome(FIRING, 11.0)
    assert decide(up, months(111.0), MAY, "month").state == NO_DATA


def test_year_earlier_periods() -> None:
    assert year_earlier(dt.date(2026, 5, 1), "month") == dt.date(2025, 5, 1)
    assert year_earlier(dt.date(2026, 4, 1), "quarter") == dt.date(2025, 4, 1)
    assert year_earlier(dt.date(2026, 6, 22), "week") == dt.date(2025, 6, 23)  # ISO week 26
    assert year_earlier(dt.date(2026, 1, 5), "week") == dt.date(2025, 1, 6)  # W02
    # ISO week 53 of 2026 has no counterpart in 2025, which has 52 weeks.
    assert year_earlier(dt.date(2026, 12, 28), "week") is None
    assert year_earlier(dt.date(2024, 2, 29), "day") is None


def test_anomaly_robust_score() -> None:
    condition = Condition("anomaly", periods=6, min_history=4, score=3.5)
    history = [10.0, 11.0, 9.0, 10.0, 12.0, 8.0]  # median 10, MAD 1
    spike = decide(condition, months(*history, 15.5), MAY, "month")
    assert spike.state == FIRING
    assert spike.observed == pytest.approx(5.5 / 1.4826)
    assert decide(condition, months(*history, 15.0), MAY, "month").state == OK  # score 3.37
    assert decide(condition, months(*history, 4.5), MAY, "month").state == FIRING
    up_only = Condition("anomaly", periods=6, min_history=4, score=3.5, direction="up")
    assert decide(up_only, months(*history, 4.5), MAY, "month").state == OK
    # History older than `periods` is not read; NULL months do not count as history.
    assert decide(condition, months(100.0, *history, 15.5), MAY, "month").state == FIRING
    short = decide(condition, months(10.0, None, 11.0, None, 9.0, None, 15.5), MAY, "month")
    assert short.state == NO_DATA
    assert "3 of the 4" in short.detail


def test_anomaly_on_a_flat_history() -> None:
    condition = Condition("anomaly", periods=4, min_history=4, score=3.5)
    assert decide(condition, months(5.0, 5.0, 5.0, 5.0, 5.0), MAY, "month") == Outcome(
        OK, 0.0, "value 5, median 5, MAD 0"
    )
    moved = decide(condition, months(5.0, 5.0, 5.0, 5.0, 5.01), MAY, "month")
    assert moved.state == FIRING
    assert math.isinf(moved.observed)


def test_windows() -> None:
    assert window(threshold("<", 1), "month") == 1
    assert window(Condition("trailing_mean", Comparison("<", 1), periods=3), "month") == 3
    rising = Condition("consecutive", Comparison(">", 0), periods=2, of="change")
    assert window(rising, "month") == 3
    yearly = Condition("change", Comparison(">", 0), compare_to="previous_year")
    assert window(yearly, "month") == 13
    assert window(yearly, "week") == 54
    assert window(Condition("anomaly", periods=12, min_history=6, score=3.5), "month") == 7


def rule(name: str, condition: Condition, for_each: str | None = None) -> Rule:
    return Rule(
        name=name,
        description="",
        metric="mrr",
        grain="month",
        condition=condition,
        severity="critical",
        owner="FIN",
        channel="#revenue-metrics",
        for_each=for_each,
        filter=None,
        source="test.yml",
    )


def test_a_window_longer_than_the_history_fails_naming_the_rule() -> None:
    yearly = rule("yearly", Condition("change", Comparison(">", 0), compare_to="previous_year"))
    fine = rule("fine", threshold("<", 1))
    fetched = {"yearly": {None: months(*[1.0] * 12)}, "fine": {None: months(1.0)}}
    with pytest.raises(RuleError) as raised:
        check_history([yearly, fine], fetched, dt.date(2026, 6, 30))
    message = str(raised.value)
    assert "rule yearly" in message
    assert "13 months" in message
    assert "12 complete month(s)" in message
    assert "fine" not in message
    fetched["yearly"] = {None: months(*[1.0] * 13)}
    check_history([yearly, fine], fetched, dt.date(2026, 6, 30))


def test_a_segment_with_a_short_history_has_no_data_but_the_rule_runs() -> None:
    yearly = rule("yearly", Condition("change", Comparison(">", 0)), for_each="tier")
    fetched = {"yearly": {"pro": months(*[1.0] * 13), "new": months(2.0)}}
    check_history([yearly], fetched, dt.date(2026, 6, 30))
    assert decide(yearly.condition, fetched["yearly"]["new"], MAY, "month").state == NO_DATA


def evaluation(name: str, state: str, segment: str | None = None) -> Evaluation:
    return Evaluation(rule(name, threshold("<", 1)), segment, MAY, 0.5, Outcome(state, 0.5))


def test_state_sends_once_and_resolves_once(tmp_path) -> None:
    path = tmp_path / "state.json"
    state = AlertState.load(path)
    first = [evaluation("a", FIRING), evaluation("b", FIRING, "pro"), evaluation("c", OK)]
    planned = state.plan(first)
    assert [(item.kind, item.evaluation.key) for item in planned] == [
        (FIRING, "a"),
        (FIRING, "b[pro]"),
    ]
    for item in planned:
        state.record(item)
    # Still firing: nothing is sent again, also after reloading the file.
    state = AlertState.load(path)
    assert state.plan(first) == []
    # "a" cleared, "b[pro]" has no data (unknown: kept), "c" still ok.
    second = [evaluation("a", OK), evaluation("b", NO_DATA, "pro"), evaluation("c", OK)]
    planned = state.plan(second)
    assert [(item.kind, item.evaluation.key) for item in planned] == [(RESOLVED, "a")]
    state.record(planned[0])
    assert set(AlertState.load(path).sent) == {"b[pro]"}
    assert AlertState.load(path).plan(second) == []
    # A rule removed from the YAML leaves the state without a message.
    assert state.forget_removed_rules({"a", "c"}) == ["b[pro]"]
    assert AlertState.load(path).sent == {}


def test_an_unreadable_state_file_is_named(tmp_path) -> None:
    path = tmp_path / "state.json"
    path.write_text("{not json")
    with pytest.raises(StateError, match=r"state\.json is unreadable"):
        AlertState.load(path)
