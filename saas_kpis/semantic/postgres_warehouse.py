"""Serving from PostgreSQL: MetricFlow plans for PostgreSQL, a pool of read-only connections runs
the SQL and returns Arrow.

The DuckDB path serves a frozen copy of the warehouse; this one queries the warehouse that dbt
built, so its connections are made safe to hand to a server: every session is read-only
(`default_transaction_read_only`, set as a connection option, and psycopg2's read-only session),
every statement has a `statement_timeout`, and the session time zone is UTC so that timestamps
mean the same whatever the server's default. The connections come from a
`psycopg2.pool.ThreadedConnectionPool` with as many slots as connections: a query waits for a
free slot rather than failing when all are busy, and a connection that broke (a terminated
backend, a restarted server) is closed, never put back, and the query is run once more on a new
connection (a read-only query can be repeated safely).

Where to connect comes from the dbt profile (`connection_from_profile`), rendered from the
environment as dbt renders it, so the server holds no credentials of its own.
"""

from __future__ import annotations

import datetime as dt
import decimal
import logging
import os
import threading
from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg2
import psycopg2.errors
import psycopg2.extensions
import pyarrow as pa
from metricflow.protocols.sql_client import SqlClient, SqlEngine
from metricflow.sql.render.postgres import PostgresSQLSqlPlanRenderer
from metricflow_semantics.sql.sql_bind_parameters import SqlBindParameterSet
from psycopg2.pool import ThreadedConnectionPool

from saas_kpis.semantic.query_control import QueryControl
from saas_kpis.semantic.warehouses import PlanningClient, quoted_relation

log = logging.getLogger(__name__)

NO_PARAMETERS = SqlBindParameterSet()
APPLICATION_NAME = "saas_kpis_semantic_layer"
# PostgreSQL type OIDs (pg_type) and the Arrow type of their values; others arrive as text.
ARROW_TYPES: dict[int, pa.DataType] = {
    16: pa.bool_(),
    20: pa.int64(),
    21: pa.int16(),
    23: pa.int32(),
    26: pa.int64(),
    700: pa.float32(),
    701: pa.float64(),
    25: pa.string(),
    1042: pa.string(),
    1043: pa.string(),
    19: pa.string(),
    1082: pa.date32(),
    1083: pa.time64("us"),
    1114: pa.timestamp("us"),
    # timestamptz: what date_trunc() of a date returns, so metric_time at every grain. Sessions
    # run in UTC, and the values are served as UTC timestamps without a zone, which is what the
    # DuckDB path gives for the same query (its date_trunc returns a plain timestamp).
    1184: pa.timestamp("us"),
}
NUMERIC_OID = 1700
MAX_DECIMAL_PRECISION = 38
QUERY_CANCELED = "57014"


class WarehouseQueryError(RuntimeError):
    """A query failed in the warehouse; the message is about the query, fit for a client."""


class StatementTimeoutError(WarehouseQueryError, TimeoutError):
    """A query ran longer than the statement timeout and PostgreSQL cancelled it."""


class WarehouseBusyError(WarehouseQueryError):
    """Every connection stayed busy for as long as a query may wait for one."""


class _BrokenConnectionError(Exception):
    """The connection died under the query (it has been discarded); the query may run again."""

    def __init__(self, error: psycopg2.Error) -> None:
        super().__init__(str(error))
        self.error = error


class _ServingConnection(psycopg2.extensions.connection):
    """A pooled connection that remembers whether its session has been set up."""

    ready = False


@dataclass(frozen=True)
class PoolSettings:
    """How many connections serve queries and how long one statement may run."""

    size: int = 4
    statement_timeout_seconds: float = 60.0
    # How the server's sessions are named in pg_stat_activity.
    application_name: str = APPLICATION_NAME

    def __post_init__(self) -> None:
        if self.size < 1:
            raise ValueError(f"the PostgreSQL pool needs at least one connection, not {self.size}")
        if self.statement_timeout_seconds <= 0:
            raise ValueError(
                f"the statement timeout must be positive, not {self.statement_timeout_seconds}"
            )


@dataclass(frozen=True)
class PostgresConnection:
    """psycopg2's connection keywords of a profile target (repr without the password)."""

    keywords: dict[str, Any] = field(repr=False)
    role: str | None = None

    @property
    def description(self) -> str:
        return (
            f"{self.keywords.get('user')}@{self.keywords.get('host')}:"
            f"{self.keywords.get('port')}/{self.keywords.get('dbname')}"
        )


