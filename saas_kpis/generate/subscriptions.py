"""billing_plans, billing_fx_rates and billing_subscription_items: the price book and a
per-account event simulation of subscriptions (trials, plan and seat changes, churn, reactivation,
add-ons).

The subscriptions found here drive everything that depends on whether an account pays: users,
activity, invoices, tickets and NPS surveys (through :func:`account_windows` and
:func:`max_tier_index`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta

import numpy as np

from saas_kpis.generate.accounts import Accounts
from saas_kpis.generate.calendar import NULL, add_months, day_number, month_end
from saas_kpis.generate.sampling import choice
from saas_kpis.generate.text import fmt_day, fmt_money, make_ids

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
