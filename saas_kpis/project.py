"""Run the dbt project on a chosen DuckDB file and seed set.

Used by the benchmark and by the tests, which build throw-away copies
of the project so that they never touch the developer's warehouse.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

REPO_ROOT = Path(__file__).resolve().parents[1]
PROJECT_PATHS = (
    "dbt_project.yml",
    "selectors.yml",
    "profiles",
    "models",
    "macros",
    "semantic_models",
    "seeds",
    "tests/dbt",
    "alerts",
    "drivers",
    "dashboards",
)
DUCKDB_FILE = "saas_kpis.duckdb"


def project_var(name: str, project_dir: Path = REPO_ROOT) -> object:
    """A var's default in dbt_project.yml."""
    project = yaml.safe_load((project_dir / "dbt_project.yml").read_text(encoding="utf-8"))
    return project["vars"][name]


def project_as_of(project_dir: Path = REPO_ROOT) -> dt.date:
    """The default `as_of_date` of dbt_project.yml (what `make build` builds)."""
    return dt.date.fromisoformat(str(project_var("as_of_date", project_dir)))


def venv_bin(command: str) -> str:
    """The command installed next to the running interpreter (the project venv)."""
    candidate = Path(sys.executable).parent / command
    return str(candidate) if candidate.exists() else command


def copy_project(destination: Path, seeds_dir: Path | None = None) -> Path:
    """Copy the dbt project (optionally with other seed files) to destination."""
    destination.mkdir(parents=True, exist_ok=True)
    for relative in PROJECT_PATHS:
        source = REPO_ROOT / relative
        target = destination / relative
        if source.is_dir():
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("*.duckdb"))
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    if seeds_dir is not None:
        for csv_file in seeds_dir.glob("*/*.csv"):
            shutil.copy2(csv_file, destination / "seeds" / csv_file.parent.name / csv_file.name)
    return destination


def project_env(project_dir: Path, target: str | None = None) -> dict[str, str]:
    """Environment for dbt and mf in project_dir; target names the profile target."""
    env = dict(os.environ)
    if target is not None:
        env["SAAS_KPIS_TARGET"] = target
    env["DBT_PROFILES_DIR"] = str(project_dir / "profiles")
    env["SAAS_KPIS_DUCKDB_PATH"] = str(project_dir / DUCKDB_FILE)
    env.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    return env


def run_in_project(
    project_dir: Path,
    command: list[str],
    target: str | None = None,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run a command of the venv (dbt, mf) in project_dir with the project's environment (and
    `env` on top of it)."""
    return subprocess.run(
        command,
        cwd=project_dir,
        env={**project_env(project_dir, target), **(env or {})},
        capture_output=True,
        text=True,
        check=False,
    )


def dbt(
    project_dir: Path,
    *args: str,
    dbt_vars: dict | None = None,
    check: bool = True,
    target: str | None = None,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run a dbt command in project_dir; raise with its output when check fails."""
    command = [venv_bin("dbt"), *args]
    if dbt_vars:
        command += ["--vars", json.dumps(dbt_vars)]
    completed = run_in_project(project_dir, command, target, env)
    if check and completed.returncode != 0:
        raise RuntimeError(f"dbt {' '.join(args)} failed:\n{completed.stdout}\n{completed.stderr}")
    return completed
