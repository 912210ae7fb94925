"""How a value is shown to people, by its metric's meta `unit`: money, percentages, counts.

Dashboards and review packs show the same number the same way.
"""

from __future__ import annotations

MISSING = "n/a"


def show(value: float | None, unit: str | None) -> str:
    """A value for a tile or a pack line: $1,234,567 · 104.2 % · 2.31 · 1,234."""
    if value is None:
        return MISSING
    if unit == "usd":
        return f"-${-value:,.0f}" if value < 0 else f"${value:,.0f}"
    if unit == "ratio":
        return f"{100 * value:.1f} %"
    if float(value).is_integer() and abs(value) >= 10:
        return f"{value:,.0f}"
    return f"{value:,.2f}"


def show_change(change: float | None, unit: str | None) -> str:
    """A change against the previous period: +$12,345 · +1.3 pp · -0.20."""
    if change is None:
        return MISSING
    sign = "+" if change >= 0 else "-"
    if unit == "ratio":
        return f"{sign}{100 * abs(change):.1f} pp"
    return sign + show(abs(change), unit)
