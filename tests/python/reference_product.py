"""Independent computation of the customer and product KPIs from the raw CSV files.

Plain Python (csv, datetime, fractions), written from sections 2 and 3 of the KPI spec, so that the
dbt marts and the MetricFlow metrics can be checked against something that shares no code with
them. The segments of every account-month come from `reference.account_months()`; accounts, users
and product events are read from the seed files here. (`feature_adoption_rate` and
`core_feature_adoption_rate` are not covered here.)

Conventions
- A metric is a `Series`: `{(period_start, segment_value): value}`, for the grains "week" (the
  Monday of the ISO week) and "month" (the first day of the month). For the company level
  (segment None) the segment value is "".
- Known as of `as_of`: an account or user exists when its created_at is before the end of `as_of`
  (`as_of + 1 day 00:00`). Events: a duplicated event_id keeps the copy with the earliest
  received_at (ties: the first in the file); that copy exists when both its received_at and its
  occurred_at are before the end of `as_of`. Meaningful events: event_name not page_viewed or
  logged_in.
- Day counts are differences of UTC dates: `date(Y) - date(X)`. Day 0 is the creation date.
- Which segment: an event takes the segment of the account-month (event's account, month of its
  date); an account created in P that of (account, month of created_at); a user created in P that
  of (user's account, month of the user's created_at). This holds at week grain too (a week that
  straddles two months mixes both). A row without an account-month gets segment value "".
  Distinct counts (active users / accounts) count an entity once in every segment it had in P.
- `weekly_active_users`, `weekly_active_accounts` and `monthly_active_users` are distinct counts
  over P at either grain (at month grain WAU = MAU; at week grain MAU = WAU).
- Cohort metrics (activation, time to first value, onboarding, usage retention) group accounts or
  users by the period of their creation date. Eligibility: activation `as_of - created >= 7`,
  onboarding `as_of - created >= 14`, d30 `created + 36 <= as_of`, d90 `created + 96 <= as_of`.
  Activated: a first known project_created with `days <= 7` (a negative day count is kept as it
  is). Onboarded: each of steps 1-5 completed (known) with `days <= 14` (any one completion of the
  step counts). Retained: a meaningful event of the account on days 30-36 (90-96), both inclusive.
  `time_to_first_value_days` is the median (mean of the two middle values for an even count) over
  every account created in P that has a first project_created, without an eligibility filter.
- `contraction_signal_accounts` (month grain only): account-months (a, m) of `account_months()`
  with `count(m-1) > 0` and `count(m) < 0.7 x count(m-1)` (exact: `10 count(m) < 7 count(m-1)`),
  by the segment of (a, m). count(m-1) counts the account's events in m-1 whether or not (a, m-1)
  is an account-month.
- Keys are sparse: a (period, segment value) appears when the metric's population has a row there.
  A key outside a series means "no population": 0 for additive metrics (`ADDITIVE_METRICS`) and
  None for the others. Ratios whose denominator is 0 and medians over nothing are None.
- Values are exact Fractions.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TypeVar

from reference import AccountMonth, account_months, month_start, parse_timestamp, read_rows
from reference_revenue import ALL_SEGMENTS, SEGMENTS, Segment, ratio, segment_value
from reference_support import GRAINS, end_of, median, period_start

Value = Fraction | None
Series = dict[tuple[dt.date, str], Value]
Key = tuple[dt.date, str]
AccountMonths = Mapping[tuple[str, dt.date], AccountMonth]
Item = TypeVar("Item")

NOT_MEANINGFUL = frozenset({"page_viewed", "logged_in"})
ONBOARDING_STEPS = frozenset({1, 2, 3, 4, 5})
ACTIVATION_DAYS = 7
ONBOARDING_DAYS = 14
RETENTION_WINDOWS = {"usage_retention_d30": (30, 36), "usage_retention_d90": (90, 96)}
CONTRACTION_RATIO = Fraction(7, 10)

ACTIVITY_METRICS = ("weekly_active_users", "weekly_active_accounts", "monthly_active_users")
ACCOUNT_COHORT_METRICS = (
    "new_signups",
    "activation_rate",
    "time_to_first_value_days",
    "usage_retention_d30",
    "usage_retention_d90",
)
USER_COHORT_METRICS = ("onboarding_completion_rate",)
PERIOD_METRICS = ACTIVITY_METRICS + ACCOUNT_COHORT_METRICS + USER_COHORT_METRICS
MONTH_ONLY_METRICS = ("contraction_signal_accounts",)
ADDITIVE_METRICS = frozenset({*ACTIVITY_METRICS, "new_signups", "contraction_signal_accounts"})


def metrics_for(grain: str) -> tuple[str, ...]:
    """The metrics defined at grain (the month-only metric at month grain)."""
    return PERIOD_METRICS + (MONTH_ONLY_METRICS if grain == "month" else ())


def days_between(first: dt.date, last: dt.date) -> int:
    """Calendar days from first to last (last - first)."""
    return (last - first).days


def previous_month(month: dt.date) -> dt.date:
    return month_start(month - dt.timedelta(days=1))


# ---------------------------------------------------------------------------- raw rows


@dataclass(frozen=True)
class TrackEvent:
    """One product event (the kept copy of its event_id)."""

    event_id: str
    account_id: str
    user_id: str
    event_name: str
    occurred_at: dt.datetime
    received_at: dt.datetime
    onboarding_step: int | None = None
    feature_name: str = ""

    @property
    def day(self) -> dt.date:
        return self.occurred_at.date()

    @property
    def is_meaningful(self) -> bool:
        return self.event_name not in NOT_MEANINGFUL

    @property
    def is_feature_use(self) -> bool:
        return self.event_name == "feature_used" and self.feature_name != ""


@dataclass(frozen=True)
class Account:
    account_id: str
    created_date: dt.date


@dataclass(frozen=True)
class User:
    user_id: str
    account_id: str
    created_date: dt.date


def event_from_row(row: Mapping[str, str]) -> TrackEvent:
    step = row["onboarding_step"].strip()
    return TrackEvent(
        event_id=row["event_id"],
        account_id=row["account_id"],
        user_id=row["user_id"],
        event_name=row["event_name"],
        occurred_at=parse_timestamp(row["occurred_at"]),
        received_at=parse_timestamp(row["received_at"]),
        onboarding_step=int(step) if step else None,
        feature_name=row["feature_name"].strip(),
    )


def dedupe_events(events: Iterable[TrackEvent]) -> list[TrackEvent]:
    """One copy per event_id: the one received first (ties: the first one seen)."""
    kept: dict[str, TrackEvent] = {}
    for event in events:
        current = kept.get(event.event_id)
        if current is None or event.received_at < current.received_at:
            kept[event.event_id] = event
    return list(kept.values())


def known_events(events: Iterable[TrackEvent], as_of: dt.date) -> list[TrackEvent]:
    """Deduplicated events received and occurred before the end of as_of."""
    end = end_of(as_of)
    return [
        event
        for event in dedupe_events(events)
        if event.received_at < end and event.occurred_at < end
    ]


def load_events(seeds_dir: Path, as_of: dt.date) -> list[TrackEvent]:
    rows = read_rows(seeds_dir, "events_tracks")
    return known_events((event_from_row(row) for row in rows), as_of)


def load_accounts(seeds_dir: Path, as_of: dt.date) -> dict[str, Account]:
    """Accounts created before the end of as_of."""
    end = end_of(as_of)
    accounts = {}
    for row in read_rows(seeds_dir, "billing_accounts"):
        created = parse_timestamp(row["created_at"])
        if created < end:
            accounts[row["account_id"]] = Account(row["account_id"], created.date())
    return accounts


def load_users(seeds_dir: Path, as_of: dt.date) -> dict[str, User]:
    """Users created before the end of as_of."""
    end = end_of(as_of)
    users = {}
    for row in read_rows(seeds_dir, "events_users"):
        created = parse_timestamp(row["created_at"])
        if created < end:
            users[row["user_id"]] = User(row["user_id"], row["account_id"], created.date())
    return users


# ---------------------------------------------------------------------------- mart rows


@dataclass(frozen=True)
class AccountActivation:
    """One account created by the end of as_of (fct_account_activation)."""

    account_id: str
    created_date: dt.date
    first_project_date: dt.date | None
    days_to_first_project: int | None
    is_activation_eligible: bool
    is_activated: bool
    is_d30_eligible: bool
    is_d30_retained: bool
    is_d90_eligible: bool
    is_d90_retained: bool


@dataclass(frozen=True)
class UserOnboarding:
    """One user created by the end of as_of (fct_user_onboarding)."""

    user_id: str
    account_id: str
    created_date: dt.date
    is_eligible: bool
    has_completed_onboarding: bool


@dataclass(frozen=True)
class AccountMonthActivity:
    """One account-month of account_months() (fct_account_month_activity)."""

    account_id: str
    month_start_date: dt.date
    meaningful_event_count: int
    previous_meaningful_event_count: int

    @property
    def is_contraction_signal(self) -> bool:
        previous = self.previous_meaningful_event_count
        return previous > 0 and self.meaningful_event_count < CONTRACTION_RATIO * previous


def daily_user_activity(events: Iterable[TrackEvent]) -> dict[tuple[str, str, dt.date], int]:
    """Meaningful events per (user_id, account_id, day) for the user-days with at least one."""
    counts: dict[tuple[str, str, dt.date], int] = defaultdict(int)
    for event in events:
        if event.is_meaningful:
            counts[(event.user_id, event.account_id, event.day)] += 1
    return dict(counts)


def first_project_dates(events: Iterable[TrackEvent]) -> dict[str, dt.date]:
    """The date of each account's first project_created event."""
    first: dict[str, dt.date] = {}
    for event in events:
        if event.event_name == "project_created":
            first[event.account_id] = min(event.day, first.get(event.account_id, event.day))
    return first


