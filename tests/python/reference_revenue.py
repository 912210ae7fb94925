"""Independent computation of the revenue, cohort and weekly revenue KPIs from the raw CSV files.

Plain Python (csv, datetime, fractions), written from sections 2 and 3 of the KPI spec, so that the
dbt marts and the MetricFlow metrics can be checked against something that shares no code with
them. MRR, seats and the segments of every account-month come from `reference.account_months()`;
recognized revenue is read from the invoice lines here.

Conventions
- A metric is a `Series`: `{(period_start, segment_value): value}`. The period start is the first
  day of the month (monthly metrics) or the Monday of the ISO week (weekly metrics). For the
  company level (segment None) the segment value is "". Cohort metrics are keyed by
  `(cohort_month, months_since_first_payment, segment_value)` instead.
- Grids are complete: every period from the first one of the data through the one that contains
  `as_of`, times every value the segment dimension takes (monthly: in any account-month; weekly:
  on any revenue day). A key outside the grid means "no population": 0 for additive metrics
  (`ADDITIVE_METRICS`) and None for the others.
- Which month's segment: stock metrics, new and reactivation MRR use month m; expansion,
  contraction, churn, logo churn, seat expansion and monthly retention use m-1; 12-month
  retention uses m-12; cohort metrics the cohort month; daily and weekly revenue the month of each
  revenue day. A month without an account-month row is MRR 0, seats 0, not paying.
- Sums and counts over nothing are 0. A ratio with denominator 0 is None; a growth rate is None
  when its base is <= 0; cwgr and catch_up_cwgr are also None when the ratio under the root is
  negative. A window mean (trailing 3 months, 12 months) is None when a month is None or outside
  the grid. Values are exact Fractions, except cwgr and catch_up_cwgr (floats, they take roots).
- A revenue day whose account has no account-month row for the day's month gets segment value ""
  (what MetricFlow shows for a NULL dimension).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

from reference import (
    AccountMonth,
    account_months,
    iterate_months,
    month_start,
    months_between,
    parse_date,
    parse_timestamp,
    read_rows,
)

Segment = str | None
Value = Fraction | float | None
Series = dict[tuple[dt.date, str], Value]
CohortKey = tuple[dt.date, int, str]
CohortSeries = dict[CohortKey, Value]
Timeline = dict[dt.date, AccountMonth]
AccountMonths = Mapping[tuple[str, dt.date], AccountMonth]

SEGMENTS = ("plan_tier", "industry", "account_age_band")
ALL_SEGMENTS: tuple[Segment, ...] = (None, *SEGMENTS)
GROSS_MARGIN = Fraction(4, 5)
ZERO = Fraction(0)
ONE_DAY = dt.timedelta(days=1)

MONTHLY_METRICS = (
    "mrr",
    "arr",
    "paying_accounts",
    "arpa",
    "new_mrr",
    "reactivation_mrr",
    "expansion_mrr",
    "contraction_mrr",
    "churned_mrr",
    "net_new_mrr",
    "mrr_growth_rate",
    "net_revenue_retention",
    "gross_revenue_retention",
    "net_revenue_retention_monthly",
    "gross_revenue_retention_monthly",
    "nrr_monthly_trailing_3m",
    "logo_churn_rate",
    "logo_retention_rate",
    "cltv",
    "seat_expansion_rate",
)
WEEKLY_METRICS = ("weekly_revenue", "weekly_revenue_growth_rate", "ytd_revenue", "cwgr")
COMPANY_WEEKLY_METRICS = ("catch_up_cwgr",)
COHORT_METRICS = ("cohort_logo_retention", "cohort_revenue_retention")
ADDITIVE_METRICS = frozenset(
    {
        "mrr",
        "arr",
        "paying_accounts",
        "new_mrr",
        "reactivation_mrr",
        "expansion_mrr",
        "contraction_mrr",
        "churned_mrr",
        "net_new_mrr",
        "weekly_revenue",
        "ytd_revenue",
    }
)
MOVEMENT_TYPES = ("new", "reactivation", "expansion", "contraction", "churn", "unchanged")


# ---------------------------------------------------------------------------- small helpers


def add_months(month: dt.date, count: int) -> dt.date:
    index = month.year * 12 + month.month - 1 + count
    return dt.date(index // 12, index % 12 + 1, 1)


def ratio(numerator: Fraction | int, denominator: Fraction | int) -> Fraction | None:
    """numerator / denominator; None when the denominator is 0."""
    return None if denominator == 0 else Fraction(numerator) / Fraction(denominator)


def growth(current: Fraction, base: Fraction) -> Fraction | None:
    """current / base - 1; None when the base is <= 0."""
    return None if base <= 0 else current / base - 1


def root_growth(ratio_value: Fraction, periods: int) -> float | None:
    """ratio^(1 / periods) - 1; None when the ratio is negative."""
    return None if ratio_value < 0 else float(ratio_value) ** (1 / periods) - 1


def window_mean(values: list[Value]) -> Fraction | None:
    """Mean of a window; None when any value is None (missing months are passed as None)."""
    if any(value is None for value in values):
        return None
    return sum((Fraction(value) for value in values), ZERO) / len(values)


def segment_value(account_month: AccountMonth | None, segment: Segment) -> str:
    if segment is None or account_month is None:
        return ""
    return getattr(account_month, segment)


def mrr_of(timeline: Timeline, month: dt.date) -> Fraction:
    account_month = timeline.get(month)
    return Fraction(account_month.mrr_usd) if account_month else ZERO


def seats_of(timeline: Timeline, month: dt.date) -> int:
    account_month = timeline.get(month)
    return account_month.seats if account_month else 0


def timelines(months: AccountMonths) -> dict[str, Timeline]:
    """Account-months grouped by account: {account_id: {month: AccountMonth}}."""
    result: dict[str, Timeline] = defaultdict(dict)
    for (account_id, month), account_month in months.items():
        result[account_id][month] = account_month
    return dict(result)


def first_paying_month(timeline: Timeline) -> dt.date | None:
    return min((month for month, row in timeline.items() if row.is_paying), default=None)


def month_range(months: AccountMonths) -> list[dt.date]:
    """Every month from the first account-month through the month of as_of."""
    if not months:
        return []
    all_months = {month for _, month in months}
    return list(iterate_months(min(all_months), max(all_months)))


def segment_values(months: AccountMonths, segment: Segment) -> list[str]:
    return sorted({segment_value(row, segment) for row in months.values()})


# ---------------------------------------------------------------------------- monthly revenue


@dataclass
class MonthTotals:
    """Sums and counts of one (month, segment value); each field names its segment month."""

    mrr: Fraction = ZERO  # month m
    paying: int = 0  # month m
    new_mrr: Fraction = ZERO  # month m
    reactivation_mrr: Fraction = ZERO  # month m
    start_mrr: Fraction = ZERO  # m-1: sum of MRR(a, m-1)
    end_mrr: Fraction = ZERO  # m-1: sum of MRR(a, m) over accounts paying in m-1
    expansion_mrr: Fraction = ZERO  # m-1
    contraction_mrr: Fraction = ZERO  # m-1
    churned_mrr: Fraction = ZERO  # m-1
    paying_before: int = 0  # m-1: accounts paying in m-1
    churned_accounts: int = 0  # m-1
    seats_before: int = 0  # m-1: sum of seats(a, m-1)
    seats_added: int = 0  # m-1
    start_mrr_12: Fraction = ZERO  # m-12
    end_mrr_12: Fraction = ZERO  # m-12
    kept_mrr_12: Fraction = ZERO  # m-12: sum of min(MRR(a, m), MRR(a, m-12))
    paying_12: int = 0  # m-12
    retained_12: int = 0  # m-12


TotalsByKey = defaultdict[tuple[dt.date, str], MonthTotals]


def add_stock(totals: TotalsByKey, timeline: Timeline, month: dt.date, segment: Segment) -> None:
    row = timeline[month]
    cell = totals[(month, segment_value(row, segment))]
    cell.mrr += Fraction(row.mrr_usd)
    cell.paying += int(row.is_paying)


def add_new_or_reactivation(
    totals: TotalsByKey, timeline: Timeline, month: dt.date, segment: Segment, first: dt.date
) -> None:
    current, previous = mrr_of(timeline, month), mrr_of(timeline, add_months(month, -1))
    if current <= 0 or previous > 0:
        return
    cell = totals[(month, segment_value(timeline[month], segment))]
    if first == month:
        cell.new_mrr += current
    elif first < add_months(month, -1):
        cell.reactivation_mrr += current


def add_monthly_flows(
    totals: TotalsByKey, timeline: Timeline, month: dt.date, segment: Segment
) -> None:
    before = add_months(month, -1)
    current, previous = mrr_of(timeline, month), mrr_of(timeline, before)
    if previous <= 0:
        return
    cell = totals[(month, segment_value(timeline[before], segment))]
    cell.start_mrr += previous
    cell.end_mrr += current
    cell.paying_before += 1
    if current > previous:
        cell.expansion_mrr += current - previous
    elif 0 < current < previous:
        cell.contraction_mrr += previous - current
    elif current <= 0:
        cell.churned_mrr += previous
        cell.churned_accounts += 1


def add_seat_flows(
    totals: TotalsByKey, timeline: Timeline, month: dt.date, segment: Segment
) -> None:
    before = add_months(month, -1)
    previous = seats_of(timeline, before)
    if previous <= 0:
        return
    cell = totals[(month, segment_value(timeline[before], segment))]
    cell.seats_before += previous
    cell.seats_added += max(0, seats_of(timeline, month) - previous)


def add_yearly_retention(
    totals: TotalsByKey, timeline: Timeline, month: dt.date, segment: Segment
) -> None:
    year_before = add_months(month, -12)
    current, previous = mrr_of(timeline, month), mrr_of(timeline, year_before)
    if previous <= 0:
        return
    cell = totals[(month, segment_value(timeline[year_before], segment))]
    cell.start_mrr_12 += previous
    cell.end_mrr_12 += current
    cell.kept_mrr_12 += min(current, previous)
    cell.paying_12 += 1
    cell.retained_12 += int(current > 0)


def monthly_totals(months: AccountMonths, segment: Segment) -> TotalsByKey:
    """MonthTotals per (month m, segment value), each flow in the segment of its window start."""
    totals: TotalsByKey = defaultdict(MonthTotals)
    for timeline in timelines(months).values():
        first = first_paying_month(timeline)
        for month in sorted(timeline):
            add_stock(totals, timeline, month, segment)
            if first is not None:
                add_new_or_reactivation(totals, timeline, month, segment, first)
            add_monthly_flows(totals, timeline, month, segment)
            add_seat_flows(totals, timeline, month, segment)
            add_yearly_retention(totals, timeline, month, segment)
    return totals


def point_metrics(cell: MonthTotals) -> dict[str, Value]:
    """The metrics of one (month, segment value) that need no other month."""
    net_new = (
        cell.new_mrr
        + cell.reactivation_mrr
        + cell.expansion_mrr
        - cell.contraction_mrr
        - cell.churned_mrr
    )
    return {
        "mrr": cell.mrr,
        "arr": 12 * cell.mrr,
        "paying_accounts": Fraction(cell.paying),
        "arpa": ratio(cell.mrr, cell.paying),
        "new_mrr": cell.new_mrr,
        "reactivation_mrr": cell.reactivation_mrr,
        "expansion_mrr": cell.expansion_mrr,
        "contraction_mrr": cell.contraction_mrr,
        "churned_mrr": cell.churned_mrr,
        "net_new_mrr": net_new,
        "net_revenue_retention": ratio(cell.end_mrr_12, cell.start_mrr_12),
        "gross_revenue_retention": ratio(cell.kept_mrr_12, cell.start_mrr_12),
        "net_revenue_retention_monthly": ratio(
            cell.start_mrr - cell.contraction_mrr - cell.churned_mrr + cell.expansion_mrr,
            cell.start_mrr,
        ),
        "gross_revenue_retention_monthly": ratio(
            cell.start_mrr - cell.contraction_mrr - cell.churned_mrr, cell.start_mrr
        ),
        "logo_churn_rate": ratio(cell.churned_accounts, cell.paying_before),
        "logo_retention_rate": ratio(cell.retained_12, cell.paying_12),
        "seat_expansion_rate": ratio(cell.seats_added, cell.seats_before),
    }


def earlier(key: tuple[dt.date, str], count: int) -> tuple[dt.date, str]:
    """The same segment value `count` months earlier."""
    return (add_months(key[0], -count), key[1])


def window_metrics(metrics: dict[str, Series], gross_margin: Fraction) -> None:
    """Add the metrics that combine several months (growth, trailing means, CLTV)."""
    mrr, nrr, churn, arpa = (
        metrics["mrr"],
        metrics["net_revenue_retention_monthly"],
        metrics["logo_churn_rate"],
        metrics["arpa"],
    )
    for name in ("mrr_growth_rate", "nrr_monthly_trailing_3m", "cltv"):
        metrics[name] = {}
    for key in mrr:
        base = mrr.get(earlier(key, 1), ZERO)
        metrics["mrr_growth_rate"][key] = growth(mrr[key], base)  # type: ignore[arg-type]
        metrics["nrr_monthly_trailing_3m"][key] = window_mean(
            [nrr.get(earlier(key, back)) for back in range(3)]
        )
        mean_churn = window_mean([churn.get(earlier(key, back)) for back in range(12)])
        value = arpa[key]
        metrics["cltv"][key] = (
            None
            if value is None or mean_churn is None or mean_churn == 0
            else Fraction(value) * gross_margin / mean_churn
        )


def monthly_metrics(
    months: AccountMonths, segment: Segment, gross_margin: Fraction = GROSS_MARGIN
) -> dict[str, Series]:
    """Every monthly revenue metric by (month start, segment value) on the complete grid."""
    totals = monthly_totals(months, segment)
    metrics: dict[str, Series] = defaultdict(dict)
    for month in month_range(months):
        for value in segment_values(months, segment):
            key = (month, value)
            for name, metric_value in point_metrics(totals.get(key, MonthTotals())).items():
                metrics[name][key] = metric_value
    window_metrics(metrics, gross_margin)
    return {name: metrics[name] for name in MONTHLY_METRICS}


# ---------------------------------------------------------------------------- movements


@dataclass(frozen=True)
class Movement:
    """One row of fct_mrr_movements."""

    movement_type: str
    starting_mrr_usd: Fraction
    ending_mrr_usd: Fraction
    new_mrr_usd: Fraction
    reactivation_mrr_usd: Fraction
    expansion_mrr_usd: Fraction
    contraction_mrr_usd: Fraction
    churned_mrr_usd: Fraction
    cohort_month_start_date: dt.date
    months_since_first_payment: int


def movement_type(start: Fraction, end: Fraction, month: dt.date, first: dt.date) -> str:
    if end > 0 and start <= 0:
        return "new" if first == month else "reactivation"
    if end > start > 0:
        return "expansion"
    if 0 < end < start:
        return "contraction"
    if start > 0 and end <= 0:
        return "churn"
    return "unchanged"


def movement(timeline: Timeline, month: dt.date, first: dt.date) -> Movement:
    start, end = mrr_of(timeline, add_months(month, -1)), mrr_of(timeline, month)
    kind = movement_type(start, end, month, first)
    amounts = {
        "new": end,
        "reactivation": end,
        "expansion": end - start,
        "contraction": start - end,
        "churn": start,
    }
    amount = {name: amounts[name] if kind == name else ZERO for name in amounts}
    return Movement(
        movement_type=kind,
        starting_mrr_usd=start,
        ending_mrr_usd=end,
        new_mrr_usd=amount["new"],
        reactivation_mrr_usd=amount["reactivation"],
        expansion_mrr_usd=amount["expansion"],
        contraction_mrr_usd=amount["contraction"],
        churned_mrr_usd=amount["churn"],
        cohort_month_start_date=first,
        months_since_first_payment=months_between(first, month),
    )


def mrr_movements(months: AccountMonths) -> dict[tuple[str, dt.date], Movement]:
    """fct_mrr_movements: every account-month from the first paying month through as_of."""
    result: dict[tuple[str, dt.date], Movement] = {}
    for account_id, timeline in timelines(months).items():
        first = first_paying_month(timeline)
        if first is None:
            continue
        for month in sorted(month for month in timeline if month >= first):
            result[(account_id, month)] = movement(timeline, month, first)
    return result


# ---------------------------------------------------------------------------- cohorts


@dataclass
class CohortCell:
    """One row of rpt_cohort_retention (for one segment value when grouped by a segment)."""

    cohort_account_count: int = 0
    retained_account_count: int = 0
    cohort_mrr_usd: Fraction = ZERO
    retained_mrr_usd: Fraction = ZERO

    @property
    def cohort_logo_retention(self) -> Fraction | None:
        return ratio(self.retained_account_count, self.cohort_account_count)

    @property
    def cohort_revenue_retention(self) -> Fraction | None:
        return ratio(self.retained_mrr_usd, self.cohort_mrr_usd)


def cohort_cells(months: AccountMonths, segment: Segment) -> dict[CohortKey, CohortCell]:
    """Cells (cohort month c, k, segment value of (a, c)) for c + k through the month of as_of."""
    cells: dict[CohortKey, CohortCell] = defaultdict(CohortCell)
    for timeline in timelines(months).values():
        first = first_paying_month(timeline)
        if first is None:
            continue
        value = segment_value(timeline[first], segment)
        for month in sorted(month for month in timeline if month >= first):
            cell = cells[(first, months_between(first, month), value)]
            cell.cohort_account_count += 1
            cell.retained_account_count += int(timeline[month].is_paying)
            cell.cohort_mrr_usd += mrr_of(timeline, first)
            cell.retained_mrr_usd += mrr_of(timeline, month)
    return dict(cells)


def cohort_metrics(months: AccountMonths, segment: Segment) -> dict[str, CohortSeries]:
    cells = cohort_cells(months, segment)
    return {
        "cohort_logo_retention": {key: cell.cohort_logo_retention for key, cell in cells.items()},
        "cohort_revenue_retention": {
            key: cell.cohort_revenue_retention for key, cell in cells.items()
        },
    }


# ---------------------------------------------------------------------------- daily revenue


@dataclass(frozen=True)
class RevenueLine:
    """The ratable share of one invoice line: `daily_usd` on each day of [first_day, end_day)."""

    account_id: str
    first_day: dt.date
    end_day: dt.date
    daily_usd: Fraction


def revenue_lines(seeds_dir: Path, as_of: dt.date) -> list[RevenueLine]:
    """Non-void invoice lines issued by the end of as_of, spread evenly over their service days."""
    end_of_as_of = dt.datetime.combine(as_of + ONE_DAY, dt.time())
    rates = {
        row["currency"]: Decimal(row["usd_rate"])
        for row in read_rows(seeds_dir, "billing_fx_rates")
    }
    lines = []
    for row in read_rows(seeds_dir, "billing_invoices"):
        if row["status"] == "void" or parse_timestamp(row["issued_at"]) >= end_of_as_of:
            continue
        first_day = parse_date(row["service_period_start"])
        end_day = parse_date(row["service_period_end"])
        amount = Fraction(Decimal(row["amount"]) * rates[row["currency"]])
        lines.append(
            RevenueLine(row["account_id"], first_day, end_day, amount / (end_day - first_day).days)
        )
    return lines


def days(first_day: dt.date, end_day: dt.date) -> Iterator[dt.date]:
    day = first_day
    while day < end_day:
        yield day
        day += ONE_DAY


def daily_revenue(seeds_dir: Path, as_of: dt.date) -> dict[tuple[str, dt.date], Fraction]:
    """Recognized revenue per (account, day) for the days up to as_of."""
    result: dict[tuple[str, dt.date], Fraction] = defaultdict(Fraction)
    for line in revenue_lines(seeds_dir, as_of):
        for day in days(line.first_day, min(line.end_day, as_of + ONE_DAY)):
            result[(line.account_id, day)] += line.daily_usd
    return dict(result)


def daily_revenue_by_segment(
    daily: Mapping[tuple[str, dt.date], Fraction], months: AccountMonths, segment: Segment
) -> dict[tuple[dt.date, str], Fraction]:
    """Revenue per (day, segment value of the account-month of that day)."""
    result: dict[tuple[dt.date, str], Fraction] = defaultdict(Fraction)
    for (account_id, day), amount in daily.items():
        row = months.get((account_id, month_start(day)))
        result[(day, segment_value(row, segment))] += amount
    return dict(result)


# ---------------------------------------------------------------------------- weekly revenue


def week_start(day: dt.date) -> dt.date:
    """The Monday of the ISO week of day."""
    return day - dt.timedelta(days=day.weekday())


def weeks_in_iso_year(iso_year: int) -> int:
    return dt.date(iso_year, 12, 28).isocalendar().week


def week_range(first_day: dt.date, as_of: dt.date) -> list[dt.date]:
    """Mondays from the week of first_day through the week that contains as_of."""
    mondays, monday = [], week_start(first_day)
    while monday <= as_of:
        mondays.append(monday)
        monday += dt.timedelta(days=7)
    return mondays


def revenue_targets(seeds_dir: Path) -> dict[int, Fraction]:
    return {
        int(row["fiscal_year"]): Fraction(Decimal(row["target_arr"]))
        for row in read_rows(seeds_dir, "billing_revenue_targets")
    }


def cwgr(revenue: Fraction, base: Fraction, iso_week: int) -> float | None:
    if iso_week == 1 or base <= 0:
        return None
    return root_growth(revenue / base, iso_week - 1)


def catch_up_cwgr(
    revenue: Fraction, target_arr: Fraction | None, iso_week: int, last_week: int
) -> float | None:
    if iso_week == last_week or target_arr is None or revenue <= 0:
        return None
    return root_growth(target_arr / 52 / revenue, last_week - iso_week)


def weekly_revenue(
    daily_by_segment: Mapping[tuple[dt.date, str], Fraction],
) -> dict[tuple[dt.date, str], Fraction]:
    result: dict[tuple[dt.date, str], Fraction] = defaultdict(Fraction)
    for (day, value), amount in daily_by_segment.items():
        result[(week_start(day), value)] += amount
    return dict(result)


def weekly_metrics(
    daily_by_segment: Mapping[tuple[dt.date, str], Fraction],
    as_of: dt.date,
    targets: Mapping[int, Fraction],
    segment: Segment,
) -> dict[str, Series]:
    """Weekly revenue growth family by (ISO week Monday, segment value) on the complete grid.

    catch_up_cwgr is company-level only and is returned only when segment is None.
    """
    names = WEEKLY_METRICS + (COMPANY_WEEKLY_METRICS if segment is None else ())
    metrics: dict[str, Series] = {name: {} for name in names}
    if not daily_by_segment:
        return metrics
    revenue = weekly_revenue(daily_by_segment)
    mondays = week_range(min(day for day, _ in daily_by_segment), as_of)
    for value in sorted({value for _, value in daily_by_segment}):
        year_to_date: dict[int, Fraction] = defaultdict(Fraction)
        for monday in mondays:
            iso_year, iso_week, _ = monday.isocalendar()
            current = revenue.get((monday, value), ZERO)
            year_to_date[iso_year] += current
            week_one = dt.date.fromisocalendar(iso_year, 1, 1)
            key = (monday, value)
            metrics["weekly_revenue"][key] = current
            metrics["weekly_revenue_growth_rate"][key] = growth(
                current, revenue.get((monday - dt.timedelta(days=7), value), ZERO)
            )
            metrics["ytd_revenue"][key] = year_to_date[iso_year]
            metrics["cwgr"][key] = cwgr(current, revenue.get((week_one, value), ZERO), iso_week)
            if segment is None:
                metrics["catch_up_cwgr"][key] = catch_up_cwgr(
                    current, targets.get(iso_year), iso_week, weeks_in_iso_year(iso_year)
                )
    return metrics


# ---------------------------------------------------------------------------- everything


@dataclass(frozen=True)
class RevenueReference:
    """All reference values of one (seed files, as_of) scenario."""

    as_of: dt.date
    months: AccountMonths
    monthly: dict[Segment, dict[str, Series]]
    cohorts: dict[Segment, dict[str, CohortSeries]]
    cohort_cells: dict[CohortKey, CohortCell]
    weekly: dict[Segment, dict[str, Series]]
    movements: dict[tuple[str, dt.date], Movement]
    daily: dict[tuple[str, dt.date], Fraction]


@functools.cache
def revenue_reference(seeds_dir: Path, as_of: dt.date) -> RevenueReference:
    """Compute (once per scenario) every revenue, cohort and weekly reference value."""
    months = account_months(seeds_dir, as_of)
    daily = daily_revenue(seeds_dir, as_of)
    targets = revenue_targets(seeds_dir)
    return RevenueReference(
        as_of=as_of,
        months=months,
        monthly={segment: monthly_metrics(months, segment) for segment in ALL_SEGMENTS},
        cohorts={segment: cohort_metrics(months, segment) for segment in ALL_SEGMENTS},
        cohort_cells=cohort_cells(months, None),
        weekly={
            segment: weekly_metrics(
                daily_revenue_by_segment(daily, months, segment), as_of, targets, segment
            )
            for segment in ALL_SEGMENTS
        },
        movements=mrr_movements(months),
        daily=daily,
    )


def show(label: str, value: Value) -> None:
    print(f"{label:<58} {'NULL' if value is None else f'{float(value):,.6f}'}")


def main() -> None:
    """Smoke run on the shipped seeds: print a few values and check that they are plausible."""
    seeds_dir = Path(__file__).resolve().parents[2] / "seeds"
    reference = revenue_reference(seeds_dir, dt.date(2026, 6, 30))
    company, weekly = reference.monthly[None], reference.weekly[None]
    for month in (dt.date(2026, 3, 1), dt.date(2026, 4, 1), dt.date(2026, 5, 1)):
        for name in MONTHLY_METRICS:
            show(f"{month} {name}", company[name][(month, "")])
    may = (dt.date(2026, 5, 1), "")
    assert 250_000 < company["mrr"][may] < 450_000  # type: ignore[operator]
    assert 0.9 < company["net_revenue_retention_monthly"][may] < 1.1  # type: ignore[operator]
    for tier in ("starter", "pro", "enterprise", "none"):
        show(f"2026-05 mrr {tier}", reference.monthly["plan_tier"]["mrr"][(may[0], tier)])
    for monday in sorted(key[0] for key in weekly["weekly_revenue"])[-5:]:
        for name in (*WEEKLY_METRICS, *COMPANY_WEEKLY_METRICS):
            show(f"{monday} {name}", weekly[name][(monday, "")])
    assert all(value > 0 for value in list(weekly["weekly_revenue"].values())[-60:])  # type: ignore[operator]
    first_cohort = min(key[0] for key in reference.cohort_cells)
    for k in (0, 1, 6, 12):
        show(
            f"cohort {first_cohort} k={k} logo / revenue retention",
            reference.cohorts[None]["cohort_logo_retention"][(first_cohort, k, "")],
        )
        show("", reference.cohorts[None]["cohort_revenue_retention"][(first_cohort, k, "")])
    check_identities(reference)
    print("reference_revenue: smoke run OK")


def check_identities(reference: RevenueReference) -> None:
    """Accounting identities the reference itself must satisfy."""
    company = reference.monthly[None]
    for key, net_new in company["net_new_mrr"].items():
        previous = company["mrr"].get(earlier(key, 1), ZERO)
        assert company["mrr"][key] - previous == net_new, key  # type: ignore[operator]
    for segment in SEGMENTS:
        for name in ("mrr", "net_new_mrr", "paying_accounts"):
            by_month: dict[dt.date, Fraction] = defaultdict(Fraction)
            for (month, _), value in reference.monthly[segment][name].items():
                by_month[month] += value  # type: ignore[arg-type]
            assert by_month == {month: company[name][(month, "")] for month in by_month}
        total = sum(reference.weekly[segment]["weekly_revenue"].values(), ZERO)  # type: ignore[arg-type]
        assert total == sum(reference.daily.values(), ZERO)
    movements = reference.movements.values()
    assert sum((row.churned_mrr_usd for row in movements), ZERO) == sum(
        company["churned_mrr"].values(),  # type: ignore[arg-type]
        ZERO,
    )


if __name__ == "__main__":
    main()
