"""The decomposition arithmetic of `saas_kpis.drivers.decompose` on hand-made numbers.

Exact additivity (the components add up to the change), the symmetric product split, the mix and
rate effects of a ratio over segments, segments that appear or disappear between the two periods,
zero denominators and NULL inputs.
"""

from __future__ import annotations

import pytest

from saas_kpis.drivers import decompose as dec
from saas_kpis.drivers.explain import ExplainError, _linear, parse_period, shift


def test_terms_add_up_with_signs() -> None:
    # NRR_m = 1 + e/s - c/s - h/s with s0 = 100, e = 10 -> 5, c = 2 -> 4, h = 3 -> 1
    nrr0, nrr1 = 1 + (10 - 2 - 3) / 100, 1 + (5 - 4 - 1) / 200
    d = dec.terms(
        "nrr",
        nrr1 - nrr0,
        [("e", 0.10, 0.025, 1), ("c", 0.02, 0.02, -1), ("h", 0.03, 0.005, -1)],
    )
    assert [c.contribution for c in d.components] == pytest.approx([-0.075, 0.0, 0.025])
    assert d.components[1].base == -0.02  # the signed term
    assert d.residual == pytest.approx(0.0, abs=1e-15)


def test_terms_refuse_a_null_term() -> None:
    with pytest.raises(dec.UndefinedValue, match="e is NULL"):
        dec.terms("x", 1.0, [("e", None, 0.5, 1)])


def test_product_split_is_exact_and_symmetric() -> None:
    # ARR = 12 x accounts x ARPA: 10 x 100 -> 12 x 150
    d = dec.product("arr", 12 * (12 * 150 - 10 * 100), ("n", 10, 12), ("arpa", 100, 150), 12)
    accounts, arpa = (c.contribution for c in d.components)
    assert accounts == 12 * 2 * (100 + 150) / 2
    assert arpa == 12 * 50 * (10 + 12) / 2
    assert d.residual == 0
    swapped = dec.product("arr", d.total_change, ("arpa", 100, 150), ("n", 10, 12), 12)
    assert [c.contribution for c in swapped.components] == [arpa, accounts]


def test_product_with_a_zero_factor() -> None:
    d = dec.product("p", 6.0, ("a", 0.0, 2.0), ("b", 5.0, 3.0))
    assert [c.contribution for c in d.components] == [8.0, -2.0]
    assert d.residual == 0


def test_additive_segments_with_appearing_and_disappearing_segments() -> None:
    d = dec.additive_segments(
        "tier", 5.0, {"a": (10.0, 12.0), "b": (None, 7.0), "c": (4.0, None), "d": (0.0, 0.0)}
    )
    by = {c.label: c for c in d.components}
    assert by["a"].contribution == 2 and by["b"].contribution == 7 and by["c"].contribution == -4
    assert by["b"].note == "appears" and by["c"].note == "disappears" and by["d"].note == ""
    assert d.residual == 0


def test_distinct_counts_show_the_overlap_as_a_component() -> None:
    d = dec.additive_segments("tier", 1.0, {"a": (3.0, 4.0), "b": (2.0, 3.0)}, overlap=True)
    assert d.components[-1].label == "(counted in several segments)"
    assert d.components[-1].contribution == -1.0
    assert d.residual == 0


def ratio_total(cells: dict, period: int) -> float:
    numerator = sum(cell[2 * period] for cell in cells.values())
    return numerator / sum(cell[2 * period + 1] for cell in cells.values())


def test_ratio_segments_mix_and_rate() -> None:
    cells = {"a": (50.0, 100.0, 90.0, 100.0), "b": (30.0, 100.0, 60.0, 300.0)}
    total = ratio_total(cells, 1) - ratio_total(cells, 0)
    d = dec.ratio_segments("tier", total, cells)
    a, b = d.components
    # weights 1/2, 1/2 -> 1/4, 3/4; rates a 0.5 -> 0.9, b 0.3 -> 0.2
    assert a.mix == pytest.approx(-0.25 * 0.7) and a.rate == pytest.approx(0.375 * 0.4)
    assert b.mix == pytest.approx(0.25 * 0.25) and b.rate == pytest.approx(0.625 * -0.1)
    assert d.residual == pytest.approx(0.0, abs=1e-15)


