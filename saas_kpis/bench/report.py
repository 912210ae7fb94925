"""The benchmark's verdicts against its targets, and its Markdown summary."""

from __future__ import annotations

from saas_kpis.bench.timings import PHASES

TARGETS = {
    "full_build_seconds": 150.0,
    "parse_seconds": 5.0,
    "peak_rss_gb": 8.0,
    "incremental_ratio": 0.05,
    "dbt_to_bare": 1.15,
}
WARM_QUERY_TARGET_SECONDS = 1.0


def verdicts(result: dict) -> dict[str, bool]:
    """Each target of the issue: met or not (the warm queries: uncached)."""
    warm = [q["warm_api_seconds"] for q in result["queries"]]
    found = {
        "full build < 150 s": result["full_build"]["median_seconds"]
        < TARGETS["full_build_seconds"],
        "parse < 5 s": result["dbt_parse_seconds"] < TARGETS["parse_seconds"],
        "peak memory < 8 GB": result["full_build"]["peak_rss_mb"] / 1024 < TARGETS["peak_rss_gb"],
        "daily run < 5 % of full": result["incremental_build"]["ratio_to_full"]
        < TARGETS["incremental_ratio"],
        "every warm query < 1 s (uncached)": max(warm, default=0) < WARM_QUERY_TARGET_SECONDS,
    }
    if result.get("bare_replay"):
        found["dbt <= 1.15 x bare DuckDB"] = (
            result["bare_replay"]["ratio"] <= TARGETS["dbt_to_bare"]
        )
    return found


def phase_lines(result: dict) -> list[str]:
    """Where the seconds of the full build, the daily run and one trivial invocation go."""
    columns = [
        ("full build (last run)", result.get("full_build_phases")),
        ("daily run (last run)", result.get("daily_phases")),
        ("fixed cost (median)", result.get("fixed_cost")),
    ]
    columns = [(name, phases) for name, phases in columns if phases]
    if not columns:
        return []
    fixed = result.get("fixed_cost")
    lines = ["", "Where the seconds of a dbt invocation go (wall time; see `timings.py`):", ""]
    if fixed:
        lines += [
            f"The fixed cost: `{fixed['command']}` (one view over a 40-row raw table, with "
            f"the daily run's vars) takes {fixed['wall_seconds']:.1f} s "
            f"(runs: {fixed['wall_runs']}); parse: {fixed['parse_mode']}. The on-run-start "
            f"raw-data check (`check_raw_data`) takes {fixed['seconds']['on-run-start']:.2f} s "
            "of it.",
            "",
        ]
    lines += [
        "| phase | " + " | ".join(name for name, _ in columns) + " |",
        "|---" * (len(columns) + 1) + "|",
    ]
    for phase in PHASES:
        cells = [f"{p['seconds'][phase]:.2f}" for _, p in columns]
        lines.append(f"| {phase} | " + " | ".join(cells) + " |")
    lines.append(
        "| **wall** | " + " | ".join(f"{p['wall_seconds']:.2f}" for _, p in columns) + " |"
    )
    lines.append("| parse mode | " + " | ".join(str(p["parse_mode"]) for _, p in columns) + " |")
    return lines


def bare_lines(result: dict) -> list[str]:
    """The full build's SQL run bare in DuckDB: dbt's ratio to it, the content check."""
    bare = result.get("bare_replay")
    if not bare:
        return []
    last = bare["runs"][-1]
    kinds = ", ".join(f"{kind} {seconds:.1f} s" for kind, seconds in last["kind_seconds"].items())
    floats = last["floats_within_tolerance"]
    lines = [
        "",
        f"The SQL of the full build run bare, in one DuckDB process on a fresh file "
        f"({len(bare['runs'])} replay(s), settings {last['settings']}): "
        f"{bare['bare_median_seconds']:.1f} s against dbt's {bare['dbt_median_seconds']:.1f} s, "
        f"**dbt / bare = {bare['ratio']:.2f}x**. The {last['statements']} statements that dbt "
        f"executed, in its node order: {kinds}; the replay's peak RSS "
        f"{(last['bare_peak_rss_mb'] or 0) / 1024:.2f} GB. Content check: all "
        f"{last['relations_equal']} relations equal dbt's (columns, row counts, "
        f"{last['rows_compared']:,} rows by order-independent checksums)"
        + (
            f"; floating values equal within 1e-9 relative in {', '.join(floats)}."
            if floats
            else "."
        ),
        "",
        "| node (slowest bare) | bare s | dbt s |",
        "|---|---|---|",
    ]
    lines += [
        f"| `{n['node']}` | {n['bare_seconds']:.2f} | {n['dbt_seconds']:.2f} |"
        for n in last["slowest_nodes"]
    ]
    return lines


