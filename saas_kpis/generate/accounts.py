"""billing_accounts: sign-ups with firmographics, a billing currency and a hidden health score.

The health score is what makes the KPIs move together: it lowers churn (subscriptions), raises
product usage (events) and improves NPS and CSAT (support).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from saas_kpis.generate.calendar import DAY, Calendar, day_number, from_day_number, weekday
from saas_kpis.generate.sampling import choice, time_of_day
from saas_kpis.generate.text import fmt_ts, make_ids

INDUSTRIES = ("software", "fintech", "healthcare", "retail", "manufacturing", "education", "media")
INDUSTRY_WEIGHTS = (0.25, 0.15, 0.12, 0.14, 0.12, 0.10, 0.12)
REGIONS = ("na", "emea", "apac", "latam")
REGION_WEIGHTS = (0.45, 0.30, 0.15, 0.10)
CHANNELS = ("organic", "paid_search", "partner", "outbound", "event")
CHANNEL_WEIGHTS = (0.35, 0.25, 0.12, 0.18, 0.10)

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
