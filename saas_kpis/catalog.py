"""Generate the metric catalog (docs/metric_catalog.md) from the semantic manifest.

The catalog is never written by hand: `make catalog` runs `dbt parse`, which
writes target/semantic_manifest.json, then this module. For every metric it
lists the label, the rendered description, the type and inputs, the time
grains, the group-by names and the `meta` (dbt 1.11 puts the YAML
`config.meta` under `metrics[].config.meta` in the semantic manifest).

Time grains and group-by names come from the semantic query layer, offline
(no warehouse connection): they are MetricFlow's group-by items of each
metric, exactly the names that `mf query --group-by` accepts.

    python -m saas_kpis.catalog [--manifest PATH] [--out PATH] [--check]
"""

from __future__ import annotations

import argparse
import difflib
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from saas_kpis.project import REPO_ROOT
from saas_kpis.semantic import GroupBys, SemanticLayer

DEFAULT_MANIFEST = Path("target/semantic_manifest.json")
DEFAULT_OUT = Path("docs/metric_catalog.md")
TIER_ORDER = ("primary", "guardrail", "diagnostic")
SEGMENT_DIMENSIONS = (
    "account_month__plan_tier",
    "account_month__industry",
    "account_month__account_age_band",
)
NOT_SEGMENTED = "Not segmented: platform-wide/company-level"
STANDARD_META_KEYS = ("tier", "owner", "review_cadence", "framework_code")
MISSING = "—"


@dataclass(frozen=True)
class CatalogEntry:
    """One metric of the catalog: its manifest JSON and its group-by items."""

    metric: dict[str, Any]
    group_bys: GroupBys

    @property
    def name(self) -> str:
        return self.metric["name"]

    @property
    def meta(self) -> dict[str, Any]:
        return (self.metric.get("config") or {}).get("meta") or {}

    @property
    def tier(self) -> str | None:
        tier = self.meta.get("tier")
        return None if tier is None else str(tier)

    @property
    def label(self) -> str:
        return self.metric.get("label") or self.name

    @property
    def segments(self) -> tuple[str, ...]:
        return segments_of(self.group_bys)


# --- reading the manifest -------------------------------------------------------------------


def load_manifest(manifest_path: Path) -> str:
    """The semantic manifest JSON text; a clear error when dbt parse has not run."""
    if not manifest_path.exists():
        raise SystemExit(f"{manifest_path} not found: run `dbt parse` first (or `make catalog`)")
    return manifest_path.read_text(encoding="utf-8")


def _sort_key(entry: CatalogEntry) -> tuple[int, bool, str, str]:
    """Known tiers in TIER_ORDER, then other tiers by name, then metrics without a tier."""
    tier = entry.tier
    rank = TIER_ORDER.index(tier) if tier in TIER_ORDER else len(TIER_ORDER)
    return (rank, tier is None, tier or "", entry.name)


def catalog_entries(manifest_json: str) -> list[CatalogEntry]:
    """Every metric of the manifest with its group-bys, by tier then name."""
    layer = SemanticLayer(manifest_json)
    entries = [
        CatalogEntry(metric=metric, group_bys=layer.group_bys(name))
        for name, metric in layer.manifest_metrics.items()
    ]
    return sorted(entries, key=_sort_key)


# --- formatting values ----------------------------------------------------------------------


def code(text: object) -> str:
    """Inline code; uses a longer fence when the text contains backticks."""
    text = " ".join(str(text).split())
    fence = "``" if "`" in text else "`"
    padding = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{padding}{text}{padding}{fence}"


