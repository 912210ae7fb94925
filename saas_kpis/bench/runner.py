"""One benchmark run: data, dbt parse and builds, and the semantic-layer queries, timed."""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb

from saas_kpis.bench.content import compare, differences, floats_within_tolerance
from saas_kpis.bench.replay import invocation_events, profile_settings
from saas_kpis.bench.timings import PHASES, invocation_phases
from saas_kpis.catalog import catalog_entries
from saas_kpis.daily import daily_invocation
from saas_kpis.generate.parquet_writer import PRESETS, write_parquet
from saas_kpis.project import DUCKDB_FILE, REPO_ROOT, copy_project, project_env, venv_bin

GNU_TIME = Path("/usr/bin/time")
NEXT_DAY_PREFIX = "part-next-day-"
TIME_GRAIN = "month"
# The fixed cost of a dbt invocation: `dbt run` of this view over a 40-row raw table.
FIXED_COST_MODEL = "stg_billing__plans"


@dataclass
class Timed:
    """One timed command."""

    seconds: float
    peak_rss_mb: float | None


def machine() -> dict[str, object]:
    """Cores, memory, load average, versions."""
    meminfo = Path("/proc/meminfo").read_text() if Path("/proc/meminfo").exists() else ""
    total = re.search(r"MemTotal:\s+(\d+) kB", meminfo)
    model = ""
    if Path("/proc/cpuinfo").exists():
        found = re.search(r"model name\s*:\s*(.+)", Path("/proc/cpuinfo").read_text())
        model = found.group(1).strip() if found else ""
    return {
        "cpu_count": os.cpu_count(),
        "cpu_model": model,
        "memory_gb": round(int(total.group(1)) / 1024**2, 1) if total else None,
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "platform": platform.platform(),
        "python": platform.python_version(),
        "duckdb": duckdb.__version__,
    }


def run_timed(command: list[str], cwd: Path, env: dict[str, str], log: Path) -> Timed:
    """Run a command under /usr/bin/time -v; wall time and peak RSS; raise on failure."""
    with tempfile.NamedTemporaryFile(suffix=".time") as time_file:
        start = time.perf_counter()
        with log.open("w") as out:
            completed = subprocess.run(
                [str(GNU_TIME), "-v", "-o", time_file.name, *command],
                cwd=cwd,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                check=False,
            )
        seconds = time.perf_counter() - start
        report = Path(time_file.name).read_text()
    if completed.returncode != 0:
        tail = "\n".join(log.read_text().splitlines()[-40:])
        raise RuntimeError(f"{' '.join(command)} failed (log: {log}):\n{tail}")
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", report)
    return Timed(seconds, int(rss.group(1)) / 1024 if rss else None)


def ensure_data(scale: str, data_root: Path) -> tuple[Path, date]:
    """The dataset directory (generated when missing) and its as-of date."""
    data_dir = data_root / scale
    manifest = data_dir / "manifest.json"
    if not manifest.exists():
        print(f"generating {data_dir} (preset {scale}) ...", flush=True)
        shutil.rmtree(data_dir, ignore_errors=True)
        write_parquet(data_dir, 42, PRESETS[scale], date(2026, 6, 30))
    return data_dir, date.fromisoformat(json.loads(manifest.read_text())["as_of"])


def next_day_files(data_dir: Path) -> list[tuple[Path, Path]]:
    """(held-out file, where it goes in the dataset): the event-log rows from the last day on."""
    pairs = []
    for path in sorted((data_dir / "next_day").glob("*/*/*.parquet")):
        relative = path.relative_to(data_dir / "next_day")
        target = data_dir / relative.parent / f"{NEXT_DAY_PREFIX}{path.name}"
        pairs.append((path, target))
    return pairs


def remove_next_day(data_dir: Path) -> None:
    """Restore the dataset to 'up to the day before the as-of date'."""
    for _, target in next_day_files(data_dir):
        target.unlink(missing_ok=True)


