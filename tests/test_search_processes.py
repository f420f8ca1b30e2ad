"""The search processes: a crash costs one search, the server keeps its limits, searches
run niced, and the set follows resize and close."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from typing import Any

import pytest
from test_service_api import pigeonhole

from pxl_prover import tableau
from pxl_prover.formula import Atom, Box, Dia, Formula, Implies
from pxl_prover.logics import get_logic
from pxl_prover.search import worker
from pxl_prover.search.worker import NICENESS, SearchCrashed, SearchOverran, SearchProcesses
from pxl_prover.syntax import parse
from pxl_prover.tableau import Proof, Refutation, Unknown, run_search

K = get_logic("K")
SLOW = parse(pigeonhole(8))  # valid, and far beyond any deadline used here


def _wait_for(condition: Any, timeout: float = 30.0) -> None:
    limit = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < limit, "timed out"
        time.sleep(0.01)


@pytest.fixture
def processes():
    pool = SearchProcesses(run_search, 3)
    yield pool
    pool.close(terminate=True)


def _search_in_threads(
    pool: SearchProcesses, goals: list[tuple[Formula, float | None]], budget: int | None = None
) -> tuple:
    """Start one thread per (goal, seconds to its deadline or None), each search within
    `budget` nodes; return threads and outcomes."""
    outcomes: dict[int, Any] = {}

    def run(i: int, goal: Formula, seconds: float | None) -> None:
        deadline = None if seconds is None else time.monotonic() + seconds
        try:
            outcomes[i] = pool.search(goal, K, deadline, budget)
        except BaseException as exc:  # noqa: BLE001 - the outcome under test
            outcomes[i] = exc

    threads = [
        threading.Thread(target=run, args=(i, goal, seconds))
        for i, (goal, seconds) in enumerate(goals)
    ]
    for thread in threads:
        thread.start()
    return threads, outcomes


def test_a_killed_search_process_fails_only_its_own_search(processes) -> None:
    threads, outcomes = _search_in_threads(processes, [(SLOW, 4.0)] * 3)
    _wait_for(lambda: len(processes._busy) == 3)
    victim = processes.pids()[0]
    os.kill(victim, signal.SIGKILL)
    for thread in threads:
        thread.join(60)
    crashed = [o for o in outcomes.values() if isinstance(o, SearchCrashed)]
    finished = [o for o in outcomes.values() if isinstance(o, Unknown)]
    assert len(crashed) == 1 and "search process died" in str(crashed[0])
    assert len(finished) == 2 and all(o.reason == "time" for o in finished)
    assert isinstance(processes.search(parse("[](p -> p)"), K, None, None), Proof)
    assert victim not in processes.pids() and len(processes.pids()) <= 3


def test_the_server_keeps_its_recursion_limit_and_searches_run_niced(processes) -> None:
    limit = sys.getrecursionlimit()
    goal: Formula = Implies(Atom("A"), Atom("A"))
    for i in range(6000):
        goal = Box(goal) if i % 2 else Dia(goal) if i % 3 else Implies(Atom("B"), goal)
    assert isinstance(processes.search(goal, K, None, None), Proof | Refutation)
    assert sys.getrecursionlimit() == limit
    for pid in processes.pids():
        with open(f"/proc/{pid}/stat") as stat:
            niceness = int(stat.read().rsplit(")", 1)[1].split()[16])
        assert niceness == min(19, os.nice(0) + NICENESS)


def test_close_with_terminate_ends_running_searches_and_the_set_starts_afresh(
    processes,
) -> None:
    threads, outcomes = _search_in_threads(processes, [(SLOW, 60.0)] * 2)
    _wait_for(lambda: len(processes._busy) == 2)
    before = set(processes.pids())
    processes.close(terminate=True)
    for thread in threads:
        thread.join(30)
    assert all(isinstance(o, SearchCrashed) for o in outcomes.values()) and len(outcomes) == 2
    assert isinstance(processes.search(parse("[](p -> p)"), K, None, None), Proof)
    assert not before & set(processes.pids())


def test_resize_down_retires_processes_without_interrupting_searches(processes) -> None:
    # The searches end by themselves when their node budget is spent, however long that
    # takes on a loaded machine: a deadline would end them after a fixed time, and there
    # the niced processes, starved, overran their grace and were ended (SearchOverran).
    # Their processes are started first, so all three are searching at once.
    started = [processes._acquire() for _ in range(3)]
    for started_worker in started:
        processes._release(started_worker, crashed=False)
    threads, outcomes = _search_in_threads(processes, [(SLOW, None)] * 3, budget=20_000)
    _wait_for(lambda: len(processes._busy) == 3)
    processes.resize(1)
    for thread in threads:
        thread.join(300)
    assert len(outcomes) == 3
    assert all(isinstance(o, Unknown) and o.reason == "nodes" for o in outcomes.values())
    _wait_for(lambda: len(processes.pids()) == 1, 10)
    assert isinstance(processes.search(parse("[](p -> p)"), K, None, None), Proof)


def test_a_search_stuck_past_its_deadline_is_ended_and_its_neighbours_go_on(
    processes, monkeypatch
) -> None:
    monkeypatch.setattr(worker, "OVERRUN_GRACE_S", 0.5)
    threads, outcomes = _search_in_threads(processes, [(SLOW, 1.0)] * 2)
    _wait_for(lambda: len(processes._busy) == 2)
    stuck = processes.pids()[0]
    os.kill(stuck, signal.SIGSTOP)  # stops it where it stands: it cannot see its deadline
    for thread in threads:
        thread.join(30)
    overran = [o for o in outcomes.values() if isinstance(o, SearchOverran)]
    finished = [o for o in outcomes.values() if isinstance(o, Unknown)]
    assert len(overran) == 1 and "deadline" in str(overran[0])
    assert len(finished) == 1 and finished[0].reason == "time"
    _wait_for(lambda: not os.path.exists(f"/proc/{stuck}"), 10)
    assert isinstance(processes.search(parse("[](p -> p)"), K, None, None), Proof)


def test_a_small_goal_is_decided_in_the_calling_thread_without_a_process(
    processes, monkeypatch
) -> None:
    monkeypatch.setattr(tableau, "PROCESSES", processes)
    assert isinstance(tableau.search(parse("[](p -> p)"), K), Proof)
    assert isinstance(tableau.search(parse("<>p -> []p"), K), Refutation)
    assert processes.pids() == []


def test_a_goal_the_inline_budget_does_not_decide_goes_to_a_process(processes, monkeypatch) -> None:
    monkeypatch.setattr(tableau, "PROCESSES", processes)
    monkeypatch.setattr(tableau, "INLINE_MAX_NODES", 1000)  # tried in the thread first
    goal = parse(pigeonhole(5))  # valid; needs a few thousand search nodes
    assert isinstance(tableau.search(goal, K), Proof)
    assert len(processes.pids()) == 1
    budget_spent = tableau.search(goal, K, node_budget=10)
    assert isinstance(budget_spent, Unknown) and budget_spent.reason == "nodes"


def test_warm_starts_one_process_for_the_first_big_goal(processes) -> None:
    processes.warm()
    started = processes.pids()
    assert len(started) == 1
    processes.warm()  # already warm: nothing more starts
    assert processes.pids() == started
    assert isinstance(processes.search(SLOW, K, time.monotonic() + 0.5, None), Unknown)
    assert processes.pids() == started
