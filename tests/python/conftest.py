"""Shared fixtures: throw-away builds of the project on chosen data."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest
from sl_server_process import Served, serve_shipped_build

from saas_kpis.generate.csv_writer import write_seeds
from saas_kpis.project import DUCKDB_FILE, REPO_ROOT, copy_project, dbt
from saas_kpis.semantic import MANIFEST_FILE, SemanticLayer


@dataclass(frozen=True)
class Build:
    """A built copy of the project: where its data came from and its warehouse."""

    project_dir: Path
    seeds_dir: Path
    as_of: dt.date

    def open_layer(self) -> SemanticLayer:
        """The build's semantic layer on its warehouse, read-only; the caller closes it (while
        it is open, DuckDB's lock keeps `mf` and dbt, which open the file to write, out)."""
        return SemanticLayer.open_duckdb(
            self.project_dir / DUCKDB_FILE, self.project_dir / "target" / MANIFEST_FILE
        )

    def query(self, sql: str) -> list[tuple]:
        with duckdb.connect(str(self.project_dir / DUCKDB_FILE), read_only=True) as connection:
            return connection.execute(sql).fetchall()


@dataclass(frozen=True)
class Scenario:
    """Seed files and as_of_date: the shipped seeds, or a dataset of the generator."""

    as_of: str
    generator_seed: int | None = None
    scale: float = 1.0
    # The generator's hand-made segment edges (saas_kpis/generate/segment_edges.py):
    # segments and the company that empty and fill between two months.
    segment_edges: bool = False


# The shipped seeds at their default reporting date and at a mid-month date,
# and a dataset of the generator with another random seed, size and end date
# and the segment edges, so that nothing depends on the shipped data or on
# constant dates. SAAS_KPIS_SCENARIOS ("seed:scale:as_of;...", the property
# run's draws) replaces them with generated datasets.
SCENARIOS = {
    "shipped": Scenario("2026-06-30"),
    "shipped_mid_month": Scenario("2025-11-17"),
    "generated_small": Scenario("2025-02-14", generator_seed=7, scale=0.3, segment_edges=True),
}
if os.environ.get("SAAS_KPIS_SCENARIOS"):
    SCENARIOS = {
        f"generated_{spec.replace(':', '_')}": Scenario(
            spec.split(":")[2], int(spec.split(":")[0]), float(spec.split(":")[1]), True
        )
        for spec in os.environ["SAAS_KPIS_SCENARIOS"].split(";")
    }
EDGES_SCENARIO = next(name for name, scenario in SCENARIOS.items() if scenario.segment_edges)
_BUILDS: dict[str, Build] = {}


def build_scenario(name: str, tmp_path_factory: pytest.TempPathFactory) -> Build:
    """The scenario's build, once per test session."""
    if name not in _BUILDS:
        scenario = SCENARIOS[name]
        project_dir = tmp_path_factory.mktemp(name)
        seeds_dir = REPO_ROOT / "seeds"
        generated = scenario.generator_seed is not None
        if generated:
            seeds_dir = tmp_path_factory.mktemp(f"{name}_seeds")
            write_seeds(
                seeds_dir,
                seed=scenario.generator_seed,
                scale=scenario.scale,
                as_of=dt.date.fromisoformat(scenario.as_of),
                segment_edges=scenario.segment_edges,
            )
        copy_project(project_dir, seeds_dir=seeds_dir if generated else None)
        dbt(project_dir, "build", dbt_vars={"as_of_date": scenario.as_of})
        _BUILDS[name] = Build(
            project_dir=project_dir,
            seeds_dir=seeds_dir,
            as_of=dt.date.fromisoformat(scenario.as_of),
        )
    return _BUILDS[name]


@pytest.fixture(scope="session", params=sorted(SCENARIOS))
def build(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Build:
    return build_scenario(request.param, tmp_path_factory)


@pytest.fixture(scope="session")
def edges_build(tmp_path_factory: pytest.TempPathFactory) -> Build:
    """The build whose data has segments that empty and fill between two months."""
    return build_scenario(EDGES_SCENARIO, tmp_path_factory)


@pytest.fixture(scope="session")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The shipped build served by the Semantic Layer API server, one for the session: the
    server's client tests (test_sl_server, test_sl_catalog) share its build."""
    with serve_shipped_build(tmp_path_factory.mktemp("sl_server")) as served:
        yield served
