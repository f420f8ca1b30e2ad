"""Search processes: where the deep Python stack the search needs is confined.

The search recurses once per disjunction split and once per modal level, so deep goals
(LWB nests thousands of levels) need a recursion limit far above CPython's default and a
thread stack to match. Both are process-wide in CPython: raising them in the server would
let any recursive C code in any other thread (`json.loads` of a deeply nested body in a
waitress thread) run past its 8 MiB stack and take the whole process down with SIGSEGV.
So the search runs in worker processes that raise them; the server keeps the defaults.
A search that still overflows kills only its worker, which is replaced.

Each worker is driven directly over its own pipe, one send and one receive per search:
the goal goes as a marshalled flat node list (with the logic's name, the deadline and the
node budget), the result comes back pickled from the search's own deep-stack thread
(CPython pickles recursively, unpickling does not; formulas and proof trees can be
thousands of levels deep). A dead worker fails only the search it was running.
"""

from __future__ import annotations

import marshal
import multiprocessing
import os
import pickle
import sys
import threading
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

from pxl_prover.formula import BINARY, UNARY, Atom, Bot, Formula, Top
from pxl_prover.logics import LOGICS, Logic

# What a search process runs: (goal, logic, deadline, node budget) -> result. Handed in
# by the caller (the tableau), so this module knows nothing of the search it hosts.
Runner = Callable[[Formula, Logic, float | None, int | None], Any]

STACK_BYTES = 512 * 1024 * 1024
RECURSION_LIMIT = 1_000_000
# Searches yield the CPU to the server process: HTTP, probes and refusals stay prompt
# when every core is busy searching.
NICENESS = 10
# A search checks its deadline as it goes; one that has not answered this long after it
# (stuck in a step that does not check) has its process ended, so it cannot hold a slot.
OVERRUN_GRACE_S = 2.0

_NODE_TYPES: dict[str, type] = {cls.__name__: cls for cls in (Atom, Top, Bot, *UNARY, *BINARY)}


class SearchCrashed(RuntimeError):
    """The search process died (stack or memory exhausted, killed); no verdict."""


class SearchOverran(SearchCrashed):
    """The search did not answer within its deadline and grace; its process was ended."""


def flatten(root: Formula) -> list[tuple[Any, ...]]:
    """`root` as nodes in post-order, children by index (shared subformulas once)."""
    index: dict[int, int] = {}
    nodes: list[tuple[Any, ...]] = []
    stack: list[tuple[Formula, bool]] = [(root, False)]
    while stack:
        node, ready = stack.pop()
        if id(node) in index:
            continue
        if isinstance(node, Atom):
            nodes.append(("Atom", node.name))
        elif isinstance(node, Top | Bot):
            nodes.append((type(node).__name__,))
        else:
            children = (node.arg,) if isinstance(node, UNARY) else (node.left, node.right)
            if not ready:
                stack.append((node, True))
                stack.extend((c, False) for c in reversed(children) if id(c) not in index)
                continue
            nodes.append((type(node).__name__, *(index[id(c)] for c in children)))
        index[id(node)] = len(nodes) - 1
    return nodes


def unflatten(nodes: list[tuple[Any, ...]]) -> Formula:
    built: list[Formula] = []
    for name, *args in nodes:
        cls = _NODE_TYPES[name]
        if cls is Atom:
            built.append(Atom(args[0]))
        else:
            built.append(cls(*(built[i] for i in args)))
    return built[-1]


def _prepare_limits() -> None:
    """Raise this process's limits for the search's deep recursion, and yield the CPU."""
    sys.setrecursionlimit(RECURSION_LIMIT)
    threading.stack_size(STACK_BYTES)
    os.nice(NICENESS)


def _worker_main(conn: Connection, run: Runner) -> None:
    """A search process: one long-lived deep-stack thread answers one request at a time
    until the server closes the connection (a thread per search cost more than a small
    search itself)."""
    _prepare_limits()
    thread = threading.Thread(target=_serve, args=(conn, run), name="pxl-search", daemon=True)
    thread.start()
    thread.join()


def _serve(conn: Connection, run: Runner) -> None:
    while True:
        try:
            request = conn.recv_bytes()
        except (EOFError, OSError):
            return
        try:
            nodes, logic_name, deadline, budget = marshal.loads(request)
            result = run(unflatten(nodes), LOGICS[logic_name], deadline, budget)
            outcome = pickle.dumps((True, result), pickle.HIGHEST_PROTOCOL)
        except BaseException as exc:  # handed to the caller, which re-raises it
            try:
                outcome = pickle.dumps((False, exc), pickle.HIGHEST_PROTOCOL)
            except Exception:  # noqa: BLE001 - an exception that does not pickle
                outcome = pickle.dumps((False, RuntimeError(repr(exc))))
        try:
            conn.send_bytes(outcome)
        except OSError:
            return


