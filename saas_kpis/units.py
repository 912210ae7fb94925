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
        return f"{_percent(value)} %"
    if float(value).is_integer() and abs(value) >= 10:
        return f"{value:,.0f}"
    return f"{value:,.2f}"


def show_change(change: float | None, unit: str | None) -> str:
    """A change against the previous period: +$12,345 · +1.3 pp · -0.20."""
    if change is None:
        return MISSING
    sign = "+" if change >= 0 else "-"
    if unit == "ratio":
        return f"{sign}{_percent(abs(change))} pp"
    return sign + show(abs(change), unit)


def _percent(ratio: float) -> str:
    """One decimal, or up to three where one would round a value that is not 100 % to 100.0 %
    (an uptime of 99.95 % against a 99.9 % threshold)."""
    for decimals in (1, 2, 3):
        text = f"{100 * ratio:.{decimals}f}"
        if float(text) != 100 or ratio == 1:
            return text
    return text
