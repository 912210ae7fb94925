"""Bounds on one warehouse query while it runs: a statement timeout, a cancel switch and caps on
the rows and bytes of its result.

A `QueryControl` is made by whoever asks for a query (the server, per request) and handed to the
warehouse, which registers the DuckDB cursor it runs on; a timer or a `cancel()` from another
thread then interrupts that cursor, so a runaway query frees its thread instead of finishing
unseen. The caps are checked batch by batch while the result is read, so an oversized result is
refused after reading at most one batch past the cap rather than after materialising all of it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import duckdb
import pyarrow as pa

# Rows per Arrow batch read from DuckDB: small enough that a cap overshoots by little.
BATCH_ROWS = 8192


@dataclass(frozen=True)
class QueryBounds:
    """What a query may take: seconds of warehouse time and the rows and bytes of its result
    (None: no bound)."""

    timeout_seconds: float | None = None
    max_rows: int | None = None
    max_bytes: int | None = None


class QueryBoundError(Exception):
    """A query stopped by one of its bounds; the message is meant for the client."""


class QueryTimeoutError(QueryBoundError):
    def __init__(self, seconds: float) -> None:
        super().__init__(
            f"the query ran longer than the statement timeout of {seconds:g} s and was stopped;"
            " narrow it with a filter, fewer group-bys or a coarser grain"
        )


class QueryCancelledError(QueryBoundError):
    def __init__(self) -> None:
        super().__init__("query was cancelled")


class ResultTooLargeError(QueryBoundError):
    def __init__(self, what: str, cap: int) -> None:
        super().__init__(
            f"the result is larger than the server's cap of {cap:,} {what};"
            " add a where filter or a limit, or group by fewer or coarser items"
        )


class QueryControl:
    """The bounds of one query and the switch that stops it (thread-safe)."""

    def __init__(self, bounds: QueryBounds | None = None) -> None:
        self.bounds = bounds or QueryBounds()
        self._lock = threading.Lock()
        # How to stop the statement running now (a DuckDB cursor's or a PostgreSQL connection's).
        self._interrupt: Callable[[], None] | None = None
        self._stopped_by: QueryBoundError | None = None

    @property
    def cancelled(self) -> bool:
        return isinstance(self._stopped_by, QueryCancelledError)

    def cancel(self) -> None:
        """Stop the query: interrupt it if it runs, refuse it if it has not started yet."""
        self._stop(QueryCancelledError())

    def check(self) -> None:
        """Raise the reason the query was stopped, if it was."""
        if self._stopped_by is not None:
            raise self._stopped_by

    def _stop(self, reason: QueryBoundError) -> None:
        with self._lock:
            if self._stopped_by is None:
                self._stopped_by = reason
            if self._interrupt is not None:
                self._interrupt()

    @contextmanager
    def running(self, interrupt: Callable[[], None], *, timed: bool = True) -> Iterator[None]:
        """While a statement runs: `cancel()`, and with `timed` the statement timeout, call
        `interrupt`; an error the interrupted statement raises is replaced by the reason."""
        with self._lock:
            self._interrupt = interrupt
        self.check()
        timeout = self.bounds.timeout_seconds if timed else None
        timer = None
        if timeout is not None:
            timer = threading.Timer(timeout, self._stop, args=(QueryTimeoutError(timeout),))
            timer.daemon = True
            timer.start()
        try:
            yield
        except Exception:
            # An interrupt surfaces as the engine's error (or Arrow's), depending on when it
            # lands; the client is told why the query was stopped instead.
            self.check()
            raise
        finally:
            if timer is not None:
                timer.cancel()
            with self._lock:
                self._interrupt = None

    def read_duckdb(self, cursor: duckdb.DuckDBPyConnection, sql: str) -> pa.Table:
        """Run `sql` on `cursor` (which the caller owns) within the bounds, as an Arrow table."""
        with self.running(cursor.interrupt):
            reader = cursor.execute(sql).to_arrow_reader(BATCH_ROWS)
            return self.read_capped(reader)

    def read_capped(self, reader: pa.RecordBatchReader) -> pa.Table:
        """All batches of `reader`, refused as soon as they pass the row or byte cap."""
        batches, rows, size = [], 0, 0
        for batch in reader:
            rows += batch.num_rows
            size += batch.nbytes
            self.check_size(rows, size)
            batches.append(batch)
        self.check()
        return pa.Table.from_batches(batches, schema=reader.schema)

    def check_size(self, rows: int, size: int) -> None:
        if self.bounds.max_rows is not None and rows > self.bounds.max_rows:
            raise ResultTooLargeError("rows", self.bounds.max_rows)
        if self.bounds.max_bytes is not None and size > self.bounds.max_bytes:
            raise ResultTooLargeError("bytes", self.bounds.max_bytes)
