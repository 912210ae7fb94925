"""Independent computation of the feature adoption KPIs from the raw CSV files.

Plain Python (csv, datetime, fractions), written from sections 2 and 3 of the KPI spec, so that the
dbt models and the MetricFlow metrics `feature_adoption_rate` and `core_feature_adoption_rate` can
be checked against something that shares no code with them. Segments come from
`reference.account_months()`; events and features are read from the seed files here.

Conventions
- Events: a duplicated `event_id` counts once, the copy with the earliest `received_at` (ties: the
  first in the file); then an event is known when that `received_at` and its `occurred_at` are
  before the end of `as_of` (`as_of + 1 day 00:00`). An event counts for the UTC date it occurred.
- Meaningful event: `event_name` not in (page_viewed, logged_in); `feature_used` is meaningful.
- Features: only features with `launched_at <= as_of` exist; `feature_used` events of any other
  feature are ignored.
- Segment of an event: the account-month (event's account_id, month of its date), also at week
  grain; an entity is counted once in every segment it had in the period. An event whose account
  has no account-month gets segment value "" (what MetricFlow shows for NULL); so does the
  company level (segment None).
- `feature_adoption_rate` (week and month; key (period_start, feature, segment value)): distinct
  users with a known `feature_used` of the feature in P / distinct users with a known meaningful
  event in P. NULL when no active user-day of (P, segment) is on or after the feature's launch
  date (the feature "was not launched yet" there); else the ratio, 0 when nobody used it.
- `core_feature_adoption_rate` (month only; key (month_start, segment value)): accounts with
  `feature_used` events of at least 3 distinct core features in m / accounts with a meaningful
  event in m; NULL when there is none.
- Keys are sparse: a key appears when (P, segment) has a meaningful event. A missing key is NULL.
- Values are exact Fractions.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

from reference import (
    AccountMonth,
    account_months,
    month_start,
    parse_date,
    read_rows,
)
from reference_product import TrackEvent, dedupe_events, load_events
from reference_revenue import ALL_SEGMENTS, SEGMENTS, Segment, ratio, segment_value
from reference_support import parse_bool, period_start

__all__ = [
    "ALL_SEGMENTS",
    "CORE_FEATURE_METRIC",
    "FEATURE_METRIC",
    "GRAINS",
    "SEGMENTS",
    "AdoptionReference",
    "Feature",
    "TrackEvent",
    "adoption_reference",
    "core_feature_adoption_rate",
    "dedupe_events",
    "feature_adoption_rate",
    "load_events",
    "load_features",
]

Value = Fraction | None
Key = tuple[dt.date, str]
FeatureKey = tuple[dt.date, str, str]
Series = dict[Key, Value]
FeatureSeries = dict[FeatureKey, Value]
AccountMonths = Mapping[tuple[str, dt.date], AccountMonth]

GRAINS = ("week", "month")
FEATURE_METRIC = "feature_adoption_rate"
CORE_FEATURE_METRIC = "core_feature_adoption_rate"
MIN_CORE_FEATURES = 3


# ---------------------------------------------------------------------------- raw rows


@dataclass(frozen=True)
class Feature:
    """One product feature (launched by as_of)."""

    name: str
    is_core: bool
    launched_at: dt.date


def load_features(seeds_dir: Path, as_of: dt.date) -> dict[str, Feature]:
    """Features launched on or before as_of, by name."""
    features = (
        Feature(
            name=row["feature_name"],
            is_core=parse_bool(row["is_core"]),
            launched_at=parse_date(row["launched_at"]),
        )
        for row in read_rows(seeds_dir, "events_features")
    )
    return {feature.name: feature for feature in features if feature.launched_at <= as_of}


# ---------------------------------------------------------------------------- grouping


@dataclass
class Activity:
    """Meaningful activity of one (period, segment value)."""

    users: set[str] = field(default_factory=set)
    accounts: set[str] = field(default_factory=set)
    last_day: dt.date = dt.date.min


def event_key(event: TrackEvent, months: AccountMonths, grain: str, segment: Segment) -> Key:
    """(period start of the event's day, segment value of the event's account-month)."""
    row = months.get((event.account_id, month_start(event.day)))
    return period_start(event.day, grain), segment_value(row, segment)


def activity_by_key(
    events: Iterable[TrackEvent], months: AccountMonths, grain: str, segment: Segment
) -> dict[Key, Activity]:
    """Active users and accounts, and the last active day, of every (period, segment value)."""
    activity: dict[Key, Activity] = defaultdict(Activity)
    for event in events:
        if event.is_meaningful:
            group = activity[event_key(event, months, grain, segment)]
            group.users.add(event.user_id)
            group.accounts.add(event.account_id)
            group.last_day = max(group.last_day, event.day)
    return dict(activity)


def feature_users(
    events: Iterable[TrackEvent],
    features: Mapping[str, Feature],
    months: AccountMonths,
    grain: str,
    segment: Segment,
) -> dict[FeatureKey, set[str]]:
    """Distinct users with a feature_used event of each existing feature, by key."""
    users: dict[FeatureKey, set[str]] = defaultdict(set)
    for event in events:
        if event.is_feature_use and event.feature_name in features:
            period, value = event_key(event, months, grain, segment)
            users[(period, event.feature_name, value)].add(event.user_id)
    return dict(users)


def core_features_by_account(
    events: Iterable[TrackEvent],
    features: Mapping[str, Feature],
    months: AccountMonths,
    segment: Segment,
) -> dict[tuple[Key, str], set[str]]:
    """Distinct core features used by each account in each (month, segment value)."""
    used: dict[tuple[Key, str], set[str]] = defaultdict(set)
    for event in events:
        feature = features.get(event.feature_name) if event.is_feature_use else None
        if feature is not None and feature.is_core:
            key = event_key(event, months, "month", segment)
            used[(key, event.account_id)].add(feature.name)
    return dict(used)


# ---------------------------------------------------------------------------- metrics


def adoption_value(activity: Activity, feature: Feature, users: set[str]) -> Value:
    """Users of the feature / active users; NULL when no active day is on or after launch."""
    if activity.last_day < feature.launched_at:
        return None
    return ratio(len(users), len(activity.users))


def feature_adoption_rate(
    events: list[TrackEvent],
    features: Mapping[str, Feature],
    months: AccountMonths,
    grain: str,
    segment: Segment,
) -> FeatureSeries:
    """feature_adoption_rate by (period start, feature, segment value)."""
    activity = activity_by_key(events, months, grain, segment)
    users = feature_users(events, features, months, grain, segment)
    return {
        (period, name, value): adoption_value(
            group, feature, users.get((period, name, value), set())
        )
        for (period, value), group in activity.items()
        for name, feature in features.items()
    }


def core_feature_adoption_rate(
    events: list[TrackEvent],
    features: Mapping[str, Feature],
    months: AccountMonths,
    segment: Segment,
) -> Series:
    """core_feature_adoption_rate by (month start, segment value)."""
    activity = activity_by_key(events, months, "month", segment)
    adopters: dict[Key, set[str]] = defaultdict(set)
    for (key, account), used in core_features_by_account(events, features, months, segment).items():
        if len(used) >= MIN_CORE_FEATURES:
            adopters[key].add(account)
    return {
        key: ratio(len(adopters.get(key, set()) & group.accounts), len(group.accounts))
        for key, group in activity.items()
    }


# ---------------------------------------------------------------------------- the reference


@dataclass(frozen=True)
class AdoptionReference:
    """Both adoption metrics for every grain and segment (None = company level)."""

    as_of: dt.date
    features: dict[str, Feature]
    feature_adoption: dict[str, dict[Segment, FeatureSeries]]
    core_adoption: dict[Segment, Series]


@functools.lru_cache(maxsize=8)
def adoption_reference(seeds_dir: Path, as_of: dt.date) -> AdoptionReference:
    """The reference computed from the seed files under seeds_dir at as_of (cached)."""
    months = account_months(seeds_dir, as_of)
    features = load_features(seeds_dir, as_of)
    events = load_events(seeds_dir, as_of)
    return AdoptionReference(
        as_of=as_of,
        features=features,
        feature_adoption={
            grain: {
                segment: feature_adoption_rate(events, features, months, grain, segment)
                for segment in ALL_SEGMENTS
            }
            for grain in GRAINS
        },
        core_adoption={
            segment: core_feature_adoption_rate(events, features, months, segment)
            for segment in ALL_SEGMENTS
        },
    )


def show(value: Value) -> str:
    return "NULL" if value is None else f"{float(value):.4f}"


def main() -> None:
    """Smoke run on the shipped seeds: adoption by feature and core adoption in May 2026."""
    reference = adoption_reference(
        Path(__file__).resolve().parents[2] / "seeds", dt.date(2026, 6, 30)
    )
    may = dt.date(2026, 5, 1)
    monthly = reference.feature_adoption["month"][None]
    for name in sorted(reference.features):
        print(f"feature_adoption_rate 2026-05 {name:<14} {show(monthly.get((may, name, '')))}")
    print(
        f"core_feature_adoption_rate 2026-05 {show(reference.core_adoption[None].get((may, '')))}"
    )


if __name__ == "__main__":
    main()
