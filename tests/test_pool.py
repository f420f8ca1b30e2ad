"""The session pool's promises: bounded waits, healing, retry once, recycling, shutdown.

Scripted sessions stand in for coqtop here so each failure can be produced on cue; the
service tests kill real coqtop processes.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import pytest

from pxl_prover.pool import PoolSaturated, PoolUnavailable, SessionPool
from pxl_prover.sessions import (
    CheckResult,
    SessionDied,
    SessionKilled,
    SessionOutOfMemory,
    SessionTimeout,
)

pytestmark = pytest.mark.timeout(60)


@dataclass
class Kernel:
    hash: str = "ab" * 32


class ScriptedSession:
    """Behaves as told by the factory's `plan` (a list of actions consumed per check)."""

    count = 0

    def __init__(self, plan: list[str], hold: threading.Event | None = None) -> None:
        ScriptedSession.count += 1
        self.pid = ScriptedSession.count
        self.uses = 0
        self.plan = plan
        self.hold = hold
        self.dead = False
        self.closed = False

    def check(self, source: str, theorem: str, timeout_s: float) -> CheckResult:
        self.uses += 1
        action = self.plan.pop(0) if self.plan else "ok"
        if self.hold is not None:
            self.hold.wait(10)
        if action == "die":
            self.dead = True
            raise SessionDied("the Coq process exited")
        if action == "oom-killed":
            self.dead = True
            raise SessionKilled("the Coq process was killed (SIGKILL)")
        if action == "oom":
            return CheckResult(False, (), "Error: Out of memory.", 1.0, out_of_memory=True)
        if action == "hang":
            self.dead = True
            raise SessionTimeout("Coq did not answer within 1.0 s")
        return CheckResult(True, (), f"checked by {self.pid}", 1.0)

    def alive(self) -> bool:
        return not self.dead and not self.closed

    def close(self) -> None:
        self.closed = True


def make_pool(size=2, plan=None, hold=None, fail_spawn=False, spawn_delay=0.0, **kwargs):
    created: list[ScriptedSession] = []
    plan = [] if plan is None else plan

    def factory(kernel):
        if fail_spawn:
            raise RuntimeError("coqtop: kernel does not load")
        time.sleep(spawn_delay)
        session = ScriptedSession(plan, hold)
        created.append(session)
        return session

    restarts: list[str] = []
    pool = SessionPool(
        Kernel(), size, session_factory=factory, on_restart=restarts.append, **kwargs
    )
    pool.start()
    if not fail_spawn:
        assert pool.wait_until_alive(5)
        deadline = time.monotonic() + 5
        while pool.stats()["active_sessions"] < size and time.monotonic() < deadline:
            time.sleep(0.01)
    return pool, created, restarts


def wait_for(predicate, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.02)


def test_checks_and_reports_stats():
    pool, created, _ = make_pool()
    assert pool.kernel_hash == "ab" * 32
    assert pool.check("src", "thm", 1.0).accepted
    stats = pool.stats()
    assert stats == stats | {"total_sessions": 2, "active_sessions": 2, "busy_sessions": 0}
    assert stats["max_pool_size"] == 2 and stats["utilization_rate"] == 0
    pool.close()
    assert all(s.closed for s in created)


def test_bounded_wait_then_saturated_and_stats_do_not_block():
    hold = threading.Event()
    pool, _, _ = make_pool(size=1, hold=hold, acquire_timeout_s=0.2)
    worker = threading.Thread(target=pool.check, args=("s", "t", 5.0))
    worker.start()
    wait_for(lambda: pool.stats()["busy_sessions"] == 1)
    started = time.monotonic()
    assert pool.stats()["utilization_rate"] == 1.0
    with pytest.raises(PoolSaturated) as raised:
        pool.check("s", "t", 1.0)
    assert 0.15 < time.monotonic() - started < 3
    assert raised.value.retry_after_s >= 1
    hold.set()
    worker.join()
    pool.close()


def test_a_session_dying_under_a_check_is_retried_once_on_another():
    pool, created, restarts = make_pool(plan=["die"])
    result = pool.check("s", "t", 1.0)
    assert result.accepted
    assert restarts == ["died"]
    wait_for(lambda: pool.stats()["active_sessions"] == 2)
    assert sum(s.closed for s in created) == 1
    pool.close()


