"""Render an `Explanation` as a readable table or as JSON, and the driver tree as an outline."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from saas_kpis.drivers.decompose import Decomposition
from saas_kpis.drivers.explain import Explanation, label
from saas_kpis.drivers.tree import DriverTree, Node


def number(value: float | None, large: bool | None = None) -> str:
    """Two decimals for large numbers (money, counts), six for ratios; `large` forces one."""
    if value is None:
        return "n/a"
    if large if large is not None else abs(value) >= 100:
        return f"{value:,.2f}"
    return f"{value:.6f}"


def residual(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2e}"


def _decomposition(d: Decomposition, base: str, current: str) -> list[str]:
    heading = f"By {d.dimension}: {d.method}" if d.dimension else f"Formula ({d.method})"
    lines = [heading, f"  {d.title}"]
    lines.extend(f"  note: {note}" for note in d.notes)
    width = max([len("sum of components"), *(len(c.label) for c in d.components)]) + 2
    if d.method == "ratio segments":
        lines.append(
            f"  {'segment':<{width}}{'share ' + base:>15}{'share ' + current:>15}"
            f"{'rate ' + base:>14}{'rate ' + current:>14}{'mix':>11}{'rate eff.':>11}"
            f"{'contrib.':>11}  note"
        )
        for c in d.components:
            lines.append(
                f"  {c.label:<{width}}{number(c.weight_base):>15}{number(c.weight_current):>15}"
                f"{number(c.base):>14}{number(c.current):>14}{number(c.mix):>11}"
                f"{number(c.rate):>11}{number(c.contribution):>11}  {c.note}".rstrip()
            )
        pad, column_width = width + 15 * 2 + 14 * 2 + 22, 11
    else:
        large = any(
            v is not None and abs(v) >= 100
            for c in d.components
            for v in (c.base, c.current, c.contribution)
        )
        column = "change" if d.exact else "change (not additive)"
        lines.append(f"  {'component':<{width}}{base:>16}{current:>16}{column:>16}  note")
        for c in d.components:
            lines.append(
                f"  {c.label:<{width}}{number(c.base, large):>16}{number(c.current, large):>16}"
                f"{number(c.contribution, large):>16}  {c.note}".rstrip()
            )
        pad, column_width = width + 32, 16
    if d.exact:
        lines.append(f"  {'sum of components':<{pad}}{number(d.explained):>{column_width}}")
        lines.append(f"  {'residual (change - sum)':<{pad}}{residual(d.residual):>{column_width}}")
    return lines


def text(explanation: Explanation) -> str:
    e = explanation
    base, current = label(e.base, e.grain), label(e.period, e.grain)
    meta = ", ".join(f"{k} {e.meta[k]}" for k in ("owner", "tier", "framework_code") if k in e.meta)
    lines = [f"Why did {e.metric} ({e.label}) move? [{meta}]"]
    lines.extend(f"Driver tree: {path}" for path in e.tree_paths)
    lines.append(f"Grain {e.grain}: base {base}, period {current}")
    lines.append("")
    lines.append(f"  {'value ' + base:<32}{number(e.value_base):>16}")
    lines.append(f"  {'value ' + current:<32}{number(e.value_current):>16}")
    lines.append(f"  {'change':<32}{number(e.change):>16}")
    for d in e.decompositions:
        lines.append("")
        lines.extend(_decomposition(d, base[:10], current[:10]))
    if e.notes:
        lines.append("")
        lines.extend(f"Note: {note}" for note in e.notes)
    return "\n".join(lines)


def as_dict(explanation: Explanation) -> dict[str, Any]:
    data = asdict(explanation)
    data["base"] = explanation.base.isoformat()
    data["period"] = explanation.period.isoformat()
    data["change"] = explanation.change
    for raw, d in zip(data["decompositions"], explanation.decompositions, strict=True):
        raw["explained"] = d.explained if d.exact else None
        raw["residual"] = d.residual
    return data


def as_json(explanation: Explanation) -> str:
    return json.dumps(as_dict(explanation), indent=2, default=str)


def _outline(node: Node, depth: int) -> list[str]:
    line = f"{'  ' * depth}- {node.title} [{node.owner}]: {', '.join(node.metrics)}"
    return [line, *(row for d in node.drivers for row in _outline(d, depth + 1))]


def tree_outline(tree: DriverTree) -> str:
    lines = ["Primary metric:", *_outline(tree.primary, 1), "Success metrics:"]
    for node in tree.success_metrics:
        lines.extend(_outline(node, 1))
    return "\n".join(lines)
