"""`python -m saas_kpis.bench.load` (`make loadtest`): the API server under 32 concurrent clients.

The server runs as `make serve` does, on the newest published build (`make build` first), once
with the result cache on and once with it off. Each run starts a fresh server with eight tokens
and spreads the clients over several processes (so the clients' own GIL is not what is
measured); every client uses one of the tokens and loops for `--seconds` over a fixed mix:

- GraphQL with dbt-sl-sdk's own documents, sent over HTTP as it sends them: `createQuery` then
  `query` polling, the base64 Arrow result decoded (ad-hoc queries and saved queries), and the
  metadata requests (`metrics`, `dimensions`, `entities`, `savedQueries`);
- Flight SQL through ADBC: `semantic_layer.query(...)` statements, `select * from` a saved-query
  table, `dimension_values` and `metrics()`.

The ad-hoc queries cover several metrics (revenue, retention, usage, support), metric_time
grains, segment group-bys and a segment filter; they are checked offline against the semantic
manifest first. Nothing is retried: any failed request is an error, and any error fails the
command (exit status 1, after the figures are written). Per run: requests per second, p50 /
p95 / p99 latency (overall and per kind), errors, the server's peak memory (VmHWM of its
process) and the cache's counters. The figures go to `bench/results/loadtest-<UTC time>.json`
and `bench/results/loadtest.md`, as the benchmark writes its own.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from saas_kpis.bench.load_clients import (
    ENVIRONMENT_ID,
    HOST,
    WEIGHTS,
    ClientGroup,
    Mix,
    checked_mix,
    run_client_group,
)
from saas_kpis.bench.report import run_header
from saas_kpis.project import REPO_ROOT

CACHE_ON_BYTES = 256 * 2**20

# -- the server and a run --------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def proc_status_kib(pid: int, field: str) -> int | None:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return None


@dataclass
class Server:
    process: subprocess.Popen
    graphql_url: str
    flight_uri: str
    tokens: tuple[str, ...]

    def cache_stats(self) -> dict[str, Any]:
        import requests

        response = requests.get(
            self.graphql_url.replace("/api/graphql", "/api/cache"),
            headers={"authorization": f"Bearer {self.tokens[0]}"},
            timeout=10,
        )
        response.raise_for_status()
        return response.json()

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start_server(serving_dir: Path, tokens: tuple[str, ...], cache_bytes: int, log: Path) -> Server:
    """`python -m saas_kpis.server serve` on free loopback ports, once it answers."""
    import requests

    graphql_port, flight_port = free_port(), free_port()
    env = {
        **os.environ,
        "SAAS_KPIS_SERVING_DIR": str(serving_dir),
        "SAAS_KPIS_SL_TOKENS": ",".join(tokens),
        "SAAS_KPIS_SL_HOST": HOST,
        "SAAS_KPIS_SL_GRAPHQL_PORT": str(graphql_port),
        "SAAS_KPIS_SL_FLIGHT_PORT": str(flight_port),
        "SAAS_KPIS_SL_ENVIRONMENT_ID": str(ENVIRONMENT_ID),
        "SAAS_KPIS_SL_CACHE_BYTES": str(cache_bytes),
    }
    with log.open("w") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "saas_kpis.server", "serve"],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    server = Server(
        process, f"http://{HOST}:{graphql_port}/api/graphql", f"grpc://{HOST}:{flight_port}", tokens
    )
    ready = {"query": f"{{ environmentInfo(environmentId: {ENVIRONMENT_ID}) {{ dialect }} }}"}
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server exited with {process.returncode}; see {log}")
        try:
            response = requests.post(
                server.graphql_url,
                json=ready,
                headers={"authorization": f"Bearer {tokens[0]}"},
                timeout=2,
            )
            if response.status_code == 200 and response.json().get("data"):
                return server
        except requests.ConnectionError:
            pass
        time.sleep(0.3)
    server.stop()
    raise SystemExit(f"the server did not answer within 120 s; see {log}")


def percentile(sorted_values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of sorted values."""
    if not sorted_values:
        return float("nan")
    rank = max(1, round(fraction * len(sorted_values) + 0.5))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def latency_summary(seconds: list[float]) -> dict[str, float]:
    ordered = sorted(seconds)
    return {
        "p50_ms": round(1000 * percentile(ordered, 0.50), 1),
        "p95_ms": round(1000 * percentile(ordered, 0.95), 1),
        "p99_ms": round(1000 * percentile(ordered, 0.99), 1),
        "max_ms": round(1000 * ordered[-1], 1) if ordered else float("nan"),
    }


