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
import base64
import json
import os
import random
import socket
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from saas_kpis.project import REPO_ROOT

HOST = "127.0.0.1"
ENVIRONMENT_ID = 1
CACHE_ON_BYTES = 256 * 2**20
POLL_DEADLINE_SECONDS = 300
# The mix: a request kind and its weight.
WEIGHTS = {
    "graphql_query": 30,
    "graphql_saved_query": 10,
    "graphql_metadata": 15,
    "flight_query": 30,
    "flight_saved_query": 8,
    "flight_dimension_values": 4,
    "flight_metadata": 3,
}
# Metrics asked together, and the metric_time grains each family is read at.
FAMILIES: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = (
    (("mrr", "paying_accounts"), ("month", "quarter")),
    (("arr",), ("month", "quarter")),
    (("arpa",), ("month", "year")),
    (("net_revenue_retention", "gross_revenue_retention"), ("month", "quarter")),
    (("logo_churn_rate",), ("month", "quarter")),
    (("new_mrr", "expansion_mrr", "churned_mrr"), ("month", "quarter")),
    (("api_requests", "api_error_rate"), ("week", "month")),
    (("api_latency_p95_ms",), ("day", "month")),
    (("nps",), ("month", "quarter")),
    (("activation_rate",), ("week", "month")),
)
SEGMENTS = (
    None,
    "account_month__plan_tier",
    "account_month__industry",
    "account_month__account_age_band",
)
PAYING_ONLY = "{{ Dimension('account_month__plan_tier') }} != 'none'"
DIMENSION_VALUES = (
    (("mrr",), "account_month__plan_tier"),
    (("mrr",), "account_month__industry"),
    (("api_requests",), "account_month__account_age_band"),
)


@dataclass(frozen=True)
class QuerySpec:
    """One ad-hoc query of the mix."""

    metrics: tuple[str, ...]
    group_by: tuple[str, ...]
    where: tuple[str, ...] = ()
    limit: int | None = None


@dataclass(frozen=True)
class Mix:
    """What the clients ask: ad-hoc queries, saved queries, metrics for metadata calls."""

    queries: tuple[QuerySpec, ...]
    saved_queries: tuple[str, ...]
    metrics: tuple[str, ...]


@dataclass(frozen=True)
class ClientGroup:
    """The clients of one process."""

    first_client: int
    clients: int
    tokens: tuple[str, ...]
    graphql_url: str
    flight_uri: str
    start_at: float  # wall clock (time.time()); all processes start together
    seconds: float
    mix: Mix


def query_mix() -> list[QuerySpec]:
    """Every family at each of its grains, alone and by each segment, with and without the
    paying-accounts filter, and a few with a limit."""
    specs = []
    for metrics, grains in FAMILIES:
        for grain in grains:
            for segment in SEGMENTS:
                group_by = (f"metric_time__{grain}", *((segment,) if segment else ()))
                specs.append(QuerySpec(metrics, group_by))
                if segment is not None:
                    specs.append(QuerySpec(metrics, group_by, where=(PAYING_ONLY,)))
            specs.append(QuerySpec(metrics, (f"metric_time__{grain}",), limit=12))
    return specs


def checked_mix(manifest: Path) -> Mix:
    """The mix, each query validated by MetricFlow against the served manifest (so that an
    error in the run is the server's, never the mix's)."""
    from saas_kpis.semantic import QueryRequest, SemanticLayer

    layer = SemanticLayer.from_manifest(manifest)
    specs = query_mix()
    for spec in specs:
        layer.validate(QueryRequest(spec.metrics, spec.group_by, spec.where, limit=spec.limit))
    metrics = sorted({metric for spec in specs for metric in spec.metrics})
    return Mix(tuple(specs), tuple(s.name for s in layer.saved_queries()), tuple(metrics))


# -- the clients (in worker processes) -------------------------------------------------------


def python_list(items: tuple[str, ...]) -> str:
    return "[" + ", ".join(repr(item) for item in items) + "]"


def flight_statement(spec: QuerySpec) -> str:
    arguments = [f"metrics={python_list(spec.metrics)}", f"group_by={python_list(spec.group_by)}"]
    if spec.where:
        arguments.append(f"where={python_list(spec.where)}")
    if spec.limit is not None:
        arguments.append(f"limit={spec.limit}")
    return "select * from {{ semantic_layer.query(" + ", ".join(arguments) + ") }}"


