"""Time semantic-layer queries warm, in one process, as the server runs them.

Run by :mod:`saas_kpis.bench.runner` as a subprocess, so that its DuckDB settings are its own::

    python -m saas_kpis.bench.queries --project-dir DIR --spec queries.json --out result.json

The semantic layer opens the project's DuckDB file read-only, as a served snapshot is opened.
``queries.json`` is a list of ``{"metric": ..., "group_by": [...]}``. The result holds, per
query, the seconds of each run (after one warm-up run), the row count and the generated SQL:
the uncached figure, the layer planning and running the query.

Apart from it, the cached figure: the same request answered by the server's `ServedLayer`
from its result cache (`ResultCache`, on in the server by default: `SAAS_KPIS_SL_CACHE_BYTES`),
over the same layer taken as a snapshot. The first answer fills the cache; the timed ones are
hits (checked on the cache's counters), which is what a client that repeats a query waits for
beyond its transport.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from saas_kpis.project import DUCKDB_FILE
from saas_kpis.semantic import MANIFEST_FILE, QueryRequest, SemanticLayer
from saas_kpis.server.adapter import Answer, ServedLayer, cached_bytes
from saas_kpis.server.result_cache import DEFAULT_CAPACITY_BYTES, QUERY, ResultCache
from saas_kpis.server.snapshots import Snapshot, SnapshotStore

BENCH_SNAPSHOT = "bench"


def cached_seconds(
    served: ServedLayer, snapshot: Snapshot, request: QueryRequest, runs: int
) -> list[float]:
    """Seconds of each cache hit for a request, after one answer that fills the cache."""
    served.answer(snapshot, QUERY, request)
    hits_before = served.cache.stats().hits
    seconds = []
    for _ in range(runs):
        start = time.perf_counter()
        answer = served.answer(snapshot, QUERY, request)
        seconds.append(time.perf_counter() - start)
        assert isinstance(answer, Answer)
    if served.cache.stats().hits - hits_before != runs:
        raise RuntimeError(f"{request}: not answered from the result cache")
    return seconds


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project-dir", type=Path, required=True)
    parser.add_argument("--spec", type=Path, required=True, help="JSON list of queries")
    parser.add_argument("--out", type=Path, required=True, help="JSON result file")
    parser.add_argument("--runs", type=int, default=3, help="timed runs per query")
    parser.add_argument("--memory-limit", default="6GB", help="DuckDB memory_limit")
    parser.add_argument("--duckdb-threads", type=int, default=2)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    """Open the layer once, then time every query of the spec."""
    args = parse_args(argv)
    t0 = time.perf_counter()
    layer = SemanticLayer.open_duckdb(
        args.project_dir / DUCKDB_FILE,
        args.project_dir / "target" / MANIFEST_FILE,
        settings={"memory_limit": args.memory_limit, "threads": args.duckdb_threads},
    )
    served = ServedLayer(
        SnapshotStore(args.project_dir), cache=ResultCache(DEFAULT_CAPACITY_BYTES, cached_bytes)
    )
    snapshot = Snapshot(BENCH_SNAPSHOT, args.project_dir, layer)
    results = []
    setup_seconds = None
    for query in json.loads(args.spec.read_text()):
        request = QueryRequest(metrics=(query["metric"],), group_by=tuple(query["group_by"]))
        warm_up = layer.query(request)  # plans, compiles and caches what can be cached
        if setup_seconds is None:
            setup_seconds = time.perf_counter() - t0
        seconds = []
        for _ in range(args.runs):
            start = time.perf_counter()
            layer.query(request)
            seconds.append(time.perf_counter() - start)
        results.append(
            {
                **query,
                "seconds": seconds,
                "cached_seconds": cached_seconds(served, snapshot, request, args.runs),
                "rows": warm_up.num_rows,
                "sql": layer.explain(request),
            }
        )
    served.admission.close()
    layer.close()
    args.out.write_text(json.dumps({"setup_seconds": setup_seconds, "queries": results}, indent=1))


if __name__ == "__main__":
    main()
