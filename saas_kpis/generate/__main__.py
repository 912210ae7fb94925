"""Generate the 13 raw tables of the SaaS-KPI project as seed CSV files or Parquet datasets.

Usage::

    python -m saas_kpis.generate --out seeds --seed 42 --scale 1.0 --as-of 2026-06-30
    python -m saas_kpis.generate --format parquet --preset M --out bench/data/M
"""

from __future__ import annotations

import argparse
import time
from datetime import date
from pathlib import Path

from saas_kpis.generate.csv_writer import write_seeds
from saas_kpis.generate.parquet_writer import PRESETS, write_parquet


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(
        prog="python -m saas_kpis.generate", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--out", type=Path, default=Path("seeds"), help="seed root directory")
    parser.add_argument("--seed", type=int, default=42, help="random seed")
    parser.add_argument("--scale", type=float, default=1.0, help="multiplier of the ~400 accounts")
    parser.add_argument(
        "--as-of",
        type=date.fromisoformat,
        default=date(2026, 6, 30),
        help="last day of data (YYYY-MM-DD)",
    )
    parser.add_argument(
        "--format",
        choices=("csv", "parquet"),
        default="csv",
        help="csv: the seed files; parquet: benchmark files (presets S, M, L)",
    )
    parser.add_argument(
        "--preset",
        choices=("S", "M", "L"),
        help="benchmark size (parquet only): S = the seeds, M = ~10M events, L = ~100M events",
    )
    parser.add_argument(
        "--segment-edges",
        action="store_true",
        help="csv only: add hand-made accounts whose segments empty and fill (test data)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    """Entry point: generate the seeds (or Parquet files) and print rows (and size) per file."""
    args = parse_args(argv)
    if args.scale <= 0:
        raise SystemExit("--scale must be positive")
    t0 = time.perf_counter()
    if args.format == "parquet":
        if args.preset is None:
            raise SystemExit("--format parquet needs --preset S, M or L")
        rows = write_parquet(args.out, args.seed, PRESETS[args.preset], args.as_of)
        for name, count in rows.items():
            print(f"{name:45s} {count:>12,d} rows")
        print(f"{'total':45s} {sum(rows.values()):>12,d} rows in {time.perf_counter() - t0:.1f} s")
        return
    if args.preset is not None:
        raise SystemExit("--preset needs --format parquet")
    stats = write_seeds(
        args.out, args.seed, args.scale, args.as_of, segment_edges=args.segment_edges
    )
    total = 0
    for name, (rows, size) in stats.items():
        total += size
        print(f"{name:45s} {rows:>9,d} rows {size / 1024:>9.1f} KiB")
    print(f"{'total':45s} {'':>14s} {total / 1024:>9.1f} KiB in {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
