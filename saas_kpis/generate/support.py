"""support_incidents, support_tickets and support_nps_responses.

Incidents are simulated early in the world because they also drive API errors (events) and SLA
credits (invoices); tickets and NPS responses follow the paying windows and the health of accounts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from saas_kpis.generate.accounts import Accounts
from saas_kpis.generate.calendar import (
    DAY,
    HISTORY_MONTHS,
    NULL,
    Calendar,
    add_months,
    day_number,
    from_day_number,
)
from saas_kpis.generate.sampling import business_times, choice
from saas_kpis.generate.text import fmt_bool, fmt_int, fmt_ts, make_ids
from saas_kpis.generate.users import Users

PRIORITIES = ("low", "normal", "high", "urgent")
PRIORITY_WEIGHTS = (0.25, 0.45, 0.22, 0.08)
CHANNELS_SUPPORT = ("email", "chat", "phone")


@dataclass
class Incidents:
    """Column arrays of support_incidents, sorted by started_at."""

    started: np.ndarray
    resolved: np.ndarray  # NULL = ongoing
    severity: np.ndarray
    is_outage: np.ndarray


def incident_duration(rng: np.random.Generator, severity: np.ndarray) -> np.ndarray:
    """Duration in seconds: minutes to hours, longer tails for low severity."""
    median_min = np.select([severity == "sev1", severity == "sev2"], [75.0, 50.0], 90.0)
    minutes = np.clip(rng.lognormal(np.log(median_min), 0.9), 8, 16 * 60)
    return (minutes * 60).astype(np.int64)


def build_incidents(rng: np.random.Generator, cal: Calendar) -> Incidents:
    """~2 incidents per month, some overlapping outages, one ongoing at the as-of date."""
    span = cal.end_sec - cal.start_sec
    n = rng.poisson(2.1 * HISTORY_MONTHS)
    started = cal.start_sec + np.sort((rng.random(n) * (span - 2 * DAY)).astype(np.int64))
    severity = choice(rng, ("sev1", "sev2", "sev3"), (0.15, 0.35, 0.50), n)
    p_outage = np.select([severity == "sev1", severity == "sev2"], [0.8, 0.35], 0.1)
    is_outage = rng.random(n) < p_outage
    resolved = started + incident_duration(rng, severity)
    # overlapping outages: a second outage starts while an earlier one is still open
    hosts = np.nonzero(is_outage)[0]
    hosts = rng.choice(hosts, size=min(4, len(hosts)), replace=False)
    o_start = started[hosts] + (
        (resolved[hosts] - started[hosts]) * rng.uniform(0.2, 0.8, len(hosts))
    ).astype(np.int64)
    o_sev = choice(rng, ("sev2", "sev3"), (0.6, 0.4), len(hosts))
    o_res = o_start + incident_duration(rng, o_sev)
    # one outage still ongoing at the end of the as-of day, one incident resolved after it
    tail_start = np.array(
        [
            cal.end_sec - int(rng.integers(2 * 3600, 6 * 3600)),
            cal.end_sec - int(rng.integers(1800, 5400)),
        ]
    )
    tail_res = np.array([NULL, cal.end_sec + int(rng.integers(3600, 4 * 3600))])
    started = np.concatenate([started, o_start, tail_start])
    resolved = np.concatenate([resolved, o_res, tail_res])
    severity = np.concatenate([severity, o_sev, np.array(["sev2", "sev3"])])
    is_outage = np.concatenate([is_outage, np.ones(len(hosts), bool), np.array([True, False])])
    order = np.argsort(started, kind="stable")
    return Incidents(started[order], resolved[order], severity[order], is_outage[order])


def incidents_table(inc: Incidents) -> dict[str, list[str]]:
    """support_incidents rows."""
    return {
        "incident_id": make_ids("inc", len(inc.started), 4),
        "started_at": fmt_ts(inc.started),
        "resolved_at": fmt_ts(inc.resolved),
        "severity": inc.severity.tolist(),
        "is_outage": fmt_bool(inc.is_outage),
    }


def ticket_slots(
    rng: np.random.Generator,
    cal: Calendar,
    acc: Accounts,
    windows: list[list[tuple[int, int | None]]],
    max_tier: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(account, lo_sec, hi_sec) for every ticket, ~1 per paying account-month with variance."""
    tier_mult = np.array([0.7, 1.0, 1.8])[np.maximum(max_tier, 0)]
    rate = rng.gamma(2.0, 0.5, acc.n) * tier_mult * np.exp(-0.2 * acc.health)
    rate *= 0.85 / np.mean(tier_mult[max_tier >= 0]) if (max_tier >= 0).any() else 1.0
    last = day_number(cal.as_of) + 1
    accts, los, his = [], [], []
    for a, w in enumerate(windows):
        for s, e in w:
            end = last if e is None else min(e, last)
            m = from_day_number(s).replace(day=1)
            while day_number(m) < end:
                nxt = add_months(m, 1)
                lo, hi = max(day_number(m), s), min(day_number(nxt), end)
                n = rng.poisson(rate[a] * (hi - lo) / (day_number(nxt) - day_number(m)))
                accts.extend([a] * n)
                los.extend([max(lo * DAY, int(acc.created_sec[a]))] * n)
                his.extend([hi * DAY] * n)
                m = nxt
    to_arr = lambda x: np.array(x, dtype=np.int64)  # noqa: E731
    return to_arr(accts), to_arr(los), np.minimum(to_arr(his), cal.end_sec + 1)


