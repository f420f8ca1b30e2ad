"""Admission in front of the expensive work: a bounded number running, a bounded queue.

A goal that misses the cache costs a search (up to its whole timeout) and a Coq check.
Deciding whether to take it on must happen before that work, not after it: otherwise a
burst runs every search and only then finds no Coq session free. `running` requests work
at once (one per Coq session, so an admitted request does not wait for one); up to `queue`
more wait, each at most `wait_s`; anything beyond that is refused at once with
`PoolSaturated` (429 + Retry-After), in microseconds rather than after seconds of search.
Waiters are served in order: a freed slot passes straight to the first of them (waking that
one alone), so a request arriving in between neither jumps the queue nor is refused for a
queue that is about to move.
"""

from __future__ import annotations

import contextlib
import threading
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

from pxl_prover.pool import PoolSaturated


class Admission:
    """Thread-safe; `slot()` is a context manager around the expensive part of a request."""

    def __init__(
        self,
        running: int,
        queue: int,
        wait_s: float,
        queue_timer: Callable[[], AbstractContextManager[Any]] = contextlib.nullcontext,
    ) -> None:
        self.running = running
        self.queue = queue
        self.wait_s = wait_s
        self._queue_timer = queue_timer  # times each wait for a slot (metrics)
        self._lock = threading.Lock()
        self._active = 0  # slots held (a slot passed to a waiter stays counted)
        self._waiters: deque[threading.Lock] = deque()  # each held until its turn comes

    @contextmanager
    def slot(self) -> Iterator[None]:
        with self._queue_timer():
            self._enter()
        try:
            yield
        finally:
            with self._lock:
                if self._waiters:
                    self._waiters.popleft().release()  # the slot passes on
                else:
                    self._active -= 1

    def _enter(self) -> None:
        with self._lock:
            if self._active < self.running and not self._waiters:
                self._active += 1
                return
            if len(self._waiters) >= self.queue:
                raise PoolSaturated(
                    f"{self._active} goals are being decided and {len(self._waiters)} are "
                    f"waiting (PXL_POOL_SIZE={self.running}, PXL_MAX_QUEUE={self.queue})"
                )
            turn = threading.Lock()
            turn.acquire()
            self._waiters.append(turn)
        if turn.acquire(timeout=self.wait_s):
            return
        with self._lock:
            if turn not in self._waiters:
                return  # the slot was passed just as the wait ran out
            self._waiters.remove(turn)
            active = self._active
        raise PoolSaturated(
            f"waited {self.wait_s:g} s (PXL_POOL_WAIT) behind {active} goals being decided"
        )

    def stats(self) -> dict[str, int]:
        with self._lock:
            return {"running": self._active, "waiting": len(self._waiters)}