def test_dying_twice_is_a_clean_retryable_error():
    pool, _, restarts = make_pool(plan=["die", "die"])
    with pytest.raises(PoolUnavailable) as raised:
        pool.check("s", "t", 1.0)
    assert raised.value.retry_after_s >= 1
    assert restarts == ["died", "died"]
    wait_for(lambda: pool.stats()["active_sessions"] == 2)
    assert pool.check("s", "t", 1.0).accepted
    pool.close()


def test_a_check_whose_session_the_oom_killer_ended_is_retried_once_on_another():
    # The pod's memory was full, maybe by the other sessions' doing: one more try.
    pool, _, restarts = make_pool(plan=["oom-killed"])
    assert pool.check("s", "t", 1.0).accepted
    assert restarts == ["memory"]
    pool.close()


def test_killed_for_memory_twice_is_out_of_memory_and_the_certificate_remembered():
    pool, _, restarts = make_pool(plan=["oom-killed", "oom-killed"])
    with pytest.raises(SessionOutOfMemory, match="killed for memory twice"):
        pool.check("s", "t", 1.0)
    assert restarts == ["memory", "memory"]
    wait_for(lambda: pool.stats()["active_sessions"] == 2)
    with pytest.raises(SessionOutOfMemory, match="already ran a Coq session out of memory"):
        pool.check("s", "t", 1.0)  # refused without a session: none is killed again
    assert restarts == ["memory", "memory"]
    assert pool.check("another certificate", "t", 1.0).accepted
    pool.close()


def test_timeout_is_reported_to_the_caller_and_the_session_replaced():
    pool, _, restarts = make_pool(plan=["hang"])
    with pytest.raises(SessionTimeout):
        pool.check("s", "t", 1.0)
    assert restarts == ["timeout"]
    wait_for(lambda: pool.stats()["active_sessions"] == 2)
    pool.close()


def test_sessions_are_recycled_after_max_uses():
    pool, created, restarts = make_pool(size=1, max_uses=3)
    for _ in range(7):
        assert pool.check("s", "t", 1.0).accepted
        wait_for(lambda: pool.stats()["starting_sessions"] == 0)
    assert restarts.count("recycled") == 2
    assert all(s.uses <= 3 for s in created) and sum(s.closed for s in created) == 2
    pool.close()


def test_recycling_never_takes_capacity_away():
    pool, created, restarts = make_pool(size=2, max_uses=2, spawn_delay=0.2)
    smallest = 2
    for _ in range(40):
        assert pool.check("s", "t", 1.0).accepted
        smallest = min(smallest, pool.stats()["active_sessions"])
        time.sleep(0.05)
    wait_for(lambda: pool.stats()["starting_sessions"] == 0)
    assert smallest == 2 and pool.stats()["active_sessions"] == 2
    assert restarts.count("recycled") >= 3
    pool.close()


def test_idle_session_that_dies_is_replaced_by_the_watcher():
    pool, created, restarts = make_pool(size=1)
    created[0].dead = True
    wait_for(lambda: restarts == ["died"] and pool.stats()["active_sessions"] == 1)
    assert len(created) == 2
    pool.close()


def test_no_session_can_start_is_unavailable_not_a_hang():
    pool, _, _ = make_pool(size=1, fail_spawn=True, acquire_timeout_s=5)
    wait_for(lambda: pool.last_error is not None)
    started = time.monotonic()
    with pytest.raises(PoolUnavailable, match="kernel does not load"):
        pool.check("s", "t", 1.0)
    assert time.monotonic() - started < 2
    pool.close()


def test_close_waits_for_checks_in_flight():
    hold = threading.Event()
    pool, created, _ = make_pool(size=1, hold=hold)
    results = []
    worker = threading.Thread(target=lambda: results.append(pool.check("s", "t", 5.0)))
    worker.start()
    wait_for(lambda: pool.stats()["busy_sessions"] == 1)
    threading.Timer(0.2, hold.set).start()
    pool.close(timeout_s=5)
    worker.join()
    assert results and results[0].accepted
    assert all(s.closed for s in created)
    with pytest.raises(PoolUnavailable):
        pool.check("s", "t", 1.0)


def test_a_session_that_ran_out_of_memory_answers_then_is_replaced():
    pool, created, restarts = make_pool(size=1, plan=["oom"])
    result = pool.check("s", "t", 1.0)
    assert not result.accepted and "Out of memory" in result.message
    assert restarts == ["memory"]
    wait_for(lambda: len(created) == 2 and pool.stats()["active_sessions"] == 1)
    assert created[0].closed
    pool.close()
