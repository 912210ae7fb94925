"""Dashboards rendered on every scenario's build and opened in headless Chromium.

The numbers are read from the rendered page (the DOM after its script ran), and compared with
the semantic layer's answer to the same request, asked here directly, and on the shipped seeds
with the plain-Python references from the raw files. Screenshots are kept in
target/test-artifacts/dashboards/.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from browser import Watched, chromium, open_page, screenshot
from conftest import SCENARIOS, Build, build_scenario
from playwright.sync_api import Browser, Page
from reference_revenue import revenue_reference
from reference_support import support_reference

from saas_kpis.dashboards.definitions import DashboardError, load_dashboards
from saas_kpis.dashboards.render import render
from saas_kpis.project import REPO_ROOT, project_env
from saas_kpis.semantic import MANIFEST_FILE, QueryRequest, SemanticLayer

DASHBOARDS = ("executive", "team", "investigation")
HEADLINE_CHARTS = ("line", "bar", "waterfall", "heatmap")
# Healthy, from the spec and the frameworks (written here, not read from the metrics' meta).
HEALTHY = {
    "tickets_per_account": lambda value: value < 2.5,
    "nps": lambda value: value > 35,
    "api_latency_p95_ms": lambda value: value < 800,
    "uptime": lambda value: value >= 0.999,
    "nrr_monthly_trailing_3m": lambda value: value >= 1,
}
# On the shipped seeds, the alerts that fire are on NPS by industry (test_alerts.SHIPPED_FIRING).
SHIPPED_AMBER = {"nps"}


def latest_complete(as_of: dt.date, grain: str) -> dt.date:
    if grain == "week":
        return as_of - dt.timedelta(days=as_of.weekday() + 7)
    if grain == "month":
        return (as_of.replace(day=1) - dt.timedelta(days=1)).replace(day=1)
    raise AssertionError(grain)


def months_back(month: dt.date, count: int) -> dt.date:
    index = month.year * 12 + month.month - 1 - count
    return dt.date(index // 12, index % 12 + 1, 1)


def sl_value(
    layer: SemanticLayer, metric: str, grain: str, period: dt.date, where: tuple[str, ...] = ()
) -> float | None:
    """The metric in one period, asked of the semantic layer as a BI tool would."""
    rows = layer.query(
        QueryRequest(metrics=(metric,), group_by=(f"metric_time__{grain}",), where=where)
    ).to_pylist()
    for row in rows:
        start = row[f"metric_time__{grain}"]
        start = start.date() if isinstance(start, dt.datetime) else start
        if start == period:
            return None if row[metric] is None else float(row[metric])
    return None


def segment_filter(dimension: str, value: str) -> str:
    return f"{{{{ Dimension('{dimension}') }}}} = '{value}'"


def close(shown: float | None, expected: float | None) -> bool:
    if shown is None or expected is None:
        return shown is None and expected is None
    return math.isclose(shown, expected, rel_tol=1e-9, abs_tol=1e-9)


def shown_value(element) -> float | None:
    raw = element.get_attribute("data-value")
    return None if raw in (None, "") else float(raw)


def displayed_number(text: str) -> float | None:
    """The number a person reads: '$1,234' → 1234, '104.2 %' → 1.042, 'n/a' → None."""
    if text == "n/a":
        return None
    number = float(re.sub(r"[^0-9.\-]", "", text))
    return number / 100 if text.endswith("%") else number


def assert_displayed(text: str, value: float | None) -> None:
    number = displayed_number(text)
    if value is None:
        assert number is None, text
        return
    decimals = len(text.split(".")[1].rstrip(" %")) if "." in text else 0
    tolerance = 0.5 * 10**-decimals * (0.01 if text.endswith("%") else 1) + 1e-12
    assert abs(number - value) <= tolerance, (text, value)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as opened:
        yield opened


@pytest.fixture(scope="module")
def rendered(build: Build, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The dashboards of the build, rendered with the as_of_date read from its warehouse."""
    out = tmp_path_factory.mktemp("dashboards") / "pages"
    layer = build.open_layer()
    try:
        render(layer, out)
    finally:
        layer.close()
    return out


@pytest.fixture
def layer(build: Build) -> Iterator[SemanticLayer]:
    opened = build.open_layer()
    yield opened
    opened.close()


