"""Independent computation of the support and platform KPIs from the raw CSV files.

Plain Python (csv, datetime, fractions), written from sections 2 and 3 of the KPI spec, so that the
dbt marts and the MetricFlow metrics can be checked against something that shares no code with
them. The segments of every account-month come from `reference.account_months()`; tickets, NPS
responses, API requests and incidents are read from the seed files here.

Conventions
- A metric is a `Series`: `{(period_start, segment_value): value}`, for the grains "week" (the
  Monday of the ISO week) and "month" (the first day of the month). For the company level
  (segment None) the segment value is "".
- Known as of `as_of`: a ticket, NPS response, API request or incident exists when its own time
  (created_at, responded_at, occurred_at, started_at) is before the end of `as_of`
  (`as_of + 1 day 00:00`). A later first_response_at / resolved_at is NULL (not answered, not
  resolved, incident ongoing). The CSAT score has no time of its own; every rated ticket is
  resolved, so a ticket that is not resolved as of `as_of` is not rated yet either
  (`CSAT_NEEDS_KNOWN_RESOLUTION`).
- Which month's segment: an event takes the segment of the account-month (account, month of the
  event's UTC date), also at week grain (a week that straddles two months mixes both). An event
  whose account has no account-month row gets segment value "" (what MetricFlow shows for NULL).
  `tickets_per_account` (month grain only) counts tickets and paying accounts of month m, both in
  the segment of month m.
- Hours are exact elapsed time (seconds / 3600). Medians and latency percentiles are continuous
  (linear interpolation between the closest ranks, like numpy.percentile's default and
  PostgreSQL / DuckDB `percentile_cont`).
- Keys are sparse: a (period, segment value) appears when the metric's population has a row there
  (for `tickets_per_account`: a ticket or a paying account). A key outside a series means "no
  population": 0 for additive metrics (`ADDITIVE_METRICS`) and None for the others. Ratios whose
  denominator is 0, medians and means over nothing are None.
- Platform-wide metrics (`uptime`, `mttr_hours`) exist only for segment None. Uptime is defined
  for any period (`SupportReference.uptime`); its series covers every period from the one of the
  first outage through the one that contains `as_of`. Minutes in P are all minutes of P's days, and
  for the partial period the minutes through the end of `as_of` (not compared). An outage covers
  [started_at, resolved_at), an ongoing one [started_at, end of `as_of`); overlapping outages count
  once. Outage minutes are exact (seconds / 60), not rounded.
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

from reference import (
    AccountMonth,
    account_months,
    month_start,
    next_month,
    parse_timestamp,
    read_rows,
)
from reference_revenue import ALL_SEGMENTS, SEGMENTS, Segment, ratio, segment_value, week_start

Value = Fraction | None
Series = dict[tuple[dt.date, str], Value]
Interval = tuple[dt.datetime, dt.datetime]
AccountMonths = Mapping[tuple[str, dt.date], AccountMonth]
Event = TypeVar("Event")

GRAINS = ("week", "month")
ONE_DAY = dt.timedelta(days=1)
CSAT_NEEDS_KNOWN_RESOLUTION = True

TICKET_METRICS = (
    "support_tickets",
    "ticket_first_response_hours",
    "ticket_resolution_hours",
    "ticket_escalation_rate",
    "csat",
)
NPS_METRICS = ("nps",)
API_METRICS = (
    "api_requests",
    "api_latency_p50_ms",
    "api_latency_p95_ms",
    "api_latency_p99_ms",
    "api_error_rate",
    "api_throttle_rate",
)
SEGMENTED_METRICS = TICKET_METRICS + NPS_METRICS + API_METRICS
MONTH_ONLY_METRICS = ("tickets_per_account",)
PLATFORM_METRICS = ("uptime", "mttr_hours")
ADDITIVE_METRICS = frozenset({"support_tickets", "api_requests"})
PERCENTILES = {
    "api_latency_p50_ms": Fraction(1, 2),
    "api_latency_p95_ms": Fraction(95, 100),
    "api_latency_p99_ms": Fraction(99, 100),
}


def metrics_for(grain: str, segment: Segment) -> tuple[str, ...]:
    """The metrics defined at grain by segment (month-only and platform-wide ones included)."""
    names = SEGMENTED_METRICS
    if grain == "month":
        names += MONTH_ONLY_METRICS
    if segment is None:
        names += PLATFORM_METRICS
    return names


# ---------------------------------------------------------------------------- small helpers


def end_of(as_of: dt.date) -> dt.datetime:
    """The end of as_of_date: as_of + 1 day, 00:00 (exclusive bound of what is known)."""
    return dt.datetime.combine(as_of + ONE_DAY, dt.time())


def optional_timestamp(value: str) -> dt.datetime | None:
    return parse_timestamp(value) if value.strip() else None


def known_by(moment: dt.datetime | None, end: dt.datetime) -> dt.datetime | None:
    """moment when it happened before end, else None (it has not happened yet)."""
    return moment if moment is not None and moment < end else None


def parse_bool(value: str) -> bool:
    return value.strip().lower() in {"true", "t", "1", "yes", "y"}


def optional_int(value: str) -> int | None:
    return int(value) if value.strip() else None


def elapsed_seconds(start: dt.datetime, end: dt.datetime) -> Fraction:
    delta = end - start
    return Fraction(delta.days * 86_400 + delta.seconds) + Fraction(delta.microseconds, 10**6)


def elapsed_hours(start: dt.datetime, end: dt.datetime | None) -> Fraction | None:
    """Exact hours from start to end; None when end is None."""
    return None if end is None else elapsed_seconds(start, end) / 3600


def period_start(day: dt.date, grain: str) -> dt.date:
    """The Monday of day's ISO week (grain "week") or the first of its month (grain "month")."""
    return week_start(day) if grain == "week" else month_start(day)


