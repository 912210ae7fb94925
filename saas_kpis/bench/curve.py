"""The scaling curve: how the benchmark's figures grow with the data, and what XL would cost.

Built from per-scale result files (``bench/results/<scale>-<UTC time>.json``, the newest of each
scale unless files are named), so that a scale run on its own (L takes an hour) joins the
curve afterwards::

    python -m saas_kpis.bench.curve                      # newest result of each scale
    python -m saas_kpis.bench.curve bench/results/S-....json bench/results/L-....json

writes ``bench/results/scaling.md`` (a table) and ``bench/results/scaling.svg`` (a plot).

Per scale: the full build, the daily run, the full build's peak RSS and the slowest warm query
(uncached), against the raw rows of the dataset. XL is ten times the data of the largest scale
measured (L: 1.2 billion raw rows). Each figure is extrapolated linearly in the raw rows through
the two largest scales measured: their slope is the marginal cost per row, which the fixed costs
(dbt's start-up and parse, the per-node overhead) no longer dilute at that size. So a cost that
grows with the data only through the rows it reads is predicted well; one that grows faster
(a sort, a join that spills once DuckDB's memory_limit is reached) is underestimated. Peak RSS
is capped by DuckDB's memory_limit (6 GB by default), beyond which DuckDB spills to disk: its
extrapolation is the memory the build would want, not what it would use.
"""

from __future__ import annotations

import argparse
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path

from saas_kpis.project import REPO_ROOT

RESULTS_DIR = REPO_ROOT / "bench" / "results"
RESULT_FILE = re.compile(r"^(?P<scale>[A-Z]+)-(?P<stamp>\d{8}T\d{6}Z)\.json$")
EXTRAPOLATION_FACTOR = 10
# The measures of the curve: (Point attribute, label, unit, target of issue 17 at L or None).
MEASURES = (
    ("full_build_seconds", "full build", "s", 150.0),
    ("daily_seconds", "daily run", "s", None),
    ("peak_rss_gb", "full build peak RSS", "GB", 8.0),
    ("slowest_query_seconds", "slowest warm query (uncached)", "s", 1.0),
)


@dataclass(frozen=True)
class Point:
    """One scale's figures, from one result file."""

    scale: str
    source: str  # the result file's name
    started_utc: str
    runs: int
    accounts: int
    raw_rows: int
    full_build_seconds: float
    daily_seconds: float
    peak_rss_gb: float
    slowest_query: str
    slowest_query_seconds: float
    slowest_cached_seconds: float | None  # the slowest cache hit, when measured
    dbt_to_bare: float | None  # dbt's full build / its SQL run bare, when measured

    def value(self, measure: str) -> float:
        return float(getattr(self, measure))


def point(result: dict, source: str) -> Point:
    """A result file's figures for the curve."""
    rows = result["dataset"]["rows"]
    slowest = max(result["queries"], key=lambda q: q["warm_api_seconds"])
    cached = [q["cached_api_seconds"] for q in result["queries"] if "cached_api_seconds" in q]
    bare = result.get("bare_replay")
    return Point(
        scale=result["scale"],
        source=source,
        started_utc=result["started_utc"],
        runs=result["settings"]["runs"],
        accounts=rows["billing/billing_accounts"],
        raw_rows=sum(rows.values()),
        full_build_seconds=result["full_build"]["median_seconds"],
        daily_seconds=result["incremental_build"]["median_seconds"],
        peak_rss_gb=result["full_build"]["peak_rss_mb"] / 1024,
        slowest_query=slowest["metric"],
        slowest_query_seconds=slowest["warm_api_seconds"],
        slowest_cached_seconds=max(cached) if cached else None,
        dbt_to_bare=bare["ratio"] if bare else None,
    )


def newest_results(results_dir: Path) -> list[Path]:
    """The newest result file of each scale in a directory, smallest scale first."""
    newest: dict[str, tuple[str, Path]] = {}
    for path in results_dir.glob("*.json"):
        found = RESULT_FILE.match(path.name)
        if found and found["stamp"] > newest.get(found["scale"], ("", path))[0]:
            newest[found["scale"]] = (found["stamp"], path)
    return [path for _, path in newest.values()]


