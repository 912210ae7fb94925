"""Admission to the query workers: a bounded queue per token, served fairly.

Every path that runs warehouse SQL (GraphQL query jobs, Flight statements, the catalog's
saved-query tables) submits its work here with the principal of its request. A fixed pool of
worker threads takes the oldest waiting work of the next token in turn (round robin over tokens)
whose running count is below its share, so a token with many queries waits behind its own, never
in front of another token's; one token can never occupy every worker; and work beyond a token's
waiting bound is refused at once with a "busy" error instead of queueing without end.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, TypeVar

from saas_kpis.server.auth import Principal
from saas_kpis.server.limits import BusyError

T = TypeVar("T")


@dataclass
class _Queue:
    """One token's waiting work and how many of its pieces run now."""

    waiting: deque[tuple[Callable[[], Any], Future]] = field(default_factory=deque)
    running: int = 0
    served_at: int = 0  # when a worker last took this token's work (0: never)


class Admission:
    """A fair, bounded executor: `submit(principal, work)` returns the work's future."""

    def __init__(self, workers: int, running_per_token: int, waiting_per_token: int) -> None:
        self.running_per_token = max(1, min(running_per_token, workers))
        self.waiting_per_token = waiting_per_token
        # By the principal's name: one queue per token, whatever else a principal carries. The
        # queues are kept (there is one per configured token), so a token's turn is remembered.
        self._queues: dict[str, _Queue] = {}
        self._taken = 0
        self._ready = threading.Condition()
        self._closed = False
        self._threads = [
            threading.Thread(target=self._work, name=f"sl-query-{n}", daemon=True)
            for n in range(workers)
        ]
        for thread in self._threads:
            thread.start()

    def submit(self, principal: Principal, work: Callable[[], T]) -> Future[T]:
        """Queue `work` for `principal`; BusyError when the token already has too much waiting."""
        future: Future[T] = Future()
        with self._ready:
            queue = self._queues.setdefault(principal.name, _Queue())
            if len(queue.waiting) >= self.waiting_per_token:
                raise BusyError(
                    f"the server is busy: {principal.name} already has {len(queue.waiting)}"
                    f" queries waiting (at most {self.waiting_per_token} may wait and"
                    f" {self.running_per_token} run at once per token); retry in a moment"
                )
            queue.waiting.append((work, future))
            self._ready.notify()
        return future

    def run(self, principal: Principal, work: Callable[[], T]) -> T:
        """Run `work` for `principal` in turn and wait for it (for callers that block anyway)."""
        return self.submit(principal, work).result()

    def _next(self) -> tuple[str, Callable[[], Any], Future] | None:
        """The oldest work of the token served longest ago among those that may run more; None
        when none may. Called with the lock held."""
        ready = [
            (queue.served_at, name)
            for name, queue in self._queues.items()
            if queue.waiting and queue.running < self.running_per_token
        ]
        if not ready:
            return None
        _, name = min(ready)
        queue = self._queues[name]
        work, future = queue.waiting.popleft()
        queue.running += 1
        self._taken += 1
        queue.served_at = self._taken
        return name, work, future

    def _work(self) -> None:
        while True:
            with self._ready:
                taken = self._next()
                while taken is None and not self._closed:
                    self._ready.wait()
                    taken = self._next()
                if taken is None:
                    return
            name, work, future = taken
            try:
                if future.set_running_or_notify_cancel():
                    try:
                        future.set_result(work())
                    except BaseException as error:
                        future.set_exception(error)
            finally:
                with self._ready:
                    self._queues[name].running -= 1
                    # A slot of this token is free: a worker may now take its next work.
                    self._ready.notify_all()

    def close(self) -> None:
        """Stop the workers once the work already taken has finished."""
        with self._ready:
            self._closed = True
            self._ready.notify_all()