class _Worker:
    """One search process and the server's end of its pipe."""

    def __init__(self, context: Any, generation: int, run: Runner) -> None:
        self.conn, child = context.Pipe()
        self.process = context.Process(
            target=_worker_main, args=(child, run), name="pxl-search", daemon=True
        )
        self.process.start()
        child.close()
        self.generation = generation

    @property
    def pid(self) -> int | None:
        return self.process.pid

    def ask(self, request: bytes, deadline: float | None) -> bytes:
        """Send one search and wait for its outcome: SearchCrashed if the process died,
        SearchOverran if it has not answered `OVERRUN_GRACE_S` after `deadline`."""
        try:
            self.conn.send_bytes(request)
            if deadline is not None:
                wait_s = deadline + OVERRUN_GRACE_S - time.monotonic()
                if not self.conn.poll(max(wait_s, 0.0)):
                    raise SearchOverran(
                        f"the search did not stop within {OVERRUN_GRACE_S:g} s of its deadline;"
                        " its process was ended"
                    )
            return self.conn.recv_bytes()
        except (EOFError, OSError) as exc:
            raise SearchCrashed("the search process died (out of stack or memory)") from exc

    def stop(self, *, terminate: bool = False) -> None:
        """End the process: closing the pipe lets an idle one exit by itself."""
        if terminate and self.process.is_alive():
            self.process.terminate()
        self.conn.close()
        self.process.join(0)  # reaps it if it is gone already; never waits

    def reap(self) -> None:
        """After a crash: kill whatever is left and collect the process."""
        if self.process.is_alive():
            self.process.kill()
        self.conn.close()
        self.process.join(1)


class SearchProcesses:
    """A fixed set of search processes, each driven directly over its own pipe: one send
    and one receive per search, an idle list guarded by a condition. Processes start on
    demand; one that dies fails only the search it was running and is replaced on the
    next demand. `resize` and `close` retire processes without interrupting searches
    (except `close(terminate=True)`, which ends the running ones)."""

    def __init__(self, run: Runner, size: int | None = None) -> None:
        self.run = run  # a module-level function: processes receive it by name
        self.size = size or os.cpu_count() or 1
        self._changed = threading.Condition(threading.Lock())
        self._idle: list[_Worker] = []
        self._busy: set[_Worker] = set()
        self._starting = 0  # processes being started for a search, not yet busy
        self._generation = 0  # bumped by `close`: workers of older generations retire
        self._context: Any = None

    def _spawn(self) -> _Worker:
        if self._context is None:
            self._context = multiprocessing.get_context("forkserver")
            self._context.set_forkserver_preload([self.run.__module__])
        return _Worker(self._context, self._generation, self.run)

    def _acquire(self) -> _Worker:
        """An idle process, a new one if there is room (started outside the lock), or
        the next one released."""
        with self._changed:
            while not self._idle and len(self._busy) + self._starting >= self.size:
                self._changed.wait()
            if self._idle:
                worker = self._idle.pop()
                self._busy.add(worker)
                return worker
            self._starting += 1
        try:
            worker = self._spawn()
        finally:
            with self._changed:
                self._starting -= 1
        with self._changed:
            self._busy.add(worker)
        return worker

    def _release(self, worker: _Worker, *, crashed: bool) -> None:
        with self._changed:
            self._busy.discard(worker)
            keep = (
                not crashed
                and worker.generation == self._generation
                and len(self._idle) + len(self._busy) + self._starting < self.size
            )
            if keep:
                self._idle.append(worker)
            self._changed.notify()
        if crashed:
            worker.reap()
        elif not keep:
            worker.stop()

    def warm(self) -> None:
        """Start one process now (and the forkserver behind it), so that the first goal too
        big to be searched in its thread does not wait for them (start-up's goals are small)."""
        with self._changed:
            if self._idle or self._busy or self._starting:
                return
            self._starting += 1
        try:
            worker = self._spawn()
        finally:
            with self._changed:
                self._starting -= 1
        self._release(worker, crashed=False)

    def resize(self, size: int) -> None:
        """Use `size` processes from now on (the running ones finish their searches)."""
        with self._changed:
            self.size = size
            surplus = len(self._idle) + len(self._busy) - size
            retired = self._idle[: max(0, min(surplus, len(self._idle)))]
            del self._idle[: len(retired)]
            self._changed.notify_all()
        for worker in retired:
            worker.stop()

    def search(
        self, goal: Formula, logic: Logic, deadline: float | None, budget: int | None
    ) -> Any:
        """The search's result, or its exception re-raised here."""
        request = marshal.dumps((flatten(goal), logic.name, deadline, budget))
        worker = self._acquire()
        try:
            data = worker.ask(request, deadline)
        except SearchCrashed:
            self._release(worker, crashed=True)
            raise
        self._release(worker, crashed=False)
        ok, value = pickle.loads(data)
        if not ok:
            raise value
        return value

    def pids(self) -> list[int]:
        """Process ids of the search processes running now."""
        with self._changed:
            workers = [*self._idle, *self._busy]
        return [w.pid for w in workers if w.pid is not None]

    def close(self, *, terminate: bool = False) -> None:
        """Stop the processes; with `terminate`, searches running now end (SearchCrashed).
        The set starts afresh on the next search."""
        with self._changed:
            self._generation += 1
            idle, self._idle = self._idle, []
            busy = list(self._busy)
            self._changed.notify_all()
        for worker in idle:
            worker.stop()
        if terminate:
            for worker in busy:
                worker.process.terminate()