def period_end(start: dt.date, grain: str) -> dt.date:
    """The first day after the period that starts on start."""
    return start + dt.timedelta(days=7) if grain == "week" else next_month(start)


def periods(first_day: dt.date, last_day: dt.date, grain: str) -> list[dt.date]:
    """Starts of the periods from the one of first_day through the one of last_day."""
    result, start = [], period_start(first_day, grain)
    while start <= last_day:
        result.append(start)
        start = period_end(start, grain)
    return result


def percentile_cont(values: Iterable[int | Fraction], fraction: Fraction) -> Fraction | None:
    """Continuous percentile (linear interpolation between closest ranks); None for no values."""
    ordered = sorted(Fraction(value) for value in values)
    if not ordered:
        return None
    position = fraction * (len(ordered) - 1)
    lower = int(position)
    upper = min(lower + 1, len(ordered) - 1)
    return ordered[lower] + (ordered[upper] - ordered[lower]) * (position - lower)


def median(values: Iterable[int | Fraction]) -> Fraction | None:
    return percentile_cont(values, Fraction(1, 2))


def mean(values: Iterable[int | Fraction]) -> Fraction | None:
    listed = [Fraction(value) for value in values]
    return ratio(sum(listed, Fraction(0)), len(listed))


# ---------------------------------------------------------------------------- raw rows


@dataclass(frozen=True)
class Ticket:
    """One support ticket created by the end of as_of; later times are None (not yet)."""

    ticket_id: str
    account_id: str
    created_at: dt.datetime
    first_response_hours: Fraction | None
    resolution_hours: Fraction | None
    is_escalated: bool
    csat_score: int | None

    @property
    def day(self) -> dt.date:
        return self.created_at.date()


@dataclass(frozen=True)
class NpsResponse:
    """One NPS response given by the end of as_of."""

    response_id: str
    account_id: str
    responded_at: dt.datetime
    score: int

    @property
    def day(self) -> dt.date:
        return self.responded_at.date()

    @property
    def is_promoter(self) -> bool:
        return self.score >= 9

    @property
    def is_detractor(self) -> bool:
        return self.score <= 6


