"""Flight results between GetFlightInfo and DoGet: kept for a while, within a byte budget.

Flight SQL computes a result when the client asks for its FlightInfo and hands it over when the
client redeems the ticket; a client that never redeems would otherwise leave the table in memory.
Each result is kept at most `ttl_seconds`, and all of them together at most `max_bytes`: a new
result that does not fit evicts the oldest result of the token holding the most pending bytes,
so a token that piles up unfetched results loses its own first, while another token's result,
fetched a few milliseconds after it was made, is not pushed out by the pile. (Refusing new
results instead would let one token's pile make the server busy for everyone until it expired.)
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

import pyarrow as pa

from saas_kpis.server.auth import Principal


@dataclass(frozen=True)
class Pending:
    table: pa.Table
    principal: Principal
    size: int
    expires_at: float


class PendingResults:
    """Tables by handle, each taken once, expiring after `ttl_seconds`, `max_bytes` in total."""

    def __init__(self, ttl_seconds: float, max_bytes: int) -> None:
        self.ttl_seconds = ttl_seconds
        self.max_bytes = max_bytes
        self._items: OrderedDict[bytes, Pending] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        # Expired results are dropped by a sweeper too, so an idle server does not hold them.
        self._sweeper = threading.Thread(target=self._sweep, name="pending-results", daemon=True)
        self._sweeper.start()

    @property
    def total_bytes(self) -> int:
        return self._bytes

    def put(self, handle: bytes, table: pa.Table, principal: Principal) -> None:
        size = table.get_total_buffer_size()
        with self._lock:
            self._expire(time.monotonic())
            while self._items and self._bytes + size > self.max_bytes:
                self._evict_from_largest_holder()
            self._items[handle] = Pending(
                table, principal, size, time.monotonic() + self.ttl_seconds
            )
            self._bytes += size

    def take(self, handle: bytes, principal: Principal) -> pa.Table | None:
        """The result of a handle, once, for the principal it was computed for; None if it is
        unknown, expired, evicted or another token's (a scoped token must not read an answer
        computed under another scope, even with a leaked handle)."""
        with self._lock:
            self._expire(time.monotonic())
            pending = self._items.get(handle)
            if pending is None or pending.principal.name != principal.name:
                return None
            del self._items[handle]
            self._bytes -= pending.size
            return pending.table

    def stop(self) -> None:
        self._stopped.set()

    def _expire(self, now: float) -> None:
        # Items are in insertion order with one TTL, so the expired ones are at the front.
        while self._items:
            handle, pending = next(iter(self._items.items()))
            if pending.expires_at > now:
                return
            del self._items[handle]
            self._bytes -= pending.size

    def _evict_from_largest_holder(self) -> None:
        held: dict[str, int] = {}
        for pending in self._items.values():
            held[pending.principal.name] = held.get(pending.principal.name, 0) + pending.size
        largest = max(held, key=held.__getitem__)
        handle = next(h for h, p in self._items.items() if p.principal.name == largest)
        self._bytes -= self._items.pop(handle).size

    def _sweep(self) -> None:
        interval = max(0.5, min(self.ttl_seconds / 2, 30.0))
        while not self._stopped.wait(interval):
            with self._lock:
                self._expire(time.monotonic())
