"""Query every semantic-layer metric at its finest time grain and save the rows.

`python -m saas_kpis.metric_values OUT.json` loads the dbt project in the
current directory exactly as `mf` does (DBT_PROFILES_DIR, and the profile
target named by SAAS_KPIS_TARGET), and runs for each metric of the semantic
manifest the query of `mf query --metrics METRIC --group-by
metric_time__GRAIN`, where GRAIN is the finest grain the metric supports.
The queries run in one warm MetricFlow engine, because a cold `mf` start
costs seconds per metric. The output maps each metric to its group-by, its
column names and its rows (dates in ISO format, numbers as floats).
"""

from __future__ import annotations

import argparse
import datetime as dt
import decimal
import json
import sys
from pathlib import Path
from typing import Any

from dbt_metricflow.cli.cli_configuration import CLIConfiguration
from metricflow.engine.metricflow_engine import MetricFlowQueryRequest
from metricflow_semantic_interfaces.references import MetricReference


def json_value(value: Any) -> Any:
    """A query result value as JSON: ISO dates, floats for decimals."""
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value)
    return value


def query_all_metrics(config: CLIConfiguration) -> dict[str, dict[str, Any]]:
    metric_lookup = config.semantic_manifest_lookup.metric_lookup
    results: dict[str, dict[str, Any]] = {}
    for metric in sorted(config.semantic_manifest.metrics, key=lambda metric: metric.name):
        grain = metric_lookup.get_min_queryable_time_granularity(MetricReference(metric.name))
        group_by = f"metric_time__{grain.value}"
        request = MetricFlowQueryRequest.create(
            metric_names=[metric.name], group_by_names=[group_by]
        )
        table = config.mf.query(mf_request=request).result_df
        if table is None:
            raise RuntimeError(f"MetricFlow returned no table for {metric.name} by {group_by}")
        results[metric.name] = {
            "group_by": group_by,
            "columns": list(table.column_names),
            "rows": [[json_value(value) for value in row] for row in table.rows],
        }
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="JSON file to write")
    args = parser.parse_args(argv)
    config = CLIConfiguration()
    config.setup(configure_file_logging=False)
    results = query_all_metrics(config)
    args.out.write_text(json.dumps(results, indent=1, sort_keys=True))
    print(f"{len(results)} metrics written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