def load_points(paths: list[Path]) -> list[Point]:
    points = [point(json.loads(path.read_text()), path.name) for path in paths]
    return sorted(points, key=lambda p: p.raw_rows)


@dataclass(frozen=True)
class Extrapolation:
    """A linear cost model through the two largest scales, and its value at `rows`."""

    name: str  # "XL", or "10 x M" when L is not measured
    label: str  # e.g. "XL (10 x L)"
    rows: int
    slopes: dict[str, float]  # per measure: cost per million raw rows
    intercepts: dict[str, float]  # per measure: the model's value at zero rows
    values: dict[str, float]  # per measure: the model's value at `rows`


def extrapolate(points: list[Point], factor: int = EXTRAPOLATION_FACTOR) -> Extrapolation | None:
    """Each measure at `factor` times the largest scale's raw rows, on the line through the two
    largest scales (None with fewer than two scales)."""
    if len(points) < 2:
        return None
    low, high = points[-2], points[-1]
    rows = factor * high.raw_rows
    slopes, intercepts, values = {}, {}, {}
    for measure, *_ in MEASURES:
        slope = (high.value(measure) - low.value(measure)) / (high.raw_rows - low.raw_rows)
        intercepts[measure] = high.value(measure) - slope * high.raw_rows
        slopes[measure] = slope * 1e6
        values[measure] = intercepts[measure] + slope * rows
    name = "XL" if high.scale == "L" else f"{factor} x {high.scale}"
    label = f"XL ({factor} x L)" if high.scale == "L" else name
    return Extrapolation(name, label, rows, slopes, intercepts, values)


def figure(value: float) -> str:
    """A figure for the plot's labels: three significant digits, no exponent."""
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"


def human_rows(rows: float) -> str:
    for unit, size in (("B", 1e9), ("M", 1e6), ("k", 1e3)):
        if rows >= size:
            return f"{rows / size:.3g}{unit}"
    return f"{rows:.0f}"


