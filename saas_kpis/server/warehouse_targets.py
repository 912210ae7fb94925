"""Snapshots that serve a PostgreSQL build: the target they name, and the pools that reach it.

A DuckDB build is served from a copy of its file. A PostgreSQL build stays in PostgreSQL: its
snapshot holds the semantic manifest and `warehouse.json`, which names the dbt profile target
the build ran on (names only; the host, role and password come from the server's environment
through the dbt profile, as they do for dbt). Everything else about snapshots (publishing one at
a time, checksums, the watcher, snapshot ids for caches and dashboards) stays one model for both.

The server keeps one pool per target for its lifetime (`PostgresPools`): each snapshot of the
same target reuses it, so a new publish opens no new connections and leaks none.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import asdict, dataclass
from pathlib import Path

import yaml
from dbt.exceptions import DbtProfileError

from saas_kpis.project import REPO_ROOT
from saas_kpis.semantic.postgres_warehouse import (
    PoolSettings,
    PostgresPool,
    connection_from_profile,
    render_profile_target,
)

WAREHOUSE_FILE = "warehouse.json"
SERVED_ADAPTERS = ("duckdb", "postgres")


@dataclass(frozen=True)
class WarehouseTarget:
    """The dbt profile target a snapshot serves from, without its connection details."""

    adapter: str
    profile: str
    target: str

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1)

    @classmethod
    def read(cls, path: Path) -> WarehouseTarget:
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(adapter=data["adapter"], profile=data["profile"], target=data["target"])


def profiles_dir() -> Path:
    """Where dbt looks for profiles.yml in this environment (DBT_PROFILES_DIR, else the
    project's profiles/)."""
    return Path(os.environ.get("DBT_PROFILES_DIR", REPO_ROOT / "profiles"))


def project_profile(project_dir: Path = REPO_ROOT) -> str:
    project = yaml.safe_load((project_dir / "dbt_project.yml").read_text(encoding="utf-8"))
    return str(project["profile"])


def build_target(target: str, project_dir: Path = REPO_ROOT) -> WarehouseTarget:
    """The profile target `dbt build` runs on (SAAS_KPIS_TARGET), with its adapter type."""
    profile = project_profile(project_dir)
    try:
        adapter = str(render_profile_target(profiles_dir(), profile, target).get("type"))
    except (LookupError, DbtProfileError) as error:
        # dbt's message: a "Runtime Error" heading, then the reason over indented lines.
        lines = [line.strip() for line in str(error).splitlines() if line.strip()]
        message = " ".join(line for line in lines if line != "Runtime Error")
        raise ValueError(
            f"cannot read target {target!r} of dbt profile {profile!r}: {message}"
        ) from None
    if adapter not in SERVED_ADAPTERS:
        raise ValueError(
            f"the server serves DuckDB and PostgreSQL builds; target {target!r} is {adapter}"
        )
    return WarehouseTarget(adapter=adapter, profile=profile, target=target)


def missing_relations(target: WarehouseTarget, manifest: Path) -> list[str]:
    """The relations the manifest's semantic models and time spines read that the target's
    warehouse does not hold (a build that has not run there, or ran in another schema)."""
    document = json.loads(manifest.read_text(encoding="utf-8"))
    spines = document.get("project_configuration", {}).get("time_spines", [])
    relations = sorted(
        {model["node_relation"]["relation_name"] for model in document["semantic_models"]}
        | {spine["node_relation"]["relation_name"] for spine in spines}
    )
    literals = ", ".join("('" + relation.replace("'", "''") + "')" for relation in relations)
    connection = connection_from_profile(profiles_dir(), target.profile, target.target)
    pool = PostgresPool(connection, PoolSettings(size=1, statement_timeout_seconds=30))
    try:
        table = pool.query(
            f"select name from (values {literals}) as wanted(name) where to_regclass(name) is null"
        )
    finally:
        pool.close()
    return table.column("name").to_pylist()


class PostgresPools:
    """One connection pool per PostgreSQL target, opened when a snapshot first needs it."""

    def __init__(self, settings: PoolSettings) -> None:
        self.settings = settings
        self._pools: dict[WarehouseTarget, PostgresPool] = {}
        self._lock = threading.Lock()

    def pool(self, target: WarehouseTarget) -> PostgresPool:
        if target.adapter != "postgres":
            raise ValueError(f"{target.target} is a {target.adapter} target, not postgres")
        with self._lock:
            if target not in self._pools:
                connection = connection_from_profile(profiles_dir(), target.profile, target.target)
                self._pools[target] = PostgresPool(connection, self.settings)
            return self._pools[target]

    def close(self) -> None:
        with self._lock:
            for pool in self._pools.values():
                pool.close()
            self._pools.clear()