@dataclass(frozen=True)
class ApiRequest:
    """One public API request made by the end of as_of."""

    request_id: str
    account_id: str
    occurred_at: dt.datetime
    http_status: int
    latency_ms: int

    @property
    def day(self) -> dt.date:
        return self.occurred_at.date()


@dataclass(frozen=True)
class Incident:
    """One incident started by the end of as_of; resolved_at is None while ongoing as of as_of."""

    incident_id: str
    started_at: dt.datetime
    resolved_at: dt.datetime | None
    severity: str
    is_outage: bool

    @property
    def day(self) -> dt.date:
        return self.started_at.date()

    @property
    def resolution_hours(self) -> Fraction | None:
        return elapsed_hours(self.started_at, self.resolved_at)


def load_tickets(seeds_dir: Path, as_of: dt.date) -> list[Ticket]:
    end = end_of(as_of)
    tickets = []
    for row in read_rows(seeds_dir, "support_tickets"):
        created = parse_timestamp(row["created_at"])
        if created >= end:
            continue
        resolved = known_by(optional_timestamp(row["resolved_at"]), end)
        csat = optional_int(row["csat_score"])
        if CSAT_NEEDS_KNOWN_RESOLUTION and resolved is None:
            csat = None
        tickets.append(
            Ticket(
                ticket_id=row["ticket_id"],
                account_id=row["account_id"],
                created_at=created,
                first_response_hours=elapsed_hours(
                    created, known_by(optional_timestamp(row["first_response_at"]), end)
                ),
                resolution_hours=elapsed_hours(created, resolved),
                is_escalated=parse_bool(row["is_escalated"]),
                csat_score=csat,
            )
        )
    return tickets


def load_nps_responses(seeds_dir: Path, as_of: dt.date) -> list[NpsResponse]:
    end = end_of(as_of)
    responses = (
        NpsResponse(
            response_id=row["response_id"],
            account_id=row["account_id"],
            responded_at=parse_timestamp(row["responded_at"]),
            score=int(row["score"]),
        )
        for row in read_rows(seeds_dir, "support_nps_responses")
    )
    return [response for response in responses if response.responded_at < end]


def load_api_requests(seeds_dir: Path, as_of: dt.date) -> list[ApiRequest]:
    end = end_of(as_of)
    requests = (
        ApiRequest(
            request_id=row["request_id"],
            account_id=row["account_id"],
            occurred_at=parse_timestamp(row["occurred_at"]),
            http_status=int(row["http_status"]),
            latency_ms=int(row["latency_ms"]),
        )
        for row in read_rows(seeds_dir, "events_api_requests")
    )
    return [request for request in requests if request.occurred_at < end]


def load_incidents(seeds_dir: Path, as_of: dt.date) -> list[Incident]:
    end = end_of(as_of)
    incidents = []
    for row in read_rows(seeds_dir, "support_incidents"):
        started = parse_timestamp(row["started_at"])
        if started >= end:
            continue
        incidents.append(
            Incident(
                incident_id=row["incident_id"],
                started_at=started,
                resolved_at=known_by(optional_timestamp(row["resolved_at"]), end),
                severity=row["severity"],
                is_outage=parse_bool(row["is_outage"]),
            )
        )
    return incidents


# ---------------------------------------------------------------------------- grouping


def group_events(
    events: Iterable[Event],
    day_of: Callable[[Event], dt.date],
    account_of: Callable[[Event], str],
    months: AccountMonths,
    grain: str,
    segment: Segment,
) -> dict[tuple[dt.date, str], list[Event]]:
    """Events by (period of their day, segment value of the account-month of their day)."""
    groups: dict[tuple[dt.date, str], list[Event]] = defaultdict(list)
    for event in events:
        day = day_of(event)
        row = months.get((account_of(event), month_start(day)))
        groups[(period_start(day, grain), segment_value(row, segment))].append(event)
    return dict(groups)