def render_profile_target(profiles_dir: Path, profile: str, target: str) -> dict[str, Any]:
    """A dbt profile target's settings, rendered from this environment as dbt renders them."""
    from dbt.config.profile import Profile, read_profile
    from dbt.config.renderer import ProfileRenderer
    from dbt_common.context import set_invocation_context

    # dbt's env_var() reads the environment of the invocation context (a context variable).
    set_invocation_context(dict(os.environ))
    raw_profiles = read_profile(str(profiles_dir))
    if profile not in raw_profiles:
        raise LookupError(f"no profile {profile!r} in {profiles_dir}")
    _, data = Profile.render_profile(raw_profiles[profile], profile, target, ProfileRenderer({}))
    return data


def connection_from_profile(profiles_dir: Path, profile: str, target: str) -> PostgresConnection:
    """The connection of a dbt profile's PostgreSQL target, rendered from this environment.

    The same keywords as dbt-postgres opens its connections with, so the server reaches the
    warehouse exactly as `dbt build` did.
    """
    from dbt.adapters.postgres import PostgresCredentials

    data = render_profile_target(profiles_dir, profile, target)
    if data.get("type") != "postgres":
        raise ValueError(f"profile target {target!r} is {data.get('type')!r}, not postgres")
    credentials = PostgresCredentials.from_dict(
        {key: value for key, value in data.items() if key not in ("type", "threads")}
    )
    keywords: dict[str, Any] = {
        "dbname": credentials.database,
        "user": credentials.user,
        "host": credentials.host,
        "password": credentials.password,
        "port": credentials.port,
        "connect_timeout": credentials.connect_timeout,
    }
    for name in ("keepalives_idle", "sslmode", "sslcert", "sslkey", "sslrootcert"):
        value = getattr(credentials, name, None)
        if value:
            keywords[name] = value
    if credentials.search_path:
        keywords["search_path"] = credentials.search_path
    return PostgresConnection(keywords=keywords, role=credentials.role)


def _arrow_type(column: Any) -> pa.DataType:
    if column.type_code == NUMERIC_OID:
        # numeric(p, s) keeps its exact type, as DuckDB's DECIMAL does; an unconstrained numeric
        # (what sum() of bigint returns) has no scale Arrow could use, so it is served as double.
        precision, scale = column.precision, column.scale
        if precision is not None and 0 < precision <= MAX_DECIMAL_PRECISION:
            return pa.decimal128(precision, scale or 0)
        return pa.float64()
    return ARROW_TYPES.get(column.type_code, pa.string())


def _arrow_values(values: list[Any], arrow_type: pa.DataType) -> pa.Array:
    if pa.types.is_floating(arrow_type):
        values = [None if v is None else float(v) for v in values]
    elif pa.types.is_decimal(arrow_type):
        values = [None if v is None else decimal.Decimal(v) for v in values]
    elif pa.types.is_string(arrow_type):
        values = [v if v is None or isinstance(v, str) else str(v) for v in values]
    elif pa.types.is_timestamp(arrow_type):
        # timestamptz values, in UTC without the zone (see ARROW_TYPES); timestamps as they are.
        values = [
            v.astimezone(dt.UTC).replace(tzinfo=None)
            if isinstance(v, dt.datetime) and v.tzinfo is not None
            else v
            for v in values
        ]
    return pa.array(values, type=arrow_type)


def arrow_table(description: Sequence[Any], rows: list[tuple]) -> pa.Table:
    """A result as Arrow, typed from the columns' PostgreSQL types (not from the values, so an
    empty result or a column of NULLs keeps its type)."""
    columns = list(zip(*rows, strict=True)) if rows else [()] * len(description)
    fields = [pa.field(column.name, _arrow_type(column)) for column in description]
    arrays = [
        _arrow_values(list(values), f.type) for values, f in zip(columns, fields, strict=True)
    ]
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


