"""Independent computation of the account-month spine from the raw CSV files.

Plain Python (csv, datetime, decimal), written from the spec's section 2, so
that the dbt models and the semantic layer can be checked against something
that shares no code with them.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

TIER_RANK = {"starter": 1, "pro": 2, "enterprise": 3}


@dataclass(frozen=True)
class AccountMonth:
    account_id: str
    month_start: dt.date
    mrr_usd: Decimal
    seats: int
    plan_tier: str
    industry: str
    account_age_band: str
    is_partial_month: bool

    @property
    def is_paying(self) -> bool:
        return self.mrr_usd > 0


def read_rows(seeds_dir: Path, name: str) -> list[dict[str, str]]:
    domain = name.split("_", 1)[0]
    with open(seeds_dir / domain / f"{name}.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def parse_date(value: str) -> dt.date:
    return dt.date.fromisoformat(value[:10])


def parse_timestamp(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value.replace("T", " ").removesuffix("Z"))


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def next_month(month: dt.date) -> dt.date:
    return (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def months_between(first: dt.date, last: dt.date) -> int:
    return (last.year - first.year) * 12 + last.month - first.month


def iterate_months(first: dt.date, last: dt.date) -> Iterator[dt.date]:
    month = month_start(first)
    while month <= last:
        yield month
        month = next_month(month)


def age_band(months: int) -> str:
    if months < 6:
        return "0-6m"
    if months < 12:
        return "6-12m"
    if months < 24:
        return "12-24m"
    return "24m+"


def account_months(seeds_dir: Path, as_of: dt.date) -> dict[tuple[str, dt.date], AccountMonth]:
    """MRR(a, m), seats(a, m), plan_tier(a, m) and segments for every account-month."""
    end_of_as_of = dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time())
    rates = {
        row["currency"]: Decimal(row["usd_rate"])
        for row in read_rows(seeds_dir, "billing_fx_rates")
    }
    plans = {row["plan_id"]: row for row in read_rows(seeds_dir, "billing_plans")}
    accounts = {
        row["account_id"]: row
        for row in read_rows(seeds_dir, "billing_accounts")
        if parse_timestamp(row["created_at"]) < end_of_as_of
    }
    items_by_account: dict[str, list[dict]] = {}
    for row in read_rows(seeds_dir, "billing_subscription_items"):
        plan = plans[row["plan_id"]]
        mrr = (
            int(row["seats"])
            * Decimal(plan["price_per_seat"])
            * (1 - Decimal(row["discount_pct"]) / 100)
            * rates[plan["currency"]]
        )
        if plan["billing_interval"] == "year":
            mrr /= 12
        items_by_account.setdefault(row["account_id"], []).append(
            {
                "mrr": mrr,
                "seats": int(row["seats"]),
                "tier": plan["plan_tier"],
                "valid_from": parse_date(row["valid_from"]),
                "valid_to": parse_date(row["valid_to"]) if row["valid_to"] else None,
            }
        )

    invoice_starts: dict[str, list[dt.date]] = {}
    for row in read_rows(seeds_dir, "billing_invoices"):
        if parse_timestamp(row["issued_at"]) < end_of_as_of:
            invoice_starts.setdefault(row["account_id"], []).append(
                parse_date(row["service_period_start"])
            )

    result: dict[tuple[str, dt.date], AccountMonth] = {}
    for account_id, account in accounts.items():
        signup_month = month_start(parse_timestamp(account["created_at"]).date())
        items = items_by_account.get(account_id, [])
        started = [item["valid_from"] for item in items if item["valid_from"] <= as_of]
        started += invoice_starts.get(account_id, [])
        first_month = min([signup_month, *map(month_start, started)])
        for month in iterate_months(first_month, as_of):
            snapshot = min(next_month(month) - dt.timedelta(days=1), as_of)
            active = [
                item
                for item in items
                if item["valid_from"] <= snapshot
                and (item["valid_to"] is None or snapshot < item["valid_to"])
            ]
            top = max(active, key=lambda item: (item["mrr"], TIER_RANK[item["tier"]]), default=None)
            result[(account_id, month)] = AccountMonth(
                account_id=account_id,
                month_start=month,
                mrr_usd=sum((item["mrr"] for item in active), Decimal(0)),
                seats=sum(item["seats"] for item in active),
                plan_tier=top["tier"] if top else "none",
                industry=account["industry"],
                account_age_band=age_band(months_between(signup_month, month)),
                is_partial_month=month == month_start(as_of),
            )
    return result