def build_tickets(
    rng: np.random.Generator,
    cal: Calendar,
    acc: Accounts,
    windows: list[list[tuple[int, int | None]]],
    max_tier: np.ndarray,
) -> dict[str, list[str]]:
    """support_tickets rows: response and resolution times by priority, CSAT."""
    account, lo, hi = ticket_slots(rng, cal, acc, windows, max_tier)
    n = len(account)
    created = business_times(rng, lo, hi)
    prio = rng.choice(4, size=n, p=np.array(PRIORITY_WEIGHTS))
    enterprise = max_tier[account] == 2
    channel = np.where(
        enterprise,
        rng.choice(3, size=n, p=[0.45, 0.30, 0.25]),
        rng.choice(3, size=n, p=[0.58, 0.32, 0.10]),
    )
    escalated = rng.random(n) < np.array([0.03, 0.06, 0.12, 0.25])[prio]
    # first response: minutes for urgent, hours for low; a few never answered
    resp_median = np.array([420.0, 150.0, 45.0, 15.0])[prio] * 60
    resp = np.clip(rng.lognormal(np.log(resp_median), 1.0), 60, 2 * DAY).astype(np.int64)
    first_response = np.where(rng.random(n) < 0.015, NULL, created + resp)
    # resolution: hours to days after the first response
    res_median = np.array([30.0, 20.0, 10.0, 4.0])[prio] * 3600 * np.where(escalated, 2.5, 1.0)
    res = np.clip(rng.lognormal(np.log(res_median), 1.1), 600, 30 * DAY).astype(np.int64)
    age = (cal.end_sec - created) / DAY
    p_open = np.where(age < 7, 0.45, np.where(age < 30, 0.10, 0.008))
    is_open = (rng.random(n) < p_open) | (first_response == NULL)
    resolved = np.where(is_open, NULL, first_response + res)
    # CSAT on ~half of resolved tickets, skewed positive, worse after escalation
    rated = (resolved != NULL) & (rng.random(n) < 0.5)
    shift = np.where(escalated, -0.9, 0.0) + 0.3 * acc.health[account]
    score = np.clip(np.round(rng.normal(4.1 + shift, 1.0)), 1, 5).astype(np.int64)
    csat = np.where(rated, score, NULL)
    order = np.lexsort((prio, account, created))
    return {
        "ticket_id": make_ids("tkt", n, 6),
        "account_id": [acc.ids[a] for a in account[order].tolist()],
        "created_at": fmt_ts(created[order]),
        "first_response_at": fmt_ts(first_response[order]),
        "resolved_at": fmt_ts(resolved[order]),
        "priority": [PRIORITIES[p] for p in prio[order].tolist()],
        "channel": [CHANNELS_SUPPORT[c] for c in channel[order].tolist()],
        "is_escalated": fmt_bool(escalated[order]),
        "csat_score": fmt_int(csat[order]),
    }


