"""Write the 13 raw tables as Parquet at the benchmark scales S, M and L.

Layout under the output directory (what the dbt var ``raw_parquet_dir`` points to)::

    <source>/<table>/part-<n>.parquet            e.g. events/events_tracks/part-00000.parquet
    next_day/events/<table>/part-<n>.parquet     the last day of events and API requests
    manifest.json                                preset, seed, as-of date, rows per table

The two event logs are generated per batch of accounts and written one file per batch, so
that memory stays bounded at scale L (100M events). Each batch draws from its own random
stream; with a single batch the rows equal those of the CSV generator at the same seed.

The events received from the as-of day on (and the API requests of that day) go to
``next_day/``: the benchmark builds up to the day before with only the rows received by then,
as a loader would have delivered them, then adds those rows and runs incrementally.
"""

from __future__ import annotations

import json
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path

import duckdb
import jinja2
import numpy as np
import yaml

from saas_kpis import generate as gen
from saas_kpis.project import REPO_ROOT

EVENT_TABLES = ("events/events_tracks", "events/events_api_requests")
ROWS_PER_BATCH = 2_000_000  # rows of one event-log batch (bounds memory)
STREAM_INDEX = {"tracks": gen.STREAMS.index("tracks"), "api": gen.STREAMS.index("api")}


@dataclass(frozen=True)
class Preset:
    """Size of a benchmark dataset: accounts (scale x 400) and event density per account."""

    scale: float
    session_events_per_account: float
    api_requests_per_account: float


# S: the shipped seeds. M: ~2,000 accounts, ~10M events, ~2M API requests. L: 10x M.
# About 34 lifecycle events per account and 1 % second deliveries come on top of the sessions.
PRESETS = {
    "S": Preset(1.0, gen.TRACK_EVENTS_PER_ACCOUNT, gen.API_REQUESTS_PER_ACCOUNT),
    "M": Preset(5.0, 4_900, 1_000),
    "L": Preset(50.0, 4_900, 1_000),
}


def seed_column_types() -> dict[str, dict[str, str]]:
    """{table: {column: DuckDB type}} from the seed property files (the contract's types).

    A type may be a Jinja expression on the dbt target (text is `string` on Spark):
    it is rendered as dbt would render it for DuckDB, which writes the Parquet files.
    """
    duckdb_target = {"target": {"type": "duckdb"}}
    types = {}
    for path in sorted((REPO_ROOT / "seeds").glob("*/_*__seeds.yml")):
        for seed in yaml.safe_load(path.read_text())["seeds"]:
            types[seed["name"]] = {
                column: jinja2.Template(column_type).render(duckdb_target)
                for column, column_type in seed["config"]["column_types"].items()
            }
    return types


def id_sql(prefix: str, column: str, width: int) -> str:
    """SQL of a zero-padded id from a 0-based number column: ``acc_00001``."""
    return f"'{prefix}_' || lpad(cast({column} + 1 as varchar), {width}, '0')"


def list_sql(values: tuple[str, ...]) -> str:
    """A DuckDB list literal of strings."""
    return "[" + ", ".join(f"'{v}'" for v in values) + "]"


class Writer:
    """Writes the tables into ``out`` with one DuckDB connection (memory and threads capped)."""

    def __init__(self, out: Path, as_of: date, memory_limit: str, threads: int) -> None:
        self.out = out
        self.con = duckdb.connect(config={"memory_limit": memory_limit, "threads": threads})
        self.day_start = f"timestamp '{as_of.isoformat()}'"
        self.rows: dict[str, int] = {}

    def copy(self, select_sql: str, table: str, part: str, next_day_column: str | None) -> None:
        """COPY a query to ``table``'s part file (rows from the as-of day on to ``next_day/``)."""
        targets = [(self.out / table, "true")]
        if next_day_column is not None:
            later = f"{next_day_column} >= {self.day_start}"
            targets = [
                (self.out / table, f"not ({later})"),
                (self.out / "next_day" / table, later),
            ]
        self.con.execute(f"create or replace temp table part as {select_sql}")
        for directory, condition in targets:
            directory.mkdir(parents=True, exist_ok=True)
            path = directory / f"part-{part}.parquet"
            self.con.execute(
                f"copy (select * from part where {condition}) to '{path}' "
                "(format parquet, compression zstd)"
            )
        count = self.con.execute("select count(*) from part").fetchone()[0]
        self.rows[table] = self.rows.get(table, 0) + count
        self.con.execute("drop table part")

    def text_table(self, name: str, columns: dict[str, list[str]], types: dict[str, str]) -> None:
        """A small table: text (as in the CSV) cast to the contract's column types."""
        table = name.removesuffix(".csv")
        with tempfile.TemporaryDirectory() as tmp:
            csv_path = Path(tmp) / "table.csv"
            gen.write_csv(csv_path, columns)
            spec = ", ".join(f"'{c}': '{types[c]}'" for c in columns)
            self.copy(
                f"select * from read_csv('{csv_path}', header = true, auto_detect = false, "
                f"columns = {{{spec}}}, nullstr = '')",
                table,
                "00000",
                None,
            )


def account_slice(w: gen.World, a0: int, a1: int) -> tuple[gen.Accounts, gen.Users, np.ndarray]:
    """The accounts [a0, a1), their users (local indexes) and the global user indexes."""
    acc = w.acc
    sub_acc = gen.Accounts(
        ids=acc.ids[a0:a1],
        names=acc.names[a0:a1],
        industry=acc.industry[a0:a1],
        region=acc.region[a0:a1],
        channel=acc.channel[a0:a1],
        currency=acc.currency[a0:a1],
        created_sec=acc.created_sec[a0:a1],
        health=acc.health[a0:a1],
    )
    idx = np.nonzero((w.users.account >= a0) & (w.users.account < a1))[0]
    sub_users = gen.Users(
        ids=[w.users.ids[i] for i in idx.tolist()],
        account=w.users.account[idx] - a0,
        created_sec=w.users.created_sec[idx],
        is_admin=w.users.is_admin[idx],
        first_of_account=np.searchsorted(idx, w.users.first_of_account[a0:a1]),
    )
    return sub_acc, sub_users, idx