def run(
    name: str, cache_bytes: int, args: argparse.Namespace, mix: Mix, logs: Path
) -> dict[str, Any]:
    """One run: a fresh server, the clients for `args.seconds`, the figures."""
    tokens = tuple(f"loadtest-token-{n}" for n in range(args.tokens))
    server = start_server(args.serving_dir, tokens, cache_bytes, logs / f"server-{name}.log")
    try:
        per_process = [
            args.clients // args.processes + (1 if n < args.clients % args.processes else 0)
            for n in range(args.processes)
        ]
        start_at = time.time() + 10  # time for the processes to start and connect
        groups = [
            ClientGroup(
                first_client=sum(per_process[:n]),
                clients=count,
                tokens=tokens,
                graphql_url=server.graphql_url,
                flight_uri=server.flight_uri,
                start_at=start_at,
                seconds=args.seconds,
                mix=mix,
            )
            for n, count in enumerate(per_process)
        ]
        with ProcessPoolExecutor(len(groups), mp_context=get_context("spawn")) as pool:
            samples = [s for found in pool.map(run_client_group, groups) for s in found]
        peak_kib = proc_status_kib(server.process.pid, "VmHWM")
        cache = server.cache_stats()
    finally:
        server.stop()
    elapsed = max((offset + seconds for _, offset, seconds, _ in samples), default=args.seconds)
    errors = [(kind, error) for kind, _, _, error in samples if error is not None]
    by_kind = {}
    for kind in WEIGHTS:
        latencies = [seconds for k, _, seconds, _ in samples if k == kind]
        by_kind[kind] = {"requests": len(latencies), **latency_summary(latencies)}
    return {
        "name": name,
        "cache_bytes": cache_bytes,
        "requests": len(samples),
        "seconds": round(elapsed, 2),
        "requests_per_second": round(len(samples) / elapsed, 1),
        **latency_summary([seconds for _, _, seconds, _ in samples]),
        "errors": len(errors),
        "error_examples": sorted({f"{kind}: {error}" for kind, error in errors})[:10],
        "server_peak_memory_mib": round(peak_kib / 1024, 1) if peak_kib else None,
        "cache": cache,
        "by_kind": by_kind,
    }


# -- the report ------------------------------------------------------------------------------


