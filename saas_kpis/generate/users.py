"""events_users and events_features: the people of each account and the product's features.

Users are simulated with the billing tables because the event logs and the NPS survey both pick
from them; feature launch dates bound which features the product events can use.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from saas_kpis.generate.accounts import Accounts
from saas_kpis.generate.calendar import DAY, Calendar, day_number
from saas_kpis.generate.text import fmt_bool, fmt_day, fmt_ts, make_ids

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
