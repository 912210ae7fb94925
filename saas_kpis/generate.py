"""Generate the raw seed data of the SaaS-KPI project (the 13 CSV files of kpi-spec section 1).

The simulation describes a fictional B2B SaaS company that sells a team-analytics product per
seat. Three years of sign-ups end on ``--as-of`` (default 2026-06-30); every date range is derived
from it.

What is simulated, in order:

* ``billing_accounts``: sign-ups that grow over time (fewer on weekends), with industry, region and
  acquisition channel. Each account has a hidden *health* score that lowers churn, raises product
  usage and improves NPS / CSAT, so the KPIs move together the way they do in real data.
* ``billing_plans`` / ``billing_fx_rates``: Starter / Pro / Enterprise plus two per-seat add-ons
  (Analytics: tier pro, Security: tier enterprise), each monthly and annual (annual = 10x monthly),
  priced in USD, EUR, GBP and CAD. An account pays in one currency, chosen from its region.
* ``billing_subscription_items``: a per-account event simulation. About 72 % of accounts ever
  pay (some after a 14-day trial). The main subscription then goes through upgrades, downgrades,
  seat changes, discount changes, monthly-to-annual switches and churn (monthly plans any day,
  annual plans at renewal). Some churned accounts reactivate with a new subscription;
  Pro/Enterprise accounts may hold add-on subscriptions that end with the main one. Change days
  are sometimes snapped to the last day or the 1st of a month (month-end snapshot edge cases) and
  a few subscriptions start and end in the same month.
* ``billing_invoices``: subscription invoices per billing period (prorated when an item changes
  mid-period), monthly usage invoices in arrears for API customers, onboarding fees, credit notes
  (goodwill credits on subscriptions and SLA credits after sev1 outages), void invoices that are
  re-issued, and recent invoices still open.
* ``billing_revenue_targets``: board ARR targets per ISO year, set above the simulated actuals.
* ``events_*``: users per account, a feature catalogue with launch dates, product events (scripted
  onboarding, invitations and first project, plus Poisson sessions whose rate follows the account's
  lifecycle: high in the trial, declining before churn, near zero after it or when an account goes
  quiet) and a public-API request log with throttling bursts and incident-driven 5xx errors.
* ``support_*``: tickets (~1 per paying account-month), quarterly NPS surveys and status-page
  incidents (some overlapping outages, one still ongoing at the as-of date).

Deliberately dirty (the pipeline must handle it): ~1 % of product events are delivered twice (same
``event_id``, later ``received_at``), ~2 % arrive 1-5 days late (a few after the as-of date), and a
few tickets / one incident get a response or resolution time after the as-of date.

The output is deterministic for a given (seed, scale, as-of): every table draws from its own random
stream and rows are written in primary-key order.

Usage::

    python -m saas_kpis.generate --out seeds --seed 42 --scale 1.0 --as-of 2026-06-30
    python -m saas_kpis.generate --format parquet --preset M --out bench/data/M

The second form writes the benchmark datasets (see :mod:`saas_kpis.parquet_data`).
"""

from __future__ import annotations

import argparse
import calendar
import time
from dataclasses import dataclass, replace
from datetime import date, timedelta
from pathlib import Path

import numpy as np

# --------------------------------------------------------------------------------------------------
# Constants
# --------------------------------------------------------------------------------------------------

DAY = 86_400
WEEK = 7 * DAY
EPOCH = date(1970, 1, 1)
NULL = -1  # sentinel for NULL in integer / timestamp arrays

ACCOUNTS_AT_SCALE_1 = 400
HISTORY_MONTHS = 36

INDUSTRIES = ("software", "fintech", "healthcare", "retail", "manufacturing", "education", "media")
INDUSTRY_WEIGHTS = (0.25, 0.15, 0.12, 0.14, 0.12, 0.10, 0.12)
REGIONS = ("na", "emea", "apac", "latam")
REGION_WEIGHTS = (0.45, 0.30, 0.15, 0.10)
CHANNELS = ("organic", "paid_search", "partner", "outbound", "event")
CHANNEL_WEIGHTS = (0.35, 0.25, 0.12, 0.18, 0.10)

TIERS = ("starter", "pro", "enterprise")
CURRENCIES = ("USD", "EUR", "GBP", "CAD")
USD_RATES = {"USD": 1.0, "EUR": 1.085, "GBP": 1.27, "CAD": 0.735}
PRODUCTS = ("starter", "pro", "enterprise", "analytics", "security")
PRODUCT_TIER = {
    "starter": "starter",
    "pro": "pro",
    "enterprise": "enterprise",
    "analytics": "pro",
    "security": "enterprise",
}
PRODUCT_LABEL = {
    "starter": "Starter",
    "pro": "Pro",
    "enterprise": "Enterprise",
    "analytics": "Analytics add-on",
    "security": "Security add-on",
}
# Monthly list price per seat; the annual plan costs 10x the monthly price per seat.
MONTHLY_PRICE = {
    "USD": {"starter": 29, "pro": 59, "enterprise": 119, "analytics": 15, "security": 25},
    "EUR": {"starter": 27, "pro": 55, "enterprise": 109, "analytics": 14, "security": 23},
    "GBP": {"starter": 23, "pro": 47, "enterprise": 95, "analytics": 12, "security": 20},
    "CAD": {"starter": 39, "pro": 79, "enterprise": 159, "analytics": 20, "security": 34},
}
MIN_SEATS = {"starter": 1, "pro": 2, "enterprise": 10}

# Subscription dynamics (rates per month).
PAYING_SHARE = 0.72
TRIAL_SHARE = 0.35
MAIN_CHURN = {"starter": 0.025, "pro": 0.015, "enterprise": 0.008}
MAIN_CHANGE_RATE = 0.10
MAIN_CHANGE_WEIGHTS = {
    "upgrade": 0.17,
    "downgrade": 0.07,
    "seats_up": 0.38,
    "seats_down": 0.18,
    "discount": 0.12,
    "to_annual": 0.08,
}
ADDON_CHURN = 0.012
ADDON_CHANGE_RATE = 0.05
ADDON_CHANGE_WEIGHTS = {"seats_up": 0.5, "seats_down": 0.3, "discount": 0.2}
DISCOUNTS = (10.0, 15.0, 20.0, 25.5)
REACTIVATION_SHARE = 0.25
QUICK_CHURN_SHARE = 0.025

FEATURES = (  # name, is_core, popularity
    ("dashboards", True, 0.20),
    ("reports", True, 0.16),
    ("alerts", True, 0.10),
    ("integrations", True, 0.10),
    ("workflows", True, 0.10),
    ("exports", False, 0.09),
    ("api_keys", False, 0.05),
    ("sso", False, 0.03),
    ("audit_log", False, 0.04),
    ("ai_assistant", False, 0.13),
)
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

