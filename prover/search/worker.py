"""Search processes: where the deep Python stack the search needs is confined.

The search recurses once per disjunction split and once per modal level, so deep goals
(LWB nests thousands of levels) need a recursion limit far above CPython's default and a
thread stack to match. Both are process-wide in CPython: raising them in the server would
let any recursive C code in any other thread (`json.loads` of a deeply nested body in a
waitress thread) run past its 8 MiB stack and take the whole process down with SIGSEGV.
So the search runs in worker processes that raise them; the server keeps the defaults.
A search that still overflows kills only its worker, which is replaced.

Formulas go to a worker as a flat node list and results come back pickled from the
search's own deep-stack thread: CPython pickles recursively (unpickling does not), and
the formulas and proof trees are thousands of levels deep.
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import queue
import sys
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from pxl_prover.formula import BINARY, UNARY, Atom, Bot, Formula, Top
from pxl_prover.logics import Logic

STACK_BYTES = 512 * 1024 * 1024
RECURSION_LIMIT = 1_000_000
# Searches yield the CPU to the server process: HTTP, probes and refusals stay prompt
# when every core is busy searching.
NICENESS = 10

_NODE_TYPES: dict[str, type] = {cls.__name__: cls for cls in (Atom, Top, Bot, *UNARY, *BINARY)}


class SearchCrashed(RuntimeError):
    """The search process died (stack or memory exhausted, killed); no verdict."""


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


_JOBS: queue.SimpleQueue = queue.SimpleQueue()


def _prepare_worker() -> None:
    """Raise this process's limits and start its one long-lived deep-stack search thread
    (a worker process runs one search at a time; starting a thread per search cost more
    than a small search itself)."""
    sys.setrecursionlimit(RECURSION_LIMIT)
    threading.stack_size(STACK_BYTES)
    threading.Thread(target=_serve, name="pxl-search", daemon=True).start()


def _serve() -> None:
    from pxl_prover.tableau import run_search

    while True:
        nodes, logic, deadline, budget, done = _JOBS.get()
        try:
            result = run_search(unflatten(nodes), logic, deadline, budget)
            outcome = pickle.dumps((True, result), pickle.HIGHEST_PROTOCOL)
        except BaseException as exc:  # handed to the caller, which re-raises it
            try:
                outcome = pickle.dumps((False, exc))
            except Exception:  # noqa: BLE001 - an exception that does not pickle
                outcome = pickle.dumps((False, RuntimeError(repr(exc))))
        done.put(outcome)


def _search_in_worker(
    nodes: list[tuple[Any, ...]], logic: Logic, deadline: float | None, budget: int | None
) -> bytes:
    """Run in a worker process: the search thread decides, and pickles the outcome
    there (pickling recurses as deep as the proof tree)."""
    done: queue.SimpleQueue = queue.SimpleQueue()
    _JOBS.put((nodes, logic, deadline, budget, done))
    return done.get()


class SearchProcesses:
    """A pool of search processes, started on first use and rebuilt after a crash."""

    def __init__(self, size: int | None = None) -> None:
        self.size = size or os.cpu_count() or 1
        self._lock = threading.Lock()
        self._executor: ProcessPoolExecutor | None = None

    def resize(self, size: int) -> None:
        """Use `size` processes from now on (the running ones finish their searches)."""
        with self._lock:
            if size == self.size:
                return
            self.size, old, self._executor = size, self._executor, None
        if old is not None:
            old.shutdown(wait=False)

    def _get(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._executor is None:
                context = multiprocessing.get_context("forkserver")
                context.set_forkserver_preload(["pxl_prover.tableau"])
                self._executor = ProcessPoolExecutor(
                    self.size, mp_context=context, initializer=_prepare_worker
                )
            return self._executor

    def _discard(self, executor: ProcessPoolExecutor) -> None:
        with self._lock:
            if self._executor is executor:
                self._executor = None
        executor.shutdown(wait=False)

    def search(
        self, goal: Formula, logic: Logic, deadline: float | None, budget: int | None
    ) -> Any:
        """The search's result, or its exception re-raised here."""
        executor = self._get()
        try:
            data = executor.submit(_search_in_worker, flatten(goal), logic, deadline, budget)
            ok, value = pickle.loads(data.result())
        except BrokenProcessPool as exc:
            self._discard(executor)
            raise SearchCrashed("the search process died (out of stack or memory)") from exc
        if not ok:
            raise value
        return value

    def pids(self) -> list[int]:
        """Process ids of the search processes running now."""
        with self._lock:
            executor = self._executor
        processes = (getattr(executor, "_processes", None) or {}) if executor else {}
        return [p.pid for p in list(processes.values()) if p.pid is not None]

    def close(self, *, terminate: bool = False) -> None:
        """Stop the processes; with `terminate`, searches running now end (SearchCrashed)."""
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is None:
            return
        processes = list((getattr(executor, "_processes", None) or {}).values())
        executor.shutdown(wait=False, cancel_futures=True)
        if terminate:
            for process in processes:
                process.terminate()