def meaningful_days(events: Iterable[TrackEvent], key: Callable[[TrackEvent], str]) -> dict:
    """{key(event): set of days with a meaningful event}."""
    days: dict[str, set[dt.date]] = defaultdict(set)
    for event in events:
        if event.is_meaningful:
            days[key(event)].add(event.day)
    return dict(days)


def has_day_in_window(created: dt.date, days: Iterable[dt.date], window: tuple[int, int]) -> bool:
    """Whether any of days lies on days window[0]..window[1] after created (both inclusive)."""
    return any(window[0] <= days_between(created, day) <= window[1] for day in days)


def account_activation(
    account: Account, first_project: dt.date | None, active_days: set[dt.date], as_of: dt.date
) -> AccountActivation:
    """Activation and usage-retention flags of one account."""
    created = account.created_date
    days = None if first_project is None else days_between(created, first_project)
    d30, d90 = RETENTION_WINDOWS["usage_retention_d30"], RETENTION_WINDOWS["usage_retention_d90"]
    return AccountActivation(
        account_id=account.account_id,
        created_date=created,
        first_project_date=first_project,
        days_to_first_project=days,
        is_activation_eligible=days_between(created, as_of) >= ACTIVATION_DAYS,
        is_activated=days is not None and days <= ACTIVATION_DAYS,
        is_d30_eligible=days_between(created, as_of) >= d30[1],
        is_d30_retained=has_day_in_window(created, active_days, d30),
        is_d90_eligible=days_between(created, as_of) >= d90[1],
        is_d90_retained=has_day_in_window(created, active_days, d90),
    )