PRIORITIES = ("low", "normal", "high", "urgent")
PRIORITY_WEIGHTS = (0.25, 0.45, 0.22, 0.08)
CHANNELS_SUPPORT = ("email", "chat", "phone")

NAME_PREFIXES = (
    "North", "Blue", "Silver", "Bright", "Iron", "Cedar", "Summit", "Harbor", "Pine", "Quantum",
    "Nova", "Atlas", "Vertex", "Lumen", "Crest", "Delta", "Echo", "Falcon", "Granite", "Horizon",
    "Juniper", "Keystone", "Maple", "Orbit", "Pioneer", "Redwood", "Sierra", "Terra", "Union",
    "Willow",
)  # fmt: skip
NAME_CORES = (
    "wind", "peak", "field", "stone", "bridge", "gate", "line", "works", "point", "path", "wave",
    "leaf", "forge", "light", "river",
)  # fmt: skip
NAME_SUFFIXES = (
    "Labs", "Systems", "Health", "Retail", "Analytics", "Group", "Partners", "Foods", "Logistics",
    "Media", "Learning", "Capital", "Industries", "Software", "Co",
)  # fmt: skip

STREAMS = (
    "accounts",
    "subscriptions",
    "incidents",
    "users",
    "activity",
    "tracks",
    "api",
    "invoices",
    "tickets",
    "nps",
    "targets",
)


# --------------------------------------------------------------------------------------------------
# Date helpers
# --------------------------------------------------------------------------------------------------


def day_number(d: date) -> int:
    """Days since 1970-01-01."""
    return (d - EPOCH).days


def from_day_number(n: int) -> date:
    """Inverse of :func:`day_number`."""
    return EPOCH + timedelta(days=int(n))


def add_months(d: date, months: int) -> date:
    """Add calendar months, clamping the day to the target month's length."""
    years, month0 = divmod(d.month - 1 + months, 12)
    year = d.year + years
    last = calendar.monthrange(year, month0 + 1)[1]
    return date(year, month0 + 1, min(d.day, last))


def month_end(d: date) -> date:
    """Last day of the month of ``d``."""
    return add_months(d.replace(day=1), 1) - timedelta(days=1)


def weekday(day_numbers: np.ndarray) -> np.ndarray:
    """ISO weekday index (Monday = 0) of day numbers (1970-01-01 was a Thursday)."""
    return (day_numbers + 3) % 7


@dataclass(frozen=True)
class Calendar:
    """The simulated time range: three years of sign-ups ending at ``as_of``."""

    as_of: date

    @property
    def start(self) -> date:
        """First sign-up day: the day after as-of minus three years."""
        return add_months(self.as_of, -HISTORY_MONTHS) + timedelta(days=1)

    @property
    def start_sec(self) -> int:
        """Epoch seconds of the first sign-up day."""
        return day_number(self.start) * DAY

    @property
    def end_sec(self) -> int:
        """Last second of the as-of day."""
        return (day_number(self.as_of) + 1) * DAY - 1

    def week_starts(self) -> np.ndarray:
        """Epoch seconds of the Mondays of all ISO weeks overlapping the range."""
        first = self.start - timedelta(days=self.start.weekday())
        n = (self.as_of - first).days // 7 + 1
        return (day_number(first) + 7 * np.arange(n, dtype=np.int64)) * DAY


# --------------------------------------------------------------------------------------------------
# Formatting and output
# --------------------------------------------------------------------------------------------------


def fmt_ts(values: np.ndarray) -> list[str]:
    """Epoch seconds -> ``YYYY-MM-DD HH:MM:SS``; :data:`NULL` -> empty field."""
    arr = np.asarray(values, dtype=np.int64)
    text = np.datetime_as_string(arr.astype("datetime64[s]"), unit="s").tolist()
    return [
        "" if v == NULL else s[:10] + " " + s[11:] for v, s in zip(arr.tolist(), text, strict=False)
    ]


def fmt_day(values: np.ndarray) -> list[str]:
    """Day numbers -> ``YYYY-MM-DD``; :data:`NULL` -> empty field."""
    arr = np.asarray(values, dtype=np.int64)
    text = np.datetime_as_string(arr.astype("datetime64[D]"), unit="D").tolist()
    return ["" if v == NULL else s for v, s in zip(arr.tolist(), text, strict=False)]


def fmt_int(values: np.ndarray) -> list[str]:
    """Integers; :data:`NULL` -> empty field."""
    return ["" if v == NULL else str(v) for v in np.asarray(values, dtype=np.int64).tolist()]


def fmt_bool(values: np.ndarray) -> list[str]:
    """Booleans -> ``true`` / ``false``."""
    return ["true" if v else "false" for v in np.asarray(values, dtype=bool).tolist()]


def fmt_money(values: list[float] | np.ndarray) -> list[str]:
    """Decimals with two places (no negative zero)."""
    out = []
    for v in np.asarray(values, dtype=float).tolist():
        s = f"{v:.2f}"
        out.append("0.00" if s == "-0.00" else s)
    return out


def make_ids(prefix: str, n: int, width: int) -> list[str]:
    """Sequential ids ``prefix_0001`` (zero padded, wider when needed)."""
    width = max(width, len(str(n)))
    return [f"{prefix}_{i:0{width}d}" for i in range(1, n + 1)]


def write_csv(path: Path, columns: dict[str, list[str]]) -> tuple[int, int]:
    """Write a header and rows with LF line endings; returns (rows, bytes)."""
    lengths = {len(v) for v in columns.values()}
    assert len(lengths) == 1, f"ragged columns in {path.name}"
    lines = [",".join(columns)]
    lines.extend(",".join(row) for row in zip(*columns.values(), strict=False))
    text = "\n".join(lines) + "\n"
    assert '"' not in text
    path.parent.mkdir(parents=True, exist_ok=True)
    data = text.encode("utf-8")
    path.write_bytes(data)
    return lengths.pop(), len(data)


# --------------------------------------------------------------------------------------------------
# Shared sampling helpers
# --------------------------------------------------------------------------------------------------


def choice(rng: np.random.Generator, options: tuple, weights: tuple, size: int) -> np.ndarray:
    """Weighted choice of ``size`` values from ``options``."""
    p = np.asarray(weights, dtype=float)
    return np.asarray(options)[rng.choice(len(options), size=size, p=p / p.sum())]


def time_of_day(rng: np.random.Generator, n: int) -> np.ndarray:
    """Seconds into the day, concentrated on (global) business hours in UTC."""
    hours = np.clip(rng.normal(14.0, 3.5, n), 0.0, 23.9997)
    return (hours * 3600).astype(np.int64)