def opened(browser: Browser, rendered: Path, name: str) -> Watched:
    watched = open_page(browser, (rendered / f"{name}.html").as_uri())
    assert watched.errors == [], watched.errors
    return watched


def scenario_name(build: Build) -> str:
    """The scenario's name: its project folder is named after it (conftest.build_scenario)."""
    name = build.project_dir.name.rstrip("0123456789")
    assert name in SCENARIOS, name
    return name


def test_pages_open_offline_without_errors(build: Build, rendered: Path, browser: Browser) -> None:
    index = open_page(browser, (rendered / "index.html").as_uri(), dashboard=False)
    links = index.page.eval_on_selector_all("a", "links => links.map(a => a.getAttribute('href'))")
    assert sorted(links) == sorted(f"{name}.html" for name in DASHBOARDS)
    for name in DASHBOARDS:
        watched = opened(browser, rendered, name)
        page = watched.page
        assert page.get_attribute("body", "data-as-of") == build.as_of.isoformat()
        assert watched.remote_requests == []
        assert page.locator(".tile").count() > 0
        # Every chart that has a figure was drawn by plotly.js.
        for chart in page.locator(".chart").all():
            drawn = chart.evaluate("node => node.querySelector('.main-svg') !== null")
            assert drawn, chart.get_attribute("id")
        screenshot(page, f"{scenario_name(build)}-{name}")
        page.context.close()
    assert "http" not in (rendered / "team.html").read_text().split("<script src=")[1][:20]


def test_tile_numbers_equal_the_semantic_layer(
    build: Build, rendered: Path, browser: Browser, layer: SemanticLayer
) -> None:
    definitions = {d.name: d for d in load_dashboards(REPO_ROOT / "dashboards", layer)}
    for name in ("executive", "team"):
        page = opened(browser, rendered, name).page
        for tile in definitions[name].tiles:
            element = page.locator(f"[data-tile='{tile.id}']")
            period = latest_complete(build.as_of, tile.grain)
            if tile.chart in HEADLINE_CHARTS:
                value = element.locator(".headline .value")
                expected = sl_value(layer, tile.metric, tile.grain, period, tile.where)
                assert close(shown_value(value), expected), (name, tile.id, expected)
                assert_displayed(value.inner_text(), expected)
            if tile.chart == "status":
                for metric in tile.metrics:
                    badge = element.locator(f".badge[data-metric='{metric}'] .value")
                    expected = sl_value(layer, metric, tile.grain, period)
                    assert close(shown_value(badge), expected), (name, tile.id, metric)
        page.context.close()


def test_numbers_and_guardrail_colours_follow_the_raw_files(
    build: Build, rendered: Path, browser: Browser
) -> None:
    revenue = revenue_reference(build.seeds_dir, build.as_of).monthly[None]
    support = support_reference(build.seeds_dir, build.as_of).series["month"][None]
    month = latest_complete(build.as_of, "month")
    page = opened(browser, rendered, "executive").page
    for tile, metric in (("nrr", "net_revenue_retention"), ("mrr", "mrr"), ("arr", "arr")):
        expected = revenue[metric].get((month, ""))
        shown = shown_value(page.locator(f"[data-tile='{tile}'] .headline .value"))
        assert close(shown, None if expected is None else float(expected)), tile
    for metric, healthy in HEALTHY.items():
        series = revenue if metric == "nrr_monthly_trailing_3m" else support
        expected = series[metric].get((month, ""))
        badge = page.locator(f"[data-tile='guardrails'] .badge[data-metric='{metric}']")
        if expected is None:
            assert badge.get_attribute("data-status") == "no data", metric
            continue
        assert close(shown_value(badge.locator(".value")), float(expected)), metric
        if not healthy(float(expected)):
            assert badge.get_attribute("data-status") == "red", metric
        elif scenario_name(build) == "shipped":
            colour = "amber" if metric in SHIPPED_AMBER else "green"
            assert badge.get_attribute("data-status") == colour, metric
        else:
            assert badge.get_attribute("data-status") in ("green", "amber"), metric
    page.context.close()


def select(page: Page, dimension: str, value: str) -> None:
    page.select_option(f"select[data-filter='{dimension}']", value)
    page.wait_for_function("key => document.body.dataset.view === key", arg=f"{dimension}={value}")


