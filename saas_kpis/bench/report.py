"""The benchmark's verdicts against its targets, and its Markdown summary."""

from __future__ import annotations

TARGETS = {"full_build_seconds": 600.0, "peak_rss_gb": 8.0, "incremental_ratio": 0.05}
WARM_QUERY_TARGET_SECONDS = 1.0


def verdicts(result: dict) -> dict[str, bool]:
    """Each target of the issue: met or not."""
    warm = [q["warm_api_seconds"] for q in result["queries"]]
    return {
        "full build < 10 min": result["full_build"]["median_seconds"]
        < TARGETS["full_build_seconds"],
        "peak memory < 8 GB": result["full_build"]["peak_rss_mb"] / 1024 < TARGETS["peak_rss_gb"],
        "incremental < 5 % of full": result["incremental_build"]["ratio_to_full"]
        < TARGETS["incremental_ratio"],
        "every warm query < 1 s": max(warm, default=0) < WARM_QUERY_TARGET_SECONDS,
    }


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
        f"| incremental `dbt build`, one more day (median of {inc['seconds']}) "
        f"| {inc['median_seconds']:.1f} s |",
        f"| incremental / full | {100 * inc['ratio_to_full']:.1f} % |",
        f"| incremental peak RSS | {inc['peak_rss_mb'] / 1024:.2f} GB |",
        f"| MetricFlow API set-up, first query | {result['warm_api_setup_seconds']:.1f} s |",
        "",
        "Targets (defined for scale L on 2 cores / 24 GB):",
        "",
    ]
    lines += [f"- {name}: {'met' if ok else 'MISSED'}" for name, ok in verdicts(result).items()]
    lines += ["", "Slowest models of the full build:", "", "| model | seconds |", "|---|---|"]
    lines += [f"| `{r['model']}` | {r['seconds']:.1f} |" for r in result["slowest_models"]]
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
        "Semantic-layer queries (whole range; seconds, medians):",
        "",
        "| metric | group by | rows | mf CLI | warm API | DuckDB SQL |",
        "|---|---|---|---|---|---|",
    ]
    for q in result["queries"]:
        cli = "—" if q["cli_seconds"] is None else f"{q['cli_seconds']:.2f}"
        lines.append(
            f"| `{q['metric']}` | {', '.join(q['group_by'])} | {q['rows']} | {cli} "
            f"| {q['warm_api_seconds']:.3f} | {q['duckdb_seconds']:.3f} |"
        )
    return "\n".join(lines) + "\n"