def batch_rng(seed: int, stream: str, batch: int) -> np.random.Generator:
    """Random stream of one event-log batch."""
    return np.random.default_rng(np.random.SeedSequence([seed, STREAM_INDEX[stream], batch]))


def batches(n_accounts: int, rows_per_account: float) -> list[tuple[int, int]]:
    """Account ranges of about ROWS_PER_BATCH event rows each."""
    size = max(1, int(ROWS_PER_BATCH // max(rows_per_account, 1.0)))
    return [(a0, min(a0 + size, n_accounts)) for a0 in range(0, n_accounts, size)]


def write_tracks(writer: Writer, w: gen.World, seed: int, preset: Preset) -> None:
    """events_tracks in account batches."""
    ranges = batches(w.acc.n, preset.session_events_per_account + 40)
    widths = {"acc": max(5, len(str(w.acc.n))), "usr": max(6, len(str(w.users.n)))}
    offset = 0
    for b, (a0, a1) in enumerate(ranges):
        if len(ranges) == 1:
            rng, acc, users, user_idx = w.rngs["tracks"], w.acc, w.users, np.arange(w.users.n)
        else:
            rng = batch_rng(seed, "tracks", b)
            acc, users, user_idx = account_slice(w, a0, a1)
        rows = gen.build_tracks(
            rng, w.cal, acc, users, w.factor[a0:a1], w.week_starts,
            preset.session_events_per_account,
        )  # fmt: skip
        width = max(7, len(str(rows.n_events))) if len(ranges) == 1 else 10
        batch = {
            "event_number": rows.event_number + offset,
            "account": rows.account + a0,
            "usr": user_idx[rows.user],
            "name": rows.name,
            "feature": rows.feature,
            "step": rows.step,
            "occurred": rows.occurred,
            "received": rows.received,
        }
        offset += rows.n_events
        features = tuple(f[0] for f in gen.FEATURES)
        writer.con.register("batch", batch)
        writer.copy(
            f"""
            select
                {id_sql("evt", "event_number", width)} as event_id,
                {id_sql("acc", "account", widths["acc"])} as account_id,
                {id_sql("usr", "usr", widths["usr"])} as user_id,
                {list_sql(gen.EVENT_NAMES)}[name + 1] as event_name,
                case when feature >= 0 then {list_sql(features)}[feature + 1] end
                    as feature_name,
                cast(case when step >= 0 then step end as integer) as onboarding_step,
                make_timestamp(occurred * 1000000) as occurred_at,
                make_timestamp(received * 1000000) as received_at
            from batch
            """,
            "events/events_tracks",
            f"{b:05d}",
            "received_at",
        )
        writer.con.unregister("batch")


def write_api_requests(writer: Writer, w: gen.World, seed: int, preset: Preset) -> None:
    """events_api_requests in account batches."""
    ranges = batches(w.acc.n, preset.api_requests_per_account)
    acc_width = max(5, len(str(w.acc.n)))
    offset = 0
    for b, (a0, a1) in enumerate(ranges):
        if len(ranges) == 1:
            rng, acc = w.rngs["api"], w.acc
        else:
            rng, acc = batch_rng(seed, "api", b), account_slice(w, a0, a1)[0]
        rows = gen.build_api_requests(
            rng, w.cal, acc, w.api_rate[a0:a1], w.factor[a0:a1], w.week_starts, w.inc,
            preset.api_requests_per_account,
        )  # fmt: skip
        n = len(rows.occurred)
        width = max(7, len(str(n))) if len(ranges) == 1 else 10
        batch = {
            "request_number": np.arange(n, dtype=np.int64) + offset,
            "account": rows.account + a0,
            "occurred": rows.occurred,
            "endpoint": rows.endpoint,
            "status": rows.status,
            "latency": rows.latency,
        }
        offset += n
        writer.con.register("batch", batch)
        writer.copy(
            f"""
            select
                {id_sql("req", "request_number", width)} as request_id,
                {id_sql("acc", "account", acc_width)} as account_id,
                make_timestamp(occurred * 1000000) as occurred_at,
                {list_sql(gen.ENDPOINTS)}[endpoint + 1] as endpoint,
                cast(status as integer) as http_status,
                cast(latency as integer) as latency_ms
            from batch
            """,
            "events/events_api_requests",
            f"{b:05d}",
            "occurred_at",
        )
        writer.con.unregister("batch")


def write_parquet(
    out: Path,
    seed: int,
    preset: Preset,
    as_of: date,
    memory_limit: str = "2GB",
    threads: int = 1,
) -> dict[str, int]:
    """Simulate and write every table as Parquet under ``out``; returns rows per table."""
    t0 = time.perf_counter()
    w = gen.simulate(seed, preset.scale, as_of)
    writer = Writer(out, as_of, memory_limit, threads)
    types = seed_column_types()
    for name, columns in w.tables.items():
        writer.text_table(name, columns, types[Path(name).stem])
    write_tracks(writer, w, seed, preset)
    write_api_requests(writer, w, seed, preset)
    writer.con.close()
    manifest = {
        "preset": asdict(preset),
        "seed": seed,
        "as_of": as_of.isoformat(),
        "rows": {t: writer.rows[t] for t in sorted(writer.rows)},
        "seconds": round(time.perf_counter() - t0, 1),
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return writer.rows
