"""Independent computation of the account early warnings from the raw CSV files.

Plain Python (csv, datetime, fractions), written from the definitions in the README (Decisions,
"Early warnings") and the KPI spec's section 2, so that `fct_account_early_warnings` and the
metrics `at_risk_accounts` and `mrr_at_risk` (and the per-signal counts) can be checked against
something that shares no code with them. Account-months come from `reference.account_months()`;
accounts, features, events, tickets and API requests are read with the loaders of the other
references (each applies "known as of `as_of`" and the event de-duplication).

Conventions
- Population: accounts with `MRR(a, m) > 0` for m = the month of `as_of` (snapshot on `as_of`).
  The segment of a row is that of the account-month (a, month of `as_of`).
- L is the month before the month of `as_of` (the latest complete month); P the month before L.
- low_adoption: distinct core features (`is_core`, launched by `as_of`) with a known
  `feature_used` event of the account whose date is in `as_of - 90 ... as_of`; flagged when
  fewer than 3 and the account was created (UTC date) at least 91 days before `as_of`.
- tickets_rising: tickets created in L > tickets created in P (counts, 0 for none).
- usage_drop: meaningful events in L < 70 % of those in P, with P > 0 (exact: `10 L < 7 P`).
- csat_falling: mean `csat_score` of rated tickets created in L < that of P; each mean is None
  without a rated ticket (a CSAT of a ticket not resolved by `as_of` is not known yet), and the
  flag needs both.
- api_guardrail_breach: the account's API requests in L; continuous p95 of `latency_ms` >= 800 or
  (status >= 500) / requests >= 0.05; not flagged (p95 and rate None) without requests.
- signal_count: flags that are true; at risk from 2 signals.
- Values are exact Fractions (counts are ints).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from fractions import Fraction
from pathlib import Path
from typing import Any

from reference import account_months, month_start
from reference_adoption import MIN_CORE_FEATURES, Feature, load_features
from reference_product import TrackEvent, load_accounts, load_events, previous_month
from reference_revenue import ratio
from reference_support import load_api_requests, load_tickets, mean, percentile_cont

ADOPTION_WINDOW_DAYS = 91
API_LATENCY_P95_GUARDRAIL_MS = 800
API_ERROR_RATE_THRESHOLD = Fraction(5, 100)
MIN_SIGNALS = 2
SIGNALS = (
    "is_low_adoption",
    "is_tickets_rising",
    "is_usage_drop",
    "is_csat_falling",
    "is_api_guardrail_breach",
)


@dataclass(frozen=True)
class EarlyWarning:
    """One row of fct_account_early_warnings; field names are the mart's column names."""

    account_month_id: str
    mrr_usd: Fraction
    signal_count: int
    used_core_feature_count_13w: int
    latest_ticket_count: int
    previous_ticket_count: int
    latest_meaningful_event_count: int
    previous_meaningful_event_count: int
    latest_mean_csat_score: Fraction | None
    previous_mean_csat_score: Fraction | None
    latest_api_request_count: int
    latest_api_latency_p95_ms: Fraction | None
    latest_api_error_rate: Fraction | None
    is_at_risk: bool
    is_low_adoption: bool
    is_tickets_rising: bool
    is_usage_drop: bool
    is_csat_falling: bool
    is_api_guardrail_breach: bool
    is_adoption_window_complete: bool
    created_date: dt.date
    as_of_date: dt.date
    latest_month_start_date: dt.date

    def as_row(self) -> dict[str, Any]:
        return {field.name: getattr(self, field.name) for field in fields(self)}


COLUMNS = tuple(field.name for field in fields(EarlyWarning))


@dataclass(frozen=True)
class EarlyWarningReference:
    """The rows by account_id, and the segments of each row's account-month."""

    as_of: dt.date
    rows: dict[str, EarlyWarning]
    segments: dict[str, dict[str, str]]


def core_features_in_window(
    events: Iterable[TrackEvent], features: Mapping[str, Feature], as_of: dt.date
) -> dict[str, set[str]]:
    """Distinct launched core features used by each account in as_of - 90 ... as_of."""
    core = {name for name, feature in features.items() if feature.is_core}
    first_day = as_of - dt.timedelta(days=ADOPTION_WINDOW_DAYS - 1)
    used: dict[str, set[str]] = defaultdict(set)
    for event in events:
        if event.is_feature_use and event.feature_name in core and first_day <= event.day <= as_of:
            used[event.account_id].add(event.feature_name)
    return dict(used)


def meaningful_events_by_month(events: Iterable[TrackEvent]) -> dict[tuple[str, dt.date], int]:
    """Meaningful events per (account, month of the event's date)."""
    counts: dict[tuple[str, dt.date], int] = defaultdict(int)
    for event in events:
        if event.is_meaningful:
            counts[(event.account_id, month_start(event.day))] += 1
    return dict(counts)