class PostgresPool:
    """Read-only PostgreSQL connections with a statement timeout, shared by concurrent queries."""

    def __init__(self, connection: PostgresConnection, settings: PoolSettings) -> None:
        self.connection = connection
        self.settings = settings
        self._pool: ThreadedConnectionPool | None = None
        self._pool_lock = threading.Lock()
        # The pool raises when all its connections are out; the semaphore makes a query wait.
        self._slots = threading.BoundedSemaphore(settings.size)

    def _options(self) -> str:
        timeout_ms = max(1, round(self.settings.statement_timeout_seconds * 1000))
        options = [
            "-c default_transaction_read_only=on",
            f"-c statement_timeout={timeout_ms}",
            "-c TimeZone=UTC",
        ]
        search_path = self.connection.keywords.get("search_path")
        if search_path:
            options.append("-c search_path=" + search_path.replace(" ", "\\ "))
        return " ".join(options)

    def _threaded_pool(self) -> ThreadedConnectionPool:
        """The pool, opened on first use: a warehouse that is down when a snapshot opens is
        reached as soon as it is back, instead of the snapshot being refused."""
        with self._pool_lock:
            if self._pool is None:
                keywords = {k: v for k, v in self.connection.keywords.items() if k != "search_path"}
                try:
                    # minconn = maxconn: psycopg2 keeps no more than minconn idle connections.
                    self._pool = ThreadedConnectionPool(
                        self.settings.size,
                        self.settings.size,
                        options=self._options(),
                        application_name=self.settings.application_name,
                        connection_factory=_ServingConnection,
                        **keywords,
                    )
                except psycopg2.Error as error:
                    raise WarehouseQueryError(
                        f"cannot connect to the warehouse ({self.connection.description}): "
                        f"{_first_line(error)}"
                    ) from None
            return self._pool

    def _prepare(self, connection: _ServingConnection) -> None:
        if not connection.ready:
            connection.set_session(readonly=True, autocommit=True)
            if self.connection.role:
                with connection.cursor() as cursor:
                    cursor.execute("set role %s", (self.connection.role,))
            connection.ready = True

    def _run(self, sql: str, control: QueryControl | None) -> pa.Table:
        pool = self._threaded_pool()
        try:
            connection: _ServingConnection = pool.getconn()
        except psycopg2.Error as error:  # a new connection, refused
            raise WarehouseQueryError(
                f"cannot connect to the warehouse ({self.connection.description}): "
                f"{_first_line(error)}"
            ) from None
        broken = False
        try:
            self._prepare(connection)
            # A cancel interrupts the statement on its connection; the session's
            # statement_timeout, not a timer here, stops a slow one.
            running = control.running(connection.cancel, timed=False) if control else nullcontext()
            with running, connection.cursor() as cursor:
                cursor.execute(sql)
                if cursor.description is None:
                    return pa.table({})
                return arrow_table(cursor.description, cursor.fetchall())
        except psycopg2.Error as error:
            broken = connection.closed != 0
            if broken:
                raise _BrokenConnectionError(error) from None
            raise
        finally:
            # A broken connection is closed, not pooled: the next query gets a new one.
            pool.putconn(connection, close=broken or connection.closed != 0)

    def query(self, sql: str, control: QueryControl | None = None) -> pa.Table:
        """Run one statement, stoppable by `control`; raise WarehouseQueryError (or
        StatementTimeoutError) on failure, or the control's reason when it stopped it."""
        wait = self.settings.statement_timeout_seconds
        if not self._slots.acquire(timeout=wait):
            raise WarehouseBusyError(
                f"all {self.settings.size} warehouse connections stayed busy for {wait:g} s; "
                "retry later"
            )
        try:
            # When the server restarts, every idle connection of the pool is dead: each is
            # discarded in turn, and by the last attempt the pool has to open a new one.
            for _ in range(self.settings.size):
                try:
                    return self._run(sql, control)
                except _BrokenConnectionError as broken:
                    log.warning("a warehouse connection broke (%s); replaced", _first_line(broken))
            try:
                return self._run(sql, control)
            except _BrokenConnectionError as again:
                raise WarehouseQueryError(
                    f"lost the connection to the warehouse: {_first_line(again.error)}"
                ) from None
        except psycopg2.Error as error:
            raise self._client_error(error) from None
        finally:
            self._slots.release()

    def _client_error(self, error: psycopg2.Error) -> WarehouseQueryError:
        if error.pgcode == QUERY_CANCELED and "statement timeout" in str(error):
            return StatementTimeoutError(
                "query cancelled: it ran longer than the statement timeout of "
                f"{self.settings.statement_timeout_seconds:g} s"
            )
        return WarehouseQueryError(f"query failed in the warehouse: {_first_line(error)}")

    def close(self) -> None:
        with self._pool_lock:
            if self._pool is not None:
                self._pool.closeall()
                self._pool = None


class PostgresWarehouse:
    """A PostgreSQL warehouse served read-only through a shared connection pool."""

    def __init__(self, pool: PostgresPool) -> None:
        self.pool = pool
        self._client = PlanningClient(
            SqlEngine.POSTGRES, PostgresSQLSqlPlanRenderer(), lambda sql: pool.query(sql)
        )

    @property
    def sql_client(self) -> SqlClient:
        return self._client  # type: ignore[return-value]

    def query(self, sql: str, control: QueryControl | None = None) -> pa.Table:
        # PostgreSQL's own statement_timeout stops a slow query (the pool's setting, the same as
        # the server's), a cancel interrupts it; the result caps apply once it has arrived.
        result = self.pool.query(sql, control)
        if control is not None:
            control.check()
            control.check_size(result.num_rows, result.nbytes)
        return result

    def execute(self, sql: str) -> None:
        raise PermissionError("the semantic layer is read-only on a served PostgreSQL warehouse")

    def dry_run(self, sql: str) -> None:
        self._client.dry_run(sql)

    def relation(self, schema: str, identifier: str | None = None) -> str:
        return quoted_relation(schema, identifier)

    def close(self) -> None:
        """Leaves the pool open: the next snapshot of the same warehouse goes on using it."""
