"""A review pack as Markdown and as one self-contained HTML page.

The content is laid out once, as sections of paragraphs, tables and a collapsible block, and each
format writes those: the two files always say the same. The HTML page needs no script and no
network (its style is inline); every text is escaped with `html.escape`.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, field

from saas_kpis.alerts.evaluation import Evaluation
from saas_kpis.drivers import render as drivers_render
from saas_kpis.drivers.decompose import Decomposition
from saas_kpis.drivers.explain import Explanation
from saas_kpis.readings import Threshold
from saas_kpis.reviews.pack import TIERS, MetricLine, OwnerActions, Pack, Resolved
from saas_kpis.units import show, show_change

# The largest components of each decomposition the pack shows; the full table is one click away.
TOP_COMPONENTS = 4
OPERATORS = {"<": "<", "<=": "≤", ">": ">", ">=": "≥"}
BAD, GOOD = ("MISSED", "FIRING"), ("ok",)


@dataclass(frozen=True)
class Table:
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class Details:
    """A block of preformatted text, collapsed under `summary`."""

    summary: str
    text: str


Block = str | Table | Details


@dataclass(frozen=True)
class Section:
    title: str
    level: int
    blocks: tuple[Block, ...] = field(default=())


# ------------------------------------------------------------------------------ numbers


def relative_text(relative: float | None) -> str:
    return "" if relative is None else f"{relative * 100:+.1f} %"


def threshold_text(threshold: Threshold | None, unit: str) -> str:
    if threshold is None:
        return ""
    operator = OPERATORS.get(threshold.operator, threshold.operator)
    return f"healthy {operator} {show(threshold.value, unit, exact=True)}"


def status_text(line: MetricLine) -> str:
    if line.threshold is None:
        return ""
    if line.healthy is None:
        return "no data"
    return "ok" if line.healthy else "MISSED"


# ------------------------------------------------------------------------------ sections


def header(pack: Pack) -> Section:
    blocks: list[Block] = [
        f"as_of_date {pack.as_of.isoformat()}. Period reviewed: {pack.period_label}, the latest "
        f"complete {pack.grain} ({pack.partial_label} contains as_of_date and is partial); "
        f"compared with {pack.previous_label}.",
        f"{len(pack.metrics)} metrics with review_cadence {pack.cadence}; "
        f"{len(pack.fired)} alerts fired, {len(pack.resolved)} resolved.",
    ]
    blocks.extend(pack.notes)
    return Section(f"{pack.cadence.capitalize()} KPI review: {pack.period_label}", 1, tuple(blocks))


def _alert_item(evaluation: Evaluation) -> str:
    segment = f"[{evaluation.segment}]" if evaluation.segment else ""
    return (
        f"alert {evaluation.rule.name}{segment} ({evaluation.rule.severity}): "
        f"{show(evaluation.outcome.observed, None, exact=True)}, "
        f"fires when {evaluation.condition}; "
        f"{evaluation.rule.channel}"
    )


def _missed_item(line: MetricLine) -> str:
    return (
        f"{line.label} ({line.name}) is {show(line.value, line.unit, exact=True)} in "
        f"{line.period_label}: not {threshold_text(line.threshold, line.unit)}"
    )


def owners(actions: Sequence[OwnerActions]) -> Section:
    rows: list[tuple[str, ...]] = []
    for action in actions:
        items = [_alert_item(e) for e in action.alerts] + [_missed_item(m) for m in action.missed]
        rows.extend((action.owner, item) for item in items or ["nothing to act on"])
    return Section("Owners who must act", 2, (Table(("owner", "what"), tuple(rows)),))


def metric_table(lines: Sequence[MetricLine], pack: Pack) -> Table:
    headers = (
        "metric",
        "owner",
        pack.period_label,
        pack.previous_label,
        "change",
        "relative",
        "threshold",
        "status",
        "note",
    )
    rows = tuple(
        (
            f"{line.label} ({line.name})",
            line.owner,
            show(line.value, line.unit, exact=True),
            show(line.previous, line.unit, exact=True),
            show_change(line.change, line.unit, exact=True),
            relative_text(line.relative_change),
            threshold_text(line.threshold, line.unit),
            status_text(line),
            (
                f"{line.grain_note} ({line.period_label} vs {line.previous_label})"
                if line.grain_note
                else ""
            ),
        )
        for line in lines
    )
    return Table(headers, rows)


def metrics(pack: Pack) -> list[Section]:
    sections = [Section("Metrics", 2)]
    for tier in (*TIERS, *pack.other_tiers):
        lines = pack.tier(tier)
        block: Block = metric_table(lines, pack) if lines else f"No {tier} metric at this cadence."
        sections.append(Section(tier.capitalize(), 3, (block,)))
    return sections


ALERT_HEADERS = ("rule", "segment", "severity", "value", "condition", "owner", "channel")


def _alert_row(evaluation: Evaluation) -> tuple[str, ...]:
    return (
        evaluation.rule.name,
        evaluation.segment or "all",
        evaluation.rule.severity,
        show(evaluation.outcome.observed, None, exact=True),
        evaluation.condition,
        evaluation.rule.owner,
        evaluation.rule.channel,
    )


def _resolved_row(item: Resolved) -> tuple[str, ...]:
    now = show(item.now.outcome.observed, None, exact=True) if item.now is not None else "n/a"
    return (*_alert_row(item.before), now, item.state_now)


def alerts(pack: Pack) -> list[Section]:
    intro = (
        f"No alert rule is at {pack.grain} grain."
        if not pack.rules
        else (
            f"The {pack.rules} alert rules at {pack.grain} grain, evaluated at {pack.period_label} "
            f"and at {pack.previous_label}: fired means firing at {pack.period_label}; resolved "
            f"means firing at {pack.previous_label} and not at {pack.period_label}."
        )
    )
    fired: Block = (
        Table(ALERT_HEADERS, tuple(_alert_row(e) for e in pack.fired))
        if pack.fired
        else "No alert fired."
    )
    resolved: Block = (
        Table(
            (
                *ALERT_HEADERS[:3],
                f"value {pack.previous_label}",
                *ALERT_HEADERS[4:],
                f"value {pack.period_label}",
                "state now",
            ),
            tuple(_resolved_row(item) for item in pack.resolved),
        )
        if pack.resolved
        else "No alert resolved."
    )
    return [
        Section("Alerts", 2, (intro,)),
        Section(f"Fired ({len(pack.fired)})", 3, (fired,)),
        Section(f"Resolved since {pack.previous_label} ({len(pack.resolved)})", 3, (resolved,)),
    ]


def _decomposition_table(d: Decomposition, unit: str) -> tuple[str, Table]:
    heading = f"By {d.dimension}: {d.method}" if d.dimension else f"Formula ({d.method})"
    ranked = sorted(d.components, key=lambda c: abs(c.contribution), reverse=True)
    top = ranked[:TOP_COMPONENTS]
    rows = [(c.label, show_change(c.contribution, unit, exact=True)) for c in top]
    if len(ranked) > TOP_COMPONENTS:
        rest = sum(c.contribution for c in ranked[TOP_COMPONENTS:])
        rows.append((f"{len(ranked) - TOP_COMPONENTS} more", show_change(rest, unit, exact=True)))
    return heading, Table(("component", "contribution"), tuple(rows))


def drivers(pack: Pack) -> Section:
    e: Explanation | None = pack.explanation
    if e is None:
        return Section("Driver decomposition", 2, (f"Not available: {pack.explanation_note}",))
    unit = str(e.meta.get("unit", ""))
    base, current = drivers_render.label(e.base, e.grain), drivers_render.label(e.period, e.grain)
    blocks: list[Block] = [
        f"{e.label} ({e.metric}), {base} to {current}: {show(e.value_base, unit, exact=True)} to "
        f"{show(e.value_current, unit, exact=True)} ({show_change(e.change, unit, exact=True)}).",
        *(f"Driver tree: {path}" for path in e.tree_paths),
    ]
    for decomposition in e.decompositions:
        heading, table = _decomposition_table(decomposition, unit)
        blocks.extend((heading, table))
    blocks.extend(f"Note: {note}" for note in e.notes)
    blocks.append(Details("The full decomposition (make explain)", drivers_render.text(e)))
    return Section(f"Why did {e.label} move?", 2, tuple(blocks))


def sections(pack: Pack) -> list[Section]:
    return [header(pack), owners(pack.actions), *metrics(pack), *alerts(pack), drivers(pack)]


# ------------------------------------------------------------------------------ formats


def _cell(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def markdown(pack: Pack) -> str:
    out: list[str] = []
    for section in sections(pack):
        out += [f"{'#' * section.level} {section.title}", ""]
        for block in section.blocks:
            if isinstance(block, Table):
                out.append("| " + " | ".join(_cell(h) for h in block.headers) + " |")
                out.append("|" + "---|" * len(block.headers))
                out += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in block.rows]
            elif isinstance(block, Details):
                out += [f"<details><summary>{html.escape(block.summary)}</summary>", ""]
                out += ["```text", block.text, "```", "", "</details>"]
            else:
                out.append(block)
            out.append("")
    return "\n".join(out).rstrip() + "\n"


STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 72rem; color: #222; }
table { border-collapse: collapse; margin: 0.5rem 0 1rem; font-size: 0.9rem; }
th, td { border: 1px solid #ccc; padding: 0.25rem 0.5rem; text-align: left; }
th { background: #f2f2f2; }
td.bad { background: #fbe3e1; font-weight: bold; }
td.good { background: #e3f4e1; }
pre { background: #f7f7f7; padding: 0.75rem; overflow-x: auto; font-size: 0.8rem; }
"""


def _html_cell(text: str) -> str:
    kind = "bad" if text in BAD else "good" if text in GOOD else ""
    opening = f'<td class="{kind}">' if kind else "<td>"
    return f"{opening}{html.escape(text)}</td>"


def page(pack: Pack) -> str:
    escape = html.escape
    body: list[str] = []
    for section in sections(pack):
        body.append(f"<h{section.level}>{escape(section.title)}</h{section.level}>")
        for block in section.blocks:
            if isinstance(block, Table):
                body.append("<table>")
                body.append("<tr>" + "".join(f"<th>{escape(h)}</th>" for h in block.headers))
                for row in block.rows:
                    body.append("<tr>" + "".join(_html_cell(cell) for cell in row))
                body.append("</table>")
            elif isinstance(block, Details):
                body.append(f"<details><summary>{escape(block.summary)}</summary>")
                body.append(f"<pre>{escape(block.text)}</pre></details>")
            else:
                body.append(f"<p>{escape(block)}</p>")
    title = escape(f"{pack.cadence.capitalize()} KPI review: {pack.period_label}")
    return (
        '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{title}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
        + "\n".join(body)
        + "\n</body>\n</html>\n"
    )