def account_activations(
    accounts: Mapping[str, Account], events: list[TrackEvent], as_of: dt.date
) -> dict[str, AccountActivation]:
    first = first_project_dates(events)
    active = meaningful_days(events, lambda event: event.account_id)
    return {
        account_id: account_activation(
            account, first.get(account_id), active.get(account_id, set()), as_of
        )
        for account_id, account in accounts.items()
    }


def onboarding_step_days(events: Iterable[TrackEvent]) -> dict[str, dict[int, list[dt.date]]]:
    """{user_id: {step: days it was completed}}."""
    steps: dict[str, dict[int, list[dt.date]]] = defaultdict(lambda: defaultdict(list))
    for event in events:
        if event.event_name == "onboarding_step_completed" and event.onboarding_step is not None:
            steps[event.user_id][event.onboarding_step].append(event.day)
    return steps


def user_onboarding(
    user: User, steps: Mapping[int, list[dt.date]], as_of: dt.date
) -> UserOnboarding:
    """Whether the user completed every onboarding step within 14 days of creation."""
    created = user.created_date
    on_time = {
        step
        for step, days in steps.items()
        if any(days_between(created, day) <= ONBOARDING_DAYS for day in days)
    }
    return UserOnboarding(
        user_id=user.user_id,
        account_id=user.account_id,
        created_date=created,
        is_eligible=days_between(created, as_of) >= ONBOARDING_DAYS,
        has_completed_onboarding=on_time >= ONBOARDING_STEPS,
    )


def user_onboardings(
    users: Mapping[str, User], events: list[TrackEvent], as_of: dt.date
) -> dict[str, UserOnboarding]:
    steps = onboarding_step_days(events)
    return {
        user_id: user_onboarding(user, steps.get(user_id, {}), as_of)
        for user_id, user in users.items()
    }


def account_month_activity(
    months: AccountMonths, events: Iterable[TrackEvent]
) -> dict[tuple[str, dt.date], AccountMonthActivity]:
    """Meaningful events of every account-month and of the month before it."""
    counts: dict[tuple[str, dt.date], int] = defaultdict(int)
    for event in events:
        if event.is_meaningful:
            counts[(event.account_id, month_start(event.day))] += 1
    return {
        (account_id, month): AccountMonthActivity(
            account_id=account_id,
            month_start_date=month,
            meaningful_event_count=counts.get((account_id, month), 0),
            previous_meaningful_event_count=counts.get((account_id, previous_month(month)), 0),
        )
        for account_id, month in months
    }


