"""The two event logs, events_tracks and events_api_requests, and the activity that drives them.

The logs are built as typed arrays (:class:`TrackRows`, :class:`ApiRows`) of indexes and epoch
seconds for any slice of accounts, so that the large datasets can be simulated batch by batch;
:mod:`saas_kpis.generate.event_logs` renders them into the contract's rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from saas_kpis.generate.accounts import Accounts
from saas_kpis.generate.calendar import DAY, NULL, WEEK, Calendar, day_number, from_day_number
from saas_kpis.generate.sampling import business_times, choice
from saas_kpis.generate.support import Incidents
from saas_kpis.generate.users import FEATURES, Users, feature_launch_days

EVENT_NAMES = (
    "page_viewed",
    "logged_in",
    "project_created",
    "feature_used",
    "report_exported",
    "invite_sent",
    "onboarding_step_completed",
)
EV = {name: i for i, name in enumerate(EVENT_NAMES)}
# Event mix inside a session (first event of a session is logged_in with probability 0.45).
SESSION_EVENT_WEIGHTS = {
    "page_viewed": 0.30,
    "feature_used": 0.38,
    "project_created": 0.06,
    "report_exported": 0.17,
    "invite_sent": 0.03,
    "logged_in": 0.06,
}
TRACK_EVENTS_PER_ACCOUNT = 125  # calibration target for session events (size budget)
API_REQUESTS_PER_ACCOUNT = 64

ENDPOINTS = ("/v1/events", "/v1/projects", "/v1/reports", "/v1/users", "/v1/exports")
ENDPOINT_WEIGHTS = (0.36, 0.22, 0.18, 0.14, 0.10)
ENDPOINT_LATENCY = (0.7, 1.0, 1.5, 0.9, 2.6)


def seasonality(week_starts: np.ndarray) -> np.ndarray:
    """Lower activity in the weeks around Christmas / New Year."""
    out = np.ones(len(week_starts))
    for i, ws in enumerate(week_starts.tolist()):
        days = [from_day_number(ws // DAY + k) for k in range(7)]
        if any((d.month == 12 and d.day >= 24) or (d.month == 1 and d.day == 1) for d in days):
            out[i] = 0.5
    return out


def quiet_days(
    rng: np.random.Generator, cal: Calendar, windows: list[list[tuple[int, int | None]]]
) -> np.ndarray:
    """~12 % of currently paying accounts silently stop using the product at some day."""
    out = np.full(len(windows), NULL, dtype=np.int64)
    last_day = day_number(cal.as_of)
    for a, w in enumerate(windows):
        u, x = rng.random(), rng.random()
        if not w or w[-1][1] is not None:
            continue
        lo, hi = w[-1][0] + 90, last_day - 14
        if hi > lo and u < 0.12:
            out[a] = lo + int(x * (hi - lo))
    return out


def activity_factor(
    rng: np.random.Generator,
    cal: Calendar,
    acc: Accounts,
    windows: list[list[tuple[int, int | None]]],
    week_starts: np.ndarray,
) -> np.ndarray:
    """Relative activity of each account in each week (accounts x weeks)."""
    quiet = quiet_days(rng, cal, windows)
    engagement = rng.lognormal(0.0, 0.4, acc.n) * np.exp(0.25 * acc.health)
    ws_day = week_starts // DAY
    mid_week = ws_day + 3.5
    out = np.zeros((acc.n, len(week_starts)))
    for a in range(acc.n):
        c = int(acc.created_day[a])
        mid = np.maximum(mid_week, c + 0.5)
        f = np.full(len(mid), 0.02)
        f[(mid >= c) & (mid < c + 28)] = 1.2  # trial and onboarding
        for s, e in windows[a]:
            inside = (mid >= s) & (mid < (np.inf if e is None else e))
            f[inside] = np.maximum(f[inside], 1.0)
        for s, e in windows[a]:  # usage fades over the ~3 months before a churn
            if e is not None:
                fading = (mid >= s) & (mid < e)
                ramp = np.clip(0.2 + 0.8 * (e - mid) / 90, 0.2, 1.0)
                f[fading] = np.minimum(f[fading], ramp[fading])
        if quiet[a] != NULL:
            f[mid >= quiet[a]] = np.minimum(f[mid >= quiet[a]], 0.1)
        f[ws_day + 7 <= c] = 0.0
        out[a] = f * engagement[a]
    return out * seasonality(week_starts)[None, :]


@dataclass
class EventBatch:
    """Product events as parallel arrays (user index, event name index, time, step)."""

    user: np.ndarray
    name: np.ndarray
    t: np.ndarray
    step: np.ndarray

    @staticmethod
    def of(
        user: np.ndarray, name: int | np.ndarray, t: np.ndarray, step: np.ndarray | None = None
    ) -> EventBatch:
        """Batch of one event name (or per-row names); ``step`` NULL unless given."""
        n = len(user)
        return EventBatch(
            user=np.asarray(user, dtype=np.int64),
            name=np.broadcast_to(np.asarray(name, dtype=np.int64), (n,)).copy(),
            t=np.asarray(t, dtype=np.int64),
            step=np.full(n, NULL, dtype=np.int64)
            if step is None
            else np.asarray(step, dtype=np.int64),
        )

    @staticmethod
    def concat(batches: list[EventBatch]) -> EventBatch:
        """Concatenate batches in order."""
        return EventBatch(
            *(
                np.concatenate([getattr(b, f) for b in batches])
                for f in ("user", "name", "t", "step")
            )
        )

    def where(self, mask: np.ndarray) -> EventBatch:
        """Rows where ``mask`` is true (or in the order of an index array)."""
        return EventBatch(self.user[mask], self.name[mask], self.t[mask], self.step[mask])


def onboarding_events(rng: np.random.Generator, users: Users) -> EventBatch:
    """Steps 1..k in order: ~60 % do all 5 within 14 days, ~7 % finish later, the rest stop."""
    n = users.n
    mode = rng.choice(3, size=n, p=[0.60, 0.07, 0.33])  # fast, slow, partial
    k = np.where(mode < 2, 5, rng.choice(5, size=n, p=[0.15, 0.25, 0.25, 0.20, 0.15]))
    gaps = rng.lognormal(np.log(2 * 3600), 1.5, (n, 5))
    gaps[:, 0] = rng.lognormal(np.log(600), 1.0, n)
    cum = np.cumsum(gaps, axis=1)
    limit = 13 * DAY
    cum *= np.minimum(1.0, limit / cum[:, 4])[:, None]
    slow_done = rng.uniform(15, 45, n) * DAY
    cum[:, 4] = np.where(mode == 1, slow_done, cum[:, 4])
    batches = []
    for j in range(5):
        sel = k > j
        t = users.created_sec[sel] + cum[sel, j].astype(np.int64) + 1
        batches.append(
            EventBatch.of(
                np.nonzero(sel)[0], EV["onboarding_step_completed"], t, np.full(sel.sum(), j + 1)
            )
        )
    return EventBatch.concat(batches)


def invite_events(rng: np.random.Generator, users: Users, acc: Accounts) -> EventBatch:
    """The account's first admin invites most later users shortly before they sign up."""
    invited = np.ones(users.n, bool)
    invited[users.first_of_account] = False
    invited &= rng.random(users.n) < 0.85
    idx = np.nonzero(invited)[0]
    inviter = users.first_of_account[users.account[idx]]
    t = users.created_sec[idx] - rng.integers(120, 3 * DAY, len(idx))
    t = np.maximum(t, users.created_sec[inviter] + 60)
    t = np.minimum(t, users.created_sec[idx])
    return EventBatch.of(inviter, EV["invite_sent"], t)


