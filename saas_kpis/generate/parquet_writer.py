"""Write the 13 raw tables as Parquet at the benchmark scales S, M and L.

Layout under the output directory (what the dbt var ``raw_parquet_dir`` points to)::

    <source>/<table>/part-<n>.parquet            e.g. events/events_tracks/part-00000.parquet
    next_day/events/<table>/part-<n>.parquet     the last day of events and API requests
    manifest.json                                preset, seed, as-of date, rows per table

The two event logs are written one file per batch of accounts (see
:mod:`saas_kpis.generate.event_logs`), so that memory stays bounded at scale L (100M events);
with a single batch the rows equal those of the CSV files at the same seed.

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
from itertools import chain
from pathlib import Path

import duckdb
import jinja2
import yaml

from saas_kpis.generate.event_logs import api_parts, registered, track_parts
from saas_kpis.generate.events import API_REQUESTS_PER_ACCOUNT, TRACK_EVENTS_PER_ACCOUNT
from saas_kpis.generate.text import write_csv
from saas_kpis.generate.world import simulate
from saas_kpis.project import REPO_ROOT

ROWS_PER_BATCH = 2_000_000  # rows of one event-log batch (bounds memory)


@dataclass(frozen=True)
class Preset:
    """Size of a benchmark dataset: accounts (scale x 400) and event density per account."""

    scale: float
    session_events_per_account: float
    api_requests_per_account: float


# S: the shipped seeds. M: ~2,000 accounts, ~10M events, ~2M API requests. L: 10x M.
# About 34 lifecycle events per account and 1 % second deliveries come on top of the sessions.
PRESETS = {
    "S": Preset(1.0, TRACK_EVENTS_PER_ACCOUNT, API_REQUESTS_PER_ACCOUNT),
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
            write_csv(csv_path, columns)
            spec = ", ".join(f"'{c}': '{types[c]}'" for c in columns)
            self.copy(
                f"select * from read_csv('{csv_path}', header = true, auto_detect = false, "
                f"columns = {{{spec}}}, nullstr = '')",
                table,
                "00000",
                None,
            )


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
    w = simulate(seed, preset.scale, as_of)
    writer = Writer(out, as_of, memory_limit, threads)
    types = seed_column_types()
    for name, columns in w.tables.items():
        writer.text_table(name, columns, types[Path(name).stem])
    logs = chain(
        track_parts(w, seed, preset.session_events_per_account, ROWS_PER_BATCH),
        api_parts(w, seed, preset.api_requests_per_account, ROWS_PER_BATCH),
    )
    for part in logs:
        with registered(writer.con, part) as select_sql:
            writer.copy(select_sql, part.table, f"{part.index:05d}", part.held_out_column)
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
