"""The result cache: the served layer's answers, per snapshot, bounded in memory by bytes.

An answer is keyed by the snapshot it was computed on and by the request as it is executed (the
typed `QueryRequest` after any rewrite the server applies, and its kind), so the two transports
share entries and a hit is, object for object, the answer that planning and running that request
on that snapshot returned. Snapshots are immutable, so an answer stays right for as long as its
snapshot is served; a newer snapshot has another id and never reads an older one's entries, and
those are dropped once the newer one is served (`retain`).

Identical requests that miss at the same time are computed once (single flight): the others wait
for the first one's answer, or its error. Errors are never stored.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Generic, TypeVar

from saas_kpis.semantic import QueryRequest

log = logging.getLogger(__name__)

QUERY = "query"
DIMENSION_VALUES = "dimension_values"
DEFAULT_CAPACITY_BYTES = 256 * 2**20
# Charged to every entry beyond its answer's buffers (the key, the objects around the buffers),
# so that many tiny answers are bounded too.
ENTRY_OVERHEAD_BYTES = 1024
# The counters go to the log at most this often (and at every snapshot switch).
LOG_EVERY_SECONDS = 60.0

V = TypeVar("V")


@dataclass(frozen=True)
class CacheKey:
    """What an answer depends on: the snapshot and the request exactly as it is executed."""

    snapshot_id: str
    kind: str  # QUERY or DIMENSION_VALUES
    request: QueryRequest


@dataclass(frozen=True)
class CacheStats:
    """The cache's counters since the server started, and what it holds now."""

    enabled: bool
    capacity_bytes: int
    bytes: int
    entries: int
    hits: int  # answered from a stored entry
    misses: int  # computed (with the cache disabled: every request)
    coalesced: int  # waited for an identical request that was being computed
    evictions: int  # entries dropped to stay within capacity_bytes
    dropped: int  # entries dropped because a newer snapshot is served
    oldest_snapshot: str | None  # entries of snapshots older than this are not kept


@dataclass
class _Entry(Generic[V]):
    value: V
    size: int


class ResultCache(Generic[V]):
    """A thread-safe LRU of answers bounded by `capacity_bytes` (0 disables it); `size_of`
    gives an answer's size in bytes."""

    def __init__(self, capacity_bytes: int, size_of: Callable[[V], int]) -> None:
        if capacity_bytes < 0:
            raise ValueError("the cache capacity cannot be negative")
        self.capacity_bytes = capacity_bytes
        self.size_of = size_of
        self._entries: OrderedDict[CacheKey, _Entry[V]] = OrderedDict()
        self._flights: dict[CacheKey, Future[V]] = {}
        self._lock = threading.Lock()
        self._bytes = 0
        self._hits = self._misses = self._coalesced = self._evictions = self._dropped = 0
        self._oldest_snapshot: str | None = None
        self._logged_at = time.monotonic()

    @property
    def enabled(self) -> bool:
        return self.capacity_bytes > 0

    def get(self, key: CacheKey) -> V | None:
        """The stored answer for `key` (counted as a hit), or None; a miss is counted by the
        `get_or_compute` that follows it."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            self._entries.move_to_end(key)
            self._hits += 1
        self._maybe_log()
        return entry.value

    def get_or_compute(self, key: CacheKey, compute: Callable[[], V]) -> V:
        """The stored answer for `key`, or `compute()`'s (stored when it fits), computed once
        for all the identical requests that arrive while it runs."""
        if not self.enabled:
            with self._lock:
                self._misses += 1
            self._maybe_log()
            return compute()
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
                self._hits += 1
                flight = None
                leader = False
            else:
                flight = self._flights.get(key)
                leader = flight is None
                if flight is None:
                    flight = self._flights[key] = Future()
                    self._misses += 1
                else:
                    self._coalesced += 1
        self._maybe_log()
        if entry is not None:
            return entry.value
        assert flight is not None
        if not leader:
            return flight.result()
        try:
            value = compute()
        except BaseException as error:
            with self._lock:
                del self._flights[key]
            flight.set_exception(error)
            raise
        with self._lock:
            del self._flights[key]
            self._store(key, value)
        flight.set_result(value)
        return value

    def _store(self, key: CacheKey, value: V) -> None:
        """Keep an answer (under the lock), evicting the least recently used to make room."""
        if self._oldest_snapshot is not None and key.snapshot_id < self._oldest_snapshot:
            return  # computed on a snapshot that is no longer served: nobody will ask again
        size = self.size_of(value) + ENTRY_OVERHEAD_BYTES
        if size > self.capacity_bytes:
            log.debug("result cache: an answer of %d bytes exceeds the capacity; not kept", size)
            return
        self._entries[key] = _Entry(value, size)
        self._bytes += size
        while self._bytes > self.capacity_bytes:
            _, evicted = self._entries.popitem(last=False)
            self._bytes -= evicted.size
            self._evictions += 1

    def retain(self, snapshot_id: str) -> int:
        """Drop the entries of snapshots older than `snapshot_id` (now served), and keep none of
        them from now on; returns how many were dropped."""
        with self._lock:
            if self._oldest_snapshot is None or snapshot_id > self._oldest_snapshot:
                self._oldest_snapshot = snapshot_id
            old = [key for key in self._entries if key.snapshot_id < self._oldest_snapshot]
            for key in old:
                self._bytes -= self._entries.pop(key).size
            self._dropped += len(old)
        self.log_stats(f"serving snapshot {snapshot_id}, dropped {len(old)} older entries")
        return len(old)

    def stats(self) -> CacheStats:
        with self._lock:
            return CacheStats(
                enabled=self.enabled,
                capacity_bytes=self.capacity_bytes,
                bytes=self._bytes,
                entries=len(self._entries),
                hits=self._hits,
                misses=self._misses,
                coalesced=self._coalesced,
                evictions=self._evictions,
                dropped=self._dropped,
                oldest_snapshot=self._oldest_snapshot,
            )

    def log_stats(self, why: str) -> None:
        s = self.stats()
        self._logged_at = time.monotonic()
        log.info(
            "result cache (%s): hits %d, misses %d, coalesced %d, %d entries, %.1f of %.1f MiB, "
            "evictions %d",
            why,
            s.hits,
            s.misses,
            s.coalesced,
            s.entries,
            s.bytes / 2**20,
            s.capacity_bytes / 2**20,
            s.evictions,
        )

    def _maybe_log(self) -> None:
        if time.monotonic() - self._logged_at >= LOG_EVERY_SECONDS:
            self.log_stats("periodic")
