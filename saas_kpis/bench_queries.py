"""Time semantic-layer queries warm, in one process, through the MetricFlow Python API.

Run by :mod:`saas_kpis.bench` as a subprocess (the dbt adapter keeps the DuckDB file open, so
the raw-SQL timings run afterwards in the parent)::

    python -m saas_kpis.bench_queries --project-dir DIR --spec queries.json --out result.json

``queries.json`` is a list of ``{"metric": ..., "group_by": [...]}``. The result holds, per
query, the seconds of each run (after one warm-up run), the row count and the generated SQL.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from dbt_metricflow.cli.cli_configuration import CLIConfiguration
from metricflow.engine.metricflow_engine import MetricFlowQueryRequest


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project-dir", type=Path, required=True)
    parser.add_argument("--spec", type=Path, required=True, help="JSON list of queries")
    parser.add_argument("--out", type=Path, required=True, help="JSON result file")
    parser.add_argument("--runs", type=int, default=3, help="timed runs per query")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    """Set MetricFlow up once, then time every query of the spec."""
    args = parse_args(argv)
    t0 = time.perf_counter()
    config = CLIConfiguration()
    config.setup(
        dbt_profiles_path=args.project_dir / "profiles",
        dbt_project_path=args.project_dir,
        configure_file_logging=False,
    )
    engine = config.mf
    results = []
    setup_seconds = None
    for query in json.loads(args.spec.read_text()):
        request = MetricFlowQueryRequest.create(
            metric_names=[query["metric"]], group_by_names=query["group_by"]
        )
        warm_up = engine.query(request)  # plans, compiles and caches what can be cached
        if setup_seconds is None:
            setup_seconds = time.perf_counter() - t0
        seconds = []
        for _ in range(args.runs):
            start = time.perf_counter()
            engine.query(request)
            seconds.append(time.perf_counter() - start)
        sql = engine.explain(request).sql_statement.sql
        rows = len(warm_up.result_df.rows) if warm_up.result_df is not None else 0
        results.append({**query, "seconds": seconds, "rows": rows, "sql": sql})
    args.out.write_text(json.dumps({"setup_seconds": setup_seconds, "queries": results}, indent=1))


if __name__ == "__main__":
    main()
