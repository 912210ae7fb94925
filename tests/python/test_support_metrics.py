"""Support and platform KPIs against the independent reference (reference_support).

Semantic layer: every metric of the spec's "Support and platform" section at week and month grain,
ungrouped and by each segment (`tickets_per_account` at month grain only; `uptime` and
`mttr_hours`, platform-wide, ungrouped only), one `mf query` per grain and segment, on complete
periods only (not the month or ISO week that contains as_of). Marts: fct_tickets,
fct_nps_responses, fct_api_requests, fct_incidents and fct_daily_uptime, every row.

Comparison rule: on the union of the keys that MetricFlow returns and the reference's keys. A key
that one side lacks is 0 for additive metrics (counts: MetricFlow has no row where there is no
fact) and NULL for the others; uptime is defined for every period, so it is computed for every key
MetricFlow returns. An explicit NULL where the reference has a number fails, also for a count: the
spec makes a count over nothing 0, never NULL.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
import random
from collections.abc import Mapping
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from comparison import (
    TIME_COLUMNS,
    Comparison,
    compare_mart,
    compare_series,
    query_metrics,
)
from conftest import Build
from reference_support import (
    ADDITIVE_METRICS,
    GRAINS,
    SEGMENTS,
    Incident,
    NpsResponse,
    Segment,
    Series,
    SupportReference,
    Ticket,
    check_identities,
    daily_outage_minutes,
    load_tickets,
    metrics_for,
    nps_values,
    outage_intervals,
    percentile_cont,
    period_start,
    support_reference,
    ticket_values,
    uptime,
)

from saas_kpis.project import REPO_ROOT

Key = tuple[dt.date, str]


def reference_for(build: Build) -> SupportReference:
    return support_reference(build.seeds_dir, build.as_of)


# ---------------------------------------------------------------------------- semantic layer


def expected_metrics(
    reference: SupportReference,
    grain: str,
    segment: Segment,
    actual: Mapping[str, Mapping[Key, float | None]],
) -> dict[str, Series]:
    """The reference series, with uptime computed for every key that MetricFlow returned too."""
    expected = dict(reference.series[grain][segment])
    if "uptime" in actual:
        keys = set(expected["uptime"]) | set(actual["uptime"])
        expected["uptime"] = {key: reference.uptime(key[0], grain) for key in keys}
    return expected


@pytest.mark.parametrize("grain", GRAINS)
@pytest.mark.parametrize("segment", [None, *SEGMENTS])
def test_support_metrics_from_semantic_layer(build: Build, grain: str, segment: Segment) -> None:
    reference = reference_for(build)
    actual = query_metrics(
        build.project_dir, metrics_for(grain, segment), [TIME_COLUMNS[grain]], segment
    )
    expected = expected_metrics(reference, grain, segment, actual)
    partial_period = period_start(build.as_of, grain)
    comparison = Comparison()
    for metric, values in actual.items():
        compare_series(
            comparison,
            metric,
            values,
            expected.get(metric, {}),
            lambda key: key[0] < partial_period,
            additive=metric in ADDITIVE_METRICS,
        )
    comparison.assert_ok(actual)


# ---------------------------------------------------------------------------- marts

TICKET_COLUMNS = (
    "account_id",
    "created_at",
    "first_response_hours",
    "resolution_hours",
    "is_escalated",
    "csat_score",
)
NPS_COLUMNS = ("nps_score", "is_promoter", "is_detractor")
INCIDENT_COLUMNS = ("started_at", "is_outage", "resolution_hours")


def ticket_row(ticket: Ticket) -> dict[str, Any]:
    return {
        "account_id": ticket.account_id,
        "created_at": ticket.created_at,
        "first_response_hours": ticket.first_response_hours,
        "resolution_hours": ticket.resolution_hours,
        "is_escalated": ticket.is_escalated,
        "csat_score": None if ticket.csat_score is None else Fraction(ticket.csat_score),
    }


def test_tickets_mart(build: Build) -> None:
    expected = {key: ticket_row(ticket) for key, ticket in reference_for(build).tickets.items()}
    compare_mart(build, "fct_tickets", ("ticket_id",), TICKET_COLUMNS, expected)


def test_nps_responses_mart(build: Build) -> None:
    expected = {
        key: {
            "nps_score": Fraction(response.score),
            "is_promoter": response.is_promoter,
            "is_detractor": response.is_detractor,
        }
        for key, response in reference_for(build).nps_responses.items()
    }
    compare_mart(build, "fct_nps_responses", ("response_id",), NPS_COLUMNS, expected)


def test_incidents_mart(build: Build) -> None:
    expected = {
        key: {
            "started_at": incident.started_at,
            "is_outage": incident.is_outage,
            "resolution_hours": incident.resolution_hours,
        }
        for key, incident in reference_for(build).incidents.items()
    }
    compare_mart(build, "fct_incidents", ("incident_id",), INCIDENT_COLUMNS, expected)


def test_api_requests_mart(build: Build) -> None:
    expected = {
        key: (request.http_status, request.latency_ms)
        for key, request in reference_for(build).api_requests.items()
    }
    rows = build.query("select request_id, http_status_code, latency_ms from main.fct_api_requests")
    actual = {row[0]: (row[1], row[2]) for row in rows}
    assert len(actual) == len(rows), "fct_api_requests: duplicate request_id"
    assert len(actual) == len(expected)
    assert set(actual) == set(expected)
    differing = sorted(key for key in expected if actual[key] != expected[key])
    assert not differing, f"{len(differing)} requests differ, e.g. {differing[:5]}"


def as_date(value: dt.date | dt.datetime) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value


def test_daily_uptime_mart(build: Build) -> None:
    reference = reference_for(build)
    rows = build.query(
        "select date_day, outage_minutes, minutes_in_day from main.fct_daily_uptime order by 1"
    )
    days = [as_date(row[0]) for row in rows]
    assert len(days) == len(set(days)), "fct_daily_uptime: duplicate days"
    assert days[-1] == reference.as_of
    assert days == [days[0] + dt.timedelta(days=n) for n in range(len(days))], "gaps in days"
    assert {row[2] for row in rows} == {1440}
    first_records = [incident.day for incident in reference.incidents.values()]
    first_records += [ticket.day for ticket in reference.tickets.values()]
    assert days[0] <= min(first_records, default=days[0])
    assert set(reference.daily_outage_minutes) <= set(days), "outage days outside the mart"
    comparison = Comparison()
    for day, (_, outage_minutes, _) in zip(days, rows, strict=True):
        expected = reference.daily_outage_minutes.get(day, Fraction(0))
        comparison.check("outage_minutes", day, outage_minutes, expected)
    comparison.assert_ok(["outage_minutes"])
    assert any(outage > 0 for _, outage, _ in rows), "scenario without any outage"


# ---------------------------------------------------------------------------- the reference itself


def test_reference_satisfies_identities_on_shipped_seeds() -> None:
    """Segment sums equal company totals, percentiles ordered, uptime within [0, 1]."""
    reference = support_reference(REPO_ROOT / "seeds", dt.date(2026, 6, 30))
    check_identities(reference)
    may = (dt.date(2026, 5, 1), "")
    monthly = reference.series["month"][None]
    assert 20 < monthly["nps"][may] < 55  # type: ignore[operator]
    assert 500 < monthly["api_latency_p95_ms"][may] < 1000  # type: ignore[operator]


def test_percentile_cont_matches_numpy() -> None:
    generator = random.Random(20260630)
    for _ in range(300):
        values = [generator.randint(0, 5000) for _ in range(generator.randint(1, 60))]
        for fraction in (Fraction(1, 2), Fraction(95, 100), Fraction(99, 100)):
            expected = np.percentile(values, float(fraction) * 100)
            assert math.isclose(float(percentile_cont(values, fraction)), expected)  # type: ignore[arg-type]
    assert percentile_cont([], Fraction(1, 2)) is None


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def incident(started: str, resolved: str | None, is_outage: bool = True) -> Incident:
    return Incident("inc", at(started), at(resolved) if resolved else None, "sev1", is_outage)


def test_outage_union_overlaps_midnight_and_ongoing() -> None:
    as_of = dt.date(2026, 3, 31)
    incidents = [
        incident("2026-03-02 23:30:00", "2026-03-03 00:30:00"),  # over midnight
        incident("2026-03-10 10:00:00", "2026-03-10 11:00:00"),
        incident("2026-03-10 10:30:00", "2026-03-10 11:30:30"),  # overlaps the previous one
        incident("2026-03-10 12:00:00", "2026-03-10 18:00:00", is_outage=False),
        incident("2026-03-31 23:00:00", None),  # ongoing: until the end of as_of
    ]
    intervals = outage_intervals(incidents, as_of)
    daily = daily_outage_minutes(intervals)
    assert daily == {
        dt.date(2026, 3, 2): 30,
        dt.date(2026, 3, 3): 30,
        dt.date(2026, 3, 10): Fraction(181, 2),
        dt.date(2026, 3, 31): 60,
    }
    assert uptime(intervals, dt.date(2026, 3, 1), "month", as_of) == 1 - Fraction(421, 2) / (
        31 * 1440
    )
    assert uptime(intervals, dt.date(2026, 3, 2), "week", as_of) == 1 - Fraction(60, 7 * 1440)
    assert uptime(intervals, dt.date(2026, 3, 16), "week", as_of) == 1


def write_tickets(seeds_dir: Path, rows: list[dict[str, str]]) -> None:
    (seeds_dir / "support").mkdir(parents=True)
    with open(seeds_dir / "support" / "support_tickets.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def ticket_csv_row(ticket_id: str, created: str, response: str, resolved: str, csat: str) -> dict:
    return {
        "ticket_id": ticket_id,
        "account_id": "acc_1",
        "created_at": created,
        "first_response_at": response,
        "resolved_at": resolved,
        "priority": "normal",
        "channel": "email",
        "is_escalated": "false",
        "csat_score": csat,
    }


def test_tickets_known_as_of(tmp_path: Path) -> None:
    """Later responses and resolutions are NULL, later tickets do not exist, hours are exact."""
    write_tickets(
        tmp_path,
        [
            ticket_csv_row("t1", "2026-03-30 10:00:00", "2026-03-30 11:30:00", "", ""),
            ticket_csv_row("t2", "2026-03-31 20:00:00", "2026-04-01 00:00:00", "", ""),
            ticket_csv_row(
                "t3", "2026-03-31 08:00:00", "2026-03-31 08:00:36", "2026-04-02 09:00:00", "5"
            ),
            ticket_csv_row(
                "t4", "2026-03-01 08:00:00", "2026-03-01 09:00:00", "2026-03-31 23:59:59", "4"
            ),
            ticket_csv_row("t5", "2026-04-01 00:00:00", "", "", ""),
        ],
    )
    tickets = {ticket.ticket_id: ticket for ticket in load_tickets(tmp_path, dt.date(2026, 3, 31))}
    assert sorted(tickets) == ["t1", "t2", "t3", "t4"]
    assert tickets["t1"].first_response_hours == Fraction(3, 2)
    assert tickets["t2"].first_response_hours is None
    assert (tickets["t3"].first_response_hours, tickets["t3"].resolution_hours) == (
        Fraction(1, 100),
        None,
    )
    assert (tickets["t3"].csat_score, tickets["t4"].csat_score) == (None, 4)
    values = ticket_values(list(tickets.values()))
    assert values["support_tickets"] == 4
    assert values["ticket_first_response_hours"] == 1  # median of 1/100, 1, 3/2
    assert values["csat"] == 4


def test_median_of_even_count_and_nps() -> None:
    def ticket(hours: int, escalated: bool) -> Ticket:
        return Ticket("t", "a", at("2026-01-05 00:00:00"), Fraction(hours), None, escalated, None)

    values = ticket_values([ticket(1, True), ticket(2, False), ticket(4, False), ticket(10, False)])
    assert values["ticket_first_response_hours"] == 3
    assert values["ticket_escalation_rate"] == Fraction(1, 4)
    assert (values["ticket_resolution_hours"], values["csat"]) == (None, None)
    assert ticket_values([])["ticket_escalation_rate"] is None

    scores = [10, 9, 8, 7, 6, 0, 9]
    responses = [NpsResponse("r", "a", at("2026-01-05 00:00:00"), score) for score in scores]
    assert nps_values(responses)["nps"] == Fraction(100 * (3 - 2), 7)
    assert nps_values([])["nps"] is None
