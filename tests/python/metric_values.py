"""Query every semantic-layer metric at its finest time grain and save the rows.

`python tests/python/metric_values.py OUT.json`, run in a built dbt project directory, opens the
project's semantic layer on its profile target (DBT_PROFILES_DIR, and the target named by
SAAS_KPIS_TARGET) and runs for each metric the query of `mf query --metrics METRIC --group-by
metric_time__GRAIN`, where GRAIN is the finest grain the metric supports. One warm layer runs
them all, because a cold `mf` start costs seconds per metric. The output maps each metric to its
group-by, its column names and its rows (dates in ISO format, numbers as floats). The engine
parity tests compare these files between targets.
"""

from __future__ import annotations

import argparse
import datetime as dt
import decimal
import json
import os
import sys
from pathlib import Path
from typing import Any

from saas_kpis.semantic import QueryRequest, SemanticLayer


def json_value(value: Any) -> Any:
    """A query result value as JSON: ISO dates, floats for decimals."""
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value)
    return value


def query_all_metrics(layer: SemanticLayer) -> dict[str, dict[str, Any]]:
    results: dict[str, dict[str, Any]] = {}
    for metric in layer.metrics():
        group_by = f"metric_time__{layer.group_bys(metric.name).metric_time_grains[0]}"
        table = layer.query(QueryRequest(metrics=(metric.name,), group_by=(group_by,)))
        results[metric.name] = {
            "group_by": group_by,
            "columns": table.column_names,
            "rows": [[json_value(value) for value in row.values()] for row in table.to_pylist()],
        }
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="JSON file to write")
    args = parser.parse_args(argv)
    project_dir = Path.cwd()
    profiles_dir = Path(os.environ.get("DBT_PROFILES_DIR", project_dir / "profiles"))
    layer = SemanticLayer.open_dbt_project(project_dir, profiles_dir)
    try:
        results = query_all_metrics(layer)
    finally:
        layer.close()
    args.out.write_text(json.dumps(results, indent=1, sort_keys=True))
    print(f"{len(results)} metrics written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
