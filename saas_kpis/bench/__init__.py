"""Benchmark the project on a Parquet dataset: `make bench SCALE=M` (or S, L).

Steps, on a copy of the project under ``bench/data/<scale>-project`` (the developer's warehouse
is never touched), with the profile target ``bench`` (DuckDB memory_limit and threads capped):

1. generate ``bench/data/<scale>`` (Parquet, ``python -m saas_kpis.generate --format parquet``)
   if it is missing;
2. ``dbt parse --no-partial-parse``, timed;
3. per run: a full ``dbt build`` up to the day before the as-of date (fresh DuckDB file), under
   ``/usr/bin/time -v`` for the peak RSS; after the first (``--bare-runs``), the SQL that it
   executed is replayed bare in one DuckDB process on a fresh file (``replay``), every relation
   is checked equal to dbt's (``content``; a difference stops the benchmark) and dbt's ratio to
   the bare time is reported; then the held-out last day of events and API requests is added
   and the daily run (``saas_kpis.daily``, as ``make daily`` runs it) builds incrementally with
   the as-of date one day later: selector ``daily`` (no staging view, unit test, test of a macro
   or saved query) and ``data_tests_since`` the as-of date minus ``event_lookback_days`` (3), so
   the data tests of the large tables check only that window;
4. the fixed cost of a dbt invocation: ``dbt run`` of one tiny view; for it, the full build and
   the daily run, where the wall time goes (start-up, parse, on-run-start, models, data tests,
   unit tests, the rest: ``timings``);
5. one query per metric (metric x ``metric_time__month`` x one segment, whole range): through
   the ``mf`` CLI, warm in one process through the semantic query layer on the read-only
   warehouse, uncached, and from the server's result cache (``saas_kpis.bench.queries``), and
   the SQL MetricFlow generated run directly in DuckDB.

Figures are medians over the runs. The result goes to ``bench/results/<scale>-<UTC time>.json``
and ``bench/results/<scale>.md`` and is printed. ``--scales S,M,L`` runs several scales, then
``curve`` writes the scaling curve (``bench/results/scaling.md`` and ``scaling.svg``), which
``python -m saas_kpis.bench.curve`` rebuilds from the newest result file of each scale.

``load`` is the API server's load test (``make loadtest``): concurrent GraphQL and Flight SQL
clients (``load_clients``: the request mix and a client process) against the published build,
with the result cache on and off.
"""
