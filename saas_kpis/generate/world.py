"""The simulated company: every table but the two event logs, from a seed, a scale and an as-of day.

Each table draws from its own random stream (:data:`STREAMS`), so adding draws to one table leaves
the others unchanged; the event logs are left to :mod:`saas_kpis.generate.event_logs`, which builds
them from what the world keeps (accounts, users, weekly activity, incidents, API intensity).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from saas_kpis.generate.accounts import Accounts, accounts_table, build_accounts
from saas_kpis.generate.calendar import Calendar
from saas_kpis.generate.events import activity_factor, api_rates
from saas_kpis.generate.invoices import build_invoices, build_targets
from saas_kpis.generate.subscriptions import (
    account_windows,
    build_plans,
    fx_table,
    item_rows,
    max_tier_index,
    plans_table,
    simulate_subscriptions,
)
from saas_kpis.generate.support import (
    Incidents,
    build_incidents,
    build_nps,
    build_tickets,
    incidents_table,
)
from saas_kpis.generate.users import Users, build_users, features_table, users_table

ACCOUNTS_AT_SCALE_1 = 400
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
