"""A pool of warm Coq sessions that is itself a checker (`kernel_hash`, `check`).

Requests borrow a session for a bounded wait (then `PoolSaturated`, which the HTTP layer
turns into 429 + Retry-After; `PoolUnavailable` when no session is alive or starting). A
session that dies, hangs or passes its memory limit is dropped and replaced in the
background without touching other requests; a check whose session died is retried once on
another session, unless the session died of memory: that certificate is remembered and
refused from then on, so one goal cannot kill session after session. A session the kernel's
OOM killer ended (the pod's memory cgroup was full: maybe the other sessions' doing) gets
that one retry too; killed a second time, the certificate is remembered in the same way.
A session whose check ran into its RLIMIT_AS (Coq reports "Out of memory" and keeps going,
with its heap in an unknown state) is replaced after answering.
Sessions are recycled after `max_uses` checks (one at a time, each serving until its
successor is up), so slow leaks in a long-lived coqtop cannot accumulate. The lock is never
held while Coq runs, so `stats()` (behind /health) never waits for a busy pool.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any, Protocol

from pxl_prover.sessions import SessionError, SessionKilled, SessionOutOfMemory, SessionTimeout

log = logging.getLogger(__name__)

WATCH_INTERVAL_S = 1.0
MAX_REMEMBERED_KILLERS = 1024
MAX_RESPAWN_BACKOFF_S = 30.0


class Session(Protocol):
    uses: int
    pid: int | None

    def check(self, source: str, theorem: str, timeout_s: float) -> Any: ...

    def alive(self) -> bool: ...

    def close(self) -> None: ...


SessionFactory = Callable[[Any], Session]


class PoolError(Exception):
    """The pool could not run a check; the request may be retried."""

    retry_after_s: int = 1


class PoolSaturated(PoolError):
    """Every session stayed busy for the whole bounded wait."""


class PoolUnavailable(PoolError):
    """No session is alive (kernel not loaded, sessions crashing, shutting down)."""

    retry_after_s = 5


class SessionPool:
    """`size` sessions of one compiled kernel; thread-safe."""

    def __init__(
        self,
        kernel: Any,
        size: int,
        *,
        session_factory: SessionFactory,
        acquire_timeout_s: float = 2.0,
        max_uses: int = 500,
        on_restart: Callable[[str], None] | None = None,
        queue_timer: Callable[[], AbstractContextManager[Any]] = contextlib.nullcontext,
    ) -> None:
        self.kernel = kernel
        self.kernel_hash: str = kernel.hash
        self.size = size
        self.acquire_timeout_s = acquire_timeout_s
        self.max_uses = max_uses
        self._factory = session_factory
        self._on_restart = on_restart or (lambda reason: None)
        self._queue_timer = queue_timer  # times each wait for a session (metrics)
        self._cond = threading.Condition()
        self._idle: deque[Session] = deque()
        self._busy: set[Session] = set()
        self._starting = 0
        self._closed = False
        self._spawn_failures = 0
        self._retiring: Session | None = None  # worn out, serving until its successor is up
        self._retired: set[Session] = set()  # successor arrived while it was busy
        self.last_error: str | None = None
        self.restarts = 0
        self._killers: OrderedDict[str, None] = OrderedDict()  # certificates that ran Coq OOM
        self._watcher = threading.Thread(target=self._watch, name="pxl-pool-watch", daemon=True)

    # --- lifecycle ----------------------------------------------------------------------

    def start(self) -> None:
        """Start every session in the background and the watcher that heals idle ones."""
        with self._cond:
            for _ in range(self.size):
                self._spawn_locked(old=None, delay_s=0.0)
        self._watcher.start()

    def wait_until_alive(self, timeout_s: float, count: int = 1) -> bool:
        """Block until at least `count` sessions are alive (start-up), or the timeout."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while len(self._idle) + len(self._busy) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self._closed:
                    return False
                self._cond.wait(remaining)
            return True

    def close(self, timeout_s: float = 10.0) -> None:
        """Stop lending, wait for checks in flight (bounded), and end every coqtop."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            self._closed = True
            self._cond.notify_all()
            while self._busy and time.monotonic() < deadline:
                self._cond.wait(deadline - time.monotonic())
            sessions = [*self._idle, *self._busy]
            self._idle.clear()
        for session in sessions:
            _close_quietly(session)

    # --- the checker interface -----------------------------------------------------------

    def check(self, source: str, theorem: str, timeout_s: float) -> Any:
        """Check on a borrowed session; one retry if that session died under the check,
        unless it died of memory: that certificate would kill the next one too, so it is
        remembered and refused (SessionOutOfMemory) without a session from then on."""
        digest = hashlib.sha256(source.encode()).hexdigest()
        if digest in self._killers:
            raise SessionOutOfMemory("this certificate already ran a Coq session out of memory")
        for attempt in (1, 2):
            with self._queue_timer():
                session = self._acquire(time.monotonic() + self.acquire_timeout_s)
            try:
                result = session.check(source, theorem, timeout_s)
            except SessionTimeout:
                self._release(session, reason="timeout")
                raise
            except SessionOutOfMemory:
                self._release(session, reason="memory")
                log.warning("Coq session %s ran out of memory during a check", session.pid)
                self._remember_killer(digest)
                raise
            except SessionKilled as exc:
                self._release(session, reason="memory")
                log.warning("Coq session %s was killed (out of memory) during a check", session.pid)
                if attempt == 2:
                    self._remember_killer(digest)
                    raise SessionOutOfMemory(
                        "Coq was killed for memory twice checking this certificate"
                    ) from exc
                continue
            except SessionError as exc:
                self._release(session, reason="died")
                log.warning("Coq session %s died during a check (%s)", session.pid, exc)
                if attempt == 2:
                    raise PoolUnavailable("the Coq session died twice during this check") from exc
                continue
            except BaseException:
                self._release(session, reason="error")
                raise
            self._release(session, reason="memory" if result.out_of_memory else None)
            return result
        raise AssertionError("unreachable")

    def _remember_killer(self, digest: str) -> None:
        with self._cond:
            self._killers[digest] = None
            while len(self._killers) > MAX_REMEMBERED_KILLERS:
                self._killers.popitem(last=False)

    # --- observation --------------------------------------------------------------------

    def stats(self) -> dict[str, Any]:
        """The /health `session_pool` object (plus a few extras)."""
        with self._cond:
            live = len(self._idle) + len(self._busy)
            busy = len(self._busy)
            starting = self._starting
        return {
            "total_sessions": live + starting,
            "active_sessions": live,
            "busy_sessions": busy,
            "max_pool_size": self.size,
            "utilization_rate": round(busy / self.size, 3),
            "starting_sessions": starting,
            "restarts": self.restarts,
        }

    def alive_count(self) -> int:
        with self._cond:
            return sum(1 for s in self._idle if s.alive()) + len(self._busy)

    def serviceable(self) -> bool:
        """A session is alive, or a replacement is starting (so a request would wait for
        it rather than fail): what readiness asks, so one replacement is no flap."""
        with self._cond:
            return self._starting > 0 or any(s.alive() for s in self._idle) or bool(self._busy)

    def pids(self, *, busy_only: bool = False) -> list[int]:
        """Process ids of the live sessions (or of those checking right now)."""
        with self._cond:
            sessions = self._busy if busy_only else (*self._idle, *self._busy)
            return [s.pid for s in sessions if s.pid is not None]

    # --- internals ----------------------------------------------------------------------

    def _acquire(self, deadline: float) -> Session:
        with self._cond:
            while True:
                if self._closed:
                    raise PoolUnavailable("the server is shutting down")
                while self._idle:
                    session = self._idle.popleft()
                    if session.alive():
                        self._busy.add(session)
                        return session
                    self._replace_locked(session, "died")
                if not self._busy and not self._starting:
                    raise PoolUnavailable(self.last_error or "no Coq session is alive")
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise PoolSaturated(
                        f"all {self.size} Coq sessions stayed busy for {self.acquire_timeout_s:g} s"
                    )
                self._cond.wait(remaining)

    def _release(self, session: Session, reason: str | None) -> None:
        """Return a session; a failed or worn-out one is replaced instead (one that died while
        idle is found when next acquired: no `waitpid` per request)."""
        with self._cond:
            self._busy.discard(session)
            if self._closed or session in self._retired:
                self._retired.discard(session)
                self._cond.notify_all()
                threading.Thread(target=_close_quietly, args=(session,), daemon=True).start()
                return
            if reason is None and session.uses >= self.max_uses and self._retiring is None:
                self._recycle_locked(session)
            if reason is None:
                self._idle.append(session)
            else:
                self._replace_locked(session, reason)
            self._cond.notify_all()

    def _recycle_locked(self, session: Session) -> None:
        """Start a successor for a worn-out session, which serves on until it is up: one at
        a time, so recycling never takes capacity away (all sessions reach `max_uses`
        together under even load, and replacing them at once would stall every request)."""
        self._retiring = session
        self.restarts += 1
        self._on_restart("recycled")
        self._starting += 1
        threading.Thread(
            target=self._spawn_successor, name="pxl-session-spawn", daemon=True
        ).start()

    def _spawn_successor(self) -> None:
        try:
            successor: Session | None = None if self._closed else self._factory(self.kernel)
        except Exception as exc:
            with self._cond:
                self._starting -= 1
                self._retiring = None  # it keeps serving; the next release tries again
                self.last_error = f"starting a Coq session failed: {exc}"
                log.error("%s", self.last_error)
                self._cond.notify_all()
            return
        surplus: Session | None = successor
        with self._cond:
            self._starting -= 1
            worn, self._retiring = self._retiring, None
            if successor is not None and not self._closed and worn is not None:
                if worn in self._idle:
                    self._idle.remove(worn)
                    surplus = worn
                    self._idle.append(successor)
                elif worn in self._busy:
                    self._retired.add(worn)
                    surplus = None
                    self._idle.append(successor)
                # else: it died meanwhile and was replaced; the successor is surplus
            self._cond.notify_all()
        if surplus is not None:
            _close_quietly(surplus)

    def _replace_locked(self, session: Session, reason: str) -> None:
        self.restarts += 1
        self._on_restart(reason)
        self._spawn_locked(old=session, delay_s=0.0)

    def _spawn_locked(self, old: Session | None, delay_s: float) -> None:
        """Start a replacement; one that waits out a backoff does not count as starting."""
        if not delay_s:
            self._starting += 1
        threading.Thread(
            target=self._spawn, args=(old, delay_s), name="pxl-session-spawn", daemon=True
        ).start()

    def _spawn(self, old: Session | None, delay_s: float) -> None:
        if old is not None:
            _close_quietly(old)
        if delay_s:
            time.sleep(delay_s)
            with self._cond:
                if self._closed:
                    return
                self._starting += 1
        try:
            session = None if self._closed else self._factory(self.kernel)
        except Exception as exc:
            with self._cond:
                self._starting -= 1
                self._spawn_failures += 1
                self.last_error = f"starting a Coq session failed: {exc}"
                log.error("%s", self.last_error)
                backoff = min(MAX_RESPAWN_BACKOFF_S, 0.5 * 2 ** min(self._spawn_failures, 6))
                if not self._closed:
                    self._spawn_locked(old=None, delay_s=backoff)
                self._cond.notify_all()
            return
        with self._cond:
            self._starting -= 1
            if session is None or self._closed:
                self._cond.notify_all()
            else:
                self._spawn_failures = 0
                self._idle.append(session)
                self._cond.notify_all()
                return
        if session is not None:
            _close_quietly(session)

    def _watch(self) -> None:
        """Replace idle sessions that died on their own (OOM killer, `kill`)."""
        while True:
            time.sleep(WATCH_INTERVAL_S)
            with self._cond:
                if self._closed:
                    return
                dead = [s for s in self._idle if not s.alive()]
                for session in dead:
                    self._idle.remove(session)
                    log.warning("idle Coq session %s died; replacing it", session.pid)
                    self._replace_locked(session, "died")


def _close_quietly(session: Session) -> None:
    try:
        session.close()
    except Exception:
        log.exception("closing a Coq session failed")