def ticket_values(tickets: list[Ticket]) -> dict[str, Value]:
    """The ticket metrics of one (period, segment value)."""
    return {
        "support_tickets": Fraction(len(tickets)),
        "ticket_first_response_hours": median(
            t.first_response_hours for t in tickets if t.first_response_hours is not None
        ),
        "ticket_resolution_hours": median(
            t.resolution_hours for t in tickets if t.resolution_hours is not None
        ),
        "ticket_escalation_rate": ratio(sum(t.is_escalated for t in tickets), len(tickets)),
        "csat": mean(t.csat_score for t in tickets if t.csat_score is not None),
    }


def nps_values(responses: list[NpsResponse]) -> dict[str, Value]:
    """NPS of one (period, segment value): 100 x (promoters - detractors) / responses."""
    promoters = sum(response.is_promoter for response in responses)
    detractors = sum(response.is_detractor for response in responses)
    return {"nps": ratio(100 * (promoters - detractors), len(responses))}


def api_values(requests: list[ApiRequest]) -> dict[str, Value]:
    """The API metrics of one (period, segment value)."""
    latencies = [request.latency_ms for request in requests]
    values: dict[str, Value] = {
        "api_requests": Fraction(len(requests)),
        "api_error_rate": ratio(sum(r.http_status >= 500 for r in requests), len(requests)),
        "api_throttle_rate": ratio(sum(r.http_status == 429 for r in requests), len(requests)),
    }
    for name, fraction in PERCENTILES.items():
        values[name] = percentile_cont(latencies, fraction)
    return values


def to_series(
    groups: Mapping[tuple[dt.date, str], list[Event]],
    values_of: Callable[[list[Event]], dict[str, Value]],
) -> dict[str, Series]:
    """{metric: {key: value}} from the events of each key."""
    series: dict[str, Series] = defaultdict(dict)
    for key, events in groups.items():
        for name, value in values_of(events).items():
            series[name][key] = value
    return dict(series)


def paying_accounts(months: AccountMonths, segment: Segment) -> dict[tuple[dt.date, str], int]:
    """Accounts paying in month m by (m, segment value of (a, m))."""
    counts: dict[tuple[dt.date, str], int] = defaultdict(int)
    for (_, month), row in months.items():
        if row.is_paying:
            counts[(month, segment_value(row, segment))] += 1
    return dict(counts)


def tickets_per_account(
    tickets: Mapping[tuple[dt.date, str], list[Ticket]], paying: Mapping[tuple[dt.date, str], int]
) -> Series:
    """Tickets created in m / accounts paying in m, both by the segment of month m."""
    return {
        key: ratio(len(tickets.get(key, [])), paying.get(key, 0))
        for key in set(tickets) | set(paying)
    }


# ---------------------------------------------------------------------------- platform


def outage_intervals(incidents: Iterable[Incident], as_of: dt.date) -> list[Interval]:
    """The union of the outages as disjoint, sorted [start, end) intervals.

    An outage not resolved by the end of as_of lasts until then.
    """
    end = end_of(as_of)
    spans = sorted(
        (incident.started_at, incident.resolved_at or end)
        for incident in incidents
        if incident.is_outage
    )
    merged: list[Interval] = []
    for start, stop in spans:
        if stop <= start:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], stop))
        else:
            merged.append((start, stop))
    return merged


def covered_minutes(
    intervals: Iterable[Interval], start: dt.datetime, stop: dt.datetime
) -> Fraction:
    """Minutes of [start, stop) covered by disjoint intervals."""
    seconds = Fraction(0)
    for first, last in intervals:
        overlap_start, overlap_stop = max(first, start), min(last, stop)
        if overlap_start < overlap_stop:
            seconds += elapsed_seconds(overlap_start, overlap_stop)
    return seconds / 60