def markdown(result: dict[str, Any]) -> str:
    """The Markdown summary of a load test."""
    s = result["settings"]
    lines = run_header("Load test of the Semantic Layer API server", result)
    lines += [
        f"Settings: {s['clients']} clients in {s['processes']} processes, {s['tokens']} tokens, "
        f"{s['seconds']:.0f} s per run, no retries; the build published in "
        f"`{s['serving_dir']}` (snapshot {result['snapshot']}). The mix: "
        f"{len(result['mix']['queries'])} ad-hoc queries "
        f"({len(result['mix']['metrics'])} metrics, metric_time by day to year, by each "
        "segment, with and without a filter), "
        f"{len(result['mix']['saved_queries'])} saved queries, metadata; weights "
        + ", ".join(f"{kind} {weight}" for kind, weight in s["weights"].items())
        + ".",
        "",
        "| run | requests | requests/s | p50 | p95 | p99 | errors | server peak memory "
        "| cache hits / misses |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in result["runs"]:
        cache = r["cache"]
        lines.append(
            f"| {r['name']} | {r['requests']:,} | {r['requests_per_second']:.1f} "
            f"| {r['p50_ms']:.0f} ms | {r['p95_ms']:.0f} ms | {r['p99_ms']:.0f} ms "
            f"| {r['errors']} | {r['server_peak_memory_mib']:,.0f} MiB "
            f"| {cache['hits'] + cache['coalesced']:,} / {cache['misses']:,} |"
        )
    for r in result["runs"]:
        lines += [
            "",
            f"{r['name'].capitalize()}, per kind of request:",
            "",
            "| kind | requests | p50 | p95 | p99 | max |",
            "|---|---|---|---|---|---|",
        ]
        lines += [
            f"| {kind} | {k['requests']:,} | {k['p50_ms']:.0f} ms | {k['p95_ms']:.0f} ms "
            f"| {k['p99_ms']:.0f} ms | {k['max_ms']:.0f} ms |"
            for kind, k in r["by_kind"].items()
        ]
        if r["error_examples"]:
            lines += ["", "Errors:", ""] + [f"- `{example}`" for example in r["error_examples"]]
    return "\n".join(lines) + "\n"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--seconds",
        type=float,
        default=float(os.environ.get("LOADTEST_SECONDS", "60")),
        help="length of each run (default: LOADTEST_SECONDS or 60)",
    )
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--processes", type=int, default=4, help="client processes")
    parser.add_argument("--tokens", type=int, default=8)
    parser.add_argument(
        "--serving-dir",
        type=Path,
        default=Path(os.environ.get("SAAS_KPIS_SERVING_DIR", REPO_ROOT / "serving")),
    )
    parser.add_argument("--results-dir", type=Path, default=REPO_ROOT / "bench" / "results")
    parser.add_argument(
        "--note",
        default=os.environ.get("LOADTEST_NOTE", ""),
        help="free text stored with the result (default: LOADTEST_NOTE)",
    )
    args = parser.parse_args(argv)
    if args.clients < 1 or not 1 <= args.processes <= args.clients or args.tokens < 1:
        parser.error(
            "need at least one client, token and process, and no more processes than clients"
        )
    return args


def main(argv: list[str] | None = None) -> int:
    """Entry point: both runs, the figures written and printed; 1 if any request failed."""
    from saas_kpis.bench.runner import machine
    from saas_kpis.semantic import MANIFEST_FILE
    from saas_kpis.server.snapshots import snapshots

    args = parse_args(argv)
    published = snapshots(args.serving_dir)
    if not published:
        print(f"no published build in {args.serving_dir}: run `make build` first", file=sys.stderr)
        return 2
    mix = checked_mix(published[-1] / MANIFEST_FILE)
    started = datetime.now(UTC)
    stamp = started.strftime("%Y%m%dT%H%M%SZ")
    logs = REPO_ROOT / "target" / "loadtest" / stamp
    logs.mkdir(parents=True, exist_ok=True)
    machine_before = machine()
    runs = []
    for name, cache_bytes in (("cache on", CACHE_ON_BYTES), ("cache off", 0)):
        print(f"{name}: {args.clients} clients for {args.seconds:.0f} s ...", flush=True)
        runs.append(run(name, cache_bytes, args, mix, logs))
    result = {
        "started_utc": started.isoformat(timespec="seconds"),
        "finished_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine_before": machine_before,
        "machine_after": machine(),
        "note": args.note,
        "snapshot": published[-1].name,
        "settings": {
            "seconds": args.seconds,
            "clients": args.clients,
            "processes": args.processes,
            "tokens": args.tokens,
            "serving_dir": str(args.serving_dir.relative_to(REPO_ROOT))
            if args.serving_dir.is_relative_to(REPO_ROOT)
            else str(args.serving_dir),
            "weights": WEIGHTS,
        },
        "mix": {
            "queries": [asdict(spec) for spec in mix.queries],
            "saved_queries": list(mix.saved_queries),
            "metrics": list(mix.metrics),
        },
        "runs": runs,
    }
    args.results_dir.mkdir(parents=True, exist_ok=True)
    (args.results_dir / f"loadtest-{stamp}.json").write_text(json.dumps(result, indent=2))
    summary = markdown(result)
    (args.results_dir / "loadtest.md").write_text(summary)
    print(summary)
    errors = sum(r["errors"] for r in runs)
    if errors:
        print(f"{errors} request(s) failed; server logs in {logs}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