# ---------------------------------------------------------------------------- series


def group_by_key(
    items: Iterable[Item],
    day_of: Callable[[Item], dt.date],
    account_of: Callable[[Item], str],
    months: AccountMonths,
    grain: str,
    segment: Segment,
) -> dict[Key, list[Item]]:
    """Items by (period of their day, segment value of the account-month of their day)."""
    groups: dict[Key, list[Item]] = defaultdict(list)
    for item in items:
        day = day_of(item)
        row = months.get((account_of(item), month_start(day)))
        groups[(period_start(day, grain), segment_value(row, segment))].append(item)
    return dict(groups)


def activity_series(
    events: list[TrackEvent], months: AccountMonths, grain: str, segment: Segment
) -> dict[str, Series]:
    """Distinct active users and accounts per (period, segment value)."""
    meaningful = [event for event in events if event.is_meaningful]
    groups = group_by_key(
        meaningful, lambda e: e.day, lambda e: e.account_id, months, grain, segment
    )
    users = {key: Fraction(len({e.user_id for e in group})) for key, group in groups.items()}
    accounts = {key: Fraction(len({e.account_id for e in group})) for key, group in groups.items()}
    return {
        "weekly_active_users": users,
        "weekly_active_accounts": accounts,
        "monthly_active_users": dict(users),
    }


def account_cohort_values(rows: list[AccountActivation]) -> dict[str, Value]:
    """The metrics over the accounts created in one (period, segment value)."""
    eligible = [row for row in rows if row.is_activation_eligible]
    d30 = [row for row in rows if row.is_d30_eligible]
    d90 = [row for row in rows if row.is_d90_eligible]
    return {
        "new_signups": Fraction(len(rows)),
        "activation_rate": ratio(sum(row.is_activated for row in eligible), len(eligible)),
        "time_to_first_value_days": median(
            row.days_to_first_project for row in rows if row.days_to_first_project is not None
        ),
        "usage_retention_d30": ratio(sum(row.is_d30_retained for row in d30), len(d30)),
        "usage_retention_d90": ratio(sum(row.is_d90_retained for row in d90), len(d90)),
    }


def user_cohort_values(rows: list[UserOnboarding]) -> dict[str, Value]:
    """Onboarding completion over the users created in one (period, segment value)."""
    eligible = [row for row in rows if row.is_eligible]
    completed = sum(row.has_completed_onboarding for row in eligible)
    return {"onboarding_completion_rate": ratio(completed, len(eligible))}


def to_series(
    groups: Mapping[Key, list[Item]], values_of: Callable[[list[Item]], dict[str, Value]]
) -> dict[str, Series]:
    """{metric: {key: value}} from the rows of each key."""
    series: dict[str, Series] = defaultdict(dict)
    for key, rows in groups.items():
        for name, value in values_of(rows).items():
            series[name][key] = value
    return dict(series)


def contraction_series(
    activity: Mapping[tuple[str, dt.date], AccountMonthActivity],
    months: AccountMonths,
    segment: Segment,
) -> Series:
    """Accounts with a contraction signal in month m, by the segment of (a, m)."""
    counts: dict[Key, Fraction] = defaultdict(Fraction)
    for key, row in activity.items():
        if row.is_contraction_signal:
            counts[(row.month_start_date, segment_value(months[key], segment))] += 1
    return dict(counts)


@dataclass(frozen=True)
class ProductReference:
    """All reference values and rows of one (seed files, as_of) scenario."""

    as_of: dt.date
    events: list[TrackEvent]
    daily_user_activity: dict[tuple[str, str, dt.date], int]
    activations: dict[str, AccountActivation]
    onboardings: dict[str, UserOnboarding]
    account_month_activity: dict[tuple[str, dt.date], AccountMonthActivity]
    series: dict[str, dict[Segment, dict[str, Series]]]


def period_series(
    months: AccountMonths,
    events: list[TrackEvent],
    activations: Mapping[str, AccountActivation],
    onboardings: Mapping[str, UserOnboarding],
    grain: str,
    segment: Segment,
) -> dict[str, Series]:
    """Every metric of one grain by one segment, except the month-only one."""
    result = activity_series(events, months, grain, segment)
    account_groups = group_by_key(
        activations.values(),
        lambda row: row.created_date,
        lambda row: row.account_id,
        months,
        grain,
        segment,
    )
    result |= to_series(account_groups, account_cohort_values)
    user_groups = group_by_key(
        onboardings.values(),
        lambda row: row.created_date,
        lambda row: row.account_id,
        months,
        grain,
        segment,
    )
    result |= to_series(user_groups, user_cohort_values)
    return {name: result.get(name, {}) for name in PERIOD_METRICS}