def format_value(value: Any) -> str:
    """A meta or parameter value as compact, deterministic text."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return ", ".join(format_value(item) for item in value)
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def format_window(window: dict[str, Any] | str | None) -> str | None:
    """An offset or cumulative window such as `1 month`."""
    if not window or isinstance(window, str):
        return window or None
    count, granularity = window["count"], window["granularity"]
    return f"{count} {granularity}{'' if count == 1 else 's'}"


def format_filter(where: dict[str, Any] | None) -> str | None:
    """A `filter` (a where-filter intersection) as one SQL-template string."""
    if not where:
        return None
    templates = [item["where_sql_template"] for item in where.get("where_filters") or []]
    return " and ".join(templates) or None


def format_threshold(threshold: Any) -> str:
    """`operator value`, then any other keys of the threshold."""
    if not isinstance(threshold, dict):
        return code(format_value(threshold))
    head = " ".join(
        format_value(threshold[key]) for key in ("operator", "value") if key in threshold
    )
    rest = {key: value for key, value in threshold.items() if key not in ("operator", "value")}
    extra = ", ".join(f"{key}: {code(format_value(value))}" for key, value in sorted(rest.items()))
    parts = [code(head)] if head else []
    return " ".join([*parts, f"({extra})"] if extra else parts) or MISSING


# --- inputs of each metric type -------------------------------------------------------------


def describe_input(item: dict[str, Any]) -> str:
    """A measure or metric input with its alias, filter, offsets and fill options."""
    details = []
    if item.get("alias"):
        details.append(f"as {code(item['alias'])}")
    if window := format_window(item.get("offset_window")):
        details.append(f"offset window {code(window)}")
    if item.get("offset_to_grain"):
        details.append(f"offset to grain {code(item['offset_to_grain'])}")
    if where := format_filter(item.get("filter")):
        details.append(f"filter {code(where)}")
    if item.get("join_to_timespine"):
        details.append("joined to the time spine")
    if item.get("fill_nulls_with") is not None:
        details.append(f"nulls filled with {code(format_value(item['fill_nulls_with']))}")
    suffix = f" ({'; '.join(details)})" if details else ""
    return f"{code(item['name'])}{suffix}"


def simple_inputs(params: dict[str, Any]) -> list[str]:
    measure = params.get("measure")
    return [f"Measure: {describe_input(measure)}"] if measure else []


def ratio_inputs(params: dict[str, Any]) -> list[str]:
    return [
        f"Numerator: {describe_input(params['numerator'])}",
        f"Denominator: {describe_input(params['denominator'])}",
    ]


def derived_inputs(params: dict[str, Any]) -> list[str]:
    lines = [f"Expression: {code(params.get('expr') or MISSING)}", "Input metrics:"]
    lines += [f"  - {describe_input(item)}" for item in params.get("metrics") or []]
    return lines


def cumulative_inputs(params: dict[str, Any]) -> list[str]:
    lines = simple_inputs(params)
    cumulative = params.get("cumulative_type_params") or {}
    if cumulative.get("metric"):
        lines.append(f"Input metric: {describe_input(cumulative['metric'])}")
    window = format_window(cumulative.get("window") or params.get("window"))
    grain_to_date = cumulative.get("grain_to_date") or params.get("grain_to_date")
    if window:
        lines.append(f"Window: {code(window)}")
    if grain_to_date:
        lines.append(f"Grain to date: {code(grain_to_date)}")
    if not window and not grain_to_date:
        lines.append("Window: all time")
    if cumulative.get("period_agg"):
        lines.append(f"Period aggregation: {code(cumulative['period_agg'])}")
    return lines


def conversion_inputs(params: dict[str, Any]) -> list[str]:
    conversion = params.get("conversion_type_params") or {}
    lines = []
    for key in ("base_measure", "conversion_measure", "base_metric", "conversion_metric"):
        if conversion.get(key):
            label = key.replace("_", " ").capitalize()
            lines.append(f"{label}: {describe_input(conversion[key])}")
    for key in ("entity", "calculation"):
        if conversion.get(key):
            lines.append(f"{key.capitalize()}: {code(conversion[key])}")
    if window := format_window(conversion.get("window")):
        lines.append(f"Window: {code(window)}")
    for prop in conversion.get("constant_properties") or []:
        base, converted = code(prop["base_property"]), code(prop["conversion_property"])
        lines.append(f"Constant property: {base} = {converted}")
    return lines


INPUT_FORMATTERS = {
    "simple": simple_inputs,
    "ratio": ratio_inputs,
    "derived": derived_inputs,
    "cumulative": cumulative_inputs,
    "conversion": conversion_inputs,
}


def input_lines(metric: dict[str, Any]) -> list[str]:
    """The metric's type-specific inputs, then the measures it is built from."""
    params = metric.get("type_params") or {}
    lines = INPUT_FORMATTERS.get(metric["type"], lambda _: [])(params)
    measures = sorted({item["name"] for item in params.get("input_measures") or []})
    lines.append(f"Input measures: {', '.join(code(name) for name in measures) or MISSING}")
    if where := format_filter(metric.get("filter")):
        lines.append(f"Metric filter: {code(where)}")
    return lines


# --- rendering ------------------------------------------------------------------------------


def code_list(names: Sequence[str]) -> str:
    return ", ".join(code(name) for name in names) or MISSING


def segments_of(group_bys: GroupBys) -> tuple[str, ...]:
    return tuple(name for name in SEGMENT_DIMENSIONS if name in group_bys.dimensions)


def segment_line(group_bys: GroupBys) -> str:
    segments = segments_of(group_bys)
    if not segments:
        return NOT_SEGMENTED
    missing = [name for name in SEGMENT_DIMENSIONS if name not in segments]
    text = f"Segments: {code_list(segments)}"
    return f"{text} (not by {code_list(missing)})" if missing else text


def group_by_lines(group_bys: GroupBys) -> list[str]:
    grains = group_bys.metric_time_grains
    time_dimensions = [
        f"{code(name)} ({', '.join(names)})" for name, names in group_bys.time_dimensions
    ]
    return [
        f"Time grains ({code('metric_time__<grain>')}): {', '.join(grains) or MISSING}",
        segment_line(group_bys),
        f"Group by dimensions: {code_list(group_bys.dimensions)}",
        f"Group by entities: {code_list(group_bys.entities)}",
        f"Other time dimensions: {', '.join(time_dimensions) or MISSING}",
    ]


