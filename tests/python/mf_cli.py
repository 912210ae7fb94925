"""`mf query` through the official MetricFlow command line, the reference the tests compare with."""

from __future__ import annotations

import csv
import io
import subprocess
from pathlib import Path

from saas_kpis.project import run_in_project, venv_bin


def mf_query(
    project_dir: Path,
    metrics: list[str],
    group_by: list[str],
    where: str | None = None,
    saved_query: str | None = None,
    target: str | None = None,
    order_by: list[str] | None = None,
    limit: int | None = None,
    env: dict[str, str] | None = None,
) -> list[dict[str, str]]:
    """Rows of `mf query` (or `mf query --saved-query`) as dicts of strings (column -> value);
    `env` replaces the project's environment for `target` (a served build's own schema)."""
    output = project_dir / "target" / "mf_query.csv"
    command = [venv_bin("mf"), "query", "--csv", str(output)]
    if saved_query:
        command += ["--saved-query", saved_query]
    if metrics:
        command += ["--metrics", ",".join(metrics)]
    if group_by:
        command += ["--group-by", ",".join(group_by)]
    if where:
        command += ["--where", where]
    if order_by:
        command += ["--order", ",".join(order_by)]
    if limit is not None:
        command += ["--limit", str(limit)]
    completed = (
        run_in_project(project_dir, command, target)
        if env is None
        else subprocess.run(
            command, cwd=project_dir, env=env, capture_output=True, text=True, check=False
        )
    )
    if completed.returncode != 0 or not output.exists():
        raise RuntimeError(f"mf query failed:\n{completed.stdout}\n{completed.stderr}")
    rows = list(csv.DictReader(io.StringIO(output.read_text())))
    output.unlink()
    return rows