def daily_outage_minutes(intervals: Iterable[Interval]) -> dict[dt.date, Fraction]:
    """Outage minutes per UTC day, for the days with any outage."""
    result: dict[dt.date, Fraction] = defaultdict(Fraction)
    for first, last in intervals:
        day = first.date()
        while dt.datetime.combine(day, dt.time()) < last:
            midnight = dt.datetime.combine(day, dt.time())
            result[day] += covered_minutes([(first, last)], midnight, midnight + ONE_DAY)
            day += ONE_DAY
    return {day: minutes for day, minutes in result.items() if minutes > 0}


def uptime(intervals: list[Interval], start: dt.date, grain: str, as_of: dt.date) -> Fraction:
    """1 - outage minutes / minutes of the period from start (minutes through the end of as_of)."""
    first = dt.datetime.combine(start, dt.time())
    last = min(dt.datetime.combine(period_end(start, grain), dt.time()), end_of(as_of))
    minutes = elapsed_seconds(first, last) / 60
    return 1 - covered_minutes(intervals, first, last) / minutes


def mttr_hours(incidents: Iterable[Incident], grain: str) -> Series:
    """Mean hours to resolution of incidents started in P and resolved by the end of as_of."""
    hours: dict[tuple[dt.date, str], list[Fraction]] = defaultdict(list)
    for incident in incidents:
        if incident.resolution_hours is not None:
            hours[(period_start(incident.day, grain), "")].append(incident.resolution_hours)
    return {key: mean(values) for key, values in hours.items()}


def uptime_series(intervals: list[Interval], grain: str, as_of: dt.date) -> Series:
    """Uptime of every period from the one of the first outage through the one of as_of."""
    if not intervals:
        return {}
    return {
        (start, ""): uptime(intervals, start, grain, as_of)
        for start in periods(intervals[0][0].date(), as_of, grain)
    }


# ---------------------------------------------------------------------------- everything


@dataclass(frozen=True)
class SupportReference:
    """All reference values and rows of one (seed files, as_of) scenario."""

    as_of: dt.date
    tickets: dict[str, Ticket]
    nps_responses: dict[str, NpsResponse]
    api_requests: dict[str, ApiRequest]
    incidents: dict[str, Incident]
    outages: list[Interval]
    daily_outage_minutes: dict[dt.date, Fraction]
    series: dict[str, dict[Segment, dict[str, Series]]]

    def uptime(self, start: dt.date, grain: str) -> Fraction:
        """Uptime of any period (also one outside the uptime series)."""
        return uptime(self.outages, start, grain, self.as_of)


def segmented_series(
    months: AccountMonths,
    tickets: list[Ticket],
    responses: list[NpsResponse],
    requests: list[ApiRequest],
    grain: str,
    segment: Segment,
) -> dict[str, Series]:
    """Every segmented metric of one grain by one segment (month-only metrics at month grain)."""
    ticket_groups = group_events(
        tickets, lambda t: t.day, lambda t: t.account_id, months, grain, segment
    )
    result = to_series(ticket_groups, ticket_values)
    result |= to_series(
        group_events(responses, lambda r: r.day, lambda r: r.account_id, months, grain, segment),
        nps_values,
    )
    result |= to_series(
        group_events(requests, lambda r: r.day, lambda r: r.account_id, months, grain, segment),
        api_values,
    )
    if grain == "month":
        result["tickets_per_account"] = tickets_per_account(
            ticket_groups, paying_accounts(months, segment)
        )
    return {name: result.get(name, {}) for name in metrics_for(grain, segment) if name in result}