def business_times(rng: np.random.Generator, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Random instants in ``[lo, hi)`` leaning to business hours and weekdays."""
    n = len(lo)
    span = hi - lo
    t = lo + (rng.random(n) * span).astype(np.int64)
    alt = (t // DAY) * DAY + time_of_day(rng, n)
    t = np.where((alt >= lo) & (alt < hi), alt, t)
    redraw = (weekday(t // DAY) >= 5) & (rng.random(n) < 0.6)
    t2 = lo + (rng.random(n) * span).astype(np.int64)
    return np.where(redraw, t2, t)


# --------------------------------------------------------------------------------------------------
# billing_accounts
# --------------------------------------------------------------------------------------------------


@dataclass
class Accounts:
    """Column arrays of billing_accounts (index = account number, sorted by created_at)."""

    ids: list[str]
    names: list[str]
    industry: np.ndarray
    region: np.ndarray
    channel: np.ndarray
    currency: np.ndarray
    created_sec: np.ndarray
    health: np.ndarray

    @property
    def n(self) -> int:
        """Number of accounts."""
        return len(self.ids)

    @property
    def created_day(self) -> np.ndarray:
        """Sign-up day numbers."""
        return self.created_sec // DAY

    def created_date(self, i: int) -> date:
        """Sign-up date of account ``i``."""
        return from_day_number(self.created_sec[i] // DAY)


def signup_days(rng: np.random.Generator, cal: Calendar, n: int) -> np.ndarray:
    """Sign-up day numbers with a growing rate (3x from first to last day), fewer on weekends."""
    span = (cal.as_of - cal.start).days + 1
    growth = np.log(3.0)

    def draw() -> np.ndarray:
        x = np.log1p(rng.random(n) * np.expm1(growth)) / growth
        return day_number(cal.start) + np.minimum((x * span).astype(np.int64), span - 1)

    days = draw()
    redraw = (weekday(days) >= 5) & (rng.random(n) < 0.6)
    return np.where(redraw, draw(), days)


def account_names(rng: np.random.Generator, n: int) -> list[str]:
    """Fictional company names (no commas)."""
    total = len(NAME_PREFIXES) * len(NAME_CORES) * len(NAME_SUFFIXES)
    picks = rng.choice(total, size=n, replace=n > total)
    names = []
    for pick in picks.tolist():
        rest, s = divmod(pick, len(NAME_SUFFIXES))
        p, c = divmod(rest, len(NAME_CORES))
        names.append(f"{NAME_PREFIXES[p]}{NAME_CORES[c]} {NAME_SUFFIXES[s]}")
    return names


def currencies_for(rng: np.random.Generator, region: np.ndarray) -> np.ndarray:
    """One billing currency per account: NA pays USD (15 % CAD), EMEA EUR or GBP, else USD."""
    u = rng.random(len(region))
    cur = np.full(len(region), "USD", dtype=object)
    cur[(region == "na") & (u < 0.15)] = "CAD"
    cur[region == "emea"] = np.where(u[region == "emea"] < 0.6, "EUR", "GBP")
    return cur


def build_accounts(rng: np.random.Generator, cal: Calendar, n: int) -> Accounts:
    """Accounts with firmographics, one billing currency and a hidden health score."""
    created = np.sort(signup_days(rng, cal, n) * DAY + time_of_day(rng, n))
    region = choice(rng, REGIONS, REGION_WEIGHTS, n)
    return Accounts(
        ids=make_ids("acc", n, 5),
        names=account_names(rng, n),
        industry=choice(rng, INDUSTRIES, INDUSTRY_WEIGHTS, n),
        region=region,
        channel=choice(rng, CHANNELS, CHANNEL_WEIGHTS, n),
        currency=currencies_for(rng, region),
        created_sec=created,
        health=rng.normal(0.0, 1.0, n),
    )


def accounts_table(acc: Accounts) -> dict[str, list[str]]:
    """billing_accounts rows."""
    return {
        "account_id": acc.ids,
        "account_name": acc.names,
        "industry": acc.industry.tolist(),
        "region": acc.region.tolist(),
        "acquisition_channel": acc.channel.tolist(),
        "created_at": fmt_ts(acc.created_sec),
    }


# --------------------------------------------------------------------------------------------------
# billing_plans / billing_fx_rates
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """One price-book row."""

    plan_id: str
    name: str
    product: str
    interval: str
    price: float
    currency: str

    @property
    def tier(self) -> str:
        """Plan tier (add-ons carry the tier they require)."""
        return PRODUCT_TIER[self.product]

    @property
    def monthly_usd(self) -> float:
        """Monthly USD price of one seat."""
        months = 12 if self.interval == "year" else 1
        return self.price * USD_RATES[self.currency] / months


def build_plans() -> dict[tuple[str, str, str], Plan]:
    """Price book keyed by (product, interval, currency)."""
    plans = {}
    for product in PRODUCTS:
        for interval in ("month", "year"):
            for cur in CURRENCIES:
                price = MONTHLY_PRICE[cur][product] * (10 if interval == "year" else 1)
                label = "monthly" if interval == "month" else "annual"
                plan_id = f"plan_{len(plans) + 1:03d}"
                name = f"{PRODUCT_LABEL[product]} {label} {cur}"
                plans[(product, interval, cur)] = Plan(plan_id, name, product, interval, price, cur)
    return plans


def plans_table(plans: dict[tuple[str, str, str], Plan]) -> dict[str, list[str]]:
    """billing_plans rows."""
    rows = sorted(plans.values(), key=lambda p: p.plan_id)
    return {
        "plan_id": [p.plan_id for p in rows],
        "plan_name": [p.name for p in rows],
        "plan_tier": [p.tier for p in rows],
        "billing_interval": [p.interval for p in rows],
        "price_per_seat": fmt_money([p.price for p in rows]),
        "currency": [p.currency for p in rows],
    }


def fx_table() -> dict[str, list[str]]:
    """billing_fx_rates rows (fixed budget rates)."""
    currencies = sorted(CURRENCIES)
    return {
        "currency": currencies,
        "usd_rate": [f"{USD_RATES[c]:.6f}" for c in currencies],
    }


# --------------------------------------------------------------------------------------------------
# billing_subscription_items: per-account event simulation
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlanState:
    """What is billed in one item period."""

    product: str
    interval: str
    seats: int
    discount: float


@dataclass
class ItemPeriod:
    """One billing_subscription_items row before ids are assigned."""

    state: PlanState
    valid_from: date
    valid_to: date | None


@dataclass
class Subscription:
    """A subscription with its item periods; ``end`` None = still active."""

    account: int
    start: date
    end: date | None
    periods: list[ItemPeriod]
    is_main: bool
    is_reactivation: bool = False
    sub_id: str = ""


@dataclass(frozen=True)
class Hazards:
    """Monthly churn and change rates of a subscription."""

    churn: float  # per month
    change: float  # per month
    weights: dict[str, float]


def snap_to_month_edge(rng: np.random.Generator, when: date, after: date) -> date:
    """Sometimes move a change day to the month's last day or the next 1st (snapshot edges)."""
    r = rng.random()
    if r < 0.08:
        cand = month_end(when)
    elif r < 0.16:
        cand = add_months(when.replace(day=1), 1)
    else:
        return when
    return cand if cand > after else when


def next_event(
    rng: np.random.Generator, state: PlanState, t: date, anchor: date, hz: Hazards
) -> tuple[str, date]:
    """Next change of a subscription after day ``t``: (kind, day)."""
    monthly_churn = hz.churn if state.interval == "month" else 0.0
    total = monthly_churn + hz.change
    gap = 1 + int(rng.exponential(30.44 / total))
    when = snap_to_month_edge(rng, t + timedelta(days=gap), t)
    if state.interval == "year":  # annual contracts churn at renewal only
        renewal_churn = 0.85 * (1.0 - (1.0 - hz.churn) ** 12)
        k = 1
        while (renewal := add_months(anchor, 12 * k)) <= when:
            if renewal > t and rng.random() < renewal_churn:
                return "churn", renewal
            k += 1
    if rng.random() < monthly_churn / total:
        return "churn", when
    kinds = list(hz.weights)
    p = np.array([hz.weights[k] for k in kinds])
    return kinds[rng.choice(len(kinds), p=p / p.sum())], when


def apply_change(rng: np.random.Generator, s: PlanState, kind: str) -> PlanState:
    """New plan state after a change (may equal ``s`` when the change does not apply)."""
    tier_idx = TIERS.index(s.product) if s.product in TIERS else -1
    if kind == "upgrade" and 0 <= tier_idx < 2:
        product = TIERS[tier_idx + 1]
        return replace(s, product=product, seats=max(s.seats, MIN_SEATS[product]))
    if kind == "downgrade" and tier_idx >= 1:
        seats = max(1, round(s.seats * rng.uniform(0.6, 1.0)))
        return replace(s, product=TIERS[tier_idx - 1], seats=seats)
    if kind in ("seats_up", "upgrade"):
        return replace(s, seats=s.seats + max(1, round(s.seats * rng.uniform(0.1, 0.5))))
    if kind in ("seats_down", "downgrade"):
        floor = MIN_SEATS.get(s.product, 1)
        return replace(
            s, seats=max(floor, s.seats - max(1, round(s.seats * rng.uniform(0.1, 0.3))))
        )
    if kind == "discount":
        options = [d for d in (0.0, 0.0, 0.0, *DISCOUNTS) if d != s.discount]
        return replace(s, discount=float(options[rng.integers(len(options))]))
    if kind == "to_annual" and s.interval == "month":
        return replace(s, interval="year")
    return s


def simulate_subscription(
    rng: np.random.Generator,
    state: PlanState,
    start: date,
    as_of: date,
    hz: Hazards,
    forced_end: date | None = None,
    quick_churn: bool = False,
) -> tuple[list[ItemPeriod], date | None]:
    """Item periods of one subscription and its end day (None = still active at ``as_of``)."""
    periods: list[ItemPeriod] = []
    valid_from = anchor = t = start
    while True:
        if quick_churn:  # starts and ends within the same calendar month
            kind, when = "churn", start + timedelta(days=int(rng.integers(3, 9)))
            quick_churn = False
        else:
            kind, when = next_event(rng, state, t, anchor, hz)
        if forced_end is not None and forced_end <= when and forced_end <= as_of:
            periods.append(ItemPeriod(state, valid_from, forced_end))
            return periods, forced_end
        if when > as_of:
            periods.append(ItemPeriod(state, valid_from, None))
            return periods, None
        if kind == "churn":
            periods.append(ItemPeriod(state, valid_from, when))
            return periods, when
        new_state = apply_change(rng, state, kind)
        t = when
        if new_state == state:
            continue
        periods.append(ItemPeriod(state, valid_from, when))
        if new_state.interval != state.interval:
            anchor = when
        state, valid_from = new_state, when


def initial_state(rng: np.random.Generator, tier: str) -> PlanState:
    """Plan, interval, seats and discount of a new main subscription."""
    interval = (
        "year" if rng.random() < {"starter": 0.2, "pro": 0.3, "enterprise": 0.6}[tier] else "month"
    )
    if tier == "starter":
        seats = int(min(10, rng.geometric(0.4)))
    elif tier == "pro":
        seats = int(np.clip(round(rng.lognormal(np.log(8), 0.6)), 2, 60))
    else:
        seats = int(np.clip(round(rng.lognormal(np.log(35), 0.6)), 10, 400))
    r = rng.random()
    discounted = 0.40 if tier == "enterprise" else 0.22
    if r < 0.015:
        discount = 100.0  # partner / internal accounts: free of charge
    elif r < 0.015 + discounted:
        discount = float(DISCOUNTS[rng.integers(len(DISCOUNTS))])
    else:
        discount = 0.0
    return PlanState(tier, interval, seats, discount)


def first_tier(rng: np.random.Generator, channel: str) -> str:
    """Tier of the first purchase; sales-led channels buy bigger plans."""
    weights = {
        "outbound": (0.30, 0.40, 0.30),
        "event": (0.30, 0.40, 0.30),
        "partner": (0.40, 0.40, 0.20),
    }.get(channel, (0.55, 0.33, 0.12))
    return str(choice(rng, TIERS, weights, 1)[0])


def main_hazards(tier: str, health: float) -> Hazards:
    """Hazards of a main subscription: healthier accounts churn less."""
    churn = MAIN_CHURN[tier] * float(np.exp(-0.5 * health))
    return Hazards(churn, MAIN_CHANGE_RATE, MAIN_CHANGE_WEIGHTS)


def simulate_addons(
    rng: np.random.Generator, account: int, main: Subscription, as_of: date
) -> list[Subscription]:
    """Analytics / Security add-ons bought with (or some time after) a Pro / Enterprise plan."""
    first = main.periods[0].state
    if first.product == "starter":
        return []
    candidates = [("analytics", 0.25, 0.12)]
    if first.product == "enterprise":
        candidates.append(("security", 0.35, 0.10))
    hz = Hazards(ADDON_CHURN, ADDON_CHANGE_RATE, ADDON_CHANGE_WEIGHTS)
    life_end = main.end or as_of
    addons = []
    for product, p_at_start, p_later in candidates:
        r = rng.random()
        if r < p_at_start:
            start = main.start
        elif r < p_at_start + p_later and (life_end - main.start).days > 45:
            start = main.start + timedelta(days=int(rng.integers(30, (life_end - main.start).days)))
        else:
            continue
        if start > as_of or (main.end is not None and start >= main.end):
            continue
        seats = max(1, round(first.seats * rng.uniform(0.3, 1.0)))
        discount = first.discount if rng.random() < 0.5 else 0.0
        state = PlanState(product, first.interval, seats, discount)
        periods, end = simulate_subscription(rng, state, start, as_of, hz, forced_end=main.end)
        addons.append(Subscription(account, start, end, periods, is_main=False))
    return addons


def simulate_account(
    rng: np.random.Generator, i: int, acc: Accounts, as_of: date
) -> list[Subscription]:
    """All subscriptions of one account (none for accounts that never pay)."""
    if rng.random() >= PAYING_SHARE:
        return []
    created = acc.created_date(i)
    trial = rng.random() < TRIAL_SHARE
    start = created + timedelta(days=14 if trial else int(rng.choice([0, 0, 0, 1, 2, 3])))
    tier = first_tier(rng, acc.channel[i])
    subs: list[Subscription] = []
    reactivation = False
    while start <= as_of:
        state = initial_state(rng, tier)
        quick = (
            not reactivation
            and rng.random() < QUICK_CHURN_SHARE
            and start.day <= 20
            and state.interval == "month"
            and month_end(start) <= as_of
        )
        hz = main_hazards(tier, float(acc.health[i]))
        periods, end = simulate_subscription(rng, state, start, as_of, hz, quick_churn=quick)
        main = Subscription(i, start, end, periods, is_main=True, is_reactivation=reactivation)
        subs.append(main)
        if not reactivation:
            subs.extend(simulate_addons(rng, i, main, as_of))
        if end is None or rng.random() >= REACTIVATION_SHARE * np.exp(0.3 * acc.health[i]):
            break
        start = end + timedelta(days=int(rng.integers(45, 300)))
        last_tier = periods[-1].state.product
        tier = str(choice(rng, (last_tier, "starter", "pro"), (0.6, 0.25, 0.15), 1)[0])
        reactivation = True
    return subs


def simulate_subscriptions(
    rng: np.random.Generator, acc: Accounts, as_of: date
) -> list[Subscription]:
    """All subscriptions, sorted chronologically and given ``sub_`` ids."""
    subs = [s for i in range(acc.n) for s in simulate_account(rng, i, acc, as_of)]
    subs.sort(
        key=lambda s: (
            s.start,
            s.account,
            not s.is_main,
            PRODUCTS.index(s.periods[0].state.product),
        )
    )
    for sub, sub_id in zip(subs, make_ids("sub", len(subs), 5), strict=False):
        sub.sub_id = sub_id
    return subs


@dataclass
class Items:
    """Flat arrays of all subscription items (for MRR look-ups)."""

    account: np.ndarray
    valid_from: np.ndarray  # day numbers
    valid_to: np.ndarray  # day numbers, large for NULL
    mrr_usd: np.ndarray
    tier: np.ndarray

    def mrr_at(self, day: int) -> float:
        """Total item MRR in USD of the items active on day number ``day``."""
        active = (self.valid_from <= day) & (day < self.valid_to)
        return float(self.mrr_usd[active].sum())


def item_rows(
    subs: list[Subscription], acc: Accounts, plans: dict[tuple[str, str, str], Plan]
) -> tuple[dict[str, list[str]], Items]:
    """billing_subscription_items table and the flat item arrays."""
    cols: dict[str, list] = {k: [] for k in ("sub", "acc", "plan", "seats", "disc", "vf", "vt")}
    mrr, tiers = [], []
    for sub in subs:
        currency = acc.currency[sub.account]
        for p in sub.periods:
            plan = plans[(p.state.product, p.state.interval, currency)]
            cols["sub"].append(sub.sub_id)
            cols["acc"].append(sub.account)
            cols["plan"].append(plan.plan_id)
            cols["seats"].append(p.state.seats)
            cols["disc"].append(p.state.discount)
            cols["vf"].append(day_number(p.valid_from))
            cols["vt"].append(NULL if p.valid_to is None else day_number(p.valid_to))
            mrr.append(p.state.seats * plan.monthly_usd * (1 - p.state.discount / 100))
            tiers.append(plan.tier)
    vt = np.array(cols["vt"], dtype=np.int64)
    items = Items(
        account=np.array(cols["acc"], dtype=np.int64),
        valid_from=np.array(cols["vf"], dtype=np.int64),
        valid_to=np.where(vt == NULL, 10**9, vt),
        mrr_usd=np.array(mrr),
        tier=np.array(tiers),
    )
    table = {
        "subscription_item_id": make_ids("si", len(mrr), 6),
        "subscription_id": cols["sub"],
        "account_id": [acc.ids[a] for a in cols["acc"]],
        "plan_id": cols["plan"],
        "seats": [str(s) for s in cols["seats"]],
        "discount_pct": fmt_money(cols["disc"]),
        "valid_from": fmt_day(np.array(cols["vf"])),
        "valid_to": fmt_day(vt),
    }
    return table, items


def account_windows(subs: list[Subscription], n: int) -> list[list[tuple[int, int | None]]]:
    """Per account: (start_day, end_day or None) of its main subscriptions."""
    windows: list[list[tuple[int, int | None]]] = [[] for _ in range(n)]
    for s in subs:
        if s.is_main:
            end = None if s.end is None else day_number(s.end)
            windows[s.account].append((day_number(s.start), end))
    for w in windows:
        w.sort()
    return windows


def max_tier_index(subs: list[Subscription], n: int) -> np.ndarray:
    """Highest main tier an account ever had (-1 = never paid)."""
    out = np.full(n, -1, dtype=np.int64)
    for s in subs:
        if s.is_main:
            for p in s.periods:
                out[s.account] = max(out[s.account], TIERS.index(p.state.product))
    return out


# --------------------------------------------------------------------------------------------------
# support_incidents (needed early: incidents drive API errors and SLA credits)
# --------------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------------
# events_users / events_features
# --------------------------------------------------------------------------------------------------


@dataclass
class Users:
    """Column arrays of events_users (sorted by created_at)."""

    ids: list[str]
    account: np.ndarray
    created_sec: np.ndarray
    is_admin: np.ndarray
    first_of_account: np.ndarray  # per account: index of its first user

    @property
    def n(self) -> int:
        """Number of users."""
        return len(self.ids)


def users_per_account(rng: np.random.Generator, max_tier: np.ndarray) -> np.ndarray:
    """Number of users: more for bigger tiers, 1-3 for accounts that never pay."""
    lo = np.array([1, 3, 8])[np.maximum(max_tier, 0)]
    hi = np.array([5, 12, 30])[np.maximum(max_tier, 0)]
    paying = rng.integers(lo, hi + 1)
    free = np.where(rng.random(len(max_tier)) < 0.8, 1, rng.integers(2, 4, len(max_tier)))
    return np.where(max_tier >= 0, paying, free)


def build_users(
    rng: np.random.Generator,
    cal: Calendar,
    acc: Accounts,
    windows: list[list[tuple[int, int | None]]],
    max_tier: np.ndarray,
) -> Users:
    """1-30 users per account; the first one (an admin) signs up with the account."""
    counts = users_per_account(rng, max_tier)
    account = np.repeat(np.arange(acc.n), counts)
    first = np.r_[0, np.cumsum(counts)[:-1]]
    is_first = np.zeros(len(account), bool)
    is_first[first] = True
    created = acc.created_sec[account]
    life_end = np.array(
        [
            (w[-1][1] if w and w[-1][1] is not None else day_number(cal.as_of) + 1) * DAY
            if w
            else acc.created_sec[a] + 30 * DAY
            for a, w in enumerate(windows)
        ],
        dtype=np.int64,
    )[account]
    life_end = np.minimum(np.maximum(life_end, created + DAY), cal.end_sec)
    early = created + 300 + rng.exponential(10 * DAY, len(account)).astype(np.int64)
    spread = created + 300 + (rng.random(len(account)) * (life_end - created)).astype(np.int64)
    offset_t = np.where(rng.random(len(account)) < 0.55, early, spread)
    fallback = (
        created
        + 300
        + (rng.random(len(account)) * np.maximum(cal.end_sec - created - 300, 1)).astype(np.int64)
    )
    offset_t = np.where(offset_t > cal.end_sec, fallback, offset_t)
    user_created = np.where(is_first, created, np.minimum(offset_t, cal.end_sec))
    is_admin = is_first | (rng.random(len(account)) < 0.12)
    order = np.lexsort((np.arange(len(account)), account, user_created))
    new_pos = np.empty_like(order)
    new_pos[order] = np.arange(len(order))
    return Users(
        ids=make_ids("usr", len(order), 6),
        account=account[order],
        created_sec=user_created[order],
        is_admin=is_admin[order],
        first_of_account=new_pos[first],
    )


def users_table(users: Users, acc: Accounts) -> dict[str, list[str]]:
    """events_users rows."""
    return {
        "user_id": users.ids,
        "account_id": [acc.ids[a] for a in users.account.tolist()],
        "role": np.where(users.is_admin, "admin", "member").tolist(),
        "created_at": fmt_ts(users.created_sec),
    }


def feature_launch_days(cal: Calendar) -> np.ndarray:
    """Launch day numbers aligned with :data:`FEATURES`, spread over (and before) the range."""
    span = (cal.as_of - cal.start).days
    start = day_number(cal.start)
    offsets = {
        "dashboards": -720,
        "reports": -540,
        "alerts": round(0.15 * span),
        "integrations": -210,
        "workflows": round(0.45 * span),
        "exports": -120,
        "api_keys": -330,
        "sso": round(0.27 * span),
        "audit_log": round(0.62 * span),
        "ai_assistant": span - 45,
    }
    return np.array([start + offsets[name] for name, _, _ in FEATURES], dtype=np.int64)


def features_table(cal: Calendar) -> dict[str, list[str]]:
    """events_features rows."""
    order = sorted(range(len(FEATURES)), key=lambda i: FEATURES[i][0])
    launched = feature_launch_days(cal)
    return {
        "feature_name": [FEATURES[i][0] for i in order],
        "is_core": fmt_bool(np.array([FEATURES[i][1] for i in order])),
        "launched_at": fmt_day(launched[order]),
    }


# --------------------------------------------------------------------------------------------------
# Account activity level per ISO week (drives events, API requests)
# --------------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------------
# events_tracks
# --------------------------------------------------------------------------------------------------


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


def tracks_table(tracks: TrackRows, acc: Accounts, users: Users) -> dict[str, list[str]]:
    """events_tracks rows as text."""
    event_ids = make_ids("evt", tracks.n_events, 7)
    feature_names = [f[0] for f in FEATURES]
    return {
        "event_id": [event_ids[i] for i in tracks.event_number.tolist()],
        "account_id": [acc.ids[a] for a in tracks.account.tolist()],
        "user_id": [users.ids[u] for u in tracks.user.tolist()],
        "event_name": [EVENT_NAMES[k] for k in tracks.name.tolist()],
        "feature_name": ["" if f == NULL else feature_names[f] for f in tracks.feature.tolist()],
        "onboarding_step": fmt_int(tracks.step),
        "occurred_at": fmt_ts(tracks.occurred),
        "received_at": fmt_ts(tracks.received),
    }


# --------------------------------------------------------------------------------------------------
# events_api_requests
# --------------------------------------------------------------------------------------------------


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


def api_table(rows: ApiRows, acc: Accounts) -> dict[str, list[str]]:
    """events_api_requests rows as text."""
    return {
        "request_id": make_ids("req", len(rows.occurred), 7),
        "account_id": [acc.ids[a] for a in rows.account.tolist()],
        "occurred_at": fmt_ts(rows.occurred),
        "endpoint": [ENDPOINTS[e] for e in rows.endpoint.tolist()],
        "http_status": fmt_int(rows.status),
        "latency_ms": fmt_int(rows.latency),
    }


# --------------------------------------------------------------------------------------------------
# billing_invoices
# --------------------------------------------------------------------------------------------------


@dataclass
class InvoiceLine:
    """One billing_invoices row before ids are assigned."""

    account: int
    sub_id: str
    kind: str
    issued: int  # epoch seconds
    start: date
    end: date
    amount: float
    status: str


def invoice_status(rng: np.random.Generator, issued: int, as_of_sec: int) -> str:
    """Recent invoices are often still open; a few old ones are overdue."""
    age_days = (as_of_sec - issued) / DAY
    r = rng.random()
    if age_days < 30:
        return "open" if r < 0.6 else "paid"
    if age_days < 60:
        return "open" if r < 0.15 else "paid"
    return "open" if r < 0.008 else "paid"


def subscription_invoices(
    rng: np.random.Generator,
    sub: Subscription,
    plans: dict[tuple[str, str, str], Plan],
    currency: str,
    cal: Calendar,
) -> list[InvoiceLine]:
    """One line per billing period per item (prorated when the item changes mid-period)."""
    lines = []
    anchor, prev_interval = sub.start, None
    as_of_sec = cal.end_sec
    for p in sub.periods:
        plan = plans[(p.state.product, p.state.interval, currency)]
        if p.state.interval != prev_interval:
            anchor, prev_interval = p.valid_from, p.state.interval
        step = 12 if p.state.interval == "year" else 1
        k = 0
        while add_months(anchor, (k + 1) * step) <= p.valid_from:
            k += 1
        while True:
            ps, pe = add_months(anchor, k * step), add_months(anchor, (k + 1) * step)
            k += 1
            if p.valid_to is not None and ps >= p.valid_to:
                break
            s = max(ps, p.valid_from)
            e = pe if p.valid_to is None else min(pe, p.valid_to)
            if s > cal.as_of:
                break
            full = p.state.seats * plan.price * (1 - p.state.discount / 100)
            amount = round(full * (e - s).days / (pe - ps).days, 2)
            if amount < 0.01:
                continue
            issued = day_number(s) * DAY + 6 * 3600 + int(rng.integers(0, 3600))
            status = invoice_status(rng, issued, as_of_sec)
            lines.append(
                InvoiceLine(sub.account, sub.sub_id, "subscription", issued, s, e, amount, status)
            )
    return lines


def void_and_reissue(
    rng: np.random.Generator, lines: list[InvoiceLine], cal: Calendar
) -> list[InvoiceLine]:
    """~1 % of older subscription invoices were voided and re-issued a few days later."""
    extra = []
    for line in lines:
        r, delay = rng.random(), int(rng.integers(1, 6)) * DAY
        if (
            line.kind == "subscription"
            and r < 0.01
            and line.issued + delay <= cal.end_sec - 60 * DAY
        ):
            line.status = "void"
            extra.append(replace(line, issued=line.issued + delay, status="paid"))
    return extra


def goodwill_credits(
    rng: np.random.Generator, lines: list[InvoiceLine], cal: Calendar
) -> list[InvoiceLine]:
    """~1 % of paid subscription invoices get a partial credit note later."""
    out = []
    for line in lines:
        r, share, delay = rng.random(), rng.uniform(0.1, 0.5), int(rng.integers(3, 25)) * DAY
        if line.kind == "subscription" and line.status == "paid" and r < 0.01:
            issued = line.issued + delay
            amount = -round(line.amount * share, 2)
            if issued <= cal.end_sec and amount <= -0.01:
                out.append(
                    replace(line, kind="credit_note", issued=issued, amount=amount, status="paid")
                )
    return out


def sla_credits(
    rng: np.random.Generator,
    inc: Incidents,
    items: Items,
    acc: Accounts,
    cal: Calendar,
) -> list[InvoiceLine]:
    """After each sev1 outage 1-2 enterprise customers get an SLA credit (no subscription)."""
    out = []
    for s, sev, outage in zip(
        inc.started.tolist(), inc.severity.tolist(), inc.is_outage.tolist(), strict=False
    ):
        if sev != "sev1" or not outage:
            continue
        day = s // DAY
        active = (
            (items.valid_from <= day)
            & (day < items.valid_to)
            & (items.tier == "enterprise")
            & (items.mrr_usd > 0)
        )
        candidates = np.unique(items.account[active])
        k = min(len(candidates), int(rng.integers(1, 3)))
        issued = s + int(rng.integers(5, 11)) * DAY
        for a in sorted(rng.choice(candidates, size=k, replace=False).tolist()) if k else []:
            mrr_local = (
                items.mrr_usd[active & (items.account == a)].sum() / USD_RATES[acc.currency[a]]
            )
            amount = -round(max(0.05 * mrr_local, 10.0), 2)
            if issued <= cal.end_sec:
                d = from_day_number(day)
                out.append(
                    InvoiceLine(
                        a, "", "credit_note", issued, d, d + timedelta(days=1), amount, "paid"
                    )
                )
    return out


def usage_invoices(
    rng: np.random.Generator,
    cal: Calendar,
    windows: list[list[tuple[int, int | None]]],
    api_rate: np.ndarray,
) -> list[InvoiceLine]:
    """Monthly API overage invoices in arrears (issued on the 1st after the month of use)."""
    out = []
    for a, w in enumerate(windows):
        if api_rate[a] <= 0 or not w:
            continue
        base = 40.0 * api_rate[a] ** 0.8
        m = from_day_number(w[0][0]).replace(day=1)
        while (nxt := add_months(m, 1)) <= cal.as_of:
            noise = rng.lognormal(0.0, 0.35)
            lo, hi = day_number(m), day_number(nxt)
            active = any(s < hi and (e is None or e > lo) for s, e in w)
            if active:
                issued = day_number(nxt) * DAY + 4 * 3600 + int(rng.integers(0, 3600))
                amount = round(max(5.0, base * noise), 2)
                status = invoice_status(rng, issued, cal.end_sec)
                out.append(InvoiceLine(a, "", "usage", issued, m, nxt, amount, status))
            m = nxt
    return out


def onboarding_fees(
    rng: np.random.Generator, subs: list[Subscription], cal: Calendar
) -> list[InvoiceLine]:
    """One-time onboarding fee for most new Enterprise and some Pro customers."""
    out = []
    for sub in subs:
        r, k = rng.random(), int(rng.integers(0, 3))
        if not sub.is_main or sub.is_reactivation:
            continue
        product = sub.periods[0].state.product
        if (product == "enterprise" and r < 0.7) or (product == "pro" and r < 0.2):
            amount = float(
                (2500, 5000, 7500)[k] if product == "enterprise" else (500, 1000, 1500)[k]
            )
            issued = day_number(sub.start) * DAY + 7 * 3600 + int(rng.integers(0, 3600))
            status = invoice_status(rng, issued, cal.end_sec)
            out.append(
                InvoiceLine(
                    sub.account,
                    "",
                    "one_time",
                    issued,
                    sub.start,
                    sub.start + timedelta(days=1),
                    amount,
                    status,
                )
            )
    return out


def build_invoices(
    rng: np.random.Generator,
    cal: Calendar,
    acc: Accounts,
    subs: list[Subscription],
    plans: dict[tuple[str, str, str], Plan],
    items: Items,
    windows: list[list[tuple[int, int | None]]],
    api_rate: np.ndarray,
    inc: Incidents,
) -> dict[str, list[str]]:
    """billing_invoices rows of all kinds, ordered by issue time."""
    lines: list[InvoiceLine] = []
    for sub in subs:
        lines.extend(subscription_invoices(rng, sub, plans, acc.currency[sub.account], cal))
    lines.extend(void_and_reissue(rng, lines, cal))
    lines.extend(goodwill_credits(rng, lines, cal))
    lines.extend(sla_credits(rng, inc, items, acc, cal))
    lines.extend(usage_invoices(rng, cal, windows, api_rate))
    lines.extend(onboarding_fees(rng, subs, cal))
    kind_order = {"subscription": 0, "usage": 1, "one_time": 2, "credit_note": 3}
    lines.sort(key=lambda x: (x.issued, x.account, kind_order[x.kind], x.sub_id, x.start, x.status))
    assert all(x.issued <= cal.end_sec for x in lines)
    return {
        "invoice_id": make_ids("inv", len(lines), 6),
        "account_id": [acc.ids[x.account] for x in lines],
        "subscription_id": [x.sub_id for x in lines],
        "invoice_type": [x.kind for x in lines],
        "status": [x.status for x in lines],
        "issued_at": fmt_ts(np.array([x.issued for x in lines], dtype=np.int64)),
        "service_period_start": [x.start.isoformat() for x in lines],
        "service_period_end": [x.end.isoformat() for x in lines],
        "amount": fmt_money([x.amount for x in lines]),
        "currency": [acc.currency[x.account] for x in lines],
    }


# --------------------------------------------------------------------------------------------------
# billing_revenue_targets
# --------------------------------------------------------------------------------------------------


def build_targets(
    rng: np.random.Generator, cal: Calendar, acc: Accounts, items: Items
) -> dict[str, list[str]]:
    """Board ARR targets per ISO year: above the simulated actual ARR at the year's end."""
    first_year = acc.created_date(0).isocalendar().year
    as_of_year = cal.as_of.isocalendar().year
    arr_now = 12 * items.mrr_at(day_number(cal.as_of))
    years, targets = [], []
    for year in range(first_year, as_of_year + 2):
        if year < as_of_year:
            last_week = date(year, 12, 28).isocalendar().week
            year_end = date.fromisocalendar(year, last_week, 7)
            target = 12 * items.mrr_at(day_number(year_end)) * rng.uniform(1.04, 1.22)
        elif year == as_of_year:
            target = arr_now * rng.uniform(1.35, 1.5)
        else:
            target = targets[-1] * rng.uniform(1.45, 1.6)
        years.append(year)
        targets.append(max(round(target, -3), 50_000.0))
    return {"fiscal_year": [str(y) for y in years], "target_arr": fmt_money(targets)}


# --------------------------------------------------------------------------------------------------
# support_tickets
# --------------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------------
# support_nps_responses
# --------------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------------
# Orchestration
# --------------------------------------------------------------------------------------------------


@dataclass
class World:
    """The simulated company: every table but the two event logs, and what drives those logs."""

    cal: Calendar
    rngs: dict[str, np.random.Generator]
    acc: Accounts
    users: Users
    factor: np.ndarray
    week_starts: np.ndarray
    inc: Incidents
    api_rate: np.ndarray
    tables: dict[str, dict[str, list[str]]]  # the 11 tables other than the event logs, as text


def simulate(seed: int, scale: float, as_of: date) -> World:
    """Simulate accounts, billing, users, activity and support (not yet the event logs)."""
    cal = Calendar(as_of)
    rngs = dict(
        zip(
            STREAMS,
            (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(len(STREAMS))),
            strict=False,
        )
    )
    n_accounts = max(20, round(ACCOUNTS_AT_SCALE_1 * scale))

    acc = build_accounts(rngs["accounts"], cal, n_accounts)
    plans = build_plans()
    subs = simulate_subscriptions(rngs["subscriptions"], acc, as_of)
    items_table, items = item_rows(subs, acc, plans)
    windows = account_windows(subs, acc.n)
    max_tier = max_tier_index(subs, acc.n)
    inc = build_incidents(rngs["incidents"], cal)
    users = build_users(rngs["users"], cal, acc, windows, max_tier)
    week_starts = cal.week_starts()
    factor = activity_factor(rngs["activity"], cal, acc, windows, week_starts)
    api_rate = api_rates(rngs["api"], acc, max_tier)
    invoices = build_invoices(
        rngs["invoices"], cal, acc, subs, plans, items, windows, api_rate, inc
    )
    tables = {
        "billing/billing_accounts.csv": accounts_table(acc),
        "billing/billing_plans.csv": plans_table(plans),
        "billing/billing_fx_rates.csv": fx_table(),
        "billing/billing_subscription_items.csv": items_table,
        "billing/billing_invoices.csv": invoices,
        "billing/billing_revenue_targets.csv": build_targets(rngs["targets"], cal, acc, items),
        "events/events_users.csv": users_table(users, acc),
        "events/events_features.csv": features_table(cal),
        "support/support_tickets.csv": build_tickets(rngs["tickets"], cal, acc, windows, max_tier),
        "support/support_nps_responses.csv": build_nps(rngs["nps"], cal, acc, users, windows),
        "support/support_incidents.csv": incidents_table(inc),
    }
    return World(cal, rngs, acc, users, factor, week_starts, inc, api_rate, tables)


TABLE_ORDER = (
    "billing/billing_accounts.csv",
    "billing/billing_plans.csv",
    "billing/billing_fx_rates.csv",
    "billing/billing_subscription_items.csv",
    "billing/billing_invoices.csv",
    "billing/billing_revenue_targets.csv",
    "events/events_users.csv",
    "events/events_features.csv",
    "events/events_tracks.csv",
    "events/events_api_requests.csv",
    "support/support_tickets.csv",
    "support/support_nps_responses.csv",
    "support/support_incidents.csv",
)


def generate(
    out: Path,
    seed: int,
    scale: float,
    as_of: date,
    session_events_per_account: float = TRACK_EVENTS_PER_ACCOUNT,
    api_requests_per_account: float = API_REQUESTS_PER_ACCOUNT,
) -> dict[str, tuple[int, int]]:
    """Simulate everything and write the 13 CSV files; returns {relative path: (rows, bytes)}."""
    w = simulate(seed, scale, as_of)
    tracks = build_tracks(
        w.rngs["tracks"], w.cal, w.acc, w.users, w.factor, w.week_starts,
        session_events_per_account,
    )  # fmt: skip
    api = build_api_requests(
        w.rngs["api"], w.cal, w.acc, w.api_rate, w.factor, w.week_starts, w.inc,
        api_requests_per_account,
    )  # fmt: skip
    tables = {
        **w.tables,
        "events/events_tracks.csv": tracks_table(tracks, w.acc, w.users),
        "events/events_api_requests.csv": api_table(api, w.acc),
    }
    return {name: write_csv(out / name, tables[name]) for name in TABLE_ORDER}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("seeds"), help="seed root directory")
    parser.add_argument("--seed", type=int, default=42, help="random seed")
    parser.add_argument("--scale", type=float, default=1.0, help="multiplier of the ~400 accounts")
    parser.add_argument(
        "--as-of",
        type=date.fromisoformat,
        default=date(2026, 6, 30),
        help="last day of data (YYYY-MM-DD)",
    )
    parser.add_argument(
        "--format",
        choices=("csv", "parquet"),
        default="csv",
        help="csv: the seed files; parquet: benchmark files (see saas_kpis.parquet_data)",
    )
    parser.add_argument(
        "--preset",
        choices=("S", "M", "L"),
        help="benchmark size (parquet only): S = the seeds, M = ~10M events, L = ~100M events",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    """Entry point: generate the seeds (or Parquet files) and print rows (and size) per file."""
    args = parse_args(argv)
    if args.scale <= 0:
        raise SystemExit("--scale must be positive")
    t0 = time.perf_counter()
    if args.format == "parquet":
        from saas_kpis.parquet_data import PRESETS, write_parquet

        if args.preset is None:
            raise SystemExit("--format parquet needs --preset S, M or L")
        rows = write_parquet(args.out, args.seed, PRESETS[args.preset], args.as_of)
        for name, count in rows.items():
            print(f"{name:45s} {count:>12,d} rows")
        print(f"{'total':45s} {sum(rows.values()):>12,d} rows in {time.perf_counter() - t0:.1f} s")
        return
    if args.preset is not None:
        raise SystemExit("--preset needs --format parquet")
    stats = generate(args.out, args.seed, args.scale, args.as_of)
    total = 0
    for name, (rows, size) in stats.items():
        total += size
        print(f"{name:45s} {rows:>9,d} rows {size / 1024:>9.1f} KiB")
    print(f"{'total':45s} {'':>14s} {total / 1024:>9.1f} KiB in {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
