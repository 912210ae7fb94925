"""The daily run: build what a day's new data can change, test it over the recent window.

    python -m saas_kpis.daily --as-of 2026-07-01        (or: make daily AS_OF=2026-07-01)

runs, in the project directory,

    SAAS_KPIS_AS_OF_DATE=2026-07-01 SAAS_KPIS_DATA_TESTS_SINCE=2026-06-28 \
        dbt build --selector daily

- selector `daily` (selectors.yml): every seed, table, incremental model and view that reads
  as_of_date, and every data test of data; no staging view, unit test, test of a macro
  (tag code_test) or saved query;
- `data_tests_since`: as_of_date minus var `event_lookback_days` of dbt_project.yml, so the
  data tests of the large tables check the rows of the days that the incremental models reload
  (README, "Daily runs test the recent window").

The two dates go to environment variables, which override the vars of the same names when nodes
run (macro iso_date_var), and not to `--vars`: dbt parses the whole project again whenever
`--vars` change, which would be every day. With the same `--vars` as the day before (none, or
the same extra vars), dbt parses only what changed.

The benchmark's daily run forms its command here too, so it measures what users run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from saas_kpis.project import REPO_ROOT, project_as_of, project_var, venv_bin

SELECTOR = "daily"


def event_lookback_days(project_dir: Path = REPO_ROOT) -> int:
    """Var event_lookback_days of dbt_project.yml: the days that the incremental models reload."""
    return int(str(project_var("event_lookback_days", project_dir)))


def data_tests_since(as_of: dt.date, project_dir: Path = REPO_ROOT) -> dt.date:
    """First day that the daily run's data tests check: as_of minus the lookback."""
    return as_of - dt.timedelta(days=event_lookback_days(project_dir))


@dataclass(frozen=True)
class DailyInvocation:
    """The daily run's dbt arguments and the environment variables that carry its dates."""

    arguments: tuple[str, ...]
    env: dict[str, str]


def daily_invocation(
    as_of: dt.date, dbt_vars: dict[str, Any] | None = None, project_dir: Path = REPO_ROOT
) -> DailyInvocation:
    """The daily run as of a date; dbt_vars: more vars (raw_data), the same every day."""
    arguments = ("build", "--selector", SELECTOR)
    if dbt_vars:
        arguments += ("--vars", json.dumps(dbt_vars))
    return DailyInvocation(
        arguments=arguments,
        env={
            "SAAS_KPIS_AS_OF_DATE": as_of.isoformat(),
            "SAAS_KPIS_DATA_TESTS_SINCE": data_tests_since(as_of, project_dir).isoformat(),
        },
    )


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--as-of",
        type=dt.date.fromisoformat,
        default=None,
        help="the reporting date, YYYY-MM-DD (default: var as_of_date of dbt_project.yml)",
    )
    parser.add_argument(
        "--vars",
        type=yaml.safe_load,
        default=None,
        help="more dbt vars, a YAML or JSON mapping, e.g. '{raw_data: warehouse}'",
    )
    args = parser.parse_args(argv)
    if args.vars is not None and not isinstance(args.vars, dict):
        parser.error("--vars must be a mapping, e.g. '{raw_data: warehouse}'")
    return args


def main(argv: list[str] | None = None) -> int:
    """Run the daily dbt build in the project directory; its exit code."""
    args = parse_args(argv)
    as_of = args.as_of or project_as_of()
    daily = daily_invocation(as_of, args.vars)
    command = [venv_bin("dbt"), *daily.arguments]
    print(*(f"{key}={value}" for key, value in daily.env.items()), shlex.join(command), flush=True)
    env = {**os.environ, **daily.env}
    env.setdefault("DBT_PROFILES_DIR", str(REPO_ROOT / "profiles"))
    return subprocess.run(command, cwd=REPO_ROOT, env=env, check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