class Client:
    """One client: an HTTP session and an ADBC connection with its token."""

    def __init__(self, group: ClientGroup, number: int) -> None:
        import adbc_driver_flightsql.dbapi as flightsql
        import requests
        from adbc_driver_flightsql import DatabaseOptions
        from dbtsl.api.graphql.protocol import GraphQLProtocol

        token = group.tokens[number % len(group.tokens)]
        self.group = group
        self.random = random.Random(number)
        self.protocol = GraphQLProtocol
        self.session = requests.Session()
        self.session.headers["authorization"] = f"Bearer {token}"
        self.flight = flightsql.connect(
            group.flight_uri,
            db_kwargs={
                DatabaseOptions.AUTHORIZATION_HEADER.value: f"Bearer {token}",
                f"{DatabaseOptions.RPC_CALL_HEADER_PREFIX.value}environmentid": str(ENVIRONMENT_ID),
            },
        )
        self.kinds: dict[str, Callable[[], object]] = {
            "graphql_query": self.graphql_query,
            "graphql_saved_query": self.graphql_saved_query,
            "graphql_metadata": self.graphql_metadata,
            "flight_query": self.flight_query,
            "flight_saved_query": self.flight_saved_query,
            "flight_dimension_values": self.flight_dimension_values,
            "flight_metadata": self.flight_metadata,
        }

    def close(self) -> None:
        self.flight.close()
        self.session.close()

    def post(self, operation: Any, variables: Any) -> dict[str, Any]:
        body = {
            "query": operation.get_request_text(lazy=True),
            "variables": operation.get_request_variables(ENVIRONMENT_ID, variables),
        }
        response = self.session.post(self.group.graphql_url, json=body, timeout=120)
        response.raise_for_status()
        payload = response.json()
        if payload.get("errors"):
            raise RuntimeError(f"GraphQL errors: {payload['errors']}")
        return payload["data"]

    def run_graphql(self, parameters: dict[str, Any]) -> int:
        """createQuery, then poll `query` until it ends; the rows of the decoded result."""
        import pyarrow as pa

        created = self.post(self.protocol.create_query, parameters)
        query_id = created["createQuery"]["queryId"]
        deadline = time.monotonic() + POLL_DEADLINE_SECONDS
        while time.monotonic() < deadline:
            result = self.post(self.protocol.get_query_result, {"query_id": query_id})["query"]
            if result["status"] == "FAILED":
                raise RuntimeError(f"query failed: {result['error']}")
            if result["status"] == "SUCCESSFUL":
                stream = base64.b64decode(result["arrowResult"])
                return pa.ipc.open_stream(stream).read_all().num_rows
        raise RuntimeError(f"query {query_id} did not finish in {POLL_DEADLINE_SECONDS} s")

    def graphql_query(self) -> int:
        spec = self.random.choice(self.group.mix.queries)
        parameters: dict[str, Any] = {
            "metrics": list(spec.metrics),
            "group_by": list(spec.group_by),
        }
        if spec.where:
            parameters["where"] = list(spec.where)
        if spec.limit is not None:
            parameters["limit"] = spec.limit
        return self.run_graphql(parameters)

    def graphql_saved_query(self) -> int:
        return self.run_graphql({"saved_query": self.random.choice(self.group.mix.saved_queries)})

    def graphql_metadata(self) -> int:
        metric = self.random.choice(self.group.mix.metrics)
        operation = self.random.choice(("metrics", "dimensions", "entities", "saved_queries"))
        variables = {} if operation in ("metrics", "saved_queries") else {"metrics": [metric]}
        data = self.post(getattr(self.protocol, operation), variables)
        return len(next(iter(data.values())))

    def flight_rows(self, statement: str) -> int:
        with self.flight.cursor() as cursor:
            cursor.execute(statement)
            return cursor.fetch_arrow_table().num_rows

    def flight_query(self) -> int:
        return self.flight_rows(flight_statement(self.random.choice(self.group.mix.queries)))

    def flight_saved_query(self) -> int:
        name = self.random.choice(self.group.mix.saved_queries)
        return self.flight_rows(f"select * from semantic_layer.saved_queries.{name}")

    def flight_dimension_values(self) -> int:
        metrics, dimension = self.random.choice(DIMENSION_VALUES)
        return self.flight_rows(
            "select * from {{ semantic_layer.dimension_values("
            f"metrics={python_list(metrics)}, group_by={dimension!r}) }}}}"
        )

    def flight_metadata(self) -> int:
        return self.flight_rows("select * from {{ semantic_layer.metrics() }}")

    def loop(self, samples: list[tuple[str, float, float, str | None]]) -> None:
        """Requests until the run's end: (kind, start offset, seconds, error or None) each."""
        kinds, weights = list(WEIGHTS), list(WEIGHTS.values())
        end = self.group.start_at + self.group.seconds
        while (now := time.time()) < self.group.start_at:
            time.sleep(min(0.05, self.group.start_at - now))
        while time.time() < end:
            kind = self.random.choices(kinds, weights)[0]
            started = time.perf_counter()
            offset = time.time() - self.group.start_at
            error = None
            try:
                self.kinds[kind]()
            except Exception as failure:
                error = f"{type(failure).__name__}: {str(failure)[:300]}"
            samples.append((kind, offset, time.perf_counter() - started, error))


def run_client_group(group: ClientGroup) -> list[tuple[str, float, float, str | None]]:
    """A worker process: its clients, one thread each; the samples of all of them."""
    # ADBC warns on every connection that Flight SQL has no transactions to turn off.
    warnings.filterwarnings("ignore", message="Cannot disable autocommit")
    clients = [Client(group, group.first_client + n) for n in range(group.clients)]
    samples: list[tuple[str, float, float, str | None]] = []
    threads = [threading.Thread(target=client.loop, args=(samples,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for client in clients:
        client.close()
    return samples


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
    m, s = result["machine_before"], result["settings"]
    lines = [
        "# Load test of the Semantic Layer API server",
        "",
        f"Run {result['started_utc']} to {result['finished_utc']} (UTC). "
        f"Machine: {m['cpu_count']} cores ({m['cpu_model']}), {m['memory_gb']} GB; "
        f"load average {m['load_average']} before, "
        f"{result['machine_after']['load_average']} after; DuckDB {m['duckdb']}.",
        "",
    ]
    if result["note"]:
        lines += [f"**Note:** {result['note']}", ""]
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