def test_a_filter_changes_every_tile_to_the_segment(
    build: Build, rendered: Path, browser: Browser, layer: SemanticLayer
) -> None:
    team = next(d for d in load_dashboards(REPO_ROOT / "dashboards", layer) if d.name == "team")
    watched = opened(browser, rendered, "team")
    page = watched.page
    unfiltered = {
        tile.id: shown_value(page.locator(f"[data-tile='{tile.id}'] .headline .value"))
        for tile in team.tiles
        if tile.chart in HEADLINE_CHARTS
    }
    support = support_reference(build.seeds_dir, build.as_of).series["month"]
    month = latest_complete(build.as_of, "month")
    for dimension in team.filters:
        options = page.eval_on_selector_all(
            f"select[data-filter='{dimension}'] option", "options => options.map(o => o.value)"
        )
        values = [value for value in options if value]
        assert values, dimension
        changed = 0
        for value in values[:2]:
            select(page, dimension, value)
            where = (segment_filter(dimension, value),)
            for tile in team.tiles:
                element = page.locator(f"[data-tile='{tile.id}']")
                segmentable = dimension in layer.group_bys(tile.metric).dimensions
                period = latest_complete(build.as_of, tile.grain)
                if tile.chart in HEADLINE_CHARTS:
                    shown = shown_value(element.locator(".headline .value"))
                    if segmentable:
                        expected = sl_value(layer, tile.metric, tile.grain, period, where)
                        assert close(shown, expected), (dimension, value, tile.id, expected)
                        changed += shown != unfiltered[tile.id]
                    else:
                        assert shown == unfiltered[tile.id], tile.id
                        assert "not filtered" in element.locator(".note").inner_text()
                if tile.chart == "status":
                    for metric in tile.metrics:
                        badge = element.locator(f".badge[data-metric='{metric}']")
                        if dimension not in layer.group_bys(metric).dimensions:
                            continue
                        expected = sl_value(layer, metric, tile.grain, period, where)
                        assert close(shown_value(badge.locator(".value")), expected), metric
            # The guardrail tile against the raw files, in this segment.
            segment = dimension.split("__")[-1]
            reference = support.get(segment, {}).get("tickets_per_account", {})
            expected = reference.get((month, value))
            badge = page.locator(
                "[data-tile='guardrails'] .badge[data-metric='tickets_per_account'] .value"
            )
            if expected is not None:
                assert close(shown_value(badge), float(expected)), (dimension, value)
        assert changed > 0, dimension
    assert watched.errors == [], watched.errors
    page.context.close()


def test_figures_add_up(
    build: Build, rendered: Path, browser: Browser, layer: SemanticLayer
) -> None:
    """The MRR waterfall bridges MRR 12 months ago to MRR now; a driver decomposition's
    contributions add up to the metric's change; the accounts at risk add up to MRR at risk."""
    month = latest_complete(build.as_of, "month")
    page = opened(browser, rendered, "executive").page
    y = page.evaluate("document.getElementById('chart-mrr_waterfall').data[0].y")
    start = sl_value(layer, "mrr", "month", months_back(month, 12)) or 0.0
    end = sl_value(layer, "mrr", "month", month) or 0.0
    assert math.isclose(y[0], start, abs_tol=1e-6)
    assert math.isclose(y[-1], end, abs_tol=1e-6)
    assert math.isclose(y[0] + sum(y[1:-1]), y[-1], rel_tol=1e-9, abs_tol=1e-6)
    page.context.close()

    page = opened(browser, rendered, "investigation").page
    for tile, metric in (("nrr_drivers", "net_revenue_retention"), ("mrr_drivers", "mrr")):
        now = sl_value(layer, metric, "month", month)
        before = sl_value(layer, metric, "month", months_back(month, 1))
        if now is None or before is None:
            continue
        contributions = page.evaluate(
            f"document.getElementById('chart-{tile}').data[0].y.slice(0, -1)"
        )
        assert math.isclose(sum(contributions), now - before, rel_tol=1e-6, abs_tol=1e-9), tile
    rows = page.locator("[data-tile='accounts_at_risk'] tr").count() - 1
    at_risk = layer.query(
        QueryRequest(metrics=("at_risk_accounts", "mrr_at_risk"), group_by=("metric_time__day",))
    ).to_pylist()
    latest = max(at_risk, key=lambda row: row["metric_time__day"]) if at_risk else None
    assert rows == (int(latest["at_risk_accounts"]) if latest else 0)
    total = shown_value(page.locator("[data-tile='accounts_at_risk'] .headline .value"))
    assert math.isclose(total, float(latest["mrr_at_risk"]) if latest else 0.0, abs_tol=1e-6)
    page.context.close()