def add_next_day(data_dir: Path) -> None:
    """Append the held-out day (as a loader would drop new files)."""
    for source, target in next_day_files(data_dir):
        shutil.copy2(source, target)


def slowest_nodes(run_results: Path, prefixes: tuple[str, ...], n: int = 10) -> list[dict]:
    """The n slowest nodes of a run_results.json whose unique_id starts with a prefix."""
    results = json.loads(run_results.read_text())["results"]
    nodes = [r for r in results if r["unique_id"].startswith(prefixes)]
    nodes.sort(key=lambda r: r["execution_time"], reverse=True)
    return [
        {"model": r["unique_id"].split(".")[2], "seconds": round(r["execution_time"], 2)}
        for r in nodes[:n]
    ]


def node_seconds(run_results: Path) -> dict[str, float]:
    """Execution time summed per node type (model, test, unit_test, ...)."""
    totals: dict[str, float] = {}
    for r in json.loads(run_results.read_text())["results"]:
        kind = r["unique_id"].split(".")[0]
        totals[kind] = round(totals.get(kind, 0.0) + r["execution_time"], 1)
    return totals


def query_spec(manifest_json: str) -> list[dict[str, object]]:
    """Per metric: metric_time at month grain (else its coarsest grain) and one segment."""
    spec = []
    for entry in catalog_entries(manifest_json):
        grains = entry.group_bys.metric_time_grains
        grain = TIME_GRAIN if TIME_GRAIN in grains else (grains[-1] if grains else None)
        group_by = [f"metric_time__{grain}"] if grain else []
        segments = entry.segments or tuple(
            d for d in entry.group_bys.dimensions if d.endswith("__plan_tier")
        )
        if segments:
            group_by.append(segments[0])
        spec.append({"metric": entry.name, "group_by": group_by})
    return spec


def median(values: list[float], digits: int = 3) -> float:
    return round(statistics.median(values), digits)


def median_phases(phases: list[dict]) -> dict[str, object]:
    """Per phase, the median over several invocations' `invocation_phases`."""
    return {
        "seconds": {name: median([p["seconds"][name] for p in phases]) for name in PHASES},
        "wall_seconds": median([p["wall_seconds"] for p in phases]),
        "parse_mode": phases[-1]["parse_mode"],
    }


def kind_seconds(groups: list[dict]) -> dict[str, float]:
    """A replay's seconds per kind of node."""
    totals: dict[str, float] = {}
    for group in groups:
        totals[group["kind"]] = totals.get(group["kind"], 0.0) + group["seconds"]
    return {kind: round(seconds, 2) for kind, seconds in totals.items()}


