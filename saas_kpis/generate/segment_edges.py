"""Opt-in hand-made accounts before the simulated range, where segments empty and fill.

Zero-and-NULL rules (kpi-spec section 2) differ where one side of a ratio or a derived metric has no
rows for a (period, segment): a segment that empties from one month to the next, or one that fills.
The simulated company rarely produces that, so ``write_seeds(..., segment_edges=True)`` appends two
accounts in the three months before the simulated range starts, when they are the whole company:

* ``acc_edge1`` (industry ``nonprofit``, starter) pays in months P1 and P2 and churns on the 1st
  of P3: the starter tier, the industry and the company empty in P3 (MRR base > 0, MRR 0);
* ``acc_edge2`` (industry ``government``, enterprise) signs up and pays in P2 and churns on day 10
  of P3: the enterprise tier and the industry fill in P2 (no base), and its invoice reaches into
  P3, so weekly revenue stops after the first days of P3 (with the simulated range starting in
  February, as in the ``generated_small`` test scenario, P3 is January: revenue in ISO week 1,
  none in the weeks after, for the growth rate and CWGR);
* only ``acc_edge2`` files a ticket (in P2): a month with paying accounts and no ticket.

The company then has no paying account in P3 and fills again with the simulated accounts. The
shipped seeds do not use this (their output is unchanged); the test scenario does.
"""

from __future__ import annotations

from datetime import date, timedelta

from saas_kpis.generate.calendar import Calendar, add_months


def _plan(plans: dict[str, list[str]], tier: str) -> tuple[str, str]:
    """(plan_id, price_per_seat) of the tier's monthly USD plan."""
    for plan_id, plan_tier, interval, price, currency in zip(
        plans["plan_id"],
        plans["plan_tier"],
        plans["billing_interval"],
        plans["price_per_seat"],
        plans["currency"],
        strict=True,
    ):
        if (plan_tier, interval, currency) == (tier, "month", "USD"):
            return plan_id, price
    raise ValueError(f"no monthly USD plan of tier {tier}")


def _append(table: dict[str, list[str]], row: dict[str, str]) -> None:
    assert set(row) == set(table), sorted(set(row) ^ set(table))
    for column, value in row.items():
        table[column].append(value)


def with_segment_edges(
    simulated: dict[str, dict[str, list[str]]], cal: Calendar
) -> dict[str, dict[str, list[str]]]:
    """The text tables with the two edge accounts, their items, invoices and ticket appended (a
    copy: the event logs are built from the simulated accounts alone)."""
    tables = {
        name: {column: list(values) for column, values in table.items()}
        for name, table in simulated.items()
    }
    p1 = add_months(cal.start.replace(day=1), -3)
    p2 = add_months(p1, 1)
    p3 = add_months(p1, 2)
    plans = tables["billing/billing_plans.csv"]
    edges = (
        # account, industry, created, tier, seats, valid_from, valid_to
        (
            "acc_edge1",
            "nonprofit",
            p1 + timedelta(days=1),
            "starter",
            5,
            p1 + timedelta(days=4),
            p3,
        ),
        (
            "acc_edge2",
            "government",
            p2 + timedelta(days=8),
            "enterprise",
            10,
            p2 + timedelta(days=9),
            p3 + timedelta(days=9),
        ),
    )
    for n, (account, industry, created, tier, seats, valid_from, valid_to) in enumerate(edges, 1):
        plan_id, price = _plan(plans, tier)
        _append(
            tables["billing/billing_accounts.csv"],
            {
                "account_id": account,
                "account_name": f"Edge {industry.title()}",
                "industry": industry,
                "region": "na",
                "acquisition_channel": "organic",
                "created_at": f"{created} 09:00:00",
            },
        )
        _append(
            tables["billing/billing_subscription_items.csv"],
            {
                "subscription_item_id": f"si_edge{n}",
                "subscription_id": f"sub_edge{n}",
                "account_id": account,
                "plan_id": plan_id,
                "seats": str(seats),
                "discount_pct": "0.00",
                "valid_from": str(valid_from),
                "valid_to": str(valid_to),
            },
        )
        periods = _monthly_periods(valid_from, valid_to)
        for k, (start, end) in enumerate(periods, 1):
            _append(
                tables["billing/billing_invoices.csv"],
                {
                    "invoice_id": f"inv_edge{n}_{k}",
                    "account_id": account,
                    "subscription_id": f"sub_edge{n}",
                    "invoice_type": "subscription",
                    "status": "paid",
                    "issued_at": f"{start} 06:00:00",
                    "service_period_start": str(start),
                    "service_period_end": str(end),
                    "amount": f"{seats * float(price):.2f}",
                    "currency": "USD",
                },
            )
    ticket_day = p2 + timedelta(days=14)
    _append(
        tables["support/support_tickets.csv"],
        {
            "ticket_id": "tkt_edge1",
            "account_id": "acc_edge2",
            "created_at": f"{ticket_day} 10:00:00",
            "first_response_at": f"{ticket_day} 11:00:00",
            "resolved_at": f"{ticket_day} 13:00:00",
            "priority": "normal",
            "channel": "email",
            "is_escalated": "false",
            "csat_score": "5",
        },
    )
    return tables


def _monthly_periods(valid_from: date, valid_to: date) -> list[tuple[date, date]]:
    """Billing periods of a monthly plan from valid_from, the last one cut at valid_to."""
    periods = []
    start = valid_from
    while start < valid_to:
        end = min(add_months(start, 1), valid_to)
        periods.append((start, end))
        start = end
    return periods