def meta_lines(meta: dict[str, Any]) -> list[str]:
    """Standard meta keys first (— when unset), the threshold, then any other keys."""
    lines = [
        f"  - {key}: {code(format_value(meta[key])) if key in meta else MISSING}"
        for key in STANDARD_META_KEYS
    ]
    if "threshold" in meta or meta.get("tier") == "guardrail":
        threshold = format_threshold(meta["threshold"]) if "threshold" in meta else MISSING
        lines.append(f"  - threshold: {threshold}")
    handled = {*STANDARD_META_KEYS, "threshold"}
    lines += [
        f"  - {key}: {code(format_value(value))}"
        for key, value in sorted(meta.items())
        if key not in handled
    ]
    return ["Meta:", *lines]


def description_block(metric: dict[str, Any]) -> list[str]:
    text = (metric.get("description") or "").strip()
    return [line.rstrip() for line in text.splitlines()] if text else ["_No description._"]


def render_entry(entry: CatalogEntry) -> list[str]:
    metric = entry.metric
    details = [f"Type: {metric['type']}", *input_lines(metric)]
    if metric.get("time_granularity"):
        details.append(f"Default grain: {metric['time_granularity']}")
    details += group_by_lines(entry.group_bys)
    details += meta_lines(entry.meta)
    bullets = [line if line.startswith("  ") else f"- {line}" for line in details]
    return [f"### {code(entry.name)}: {entry.label}", "", *description_block(metric), "", *bullets]


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def render_index(entries: Sequence[CatalogEntry]) -> list[str]:
    rows = [
        "| Metric | Label | Tier | Type | Owner | Segmented |",
        "|---|---|---|---|---|---|",
    ]
    for entry in entries:
        segments = entry.segments
        segmented = "yes" if len(segments) == len(SEGMENT_DIMENSIONS) else "partly"
        cells = [
            code(entry.name),
            _cell(entry.label),
            entry.tier or MISSING,
            entry.metric["type"],
            _cell(format_value(entry.meta.get("owner", MISSING))),
            segmented if segments else "no",
        ]
        rows.append(f"| {' | '.join(cells)} |")
    return rows


HEADER = f"""# Metric catalog

<!-- Generated by `make catalog` (python -m saas_kpis.catalog). Do not edit by hand. -->

This file is generated by `make catalog` from the semantic manifest
(`dbt parse` writes `target/semantic_manifest.json`). Do not edit it by hand:
change the metric YAML, its `{{% docs %}}` block or its `config.meta`, then run
`make catalog`. A test fails when this file is stale.

How to read an entry:

- Metrics are ordered by `meta.tier` ({", ".join(TIER_ORDER)}), then by name.
- **Segments.** The segment dimensions are plan tier, industry and account age
  band: {code_list(SEGMENT_DIMENSIONS)}.
  They are defined on the `account_months` semantic model only; other facts
  reach them through their `account_month` foreign key. A metric that cannot be
  grouped by them says "{NOT_SEGMENTED}".
- **Time grains** are the grains of `metric_time` the metric can be queried at:
  from the grain of its aggregation time dimension up to year.
- **Group by** lists the other names that `mf query --group-by` accepts for the
  metric (as computed by MetricFlow): categorical dimensions, entities and other
  time dimensions (add `__<grain>` to those).
- **Meta** is the metric's `config.meta`: tier, owner, review cadence, framework
  code, the alert threshold of guardrails and any other key."""


def render_catalog(entries: Sequence[CatalogEntry]) -> str:
    """The whole Markdown document; deterministic for a given manifest."""
    lines = [HEADER, "", f"## Index ({len(entries)} metrics)", "", *render_index(entries)]
    current_tier: object = object()
    for entry in entries:
        if entry.tier != current_tier:
            current_tier = entry.tier
            title = f"{entry.tier.capitalize()} metrics" if entry.tier else "Metrics without a tier"
            lines += ["", f"## {title}"]
        lines += ["", *render_entry(entry)]
    return "\n".join(lines) + "\n"


def generate(manifest_path: Path) -> str:
    """The catalog document for the semantic manifest at manifest_path."""
    return render_catalog(catalog_entries(load_manifest(manifest_path)))


# --- command line ---------------------------------------------------------------------------


def _display(path: Path) -> str:
    resolved = path.resolve()
    return str(resolved.relative_to(REPO_ROOT)) if resolved.is_relative_to(REPO_ROOT) else str(path)


def check(out: Path, expected: str) -> int:
    """0 when out holds expected; otherwise print the stale message and a short diff."""
    actual = out.read_text(encoding="utf-8") if out.exists() else None
    if actual == expected:
        print(f"{_display(out)} is up to date")
        return 0
    if actual is not None:
        diff = difflib.unified_diff(
            actual.splitlines(), expected.splitlines(), "committed", "generated", lineterm=""
        )
        print("\n".join(list(diff)[:60]), file=sys.stderr)
    print(f"{_display(out)} is stale: run make catalog", file=sys.stderr)
    return 1


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--manifest", type=Path, default=DEFAULT_MANIFEST)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument(
        "--check", action="store_true", help="exit 1 when --out differs from the generated text"
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    document = generate(args.manifest)
    if args.check:
        return check(args.out, document)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(document, encoding="utf-8")
    print(f"wrote {_display(args.out)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
