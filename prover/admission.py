"""Admission in front of the expensive work: a bounded number running, a bounded queue.

A goal that misses the cache costs a search (up to its whole timeout) and a Coq check.
Deciding whether to take it on must happen before that work, not after it: otherwise a
burst runs every search and only then finds no Coq session free. `running` requests work
at once (one per Coq session, so an admitted request does not wait for one); up to `queue`
more wait, each at most `wait_s`; anything beyond that is refused at once with
`PoolSaturated` (429 + Retry-After), in microseconds rather than after seconds of search.
"""

from __future__ import annotations

import contextlib
import threading
import time
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
        self._cond = threading.Condition()
        self._active = 0
        self._waiting = 0

    @contextmanager
    def slot(self) -> Iterator[None]:
        with self._queue_timer():
            self._enter()
        try:
            yield
        finally:
            with self._cond:
                self._active -= 1
                # One slot freed wakes one waiter: waking them all had each of them
                # contend for the GIL only to find the slot taken.
                self._cond.notify()

    def _enter(self) -> None:
        with self._cond:
            if self._active < self.running and not self._waiting:
                self._active += 1
                return
            if self._waiting >= self.queue:
                raise PoolSaturated(
                    f"{self._active} goals are being decided and {self._waiting} are waiting "
                    f"(PXL_POOL_SIZE={self.running}, PXL_MAX_QUEUE={self.queue})"
                )
            self._waiting += 1
            deadline = time.monotonic() + self.wait_s
            try:
                while self._active >= self.running:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        raise PoolSaturated(
                            f"waited {self.wait_s:g} s (PXL_POOL_WAIT) behind "
                            f"{self._active} goals being decided"
                        )
                    self._cond.wait(remaining)
                self._active += 1
            finally:
                self._waiting -= 1

    def stats(self) -> dict[str, int]:
        with self._cond:
            return {"running": self._active, "waiting": self._waiting}