def first_projects(rng: np.random.Generator, cal: Calendar, acc: Accounts) -> np.ndarray:
    """Time of each account's first project_created (NULL = none yet)."""
    n = acc.n
    r = rng.random(n)
    quick = np.minimum(rng.exponential(1.2 * DAY, n), 5.5 * DAY) + 300
    late = rng.uniform(9, 90, n) * DAY
    offset = np.where(r < 0.72, quick, late).astype(np.int64)
    t = acc.created_sec + offset
    return np.where((r < 0.90) & (t <= cal.end_sec), t, NULL)


def session_events(
    rng: np.random.Generator,
    cal: Calendar,
    users: Users,
    factor: np.ndarray,
    week_starts: np.ndarray,
    target_events: float,
) -> EventBatch:
    """Poisson sessions per user-week, rate = user propensity x account activity level."""
    rate = rng.lognormal(0.0, 1.0, users.n) * np.where(rng.random(users.n) < 0.15, 0.1, 1.0)
    rate *= np.where(users.is_admin, 1.3, 1.0)
    lo = np.maximum(week_starts[None, :], users.created_sec[:, None])
    hi = np.minimum(week_starts[None, :] + WEEK, cal.end_sec + 1)
    lam = rate[:, None] * factor[users.account] * (np.clip(hi - lo, 0, None) / WEEK)
    events_per_session = 2.2
    lam *= target_events / events_per_session / max(lam.sum(), 1e-9)
    counts = rng.poisson(lam)
    uu, ww = np.nonzero(counts)
    reps = counts[uu, ww]
    uu, ww = np.repeat(uu, reps), np.repeat(ww, reps)
    start = business_times(rng, lo[uu, ww], hi[0, ww])
    size = 1 + rng.poisson(events_per_session - 1, len(uu))
    sess = np.repeat(np.arange(len(uu)), size)
    first = np.r_[0, np.cumsum(size)[:-1]]
    pos = np.arange(len(sess)) - first[sess]
    gaps = rng.lognormal(np.log(45), 1.0, len(sess)).astype(np.int64) + 1
    gaps[pos == 0] = 0
    cum = np.cumsum(gaps)
    t = start[sess] + cum - cum[first][sess]
    kinds = list(SESSION_EVENT_WEIGHTS)
    p = np.array([SESSION_EVENT_WEIGHTS[k] for k in kinds])
    name = np.array([EV[k] for k in kinds])[rng.choice(len(kinds), size=len(sess), p=p / p.sum())]
    name = np.where((pos == 0) & (rng.random(len(sess)) < 0.45), EV["logged_in"], name)
    return EventBatch.of(uu[sess], name, t)


