"""Property run: the invariants and the independent references on many generated datasets.

    python tests/property/run.py --budget 1800 [--seed 1]    (or: make property BUDGET=1800)

Draws datasets of the data generator (a random generator seed, scale and as-of date) until the
time budget is spent, and on each runs the reference suites: the dbt build of the fixture
(every data test and invariant, such as the MRR bridge) and every metric compared with its
independent computation from the raw files. The scenario reaches the tests' `build` fixture
through SAAS_KPIS_SCENARIOS (see tests/python/conftest.py), so a failing draw is reproduced by
setting that variable and running pytest. Exits non-zero when any draw fails.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import subprocess
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
SUITES = (
    "tests/python/test_account_months.py",
    "tests/python/test_revenue_metrics.py",
    "tests/python/test_support_metrics.py",
    "tests/python/test_product_metrics.py",
    "tests/python/test_adoption_metrics.py",
    "tests/python/test_early_warnings.py",
    "tests/python/test_semantic_layer.py",
)
SCALES = (0.1, 0.2, 0.3, 0.5)
FIRST_AS_OF = dt.date(2024, 1, 1)
LAST_AS_OF = dt.date(2027, 12, 31)


def draw(rng: random.Random) -> str:
    """One scenario, as SAAS_KPIS_SCENARIOS spells it: seed:scale:as_of."""
    as_of = FIRST_AS_OF + dt.timedelta(rng.randrange((LAST_AS_OF - FIRST_AS_OF).days))
    return f"{rng.randrange(1, 1_000_000)}:{rng.choice(SCALES)}:{as_of.isoformat()}"


def run(scenario: str) -> tuple[bool, str]:
    completed = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", *SUITES],
        cwd=REPO_ROOT,
        env={**os.environ, "SAAS_KPIS_SCENARIOS": scenario},
        capture_output=True,
        text=True,
        check=False,
    )
    summary = (completed.stdout.strip().splitlines() or ["no output"])[-1]
    return completed.returncode == 0, summary if completed.returncode == 0 else completed.stdout


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=1800, help="seconds to spend")
    parser.add_argument("--seed", type=int, default=None, help="seed of the draws")
    args = parser.parse_args(argv)
    seed = args.seed if args.seed is not None else random.randrange(1_000_000)
    rng = random.Random(seed)
    print(f"property run: draws seeded {seed}, budget {args.budget:.0f} s", flush=True)
    started, longest, failures, draws = time.monotonic(), 0.0, [], 0
    while time.monotonic() - started + longest < args.budget:
        scenario = draw(rng)
        draw_started = time.monotonic()
        ok, report = run(scenario)
        seconds = time.monotonic() - draw_started
        longest = max(longest, seconds)
        draws += 1
        print(f"{'ok  ' if ok else 'FAIL'} {scenario:<28} {seconds:6.0f} s  {report if ok else ''}")
        if not ok:
            failures.append(scenario)
            print(report[-4000:], flush=True)
    print(
        f"{draws} draws, {len(failures)} failed" + (f": {', '.join(failures)}" if failures else "")
    )
    if failures:
        print(f"reproduce: SAAS_KPIS_SCENARIOS={failures[0]} pytest {' '.join(SUITES)}")
    return 1 if failures or not draws else 0


if __name__ == "__main__":
    sys.exit(main())