def run_header(title: str, result: dict) -> list[str]:
    """The title, when and on what machine a result was measured, and its note."""
    m = result["machine_before"]
    lines = [
        f"# {title}",
        "",
        f"Run {result['started_utc']} to {result['finished_utc']} (UTC). "
        f"Machine: {m['cpu_count']} cores ({m['cpu_model']}), {m['memory_gb']} GB; "
        f"load average {m['load_average']} before, "
        f"{result['machine_after']['load_average']} after; DuckDB {m['duckdb']}.",
        "",
    ]
    if result["note"]:
        lines += [f"**Note:** {result['note']}", ""]
    return lines


def markdown(result: dict) -> str:
    """The Markdown summary of a result."""
    d = result["dataset"]
    full, inc = result["full_build"], result["incremental_build"]
    lines = run_header(f"Benchmark, scale {result['scale']}", result)
    rows = ", ".join(f"{name.split('/')[-1]} {count:,}" for name, count in d["rows"].items())
    s = result["settings"]
    cli_scope = "all metrics" if s["cli_limit"] is None else f"first {s['cli_limit']} metrics"
    lines += [
        f"Dataset (seed {d['seed']}, as of {d['as_of']}): {rows}.",
        "",
        f"Settings: {s['runs']} runs (medians), mf CLI {s['cli_runs']} run(s) per query "
        f"({cli_scope}), "
        f"dbt threads {s['dbt_threads']}, DuckDB threads {s['duckdb_threads']}, "
        f"DuckDB memory_limit {s['duckdb_memory_limit']}.",
        "",
        "| measure | value |",
        "|---|---|",
        f"| `dbt parse --no-partial-parse` | {result['dbt_parse_seconds']:.1f} s |",
        f"| full `dbt build` (median of {full['seconds']}) | {full['median_seconds']:.1f} s |",
        f"| full build peak RSS | {full['peak_rss_mb'] / 1024:.2f} GB |",
        f"| daily run (`make daily`), one more day (median of {inc['seconds']}) "
        f"| {inc['median_seconds']:.1f} s |",
        f"| daily run / full build | {100 * inc['ratio_to_full']:.1f} % |",
        f"| daily run peak RSS | {inc['peak_rss_mb'] / 1024:.2f} GB |",
    ]
    if result.get("bare_replay"):
        bare = result["bare_replay"]
        lines.append(
            f"| full build's SQL bare in DuckDB (median of {len(bare['runs'])}) "
            f"| {bare['bare_median_seconds']:.1f} s; dbt / bare {bare['ratio']:.2f}x |"
        )
    if result.get("fixed_cost"):
        fixed = result["fixed_cost"]
        lines.append(f"| fixed cost: `{fixed['command']}` | {fixed['wall_seconds']:.1f} s |")
    lines += [
        f"| MetricFlow API set-up, first query | {result['warm_api_setup_seconds']:.1f} s |",
        "",
        "Targets (defined for scale L on 2 cores / 24 GB):",
        "",
    ]
    lines += [f"- {name}: {'met' if ok else 'MISSED'}" for name, ok in verdicts(result).items()]
    lines += ["", "Slowest models of the full build:", "", "| model | seconds |", "|---|---|"]
    lines += [f"| `{r['model']}` | {r['seconds']:.1f} |" for r in result["slowest_models"]]
    lines += bare_lines(result)
    lines += phase_lines(result)
    if "incremental_node_seconds" in result:
        totals = result["incremental_node_seconds"].items()
        per_type = ", ".join(f"{kind} {seconds:.1f} s" for kind, seconds in totals)
        lines += ["", f"Node time of the last daily run: {per_type}. Slowest nodes:", ""]
        lines += ["| node | seconds |", "|---|---|"]
        lines += [
            f"| `{r['model']}` | {r['seconds']:.1f} |" for r in result["incremental_slowest_nodes"]
        ]
    lines += [
        "",
        "Semantic-layer queries (whole range; seconds, medians). *Warm API, uncached*: the "
        "semantic layer plans and runs the query; *cache hit*: the server's `ServedLayer` "
        "answers it again from its result cache, in milliseconds (the target is on the "
        "uncached figure):",
        "",
        "| metric | group by | rows | mf CLI | warm API, uncached | DuckDB SQL | cache hit (ms) |",
        "|---|---|---|---|---|---|---|",
    ]
    for q in result["queries"]:
        cli = "—" if q["cli_seconds"] is None else f"{q['cli_seconds']:.2f}"
        hit = q.get("cached_api_seconds")
        lines.append(
            f"| `{q['metric']}` | {', '.join(q['group_by'])} | {q['rows']} | {cli} "
            f"| {q['warm_api_seconds']:.3f} | {q['duckdb_seconds']:.3f} "
            f"| {'—' if hit is None else f'{1000 * hit:.3f}'} |"
        )
    return "\n".join(lines) + "\n"
