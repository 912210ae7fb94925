"""How a value is shown to people, by its metric's meta `unit`: money, percentages, counts.

Dashboards and review packs show the same number the same way: a dashboard tile in short form
(whole dollars, one decimal of a percentage), a review pack `exact` (cents, two decimals).
"""

from __future__ import annotations

MISSING = "n/a"


def show(value: float | None, unit: str | None, *, exact: bool = False) -> str:
    """$1,234,567 · 104.2 % · 2.31 · 1,234; exact: $1,234,567.89 · 104.23 % · 2.3125."""
    if value is None:
        return MISSING
    if unit == "usd":
        money = f"{abs(value):,.2f}" if exact else f"{abs(value):,.0f}"
        return f"-${money}" if value < 0 else f"${money}"
    if unit == "ratio":
        return f"{_percent(value, 2 if exact else 1)} %"
    if float(value).is_integer() and (exact or abs(value) >= 10):
        return f"{value:,.0f}"
    if exact:
        return f"{value:,.2f}" if abs(value) >= 100 else f"{value:,.4f}".rstrip("0").rstrip(".")
    return f"{value:,.2f}"


def show_change(change: float | None, unit: str | None, *, exact: bool = False) -> str:
    """A change against the previous period: +$12,345 · +1.3 pp · -0.20."""
    if change is None:
        return MISSING
    sign = "+" if change >= 0 else "-"
    if unit == "ratio":
        return f"{sign}{_percent(abs(change), 2 if exact else 1)} pp"
    return sign + show(abs(change), unit, exact=exact)


def _percent(ratio: float, decimals: int) -> str:
    """`decimals` decimals, or up to three where fewer would round a value that is not 100 % to
    100 % (an uptime of 99.95 % against a 99.9 % threshold)."""
    for places in range(decimals, 4):
        text = f"{100 * ratio:.{places}f}"
        if float(text) != 100 or ratio == 1:
            return text
    return text
