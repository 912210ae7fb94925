"""billing_invoices and billing_revenue_targets: what the subscriptions, API usage and incidents
bill, and the board's ARR targets set against the simulated actuals.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta

import numpy as np

from saas_kpis.generate.accounts import Accounts
from saas_kpis.generate.calendar import DAY, Calendar, add_months, day_number, from_day_number
from saas_kpis.generate.subscriptions import USD_RATES, Items, Plan, Subscription
from saas_kpis.generate.support import Incidents
from saas_kpis.generate.text import fmt_money, fmt_ts, make_ids


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