def test_ratio_segments_that_appear_disappear_or_never_have_a_denominator() -> None:
    cells = {
        "new": (None, None, 8.0, 10.0),  # appears: base rate := 0.8
        "gone": (5.0, 10.0, 0.0, 0.0),  # disappears: current rate := 0.5
        "stays": (20.0, 40.0, 30.0, 30.0),
        "never": (0.0, 0.0, None, None),
    }
    total = ratio_total({k: tuple(v or 0 for v in c) for k, c in cells.items()}, 1) - ratio_total(
        {k: tuple(v or 0 for v in c) for k, c in cells.items()}, 0
    )
    d = dec.ratio_segments("tier", total, cells)
    by = {c.label: c for c in d.components}
    assert by["new"].base == by["new"].current == 0.8 and by["new"].rate == 0
    assert by["new"].note.startswith("appears") and by["gone"].note.startswith("disappears")
    assert by["gone"].base == by["gone"].current == 0.5 and by["gone"].rate == 0
    assert by["never"].contribution == 0 and by["never"].note == "no denominator in either period"
    assert d.residual == pytest.approx(0.0, abs=1e-15)
    assert sum(c.weight_base or 0 for c in d.components) == pytest.approx(1)
    assert sum(c.weight_current or 0 for c in d.components) == pytest.approx(1)


def test_a_numerator_without_denominator_is_an_effect_of_its_own() -> None:
    # tickets per paying account: tier "none" has tickets but no paying accounts
    cells = {"pro": (10.0, 5.0, 12.0, 6.0), "none": (3.0, 0.0, 1.0, 0.0), "new": (0, 0, 2.0, 0)}
    total = (12 + 1 + 2) / 6 - (10 + 3) / 5
    d = dec.ratio_segments("tier", total, cells)
    by = {c.label: c for c in d.components}
    assert by["none"].contribution == pytest.approx(1 / 6 - 3 / 5)
    assert by["new"].contribution == pytest.approx(2 / 6)
    assert "numerator without denominator" in by["none"].note
    assert by["pro"].contribution == pytest.approx(0.0)  # rate 2 in both periods, weight 1
    assert d.residual == pytest.approx(0.0, abs=1e-15)
    assert d.notes


def test_a_zero_total_denominator_is_undefined_not_a_crash() -> None:
    with pytest.raises(dec.UndefinedValue, match="denominator is 0"):
        dec.ratio_segments("tier", None, {"a": (0.0, 0.0, 1.0, 2.0)})


def test_segment_values_are_not_claimed_to_add_up() -> None:
    d = dec.segment_values("tier", 3.0, {"a": (1.0, 2.0), "b": (None, 5.0)}, "a percentile")
    assert not d.exact and d.residual is None
    assert [c.contribution for c in d.components] == [1.0, 0.0]


@pytest.mark.parametrize(
    ("text", "grain", "expected"),
    [
        ("2026-05", "month", "2026-05-01"),
        ("2026-05-17", "month", "2026-05-01"),
        ("2026-05-17", "week", "2026-05-11"),
        ("2026-01-01", "week", "2025-12-29"),  # ISO week 1 of 2026 starts in 2025
    ],
)
def test_periods(text: str, grain: str, expected: str) -> None:
    assert parse_period(text, grain).isoformat() == expected


def test_period_errors_and_shifts() -> None:
    with pytest.raises(ExplainError):
        parse_period("2026-13", "month")
    with pytest.raises(ExplainError, match="give a day"):
        parse_period("2026-05", "week")
    assert shift(parse_period("2026-01", "month"), "month", -1).isoformat() == "2025-12-01"
    assert shift(parse_period("2026-03", "month"), "month", -12).isoformat() == "2025-03-01"
    assert shift(parse_period("2026-01-05", "week"), "week", -1).isoformat() == "2025-12-29"


def test_linear_expressions() -> None:
    assert _linear("12 * mrr", ["mrr"])
    assert _linear(
        "new_mrr + reactivation_mrr - churned_mrr", ["new_mrr", "reactivation_mrr", "churned_mrr"]
    )
    assert not _linear("mrr * paying_accounts", ["mrr", "paying_accounts"])
    assert not _linear("mrr / starting_mrr - 1", ["mrr", "starting_mrr"])
    assert not _linear("case when a > 0 then a end", ["a"])
