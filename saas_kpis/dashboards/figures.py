"""Plotly figures of the tiles, as the JSON that plotly.js draws in the page."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

import plotly.graph_objects as go

from saas_kpis.dashboards.definitions import Tile
from saas_kpis.drivers.decompose import Decomposition
from saas_kpis.periods import label

LAYOUT = {
    "margin": {"l": 48, "r": 12, "t": 8, "b": 36},
    "height": 260,
    "legend": {"orientation": "h", "y": -0.2},
    "paper_bgcolor": "rgba(0,0,0,0)",
    "plot_bgcolor": "rgba(0,0,0,0)",
    "font": {"size": 11},
    # Period labels (2026-05, 2026-W21) and cohorts are categories, not dates to re-space.
    "xaxis": {"type": "category"},
}


def _axis(unit: str | None) -> dict[str, Any]:
    if unit == "ratio":
        return {"tickformat": ".1%"}
    if unit == "usd":
        return {"tickprefix": "$", "tickformat": ",.0f"}
    return {}


def _json(figure: go.Figure) -> dict[str, Any]:
    return figure.to_plotly_json()


def trend(
    tile: Tile,
    series: Mapping[str, Sequence[tuple[dt.date, float | None]]],
    labels: Mapping[str, str],
    unit: str | None,
) -> dict[str, Any]:
    figure = go.Figure(layout=LAYOUT)
    for metric, points in series.items():
        x = [label(start, tile.grain) for start, _ in points]
        y = [value for _, value in points]
        trace = go.Bar if tile.chart == "bar" else go.Scatter
        figure.add_trace(trace(x=x, y=y, name=labels[metric]))
    x_all = [label(start, tile.grain) for start, _ in next(iter(series.values()))]
    for name, level, dash in (
        ("target", tile.target, "dash"),
        ("threshold", tile.threshold.value if tile.threshold else None, "dot"),
    ):
        if level is not None:
            figure.add_trace(
                go.Scatter(
                    x=x_all,
                    y=[level] * len(x_all),
                    name=f"{name} {level:g}",
                    mode="lines",
                    line={"dash": dash, "color": "#c0392b" if name == "threshold" else "#7f8c8d"},
                )
            )
    figure.update_yaxes(**_axis(unit))
    return _json(figure)


def waterfall(
    tile: Tile,
    start: tuple[str, float | None],
    movements: Sequence[tuple[str, float]],
    end: tuple[str, float | None],
) -> dict[str, Any]:
    x = [start[0], *(name for name, _ in movements), end[0]]
    y = [start[1] or 0.0, *(value for _, value in movements), end[1] or 0.0]
    figure = go.Figure(
        go.Waterfall(
            x=x,
            y=y,
            measure=["absolute", *(["relative"] * len(movements)), "total"],
            connector={"line": {"color": "#95a5a6"}},
        ),
        layout=LAYOUT,
    )
    figure.update_yaxes(**_axis("usd"))
    return _json(figure)


def heatmap(
    cells: Mapping[tuple[str, dt.date], float | None],
    columns: Sequence[dt.date],
    grain: str,
    unit: str | None,
) -> dict[str, Any]:
    rows = sorted({row for row, _ in cells})
    z = [[cells.get((row, column)) for column in columns] for row in rows]
    figure = go.Figure(
        go.Heatmap(
            z=z,
            x=[label(column, grain) for column in columns],
            y=rows,
            colorscale="Blues",
            hoverongaps=False,
        ),
        layout={**LAYOUT, "height": max(260, 22 * len(rows) + 60), "yaxis": {"type": "category"}},
    )
    if unit == "ratio":
        figure.update_traces(zmin=0, colorbar={"tickformat": ".0%"})
    return _json(figure)


def cohort_heatmap(
    cells: Mapping[tuple[str, int], float | None], unit: str | None
) -> dict[str, Any]:
    cohorts = sorted({cohort for cohort, _ in cells})
    months = sorted({months for _, months in cells})
    z = [[cells.get((cohort, k)) for k in months] for cohort in cohorts]
    figure = go.Figure(
        go.Heatmap(z=z, x=months, y=cohorts, colorscale="Greens", hoverongaps=False),
        layout={
            **LAYOUT,
            "height": max(260, 22 * len(cohorts) + 60),
            "yaxis": {"type": "category", "autorange": "reversed"},
        },
    )
    figure.update_xaxes(title_text="months since first payment")
    if unit == "ratio":
        figure.update_traces(colorbar={"tickformat": ".0%"})
    return _json(figure)


def cohort_curves(
    cells: Mapping[tuple[str, int], float | None], unit: str | None
) -> dict[str, Any]:
    figure = go.Figure(layout=LAYOUT)
    for cohort in sorted({cohort for cohort, _ in cells}):
        points = sorted((k, value) for (c, k), value in cells.items() if c == cohort)
        figure.add_trace(
            go.Scatter(x=[k for k, _ in points], y=[v for _, v in points], name=cohort)
        )
    figure.update_xaxes(title_text="months since first payment", type="linear")
    figure.update_yaxes(**_axis(unit))
    return _json(figure)


def contributions(decomposition: Decomposition, base: str, unit: str | None) -> dict[str, Any]:
    """A decomposition as a waterfall: each component's contribution to the change."""
    components = decomposition.components
    figure = go.Figure(
        go.Waterfall(
            x=[component.label for component in components] + ["change"],
            y=[component.contribution for component in components] + [0.0],
            measure=["relative"] * len(components) + ["total"],
        ),
        layout=LAYOUT,
    )
    figure.update_yaxes(**_axis(unit), title_text=f"change from {base}")
    return _json(figure)