def is_api_breach(p95: Fraction | None, error_rate: Fraction | None) -> bool:
    if p95 is None or error_rate is None:
        return False
    return p95 >= API_LATENCY_P95_GUARDRAIL_MS or error_rate >= API_ERROR_RATE_THRESHOLD


def is_csat_falling(latest: Fraction | None, previous: Fraction | None) -> bool:
    return latest is not None and previous is not None and latest < previous


@functools.lru_cache(maxsize=8)
def early_warning_reference(seeds_dir: Path, as_of: dt.date) -> EarlyWarningReference:
    """The early warnings computed from the seed files under seeds_dir at as_of (cached)."""
    current = month_start(as_of)
    latest = previous_month(current)
    previous = previous_month(latest)
    months = account_months(seeds_dir, as_of)
    accounts = load_accounts(seeds_dir, as_of)
    known_events = load_events(seeds_dir, as_of)
    core_used = core_features_in_window(known_events, load_features(seeds_dir, as_of), as_of)
    events = meaningful_events_by_month(known_events)

    tickets: dict[tuple[str, dt.date], list] = defaultdict(list)
    for ticket in load_tickets(seeds_dir, as_of):
        tickets[(ticket.account_id, month_start(ticket.day))].append(ticket)
    requests: dict[str, list] = defaultdict(list)
    for request in load_api_requests(seeds_dir, as_of):
        if month_start(request.day) == latest:
            requests[request.account_id].append(request)

    rows: dict[str, EarlyWarning] = {}
    segments: dict[str, dict[str, str]] = {}
    for (account_id, month), account_month in months.items():
        if month != current or not account_month.is_paying:
            continue
        created = accounts[account_id].created_date
        window_complete = (as_of - created).days >= ADOPTION_WINDOW_DAYS
        core_count = len(core_used.get(account_id, set()))
        latest_tickets = tickets.get((account_id, latest), [])
        previous_tickets = tickets.get((account_id, previous), [])
        latest_csat = mean(t.csat_score for t in latest_tickets if t.csat_score is not None)
        previous_csat = mean(t.csat_score for t in previous_tickets if t.csat_score is not None)
        latest_events = events.get((account_id, latest), 0)
        previous_events = events.get((account_id, previous), 0)
        account_requests = requests.get(account_id, [])
        p95 = percentile_cont((r.latency_ms for r in account_requests), Fraction(95, 100))
        errors = sum(request.http_status >= 500 for request in account_requests)
        error_rate = ratio(errors, len(account_requests))
        flags = {
            "is_low_adoption": window_complete and core_count < MIN_CORE_FEATURES,
            "is_tickets_rising": len(latest_tickets) > len(previous_tickets),
            "is_usage_drop": previous_events > 0 and 10 * latest_events < 7 * previous_events,
            "is_csat_falling": is_csat_falling(latest_csat, previous_csat),
            "is_api_guardrail_breach": is_api_breach(p95, error_rate),
        }
        signal_count = sum(flags.values())
        rows[account_id] = EarlyWarning(
            account_month_id=f"{account_id}|{current.isoformat()}",
            mrr_usd=Fraction(account_month.mrr_usd),
            signal_count=signal_count,
            used_core_feature_count_13w=core_count,
            latest_ticket_count=len(latest_tickets),
            previous_ticket_count=len(previous_tickets),
            latest_meaningful_event_count=latest_events,
            previous_meaningful_event_count=previous_events,
            latest_mean_csat_score=latest_csat,
            previous_mean_csat_score=previous_csat,
            latest_api_request_count=len(account_requests),
            latest_api_latency_p95_ms=p95,
            latest_api_error_rate=error_rate,
            is_at_risk=signal_count >= MIN_SIGNALS,
            is_adoption_window_complete=window_complete,
            created_date=created,
            as_of_date=as_of,
            latest_month_start_date=latest,
            **flags,
        )
        segments[account_id] = {
            "plan_tier": account_month.plan_tier,
            "industry": account_month.industry,
            "account_age_band": account_month.account_age_band,
        }
    return EarlyWarningReference(as_of=as_of, rows=rows, segments=segments)


def main() -> None:
    """Smoke run on the shipped seeds: how many accounts carry each signal."""
    reference = early_warning_reference(
        Path(__file__).resolve().parents[2] / "seeds", dt.date(2026, 6, 30)
    )
    rows = reference.rows.values()
    print(f"paying accounts {len(reference.rows)}")
    for name in (*SIGNALS, "is_at_risk"):
        print(f"{name:<28} {sum(getattr(row, name) for row in rows)}")
    print(f"mrr at risk {float(sum(row.mrr_usd for row in rows if row.is_at_risk)):,.2f}")


if __name__ == "__main__":
    main()
