"""The rows of the two event logs, events_tracks and events_api_requests, rendered once for
both writers.

A log is simulated per batch of accounts so that memory stays bounded at the largest benchmark
scale (100M events): each batch draws from its own random stream and becomes one part of the log.
With a single batch (always so when ``rows_per_batch`` is None) the world's own streams are used,
which gives the rows of the shipped seeds.

A part keeps its columns as numeric arrays (indexes into accounts, users, event names, features and
endpoints; epoch seconds) and one DuckDB query renders them with the contract's column names and
types. Both writers read that query, the CSV writer into the seed file and the Parquet writer into
Parquet parts, so the two formats cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import duckdb
import numpy as np

from saas_kpis.generate.accounts import Accounts
from saas_kpis.generate.events import ENDPOINTS, EVENT_NAMES, build_api_requests, build_tracks
from saas_kpis.generate.text import id_width
from saas_kpis.generate.users import FEATURES, Users
from saas_kpis.generate.world import STREAMS, World

EVENT_TRACKS = "events/events_tracks"
API_REQUESTS = "events/events_api_requests"
LIFECYCLE_EVENTS_PER_ACCOUNT = 40  # scripted events on top of the sessions (batch sizing only)
MULTI_BATCH_ID_WIDTH = 10  # ids of a log in several parts are numbered before its size is known


@dataclass(frozen=True)
class LogPart:
    """One batch of an event log: its numeric columns and the query that renders them as rows."""

    table: str  # <source>/<table>
    index: int  # 0-based position of the part in the log
    columns: dict[str, np.ndarray]  # read by ``select_sql`` as the relation ``batch``
    select_sql: str
    held_out_column: str  # the rows at or after the as-of day by this timestamp are the next day's

    @property
    def n_rows(self) -> int:
        """Number of rows of the part."""
        return len(next(iter(self.columns.values())))


@contextmanager
def registered(con: duckdb.DuckDBPyConnection, part: LogPart) -> Iterator[str]:
    """Make the part's columns readable as ``batch`` on ``con``; yields the query of its rows."""
    con.register("batch", part.columns)
    try:
        yield part.select_sql
    finally:
        con.unregister("batch")


def id_sql(prefix: str, column: str, width: int) -> str:
    """SQL of a zero-padded id from a 0-based number column: ``acc_00001``."""
    return f"'{prefix}_' || lpad(cast({column} + 1 as varchar), {width}, '0')"


def list_sql(values: tuple[str, ...]) -> str:
    """A DuckDB list literal of strings."""
    return "[" + ", ".join(f"'{v}'" for v in values) + "]"


def tracks_sql(event_width: int, account_width: int, user_width: int) -> str:
    """events_tracks rows from the columns of :func:`track_parts`."""
    features = tuple(f[0] for f in FEATURES)
    return f"""
        select
            {id_sql("evt", "event_number", event_width)} as event_id,
            {id_sql("acc", "account", account_width)} as account_id,
            {id_sql("usr", "usr", user_width)} as user_id,
            {list_sql(EVENT_NAMES)}[name + 1] as event_name,
            case when feature >= 0 then {list_sql(features)}[feature + 1] end as feature_name,
            cast(case when step >= 0 then step end as integer) as onboarding_step,
            make_timestamp(occurred * 1000000) as occurred_at,
            make_timestamp(received * 1000000) as received_at
        from batch
    """


def api_sql(request_width: int, account_width: int) -> str:
    """events_api_requests rows from the columns of :func:`api_parts`."""
    return f"""
        select
            {id_sql("req", "request_number", request_width)} as request_id,
            {id_sql("acc", "account", account_width)} as account_id,
            make_timestamp(occurred * 1000000) as occurred_at,
            {list_sql(ENDPOINTS)}[endpoint + 1] as endpoint,
            cast(status as integer) as http_status,
            cast(latency as integer) as latency_ms
        from batch
    """