def assign_features(
    rng: np.random.Generator, cal: Calendar, acc: Accounts, users: Users, ev: EventBatch
) -> np.ndarray:
    """Feature index for feature_used events (only launched features; account preferences)."""
    pref = rng.gamma(0.8, 1.25, (acc.n, len(FEATURES)))
    launch = feature_launch_days(cal)
    base = np.array([f[2] for f in FEATURES])
    out = np.full(len(ev.t), NULL, dtype=np.int64)
    idx = np.nonzero(ev.name == EV["feature_used"])[0]
    launched = (ev.t[idx] // DAY)[:, None] >= launch[None, :]
    w = base[None, :] * pref[users.account[ev.user[idx]]] * launched + 1e-9 * launched
    cw = np.cumsum(w, axis=1)
    r = rng.random(len(idx)) * cw[:, -1]
    out[idx] = (cw < r[:, None]).sum(axis=1)
    return out


def receive_times(rng: np.random.Generator, cal: Calendar, t: np.ndarray) -> np.ndarray:
    """Seconds-to-minutes pipeline lag; ~2 % arrive 1-5 days late (a few after the as-of date)."""
    n = len(t)
    lag = np.minimum(rng.lognormal(np.log(4), 1.2, n), 900).astype(np.int64)
    late = rng.random(n) < 0.02
    lag = np.where(late, rng.integers(DAY, 5 * DAY, n), lag)
    recent = np.nonzero(t >= cal.end_sec - 2 * DAY)[0]
    pick = rng.choice(recent, size=min(6, len(recent)), replace=False)
    lag[pick] = rng.integers(2 * DAY + 60, 4 * DAY, len(pick))
    return t + lag


@dataclass
class TrackRows:
    """events_tracks rows as typed arrays (indexes into the accounts and users passed in)."""

    event_number: np.ndarray  # 0-based number of the event (a second delivery repeats it)
    n_events: int  # distinct events
    account: np.ndarray
    user: np.ndarray
    name: np.ndarray
    feature: np.ndarray  # NULL unless feature_used
    step: np.ndarray  # NULL unless onboarding_step_completed
    occurred: np.ndarray
    received: np.ndarray


def build_tracks(
    rng: np.random.Generator,
    cal: Calendar,
    acc: Accounts,
    users: Users,
    factor: np.ndarray,
    week_starts: np.ndarray,
    session_events_per_account: float = TRACK_EVENTS_PER_ACCOUNT,
) -> TrackRows:
    """events_tracks: scripted lifecycle events + sessions, with late and duplicated deliveries."""
    first_project = first_projects(rng, cal, acc)
    has_fp = first_project != NULL
    fp_users = users.first_of_account[has_fp]
    target = session_events_per_account * acc.n
    batches = [
        EventBatch.of(fp_users, EV["project_created"], first_project[has_fp]),
        onboarding_events(rng, users),
        invite_events(rng, users, acc),
        session_events(rng, cal, users, factor, week_starts, target),
    ]
    ev = EventBatch.concat(batches)
    ev = ev.where(ev.t <= cal.end_sec)
    # no project before the account's first project (and none for accounts without one)
    fp = first_project[users.account[ev.user]]
    early_project = (ev.name == EV["project_created"]) & ((fp == NULL) | (ev.t < fp))
    ev.name[early_project] = EV["page_viewed"]
    feature = assign_features(rng, cal, acc, users, ev)
    order = np.lexsort((ev.step, feature, ev.name, ev.user, ev.t))
    ev, feature = ev.where(order), feature[order]
    received = receive_times(rng, cal, ev.t)
    n = len(ev.t)
    # ~1 % delivered twice: identical row with a later received_at
    dup = np.nonzero(rng.random(n) < 0.01)[0]
    row = np.concatenate([np.arange(n), dup])
    recv = np.concatenate([received, received[dup] + rng.integers(1, 6 * 3600, len(dup))])
    out_order = np.lexsort((recv, row))
    row, recv = row[out_order], recv[out_order]
    return TrackRows(
        event_number=row,
        n_events=n,
        account=users.account[ev.user[row]],
        user=ev.user[row],
        name=ev.name[row],
        feature=feature[row],
        step=ev.step[row],
        occurred=ev.t[row],
        received=recv,
    )


def in_incidents(t: np.ndarray, inc: Incidents, cal: Calendar, outage: bool) -> np.ndarray:
    """Mask of instants that fall inside an incident (outages only, or non-outage ones)."""
    mask = np.zeros(len(t), bool)
    resolved = np.where(inc.resolved == NULL, cal.end_sec + 1, inc.resolved)
    for s, e, o in zip(
        inc.started.tolist(), resolved.tolist(), inc.is_outage.tolist(), strict=False
    ):
        if o == outage:
            mask |= (t >= s) & (t < e)
    return mask


def api_latency(rng: np.random.Generator, endpoint: np.ndarray) -> np.ndarray:
    """Lognormal body (p50 ~120 ms) with a heavy tail (p99 ~2 s)."""
    n = len(endpoint)
    body = rng.lognormal(np.log(118), 0.72, n)
    tail = rng.lognormal(np.log(1500), 0.55, n)
    ms = np.where(rng.random(n) < 0.035, tail, body) * np.array(ENDPOINT_LATENCY)[endpoint]
    return ms


def api_status(
    rng: np.random.Generator, endpoint: np.ndarray, in_outage: np.ndarray, in_degraded: np.ndarray
) -> np.ndarray:
    """HTTP status: mostly 200/201, some 4xx, 5xx mostly during incidents."""
    n = len(endpoint)
    creates = np.isin(endpoint, [0, 1])  # POST-heavy endpoints answer 201
    status = np.where(creates & (rng.random(n) < 0.3), 201, 200)
    r = rng.random(n)
    status = np.where(r < 0.015, 400, status)
    status = np.where((r >= 0.015) & (r < 0.03), 404, status)
    status = np.where((r >= 0.03) & (r < 0.033), 429, status)
    err_p = np.where(in_outage, 0.30, np.where(in_degraded, 0.06, 0.005))
    err = rng.random(n) < err_p
    err_code = choice(rng, (500, 502, 503), (0.5, 0.2, 0.3), n).astype(np.int64)
    return np.where(err, err_code, status)


def api_rates(rng: np.random.Generator, acc: Accounts, max_tier: np.ndarray) -> np.ndarray:
    """Each account's API intensity (0 = no API use); bigger tiers use the API more often."""
    p_api = np.array([0.02, 0.08, 0.40, 0.70])[max_tier + 1]
    return np.where(rng.random(acc.n) < p_api, rng.lognormal(0.0, 1.0, acc.n), 0.0)


@dataclass
class ApiRows:
    """events_api_requests rows as typed arrays, in request_id order."""

    account: np.ndarray
    occurred: np.ndarray
    endpoint: np.ndarray
    status: np.ndarray
    latency: np.ndarray


def build_api_requests(
    rng: np.random.Generator,
    cal: Calendar,
    acc: Accounts,
    api_rate: np.ndarray,
    factor: np.ndarray,
    week_starts: np.ndarray,
    inc: Incidents,
    requests_per_account: float = API_REQUESTS_PER_ACCOUNT,
) -> ApiRows:
    """Public API log with throttling bursts and incident-driven errors and latency."""
    lo = np.maximum(week_starts[None, :], acc.created_sec[:, None])
    hi = np.minimum(week_starts[None, :] + WEEK, cal.end_sec + 1)
    lam = api_rate[:, None] * factor * (np.clip(hi - lo, 0, None) / WEEK)
    lam *= requests_per_account * acc.n / max(lam.sum(), 1e-9)
    counts = rng.poisson(lam)
    aa, ww = np.nonzero(counts)
    reps = counts[aa, ww]
    aa, ww = np.repeat(aa, reps), np.repeat(ww, reps)
    t = business_times(rng, lo[aa, ww], hi[0, ww])
    endpoint = rng.choice(len(ENDPOINTS), size=len(t), p=np.array(ENDPOINT_WEIGHTS))
    latency = api_latency(rng, endpoint)
    outage, degraded = in_incidents(t, inc, cal, True), in_incidents(t, inc, cal, False)
    latency *= np.where(outage | degraded, 2.5, 1.0)
    status = api_status(rng, endpoint, outage, degraded)
    # throttling bursts: a client hammers the API for a few minutes and mostly gets 429
    n_bursts = min(len(t), max(3, round(0.07 * acc.n)))
    seeds = rng.choice(len(t), size=n_bursts, replace=False)
    size = rng.integers(15, 40, n_bursts)
    b_src = np.repeat(seeds, size)
    b_t = np.minimum(t[b_src] + rng.integers(0, 240, len(b_src)), cal.end_sec)
    b_endpoint = endpoint[b_src]
    b_status = np.where(rng.random(len(b_src)) < 0.75, 429, 200)
    b_latency = np.where(
        b_status == 429, rng.uniform(3, 25, len(b_src)), api_latency(rng, b_endpoint)
    )
    acct = np.concatenate([aa, aa[b_src]])
    t = np.concatenate([t, b_t])
    endpoint = np.concatenate([endpoint, b_endpoint])
    status = np.concatenate([status, b_status])
    latency = np.maximum(np.concatenate([latency, b_latency]).round(), 0).astype(np.int64)
    order = np.lexsort((latency, status, endpoint, acct, t))
    return ApiRows(acct[order], t[order], endpoint[order], status[order], latency[order])
