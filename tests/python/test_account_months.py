"""fct_account_months and the mrr / paying_accounts metrics against the reference."""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from decimal import Decimal

import pytest
from conftest import Build
from mf_cli import mf_query
from reference import AccountMonth, account_months, month_start

SEGMENTS = ("plan_tier", "industry", "account_age_band")


def assert_close(actual: float, expected: Decimal | float, label: str) -> None:
    assert math.isclose(float(actual), float(expected), rel_tol=1e-9, abs_tol=1e-9), (
        f"{label}: got {actual}, expected {expected}"
    )


def test_every_account_month_matches_reference(build: Build) -> None:
    expected = account_months(build.seeds_dir, build.as_of)
    rows = build.query(
        """
        select account_id, month_start_date, mrr_usd, seats, plan_tier,
            industry, account_age_band, is_paying, is_partial_month
        from main.fct_account_months
        """
    )
    actual = {(row[0], row[1]): row for row in rows}
    assert len(rows) == len(actual)
    assert set(actual) == set(expected)
    assert any(month.is_paying for month in expected.values()), "scenario has no MRR at all"
    for key, row in actual.items():
        reference = expected[key]
        assert_close(row[2], reference.mrr_usd, f"mrr_usd {key}")
        assert (row[3], row[4], row[5], row[6]) == (
            reference.seats,
            reference.plan_tier,
            reference.industry,
            reference.account_age_band,
        ), key
        assert (row[7], row[8]) == (reference.is_paying, reference.is_partial_month), key


def complete_months(build: Build, expected: dict) -> list[dt.date]:
    return sorted({month for _, month in expected if month < month_start(build.as_of)})


def totals_by(
    expected: dict[tuple[str, dt.date], AccountMonth], segment: str | None
) -> dict[tuple[dt.date, str], tuple[Decimal, int]]:
    totals: dict[tuple[dt.date, str], list] = defaultdict(lambda: [Decimal(0), 0])
    for (_, month), account_month in expected.items():
        key = (month, getattr(account_month, segment) if segment else "")
        totals[key][0] += account_month.mrr_usd
        totals[key][1] += int(account_month.is_paying)
    return {key: (mrr, paying) for key, (mrr, paying) in totals.items()}


@pytest.mark.parametrize("segment", [None, *SEGMENTS])
def test_mrr_and_paying_accounts_from_semantic_layer(build: Build, segment: str | None) -> None:
    expected = account_months(build.seeds_dir, build.as_of)
    months = complete_months(build, expected)
    assert months, "scenario has no complete month"
    group_by = ["metric_time__month"] + ([f"account_month__{segment}"] if segment else [])
    rows = mf_query(build.project_dir, ["mrr", "paying_accounts"], group_by)
    actual = {
        (
            dt.date.fromisoformat(row["metric_time__month"][:10]),
            row[f"account_month__{segment}"] if segment else "",
        ): row
        for row in rows
    }
    reference = {
        key: value for key, value in totals_by(expected, segment).items() if key[0] in months
    }
    assert {key for key in actual if key[0] in months} == set(reference)
    for key, (mrr, paying) in reference.items():
        assert_close(float(actual[key]["mrr"]), mrr, f"mrr {key}")
        assert int(float(actual[key]["paying_accounts"])) == paying, key


def test_stock_metrics_take_the_last_month_of_a_quarter(build: Build) -> None:
    expected = account_months(build.seeds_dir, build.as_of)
    totals = totals_by(expected, None)
    rows = mf_query(build.project_dir, ["mrr", "paying_accounts"], ["metric_time__quarter"])
    checked = 0
    for row in rows:
        quarter = dt.date.fromisoformat(row["metric_time__quarter"][:10])
        last_month = quarter.replace(month=quarter.month + 2)
        if last_month >= month_start(build.as_of):
            continue
        mrr, paying = totals[(last_month, "")]
        assert_close(float(row["mrr"]), mrr, f"mrr {quarter}")
        assert int(float(row["paying_accounts"])) == paying, quarter
        checked += 1
    assert checked > 0
