"""`python -m saas_kpis.bench`: run the benchmark, write JSON and Markdown, print the summary."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from saas_kpis.bench.curve import write_curve
from saas_kpis.bench.report import markdown
from saas_kpis.bench.runner import GNU_TIME, Bench
from saas_kpis.generate.parquet_writer import PRESETS
from saas_kpis.project import REPO_ROOT


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=sorted(PRESETS), default="M")
    parser.add_argument(
        "--scales",
        help="comma-separated scales to run one after the other (e.g. S,M,L), then the "
        "scaling curve (bench/results/scaling.md and .svg); overrides --scale",
    )
    parser.add_argument("--runs", type=int, default=3, help="runs per measure (median)")
    parser.add_argument("--cli-runs", type=int, default=1, help="mf CLI runs per query (0: skip)")
    parser.add_argument(
        "--cli-limit",
        type=int,
        help="time the mf CLI for the first N metrics of the catalog only (default: all)",
    )
    parser.add_argument("--dbt-threads", type=int, default=2)
    parser.add_argument("--duckdb-threads", type=int, default=2)
    parser.add_argument("--memory-limit", default="6GB", help="DuckDB memory_limit")
    parser.add_argument("--data-root", type=Path, default=REPO_ROOT / "bench" / "data")
    parser.add_argument("--results-dir", type=Path, default=REPO_ROOT / "bench" / "results")
    parser.add_argument(
        "--bare-runs",
        type=int,
        default=1,
        help="replay the SQL of this many full builds bare in DuckDB (0: skip)",
    )
    parser.add_argument("--note", default="", help="free text stored with the result")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    if args.scales:
        args.scales = args.scales.split(",")
        unknown = sorted(set(args.scales) - set(PRESETS))
        if unknown:
            parser.error(f"unknown scales {unknown}: choose from {sorted(PRESETS)}")
    return args


def run_scale(args: argparse.Namespace) -> None:
    """Benchmark args.scale: write its JSON and Markdown, print the summary."""
    result = Bench(args).run()
    args.results_dir.mkdir(parents=True, exist_ok=True)
    stamp = result["started_utc"].replace(":", "").replace("-", "").replace("+0000", "Z")
    (args.results_dir / f"{args.scale}-{stamp}.json").write_text(json.dumps(result, indent=2))
    summary = markdown(result)
    (args.results_dir / f"{args.scale}.md").write_text(summary)
    print(summary)


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the benchmark, write JSON and Markdown, print the summary."""
    args = parse_args(argv)
    if not GNU_TIME.exists():
        raise SystemExit(
            "/usr/bin/time not found: install the Debian package `time` (apt-get install time)"
        )
    for scale in args.scales or [args.scale]:
        args.scale = scale
        run_scale(args)
    if args.scales:
        print(write_curve(args.results_dir))


if __name__ == "__main__":
    main()