def survey_waves(cal: Calendar) -> list[date]:
    """Quarterly NPS survey sends: the 10th of the middle month of every quarter."""
    waves = []
    m = date(cal.start.year, 1, 1)
    while m <= cal.as_of:
        wave = date(m.year, m.month + 1, 10)
        if cal.start <= wave <= cal.as_of:
            waves.append(wave)
        m = add_months(m, 3)
    return waves


def nps_scores(rng: np.random.Generator, health: np.ndarray, churning: np.ndarray) -> np.ndarray:
    """Promoters / passives / detractors driven by account health (NPS around 35)."""
    n = len(health)
    p_det = np.clip(0.14 - 0.07 * health + 0.2 * churning, 0.03, 0.8)
    p_pro = np.clip(0.56 + 0.12 * health - 0.2 * churning, 0.05, 0.9)
    p_pro = np.minimum(p_pro, 1.0 - p_det)
    r = rng.random(n)
    detractor = rng.choice(7, size=n, p=np.array([1, 1, 2, 3, 5, 8, 10]) / 30)
    passive = rng.choice([7, 8], size=n, p=[0.45, 0.55])
    promoter = rng.choice([9, 10], size=n, p=[0.55, 0.45])
    return np.where(r < p_det, detractor, np.where(r < p_det + p_pro, promoter, passive))


def build_nps(
    rng: np.random.Generator,
    cal: Calendar,
    acc: Accounts,
    users: Users,
    windows: list[list[tuple[int, int | None]]],
) -> dict[str, list[str]]:
    """Quarterly survey to up to 2 users of each paying account; ~35 % respond within days."""
    user_acc, user_t, resp_t, churning = [], [], [], []
    by_account: list[list[int]] = [[] for _ in range(acc.n)]
    for u, a in enumerate(users.account.tolist()):
        by_account[a].append(u)
    for wave in survey_waves(cal):
        day = day_number(wave)
        send = day * DAY + 15 * 3600
        for a, w in enumerate(windows):
            window = next(((s, e) for s, e in w if s <= day and (e is None or day < e)), None)
            if window is None:
                continue
            eligible = [u for u in by_account[a] if users.created_sec[u] <= send]
            k = min(2, len(eligible))
            picked = rng.choice(eligible, size=k, replace=False) if k else []
            for u in sorted(int(x) for x in picked):
                responds, delay = (
                    rng.random() < 0.35,
                    int(min(rng.exponential(2.0 * DAY), 21 * DAY)),
                )
                if responds and send + 60 + delay <= cal.end_sec:
                    user_acc.append(a)
                    user_t.append(u)
                    resp_t.append(send + 60 + delay)
                    churning.append(window[1] is not None and window[1] - day < 120)
    account = np.array(user_acc, dtype=np.int64)
    user = np.array(user_t, dtype=np.int64)
    responded = np.array(resp_t, dtype=np.int64)
    score = nps_scores(rng, acc.health[account], np.array(churning, dtype=float))
    order = np.lexsort((user, responded))
    return {
        "response_id": make_ids("nps", len(order), 5),
        "account_id": [acc.ids[a] for a in account[order].tolist()],
        "user_id": [users.ids[u] for u in user[order].tolist()],
        "responded_at": fmt_ts(responded[order]),
        "score": fmt_int(score[order]),
    }