class Bench:
    """The benchmark of one scale."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.data_dir, self.as_of = ensure_data(args.scale, args.data_root)
        self.project = args.data_root / f"{args.scale}-project"
        shutil.rmtree(self.project, ignore_errors=True)
        copy_project(self.project)
        self.logs = self.project / "bench-logs"
        self.logs.mkdir()
        self.env = project_env(self.project)
        self.env.update(
            {
                "SAAS_KPIS_TARGET": "bench",
                "SAAS_KPIS_THREADS": str(args.dbt_threads),
                "SAAS_KPIS_DUCKDB_MEMORY_LIMIT": args.memory_limit,
                "SAAS_KPIS_DUCKDB_THREADS": str(args.duckdb_threads),
                # Each invocation's debug log as JSON, whole (see `dbt`): the bare replay reads
                # its SQL, and the phases of an invocation its timestamps.
                "DBT_LOG_FORMAT_FILE": "json",
                "DBT_LOG_FILE_MAX_BYTES": "0",
            }
        )
        self.bare: list[dict[str, object]] = []

    def dbt_vars(self) -> dict[str, str]:
        """The benchmark's vars, the same in every invocation so that partial parsing holds
        (the dates go to the environment, as the daily run sends them: saas_kpis.daily)."""
        return {"raw_data": "parquet", "raw_parquet_dir": str(self.data_dir.resolve())}

    def dbt(
        self, name: str, *args: str, as_of: date | None = None, env: dict[str, str] | None = None
    ) -> Timed:
        command = [venv_bin("dbt"), *args]
        if as_of is not None:
            command += ["--vars", json.dumps(self.dbt_vars())]
            env = {"SAAS_KPIS_AS_OF_DATE": as_of.isoformat(), **(env or {})}
        env = {**self.env, **(env or {}), "DBT_LOG_PATH": str(self.dbt_log_dir(name))}
        return run_timed(command, self.project, env, self.logs / f"{name}.log")

    def dbt_log_dir(self, name: str) -> Path:
        """Where the dbt invocation `name` writes its JSON debug log (dbt.log)."""
        return self.logs / f"{name}-dbt"

    def phases(self, name: str, timed: Timed) -> dict[str, object]:
        """Where the seconds of the dbt invocation `name`, the last one run, went."""
        run_results = json.loads((self.project / "target" / "run_results.json").read_text())
        events = invocation_events(
            self.dbt_log_dir(name) / "dbt.log", run_results["metadata"]["invocation_id"]
        )
        return invocation_phases(run_results, events, timed.seconds)

    def bare_replay(self, name: str, build: Timed) -> dict[str, object]:
        """Run the SQL of the build `name` (the last one run) bare, in one DuckDB process on a
        fresh file with the profile's DuckDB settings, and check that every relation equals
        dbt's: the same columns, row counts and content. Raises when one differs."""
        run_results = json.loads((self.project / "target" / "run_results.json").read_text())
        bare_dir = self.project / "bare"
        shutil.rmtree(bare_dir, ignore_errors=True)
        bare_dir.mkdir()
        database, out = bare_dir / DUCKDB_FILE, self.logs / f"{name}-bare.json"
        settings = profile_settings(self.project / "profiles", self.env)
        options = profile_settings(self.project / "profiles", self.env, "config_options")
        command = [
            sys.executable, "-m", "saas_kpis.bench.replay",
            "--log", str(self.dbt_log_dir(name) / "dbt.log"),
            "--invocation-id", run_results["metadata"]["invocation_id"],
            "--database", str(database), "--out", str(out),
            *(f"--setting={key}={value}" for key, value in settings.items()),
            *(f"--config={key}={value}" for key, value in options.items()),
        ]  # fmt: skip
        print(f"bare DuckDB replay of {name} ...", flush=True)
        env = {**self.env, "PYTHONPATH": str(REPO_ROOT)}
        timed = run_timed(command, self.project, env, self.logs / f"{name}-bare.log")
        replayed = json.loads(out.read_text())
        config = {"memory_limit": self.args.memory_limit, "threads": self.args.duckdb_threads}
        expected, actual = compare(self.project / DUCKDB_FILE, database, config)
        found = differences(expected, actual)
        if found:
            raise RuntimeError(
                f"the bare replay of {name} ({database}, kept) differs from dbt's build:\n"
                + "\n".join(found)
            )
        shutil.rmtree(bare_dir)
        dbt_seconds = {r["unique_id"]: r["execution_time"] for r in run_results["results"]}
        slowest = sorted(replayed["groups"], key=lambda g: g["seconds"], reverse=True)[:10]
        return {
            "dbt_seconds": round(build.seconds, 2),
            "bare_seconds": round(replayed["seconds"], 2),
            "bare_process_seconds": round(timed.seconds, 2),
            "bare_peak_rss_mb": timed.peak_rss_mb,
            "settings": replayed["settings"],
            "statements": sum(g["statements"] for g in replayed["groups"]),
            "kind_seconds": kind_seconds(replayed["groups"]),
            "slowest_nodes": [
                {
                    "node": g["group"],
                    "bare_seconds": round(g["seconds"], 2),
                    "dbt_seconds": round(dbt_seconds.get(g["group"], 0.0), 2),
                }
                for g in slowest
            ],
            "relations_equal": len(expected),
            "rows_compared": sum(c.rows for c in expected.values()),
            "floats_within_tolerance": floats_within_tolerance(expected, actual),
        }

    def fixed_cost(self) -> dict[str, object]:
        """What any dbt invocation costs here: `dbt run` of one view over a tiny raw table, with
        the daily run's vars right after it (so partial parsing finds nothing changed, as a
        scheduled run of the same project would)."""
        daily = daily_invocation(self.as_of, self.dbt_vars())
        daily_vars = daily.arguments[daily.arguments.index("--vars") :]
        phases = []
        for i in range(self.args.runs):
            name = f"fixed-cost-{i}"
            timed = self.dbt(name, "run", "--select", FIXED_COST_MODEL, *daily_vars, env=daily.env)
            phases.append(self.phases(name, timed))
        return {
            "command": f"dbt run --select {FIXED_COST_MODEL}",
            "wall_runs": [p["wall_seconds"] for p in phases],
            **median_phases(phases),
        }

    def parse(self) -> list[Timed]:
        return [
            self.dbt(f"parse-{i}", "parse", "--no-partial-parse", as_of=self.as_of)
            for i in range(self.args.runs)
        ]

    def builds(self) -> tuple[list[Timed], list[Timed], dict[str, object]]:
        """Full build to the day before as-of, then the daily run: one more day, recent tests.

        The profile: the slowest models of the last full build, and the node time per type
        and the slowest nodes of the last daily run.
        """
        full, incremental, profile = [], [], {}
        run_results = self.project / "target" / "run_results.json"
        for i in range(self.args.runs):
            remove_next_day(self.data_dir)
            (self.project / DUCKDB_FILE).unlink(missing_ok=True)
            print(f"full build {i + 1}/{self.args.runs} ...", flush=True)
            full.append(
                self.dbt(f"full-{i}", "build", "--full-refresh", as_of=self.as_of - timedelta(1))
            )
            profile["slowest_models"] = slowest_nodes(run_results, ("model.",))
            profile["full_build_phases"] = self.phases(f"full-{i}", full[-1])
            if i < self.args.bare_runs:
                self.bare.append(self.bare_replay(f"full-{i}", full[-1]))
            add_next_day(self.data_dir)
            print(f"incremental run {i + 1}/{self.args.runs} ...", flush=True)
            # The daily run as users run it (make daily): its selector and test window.
            daily = daily_invocation(self.as_of, self.dbt_vars())
            incremental.append(self.dbt(f"incremental-{i}", *daily.arguments, env=daily.env))
            profile["incremental_node_seconds"] = node_seconds(run_results)
            profile["daily_phases"] = self.phases(f"incremental-{i}", incremental[-1])
            profile["incremental_slowest_nodes"] = slowest_nodes(run_results, ("model.", "test."))
        return full, incremental, profile

    def bare_summary(self) -> dict[str, object] | None:
        """The replays' medians and dbt's ratio to them (the full builds they replayed)."""
        if not self.bare:
            return None
        dbt_median = median([float(b["dbt_seconds"]) for b in self.bare])
        bare_median = median([float(b["bare_seconds"]) for b in self.bare])
        return {
            "runs": self.bare,
            "dbt_median_seconds": dbt_median,
            "bare_median_seconds": bare_median,
            "ratio": round(dbt_median / bare_median, 3),
        }

    def cli_queries(self, spec: list[dict[str, object]]) -> list[list[float]]:
        times = []
        for n, query in enumerate(spec):
            seconds = []
            limit = self.args.cli_limit
            for i in range(self.args.cli_runs if limit is None or n < limit else 0):
                command = [venv_bin("mf"), "query", "--metrics", str(query["metric"])]
                if query["group_by"]:
                    command += ["--group-by", ",".join(query["group_by"])]
                command += ["--csv", str(self.logs / "mf_query.csv")]
                log = self.logs / f"mf-{query['metric']}-{i}.log"
                seconds.append(run_timed(command, self.project, self.env, log).seconds)
            times.append(seconds)
        return times

    def warm_queries(self, spec: list[dict[str, object]]) -> dict[str, object]:
        spec_path, out = self.logs / "queries.json", self.logs / "warm-queries.json"
        spec_path.write_text(json.dumps(spec))
        command = [
            sys.executable, "-m", "saas_kpis.bench.queries", "--project-dir", str(self.project),
            "--spec", str(spec_path), "--out", str(out), "--runs", str(self.args.runs),
            "--memory-limit", self.args.memory_limit,
            "--duckdb-threads", str(self.args.duckdb_threads),
        ]  # fmt: skip
        env = {**self.env, "PYTHONPATH": str(REPO_ROOT)}
        run_timed(command, self.project, env, self.logs / "warm-queries.log")
        return json.loads(out.read_text())

    def duckdb_queries(self, sqls: list[str]) -> list[list[float]]:
        config = {"memory_limit": self.args.memory_limit, "threads": self.args.duckdb_threads}
        times = []
        with duckdb.connect(str(self.project / DUCKDB_FILE), read_only=True, config=config) as con:
            for sql in sqls:
                con.execute(sql).fetchall()  # warm-up, as for the API
                seconds = []
                for _ in range(self.args.runs):
                    start = time.perf_counter()
                    con.execute(sql).fetchall()
                    seconds.append(time.perf_counter() - start)
                times.append(seconds)
        return times

    def run(self) -> dict[str, object]:
        started = datetime.now(UTC)
        machine_before = machine()
        parse = self.parse()
        full, incremental, profile = self.builds()
        print("fixed cost of a dbt invocation ...", flush=True)
        fixed_cost = self.fixed_cost()
        manifest_json = (self.project / "target" / "semantic_manifest.json").read_text()
        spec = query_spec(manifest_json)
        print(f"{len(spec)} semantic-layer queries ...", flush=True)
        cli = self.cli_queries(spec) if self.args.cli_runs else [[] for _ in spec]
        warm = self.warm_queries(spec)
        raw = self.duckdb_queries([q["sql"] for q in warm["queries"]])
        remove_next_day(self.data_dir)
        full_median = median([t.seconds for t in full])
        incremental_median = median([t.seconds for t in incremental])
        queries = [
            {
                "metric": q["metric"],
                "group_by": q["group_by"],
                "rows": q["rows"],
                "cli_seconds": median(c) if c else None,
                "warm_api_seconds": median(q["seconds"]),
                "cached_api_seconds": median(q["cached_seconds"], 7),
                "duckdb_seconds": median(r),
            }
            for q, c, r in zip(warm["queries"], cli, raw, strict=True)
        ]
        return {
            "scale": self.args.scale,
            "started_utc": started.isoformat(timespec="seconds"),
            "finished_utc": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine_before": machine_before,
            "machine_after": machine(),
            "note": self.args.note,
            "dataset": json.loads((self.data_dir / "manifest.json").read_text()),
            "settings": {
                "runs": self.args.runs,
                "cli_runs": self.args.cli_runs,
                "cli_limit": self.args.cli_limit,
                "dbt_threads": self.args.dbt_threads,
                "duckdb_threads": self.args.duckdb_threads,
                "duckdb_memory_limit": self.args.memory_limit,
                "bare_runs": self.args.bare_runs,
            },
            "dbt_parse_seconds": median([t.seconds for t in parse]),
            "full_build": {
                "seconds": [round(t.seconds, 2) for t in full],
                "median_seconds": full_median,
                "peak_rss_mb": max(t.peak_rss_mb or 0 for t in full),
            },
            "incremental_build": {
                "seconds": [round(t.seconds, 2) for t in incremental],
                "median_seconds": incremental_median,
                "peak_rss_mb": max(t.peak_rss_mb or 0 for t in incremental),
                "ratio_to_full": round(incremental_median / full_median, 4),
            },
            **profile,
            "fixed_cost": fixed_cost,
            "bare_replay": self.bare_summary(),
            "warm_api_setup_seconds": round(warm["setup_seconds"] or 0, 2),
            "queries": queries,
        }