def markdown(points: list[Point], extrapolation: Extrapolation | None) -> str:
    """scaling.md: the table per scale, the extrapolation and how it was made."""
    lines = [
        "# Scaling curve",
        "",
        "How the benchmark's figures grow with the data: the newest result of each scale "
        "(`python -m saas_kpis.bench.curve` regenerates this file and `scaling.svg` from the "
        "result files; `make bench-curve` runs the scales first). Medians over the runs of "
        "each result file; the machines and dates are those of the files.",
        "",
        "| scale | accounts | raw rows | full build | daily run | daily / full | peak RSS "
        "| slowest warm query (uncached) | slowest cache hit | dbt / bare SQL | result file |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for p in points:
        cached = (
            "—" if p.slowest_cached_seconds is None else f"{1000 * p.slowest_cached_seconds:.3f} ms"
        )
        bare = "—" if p.dbt_to_bare is None else f"{p.dbt_to_bare:.2f}x"
        lines.append(
            f"| {p.scale} | {p.accounts:,} | {human_rows(p.raw_rows)} "
            f"| {p.full_build_seconds:.1f} s | {p.daily_seconds:.1f} s "
            f"| {100 * p.daily_seconds / p.full_build_seconds:.1f} % | {p.peak_rss_gb:.2f} GB "
            f"| {p.slowest_query_seconds:.2f} s (`{p.slowest_query}`) | {cached} | {bare} "
            f"| [{p.source}]({p.source}) ({p.started_utc[:10]}, {p.runs} run(s)) |"
        )
    if extrapolation is None:
        lines += ["", "One scale only: no extrapolation."]
        return "\n".join(lines) + "\n"
    x = extrapolation
    v = x.values
    lines.append(
        f"| **{x.label}, extrapolated** | | {human_rows(x.rows)} "
        f"| {v['full_build_seconds']:.0f} s | {v['daily_seconds']:.0f} s "
        f"| {100 * v['daily_seconds'] / v['full_build_seconds']:.1f} % "
        f"| {v['peak_rss_gb']:.1f} GB | {v['slowest_query_seconds']:.1f} s | | | |"
    )
    low, high = points[-2], points[-1]
    lines += [
        "",
        f"**How {x.label} is extrapolated.** Each figure is a line in the raw rows through the "
        f"two largest scales measured, {low.scale} and {high.scale}: its slope is the marginal "
        "cost per row, and its value at zero rows the fixed part that the larger scale no "
        "longer dilutes. A cost that grows faster than the rows it reads (a sort, a join that "
        "spills once DuckDB's memory_limit is reached) is underestimated. Peak RSS is capped "
        "by DuckDB's memory_limit (6 GB in the benchmark), beyond which DuckDB spills to "
        "disk: the extrapolated figure is the memory the build would want, and the time it "
        "would take is then higher than the line.",
        "",
        f"| measure | per million raw rows ({low.scale} to {high.scale}) | fixed part "
        f"| {x.label} |",
        "|---|---|---|---|",
    ]
    for measure, label, unit, _ in MEASURES:
        lines.append(
            f"| {label} | {x.slopes[measure]:.3g} {unit} | {figure(x.intercepts[measure])} {unit} "
            f"| {figure(x.values[measure])} {unit} |"
        )
    lines += ["", "![scaling curve](scaling.svg)"]
    return "\n".join(lines) + "\n"


# The plot: one log-log panel per measure, measured points joined, the extrapolation dashed.
PANEL_W, PANEL_H, MARGIN_L, MARGIN_B, MARGIN_T, MARGIN_R = 400, 260, 60, 40, 30, 20


def log_ticks(low: float, high: float) -> list[float]:
    """Powers of ten from below `low` to above `high`."""
    return [10.0**e for e in range(math.floor(math.log10(low)), math.ceil(math.log10(high)) + 1)]


def tick_label(value: float, unit: str) -> str:
    if unit == "rows":
        return human_rows(value)
    return f"{value:g} {unit}"


def panel(
    points: list[Point],
    extrapolation: Extrapolation | None,
    measure: tuple[str, str, str, float | None],
    left: float,
    top: float,
) -> list[str]:
    """The SVG elements of one panel."""
    name, label, unit, target = measure
    xs = [p.raw_rows for p in points]
    ys = [p.value(name) for p in points]
    extra = extrapolation is not None and extrapolation.values[name] > 0
    if extra:
        assert extrapolation is not None
        xs.append(extrapolation.rows)
        ys.append(extrapolation.values[name])
    if target is not None:
        ys.append(target)
    x_ticks, y_ticks = log_ticks(min(xs), max(xs)), log_ticks(min(ys), max(ys))
    plot_w = PANEL_W - MARGIN_L - MARGIN_R
    plot_h = PANEL_H - MARGIN_T - MARGIN_B

    def sx(value: float) -> float:
        lo, hi = math.log10(x_ticks[0]), math.log10(x_ticks[-1])
        return left + MARGIN_L + plot_w * (math.log10(value) - lo) / (hi - lo)

    def sy(value: float) -> float:
        lo, hi = math.log10(y_ticks[0]), math.log10(y_ticks[-1])
        return top + MARGIN_T + plot_h * (1 - (math.log10(value) - lo) / (hi - lo))

    x0, x1 = left + MARGIN_L, left + MARGIN_L + plot_w
    y0, y1 = top + MARGIN_T + plot_h, top + MARGIN_T
    out = [
        f'<text x="{left + PANEL_W / 2:.1f}" y="{top + 18:.1f}" text-anchor="middle" '
        f'font-weight="bold">{label} ({unit})</text>',
        f'<rect x="{x0:.1f}" y="{y1:.1f}" width="{plot_w}" height="{plot_h}" fill="none" '
        'stroke="#999"/>',
    ]
    for tick in x_ticks:
        out += [
            f'<line x1="{sx(tick):.1f}" y1="{y0:.1f}" x2="{sx(tick):.1f}" y2="{y1:.1f}" '
            'stroke="#eee"/>',
            f'<text x="{sx(tick):.1f}" y="{y0 + 15:.1f}" text-anchor="middle" font-size="10">'
            f"{tick_label(tick, 'rows')}</text>",
        ]
    for tick in y_ticks:
        out += [
            f'<line x1="{x0:.1f}" y1="{sy(tick):.1f}" x2="{x1:.1f}" y2="{sy(tick):.1f}" '
            'stroke="#eee"/>',
            f'<text x="{x0 - 5:.1f}" y="{sy(tick) + 3:.1f}" text-anchor="end" font-size="10">'
            f"{tick_label(tick, unit)}</text>",
        ]
    out.append(
        f'<text x="{(x0 + x1) / 2:.1f}" y="{y0 + 30:.1f}" text-anchor="middle" '
        'font-size="10">raw rows</text>'
    )
    if target is not None:
        out.append(
            f'<line x1="{x0:.1f}" y1="{sy(target):.1f}" x2="{x1:.1f}" y2="{sy(target):.1f}" '
            'stroke="#c33" stroke-dasharray="2,3"/>'
        )
        out.append(
            f'<text x="{x0 + 3:.1f}" y="{sy(target) - 3:.1f}" font-size="9" '
            f'fill="#c33">target at L: {target:g} {unit}</text>'
        )
    measured = " ".join(f"{sx(p.raw_rows):.1f},{sy(p.value(name)):.1f}" for p in points)
    out.append(f'<polyline points="{measured}" fill="none" stroke="#1f5fa8" stroke-width="2"/>')
    if extra:
        assert extrapolation is not None
        # The line of the model, sampled: straight in rows, so curved on log axes.
        start = points[-1].raw_rows
        samples = [start + (extrapolation.rows - start) * k / 20 for k in range(21)]
        model = [
            (r, extrapolation.intercepts[name] + extrapolation.slopes[name] * r / 1e6)
            for r in samples
        ]
        line = " ".join(f"{sx(r):.1f},{sy(v):.1f}" for r, v in model if v > 0)
        out.append(
            f'<polyline points="{line}" fill="none" stroke="#1f5fa8" stroke-dasharray="6,4"/>'
        )
        ex, ey = sx(extrapolation.rows), sy(extrapolation.values[name])
        out += [
            f'<circle cx="{ex:.1f}" cy="{ey:.1f}" r="4" fill="white" stroke="#1f5fa8"/>',
            f'<text x="{ex - 6:.1f}" y="{ey - 8:.1f}" text-anchor="end" font-size="10">'
            f"{extrapolation.name} {figure(extrapolation.values[name])}</text>",
        ]
    for p in points:
        px, py = sx(p.raw_rows), sy(p.value(name))
        out += [
            f'<circle cx="{px:.1f}" cy="{py:.1f}" r="4" fill="#1f5fa8"/>',
            f'<text x="{px + 6:.1f}" y="{py - 6:.1f}" font-size="10">'
            f"{p.scale} {figure(p.value(name))}</text>",
        ]
    return out


def svg(points: list[Point], extrapolation: Extrapolation | None) -> str:
    """scaling.svg: a 2 x 2 grid of panels, one per measure."""
    width, height = 2 * PANEL_W, 2 * PANEL_H + 30
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
    ]
    for n, measure in enumerate(MEASURES):
        out += panel(points, extrapolation, measure, (n % 2) * PANEL_W, (n // 2) * PANEL_H)
    note = "measured (filled), extrapolated linearly in the raw rows (dashed, hollow)"
    out += [
        f'<text x="{width / 2:.1f}" y="{height - 10}" text-anchor="middle" font-size="11">'
        f"{note}</text>",
        "</svg>",
    ]
    return "\n".join(out) + "\n"


def write_curve(results_dir: Path = RESULTS_DIR, paths: list[Path] | None = None) -> str:
    """Write scaling.md and scaling.svg in results_dir from result files (default: the newest
    of each scale there); returns the Markdown."""
    points = load_points(paths or newest_results(results_dir))
    if not points:
        raise SystemExit(f"no benchmark result in {results_dir}: run `make bench` first")
    extrapolation = extrapolate(points)
    text = markdown(points, extrapolation)
    (results_dir / "scaling.md").write_text(text)
    (results_dir / "scaling.svg").write_text(svg(points, extrapolation))
    return text


def main(argv: list[str] | None = None) -> None:
    """Entry point: write the curve, print its table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", type=Path, help="result files (default: newest)")
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR)
    args = parser.parse_args(argv)
    print(write_curve(args.results_dir, args.files or None))


if __name__ == "__main__":
    main()