# -- definitions ----------------------------------------------------------------------------

FILTER = "metric: nps\n  grain: month\n  filter: \"{{{{ Dimension('{}') }}}} = 'x'\""
BAD_TILES = {
    "unknown_metric": ("metric: monthly_revenue", "unknown metric 'monthly_revenue'"),
    "missing_grain": ("metric: mrr\n  grain: week", "metric mrr has no grain 'week'"),
    "bad_filter": (FILTER.format("account_month__industry'"), "refuses its filter"),
    "unknown_dimension": (FILTER.format("account_month__sector"), "refuses its filter"),
    "unknown_chart": ("metric: nps\n  chart: pie", "chart 'pie' is not one of"),
}


@pytest.fixture(scope="module")
def manifest_layer() -> SemanticLayer:
    return SemanticLayer.from_manifest(REPO_ROOT / "target" / MANIFEST_FILE)


def write_dashboard(folder: Path, tiles: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    body = "".join(
        f"        - id: {tile_id}\n          chart: line\n"
        + textwrap.indent(text.replace("\n  ", "\n"), " " * 10)
        + "\n"
        for tile_id, text in tiles.items()
    )
    # A tile's own `chart` overrides the default written above (YAML keeps the last key).
    (folder / "broken.yml").write_text(
        "dashboard:\n  name: broken\n  sections:\n    - title: All\n      tiles:\n" + body
    )
    return folder


def test_bad_definitions_name_the_file_and_the_tile(
    manifest_layer: SemanticLayer, tmp_path: Path
) -> None:
    folder = write_dashboard(tmp_path / "all", {k: v[0] for k, v in BAD_TILES.items()})
    with pytest.raises(DashboardError) as raised:
        load_dashboards(folder, manifest_layer)
    lines = str(raised.value).splitlines()
    assert len(lines) == len(BAD_TILES), lines
    for (tile_id, (_, message)), line in zip(BAD_TILES.items(), lines, strict=True):
        assert line.startswith(f"broken.yml: tile {tile_id}: "), line
        assert message in line, line
        assert "Traceback" not in line and "\n" not in line


def test_the_check_command_reports_bad_definitions(tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / "target").mkdir(parents=True)
    (project / "target" / MANIFEST_FILE).write_text(
        (REPO_ROOT / "target" / MANIFEST_FILE).read_text()
    )
    write_dashboard(project / "dashboards", {"nrr": BAD_TILES["missing_grain"][0]})
    command = [sys.executable, "-m", "saas_kpis.dashboards", "--check", "--project-dir"]
    result = subprocess.run([*command, str(project)], capture_output=True, text=True, check=False)
    assert result.returncode == 2, result.stderr
    assert "broken.yml: tile nrr: metric mrr has no grain 'week'" in result.stderr
    shipped = subprocess.run([*command, str(REPO_ROOT)], capture_output=True, text=True)
    assert shipped.returncode == 0, shipped.stderr
    count = sum(
        len(section["tiles"])
        for path in (REPO_ROOT / "dashboards").glob("*.yml")
        for section in yaml.safe_load(path.read_text())["dashboard"]["sections"]
    )
    assert f"3 dashboards with {count} tiles are valid." in shipped.stdout


def test_make_dashboards_renders_a_built_project(tmp_path_factory: pytest.TempPathFactory) -> None:
    """The command `make dashboards` runs, on a built project, through its dbt profile."""
    built = build_scenario("shipped", tmp_path_factory)
    out = tmp_path_factory.mktemp("cli") / "pages"
    result = subprocess.run(
        [
            *(sys.executable, "-m", "saas_kpis.dashboards"),
            *("--project-dir", str(built.project_dir), "--out", str(out)),
        ],
        env=project_env(built.project_dir),
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [*(f"{name}.html" for name in DASHBOARDS), "index.html", "plotly.min.js"]
    )