def batch_ranges(
    n_accounts: int, rows_per_account: float, rows_per_batch: int | None
) -> list[tuple[int, int]]:
    """Account ranges of about ``rows_per_batch`` log rows each (one range if None)."""
    if rows_per_batch is None:
        return [(0, n_accounts)]
    size = max(1, int(rows_per_batch // max(rows_per_account, 1.0)))
    return [(a0, min(a0 + size, n_accounts)) for a0 in range(0, n_accounts, size)]


def batch_rng(seed: int, stream: str, batch: int) -> np.random.Generator:
    """Random stream of one batch of a log in several parts."""
    seeds = np.random.SeedSequence([seed, STREAMS.index(stream), batch])
    return np.random.default_rng(seeds)


def account_slice(w: World, a0: int, a1: int) -> tuple[Accounts, Users, np.ndarray]:
    """The accounts [a0, a1), their users (local indexes) and the global user indexes."""
    acc = w.acc
    sub_acc = Accounts(
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
    sub_users = Users(
        ids=[w.users.ids[i] for i in idx.tolist()],
        account=w.users.account[idx] - a0,
        created_sec=w.users.created_sec[idx],
        is_admin=w.users.is_admin[idx],
        first_of_account=np.searchsorted(idx, w.users.first_of_account[a0:a1]),
    )
    return sub_acc, sub_users, idx


def track_parts(
    w: World, seed: int, session_events_per_account: float, rows_per_batch: int | None
) -> Iterator[LogPart]:
    """events_tracks, one part per batch of accounts (built when the part is asked for)."""
    rows_per_account = session_events_per_account + LIFECYCLE_EVENTS_PER_ACCOUNT
    ranges = batch_ranges(w.acc.n, rows_per_account, rows_per_batch)
    account_width, user_width = id_width(w.acc.n, 5), id_width(w.users.n, 6)
    offset = 0
    for b, (a0, a1) in enumerate(ranges):
        if len(ranges) == 1:
            rng, acc, users, user_idx = w.rngs["tracks"], w.acc, w.users, np.arange(w.users.n)
        else:
            rng = batch_rng(seed, "tracks", b)
            acc, users, user_idx = account_slice(w, a0, a1)
        rows = build_tracks(
            rng, w.cal, acc, users, w.factor[a0:a1], w.week_starts, session_events_per_account
        )
        event_width = id_width(rows.n_events, 7) if len(ranges) == 1 else MULTI_BATCH_ID_WIDTH
        columns = {
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
        select_sql = tracks_sql(event_width, account_width, user_width)
        yield LogPart(EVENT_TRACKS, b, columns, select_sql, "received_at")


def api_parts(
    w: World, seed: int, api_requests_per_account: float, rows_per_batch: int | None
) -> Iterator[LogPart]:
    """events_api_requests, one part per batch of accounts (built when the part is asked for)."""
    ranges = batch_ranges(w.acc.n, api_requests_per_account, rows_per_batch)
    account_width = id_width(w.acc.n, 5)
    offset = 0
    for b, (a0, a1) in enumerate(ranges):
        if len(ranges) == 1:
            rng, acc = w.rngs["api"], w.acc
        else:
            rng, acc = batch_rng(seed, "api", b), account_slice(w, a0, a1)[0]
        rows = build_api_requests(
            rng, w.cal, acc, w.api_rate[a0:a1], w.factor[a0:a1], w.week_starts, w.inc,
            api_requests_per_account,
        )  # fmt: skip
        n = len(rows.occurred)
        request_width = id_width(n, 7) if len(ranges) == 1 else MULTI_BATCH_ID_WIDTH
        columns = {
            "request_number": np.arange(n, dtype=np.int64) + offset,
            "account": rows.account + a0,
            "occurred": rows.occurred,
            "endpoint": rows.endpoint,
            "status": rows.status,
            "latency": rows.latency,
        }
        offset += n
        select_sql = api_sql(request_width, account_width)
        yield LogPart(API_REQUESTS, b, columns, select_sql, "occurred_at")
