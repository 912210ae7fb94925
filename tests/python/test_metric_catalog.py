"""docs/metric_catalog.md: generated from the semantic manifest, complete and up to date.

The manifest comes from `dbt parse` on a throw-away copy of the project (parse
needs no data), exactly what `make catalog` runs on the working tree.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from saas_kpis import catalog
from saas_kpis.project import REPO_ROOT, copy_project, dbt
from saas_kpis.semantic import QueryRequest, SemanticLayer

COMMITTED_CATALOG = REPO_ROOT / catalog.DEFAULT_OUT


@pytest.fixture(scope="module")
def manifest_json(tmp_path_factory: pytest.TempPathFactory) -> str:
    project_dir = copy_project(tmp_path_factory.mktemp("catalog_project"))
    dbt(project_dir, "parse")
    return (project_dir / catalog.DEFAULT_MANIFEST).read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def entries(manifest_json: str) -> list[catalog.CatalogEntry]:
    return catalog.catalog_entries(manifest_json)


@pytest.fixture(scope="module")
def document(entries: list[catalog.CatalogEntry]) -> str:
    return catalog.render_catalog(entries)


def sections_by_metric(document: str) -> dict[str, str]:
    """The text of each `### metric` section, keyed by the metric name in its heading."""
    sections = {}
    for chunk in document.split("\n### ")[1:]:
        heading = chunk.splitlines()[0]
        name = heading.split("`")[1]
        sections[name] = chunk.split("\n## ")[0]
    return sections


def test_committed_catalog_is_up_to_date(document: str) -> None:
    exists = COMMITTED_CATALOG.exists()
    committed = COMMITTED_CATALOG.read_text(encoding="utf-8") if exists else ""
    assert committed == document, "docs/metric_catalog.md is stale: run make catalog"


def test_every_metric_has_a_section_with_its_label_and_tier(
    manifest_json: str, document: str
) -> None:
    metrics = json.loads(manifest_json)["metrics"]
    assert metrics, "the semantic manifest has no metrics"
    sections = sections_by_metric(document)
    assert sorted(sections) == sorted(metric["name"] for metric in metrics)
    for metric in metrics:
        name, label = metric["name"], metric.get("label")
        tier = ((metric.get("config") or {}).get("meta") or {}).get("tier")
        assert label, f"metric {name} has no label"
        assert tier in catalog.TIER_ORDER, f"metric {name}: meta tier {tier!r} not in TIER_ORDER"
        section = sections[name]
        assert section.splitlines()[0] == f"`{name}`: {label}"
        assert f"  - tier: `{tier}`" in section, f"{name}: tier {tier} missing from its section"


def test_metrics_are_ordered_by_tier_then_name(entries: list[catalog.CatalogEntry]) -> None:
    tiers = catalog.TIER_ORDER
    ranks = [tiers.index(e.tier) if e.tier in tiers else len(tiers) for e in entries]
    keys = [(rank, entry.name) for rank, entry in zip(ranks, entries, strict=True)]
    assert keys == sorted(keys)


def test_segmentation_line_matches_group_bys(
    entries: list[catalog.CatalogEntry], document: str
) -> None:
    sections = sections_by_metric(document)
    for entry in entries:
        segmented = any(name.startswith("account_month__") for name in entry.group_bys.dimensions)
        has_line = f"- {catalog.NOT_SEGMENTED}" in sections[entry.name]
        assert has_line != segmented, f"{entry.name}: segmentation line does not match group-bys"


def test_listed_group_bys_are_accepted_by_metricflow(
    manifest_json: str, entries: list[catalog.CatalogEntry]
) -> None:
    """Each listed name parses as `mf query --metrics m --group-by name` would (no warehouse)."""
    layer = SemanticLayer(manifest_json)
    for entry in entries:
        group_bys = entry.group_bys
        assert group_bys.metric_time_grains, f"{entry.name} has no metric_time grain"
        assert group_bys.metric_time_grains[-1] == "year", f"{entry.name}: not queryable by year"
        metric_time = f"metric_time__{group_bys.metric_time_grains[0]}"
        names = [
            *group_bys.dimensions,
            *group_bys.entities,
            *(f"metric_time__{grain}" for grain in group_bys.metric_time_grains),
            *(f"{name}__{grain}" for name, grains in group_bys.time_dimensions for grain in grains),
        ]
        for name in names:
            # Cumulative metrics with a window need metric_time in every query.
            layer.validate(
                QueryRequest(metrics=(entry.name,), group_by=tuple(sorted({metric_time, name})))
            )


def test_check_reports_a_stale_file(
    manifest_json: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest = tmp_path / "semantic_manifest.json"
    manifest.write_text(manifest_json)
    out = tmp_path / "metric_catalog.md"
    args = ["--manifest", str(manifest), "--out", str(out)]
    assert catalog.main(args) == 0
    assert catalog.main([*args, "--check"]) == 0
    out.write_text(out.read_text() + "edited by hand\n")
    assert catalog.main([*args, "--check"]) == 1
    assert "metric_catalog.md is stale: run make catalog" in capsys.readouterr().err