@functools.cache
def support_reference(seeds_dir: Path, as_of: dt.date) -> SupportReference:
    """Compute (once per scenario) every support and platform reference value."""
    months = account_months(seeds_dir, as_of)
    tickets = load_tickets(seeds_dir, as_of)
    responses = load_nps_responses(seeds_dir, as_of)
    requests = load_api_requests(seeds_dir, as_of)
    incidents = load_incidents(seeds_dir, as_of)
    outages = outage_intervals(incidents, as_of)
    series: dict[str, dict[Segment, dict[str, Series]]] = {}
    for grain in GRAINS:
        series[grain] = {
            segment: segmented_series(months, tickets, responses, requests, grain, segment)
            for segment in ALL_SEGMENTS
        }
        series[grain][None]["uptime"] = uptime_series(outages, grain, as_of)
        series[grain][None]["mttr_hours"] = mttr_hours(incidents, grain)
    return SupportReference(
        as_of=as_of,
        tickets={ticket.ticket_id: ticket for ticket in tickets},
        nps_responses={response.response_id: response for response in responses},
        api_requests={request.request_id: request for request in requests},
        incidents={incident.incident_id: incident for incident in incidents},
        outages=outages,
        daily_outage_minutes=daily_outage_minutes(outages),
        series=series,
    )


# ---------------------------------------------------------------------------- self-checks


def check_identities(reference: SupportReference) -> None:
    """Identities the reference itself must satisfy (segment sums, bounds, period totals)."""
    for grain in GRAINS:
        company = reference.series[grain][None]
        for segment in SEGMENTS:
            for name in ADDITIVE_METRICS:
                by_period: dict[dt.date, Fraction] = defaultdict(Fraction)
                for (start, _), value in reference.series[grain][segment][name].items():
                    by_period[start] += value  # type: ignore[operator]
                assert by_period == {start: company[name][(start, "")] for start in by_period}
        assert sum(company["support_tickets"].values()) == len(reference.tickets)  # type: ignore[arg-type]
        assert sum(company["api_requests"].values()) == len(reference.api_requests)  # type: ignore[arg-type]
        assert all(0 <= value <= 1 for value in company["uptime"].values())  # type: ignore[operator]
        for key, p50 in company["api_latency_p50_ms"].items():
            p95, p99 = company["api_latency_p95_ms"][key], company["api_latency_p99_ms"][key]
            assert p50 <= p95 <= p99, key  # type: ignore[operator]
    total = sum(reference.daily_outage_minutes.values(), Fraction(0))
    assert total == sum((covered_minutes([span], *span) for span in reference.outages), Fraction(0))


def show(label: str, value: Value) -> None:
    print(f"{label:<52} {'NULL' if value is None else f'{float(value):,.6f}'}")


def main() -> None:
    """Smoke run on the shipped seeds: print a few values and check that they are plausible."""
    seeds_dir = Path(__file__).resolve().parents[2] / "seeds"
    as_of = dt.date(2026, 6, 30)
    reference = support_reference(seeds_dir, as_of)
    monthly = reference.series["month"][None]
    for month in (dt.date(2026, 3, 1), dt.date(2026, 4, 1), dt.date(2026, 5, 1)):
        for name in metrics_for("month", None):
            show(f"{month} {name}", monthly[name].get((month, "")))
    may = (dt.date(2026, 5, 1), "")
    for tier in ("starter", "pro", "enterprise", "none"):
        key = (may[0], tier)
        for name in ("support_tickets", "tickets_per_account", "api_latency_p95_ms"):
            show(f"2026-05 {tier} {name}", reference.series["month"]["plan_tier"][name].get(key))
    weekly = reference.series["week"][None]
    for monday in sorted(start for start, _ in weekly["api_requests"])[-3:]:
        for name in ("support_tickets", "nps", "api_latency_p95_ms", "uptime", "mttr_hours"):
            show(f"{monday} {name}", weekly[name].get((monday, "")))
    show("2026-06-30 outage minutes (ongoing outage)", reference.daily_outage_minutes[as_of])
    nps = monthly["nps"][(dt.date(2026, 5, 1), "")]
    assert nps is not None and 20 < nps < 55, nps
    assert 500 < monthly["api_latency_p95_ms"][may] < 1000  # type: ignore[operator]
    assert all(v > Fraction(98, 100) for v in monthly["uptime"].values())  # type: ignore[operator]
    check_identities(reference)
    print("reference_support: smoke run OK")


if __name__ == "__main__":
    main()