@functools.cache
def product_reference(seeds_dir: Path, as_of: dt.date) -> ProductReference:
    """Compute (once per scenario) every customer and product reference value."""
    months = account_months(seeds_dir, as_of)
    events = load_events(seeds_dir, as_of)
    activations = account_activations(load_accounts(seeds_dir, as_of), events, as_of)
    onboardings = user_onboardings(load_users(seeds_dir, as_of), events, as_of)
    activity = account_month_activity(months, events)
    series: dict[str, dict[Segment, dict[str, Series]]] = {}
    for grain in GRAINS:
        series[grain] = {
            segment: period_series(months, events, activations, onboardings, grain, segment)
            for segment in ALL_SEGMENTS
        }
    for segment in ALL_SEGMENTS:
        series["month"][segment]["contraction_signal_accounts"] = contraction_series(
            activity, months, segment
        )
    return ProductReference(
        as_of=as_of,
        events=events,
        daily_user_activity=daily_user_activity(events),
        activations=activations,
        onboardings=onboardings,
        account_month_activity=activity,
        series=series,
    )


# ---------------------------------------------------------------------------- self-checks


def check_identities(reference: ProductReference) -> None:
    """Identities the reference itself must satisfy (segment sums, bounds, totals)."""
    for grain in GRAINS:
        company = reference.series[grain][None]
        for segment in SEGMENTS:
            for name in ("new_signups", "contraction_signal_accounts"):
                if name not in company:
                    continue
                by_period: dict[dt.date, Fraction] = defaultdict(Fraction)
                for (start, _), value in reference.series[grain][segment][name].items():
                    by_period[start] += value  # type: ignore[operator]
                assert by_period == {start: company[name][(start, "")] for start in by_period}
            segmented = reference.series[grain][segment]["weekly_active_users"]
            for (start, _), value in segmented.items():
                assert value <= company["weekly_active_users"][(start, "")]  # type: ignore[operator]
        assert sum(company["new_signups"].values()) == len(reference.activations)  # type: ignore[arg-type]
        for name in ("activation_rate", "onboarding_completion_rate", *RETENTION_WINDOWS):
            assert all(v is None or 0 <= v <= 1 for v in company[name].values()), name
    daily = reference.daily_user_activity
    assert sum(daily.values()) == sum(event.is_meaningful for event in reference.events)


def show(label: str, value: Value) -> None:
    print(f"{label:<52} {'NULL' if value is None else f'{float(value):,.6f}'}")


def main() -> None:
    """Smoke run on the shipped seeds: print a few values and check that they are plausible."""
    seeds_dir = Path(__file__).resolve().parents[2] / "seeds"
    as_of = dt.date(2026, 6, 30)
    reference = product_reference(seeds_dir, as_of)
    monthly = reference.series["month"][None]
    for month in (dt.date(2026, 3, 1), dt.date(2026, 4, 1), dt.date(2026, 5, 1)):
        for name in metrics_for("month"):
            show(f"{month} {name}", monthly[name].get((month, "")))
    weekly = reference.series["week"][None]
    for monday in sorted(start for start, _ in weekly["weekly_active_accounts"])[-4:-1]:
        for name in ("weekly_active_users", "weekly_active_accounts", "new_signups"):
            show(f"{monday} {name}", weekly[name].get((monday, "")))
    may = (dt.date(2026, 5, 1), "")
    for tier in ("starter", "pro", "enterprise", "none"):
        key = (may[0], tier)
        for name in ("weekly_active_accounts", "contraction_signal_accounts"):
            show(f"2026-05 {tier} {name}", reference.series["month"]["plan_tier"][name].get(key))
    overall = overall_rates(reference)
    for name, value in overall.items():
        show(f"all cohorts {name}", value)
    check_identities(reference)
    print("reference_product: smoke run OK")


def overall_rates(reference: ProductReference) -> dict[str, Value]:
    """Activation, onboarding and usage retention over every eligible account or user."""
    accounts = list(reference.activations.values())
    values = account_cohort_values(accounts)
    values |= user_cohort_values(list(reference.onboardings.values()))
    return {name: values[name] for name in (*RETENTION_WINDOWS, "activation_rate")} | {
        "onboarding_completion_rate": values["onboarding_completion_rate"],
        "time_to_first_value_days": values["time_to_first_value_days"],
    }


if __name__ == "__main__":
    main()
