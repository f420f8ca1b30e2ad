"""Load benchmark: the real prover over HTTP, next to a bare Flask-on-waitress echo ceiling.

    .venv/bin/python bench/load.py --clients 8 --duration 10

Starts, each as its own process on a free loopback port: a bare Flask app on waitress that
echoes JSON (the ceiling: what this machine, this HTTP stack and this client can do), then
one prover at a time: HMAC off and on, cache on and off. Each row alternates 2-second
slices on the prover and on the echo, so a row and its ceiling see the same background
load; "vs echo" is the row's throughput over its own interleaved echo's. N client threads
with keep-alive connections drive each row for D seconds in all; the table shows
P50/P95/P99, requests/s, errors, and CPU per request (ms of CPU, read from /proc, over the
requests answered): the server process itself ("server") and its children ("children":
the coqtop sessions, including any replaced mid-row, and the search processes); the echo's
likewise, next to its P95 and throughput:

  cached          goals answered from the cache (warmed first)
  uncached        the same small goals against a server with the cache off (PXL_CACHE_SIZE=0):
                  every request is parsed, searched and its certificate checked by Coq
  repeats         a workload with repeats: 36 goal shapes under random atom names
  uncached, new shapes
                  random goals (tests/goals.py), each of a shape not asked before,
                  against the same cache-on server: what a server started as the README
                  says does with goals nobody asked it yet
  ... (HMAC)      the same, every request signed as the deployment guide's client does

Afterwards it prints the floor (one warm Coq check of a small lemma, CPU ms), each row's
ratios against the targets (uncached: throughput >= 0.4 of the echo, P95 <= 3x the echo's,
CPU <= 2x the echo's + the floor; cached: throughput >= 0.6 of the echo), for each
uncached row what Coq alone spends checking its goals' certificates (a warm session, no
load, no Python) next to that budget, and the servers' own verification ratio and cache
hit rate (/metrics).

--uncached-only runs just the uncached row (HMAC off), --new-shapes-only just the new-shapes
row (HMAC off), for quick before/after comparisons.

A saturation row follows (alone with --saturation-only): a burst of slow goals, three
times what the server admits (PXL_POOL_SIZE running + PXL_MAX_QUEUE waiting), against a
server with the cache off; it shows how soon the first 429 comes back and how fast /ready
answers while the pool is full.
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import os
import random
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from pxl_prover.auth import sign_headers
from pxl_prover.cache import canonical
from pxl_prover.metrics import percentile
from pxl_prover.syntax import parse

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from goals import random_goal  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
HMAC_KEY = "bench-" + "0123456789abcdef" * 3

# The deployment guide's kind of goal: small textbook modal and propositional facts.
GUIDE_GOALS = [
    "BOX(A -> A)",
    "BOX(A -> B) -> (BOX A -> BOX B)",
    "BOX A -> A",
    "BOX A -> BOX BOX A",
    "DIA A -> BOX DIA A",
    "(A -> B) -> (~B -> ~A)",
    "A | ~A",
    "BOX(A & B) <-> (BOX A & BOX B)",
    "DIA(A | B) -> (DIA A | DIA B)",
    "BOX A -> DIA A",
    "~DIA A <-> BOX ~A",
    "(A & (A -> B)) -> B",
]
SHAPES = (
    GUIDE_GOALS
    + [
        f"({a}) & ({b})"
        for a, b in zip(GUIDE_GOALS, GUIDE_GOALS[1:] + GUIDE_GOALS[:1], strict=True)
    ]
    + [
        f"({a}) -> ({b})"
        for a, b in zip(GUIDE_GOALS, GUIDE_GOALS[2:] + GUIDE_GOALS[:2], strict=True)
    ]
)


# Enough random goals of distinct shapes that no request of the "new shapes" row is ever
# answered from the cache (which knows a goal by its shape, atoms renamed).
NEW_SHAPES = 30_000


def new_shapes(rng: random.Random, count: int) -> list[str]:
    """`count` random goals (`tests/goals.py`), no two of one shape."""
    seen: set[str] = set()
    goals: list[str] = []
    while len(goals) < count:
        goal = random_goal(rng, rng.randrange(3, 6))
        shape = canonical(parse(goal)).text
        if shape not in seen:
            seen.add(shape)
            goals.append(goal)
    return goals


def renamed(goal: str, rng: random.Random) -> str:
    names = rng.sample(["P", "Q", "R", "S", "T2", "U", "V", "W", "X", "Y"], 2)
    return re.sub(r"\b[AB]\b", lambda m: names[m.group() == "B"], goal)


# --- servers ----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_ready(port: int, path: str, timeout_s: float = 300) -> None:
    """Wait for 200 on `path`; give up at once when the server says it failed to start."""
    deadline = time.monotonic() + timeout_s
    reason = "no answer"
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", path)
            response = conn.getresponse()
            if response.status == 200:
                return
            reason = json.loads(response.read())["error"]["message"]
            if not reason.startswith(("starting", "not ready yet")):
                break
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"server on port {port} is not ready: {reason}")


def start_prover(
    port: int, args: argparse.Namespace, *, hmac_on: bool, cache_size: str
) -> subprocess.Popen:
    env = {
        **os.environ,
        "PXL_SERVER_HOST": "127.0.0.1",
        "PXL_SERVER_PORT": str(port),
        "PXL_POOL_SIZE": str(args.pool_size),
        "PXL_THREADS": str(args.threads),
        "PXL_CACHE_SIZE": cache_size,
        "LOG_LEVEL": "WARNING",
        "ENABLE_HMAC_AUTH": "true" if hmac_on else "false",
        "HMAC_SECRET_KEY": HMAC_KEY,
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "pxl_prover", "serve"], env=env, stdout=subprocess.DEVNULL
    )
    wait_ready(port, "/ready")
    return proc


def start_echo(port: int, threads: int) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, __file__, "--echo-server", str(port), "--threads", str(threads)]
    )
    wait_ready(port, "/health")
    return proc


def echo_server(port: int, threads: int) -> None:
    """The ceiling: Flask on waitress, parse the JSON body and send it back."""
    from flask import Flask, jsonify, request
    from waitress import serve

    app = Flask("echo")

    @app.post("/echo")
    def echo():
        return jsonify(request.get_json())

    @app.get("/health")
    def health():
        return jsonify({"status": "ok"})

    serve(app, host="127.0.0.1", port=port, threads=threads, _quiet=True)


# --- load ------------------------------------------------------------------------------


_TICKS = os.sysconf("SC_CLK_TCK")


def _stat_fields(pid: int) -> list[str]:
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().rsplit(")", 1)[1].split()


def process_tree_cpu_s(pid: int) -> float:
    """CPU seconds of a process and all its descendants."""
    return sum(process_cpu_split_s(pid))


def process_cpu_split_s(pid: int) -> tuple[float, float]:
    """CPU seconds of a process itself (user+system) and of all its descendants: each
    one's user+system time and its reaped children's (a coqtop replaced mid-run).
    Descendants, not only children: the search processes are the forkserver's children."""
    children: dict[int, list[int]] = {}
    ticks_of: dict[int, int] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            fields = _stat_fields(int(entry.name))
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry.name))
        ticks_of[int(entry.name)] = sum(int(f) for f in fields[11:15])  # u/s/cu/cs time
        if int(entry.name) == pid:
            own = sum(int(f) for f in fields[11:13])  # its own user/system time
    ticks, todo = 0, [pid]
    while todo:
        current = todo.pop()
        ticks += ticks_of.get(current, 0)
        todo.extend(children.get(current, ()))
    return own / _TICKS, (ticks - own) / _TICKS


@dataclass
class Row:
    name: str
    latencies_ms: list[float] = field(default_factory=list)
    errors: dict[int, int] = field(default_factory=dict)
    seconds: float = 0.0
    cpu_s: float = 0.0  # the server process's own CPU over the row
    children_cpu_s: float = 0.0  # its descendants' (coqtop sessions, search processes)
    ceiling: Row | None = None  # the echo, measured in slices interleaved with this row
    goals: list[str] = field(default_factory=list)  # an uncached row's goals (S5), in order
    coq_alone_ms: float | None = None  # Coq's CPU per request for those goals, measured alone

    def add(self, other: Row) -> None:
        self.latencies_ms += other.latencies_ms
        self.seconds += other.seconds
        self.cpu_s += other.cpu_s
        self.children_cpu_s += other.children_cpu_s
        for status, count in other.errors.items():
            self.errors[status] = self.errors.get(status, 0) + count

    @property
    def rate(self) -> float:
        return len(self.latencies_ms) / self.seconds if self.seconds else 0.0

    @property
    def answered(self) -> int:
        return len(self.latencies_ms) + sum(self.errors.values())

    @property
    def cpu_ms_per_request(self) -> float:
        """Server process and children together."""
        return self.server_cpu_ms_per_request + self.children_cpu_ms_per_request

    @property
    def server_cpu_ms_per_request(self) -> float:
        return 1000 * self.cpu_s / self.answered if self.answered else 0.0

    @property
    def children_cpu_ms_per_request(self) -> float:
        return 1000 * self.children_cpu_s / self.answered if self.answered else 0.0

    @property
    def p95_ms(self) -> float:
        return percentile(sorted(self.latencies_ms), 95)


def drive(
    name: str,
    port: int,
    path: str,
    next_body: Callable[[int], bytes],
    clients: int,
    duration_s: float,
    secret: str | None = None,
    server_pid: int | None = None,
) -> Row:
    """`clients` threads, each with its own keep-alive connection, for `duration_s`."""
    row = Row(name)
    cpu_before = process_cpu_split_s(server_pid) if server_pid else (0.0, 0.0)
    lock = threading.Lock()
    counter = iter(range(10**9))
    start = time.perf_counter()
    deadline = start + duration_s

    def client() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        mine: list[float] = []
        errors: dict[int, int] = {}
        while time.perf_counter() < deadline:
            with lock:
                i = next(counter)
            body = next_body(i)
            headers = {"Content-Type": "application/json"}
            if secret:
                headers.update(sign_headers(secret, body))
            sent = time.perf_counter()
            try:
                conn.request("POST", path, body=body, headers=headers)
                response = conn.getresponse()
                response.read()
                status = response.status
            except OSError:
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
                status = 0
            if status == 200:
                mine.append((time.perf_counter() - sent) * 1000)
            else:
                errors[status] = errors.get(status, 0) + 1
        conn.close()
        with lock:
            row.latencies_ms.extend(mine)
            for status, count in errors.items():
                row.errors[status] = row.errors.get(status, 0) + count

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    row.seconds = time.perf_counter() - start
    if server_pid:
        own, children = process_cpu_split_s(server_pid)
        row.cpu_s, row.children_cpu_s = own - cpu_before[0], children - cpu_before[1]
    return row


def metrics(port: int) -> dict:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", "/metrics", headers={"Accept": "application/json"})
    return json.loads(conn.getresponse().read())


def with_hit_rate(row: Row, port: int, before: dict) -> dict:
    """Name the row's cache hit rate (from /metrics, since `before`); the metrics now."""
    after = metrics(port)
    hits = after["logos_pxl_cache_hits_total"] - before["logos_pxl_cache_hits_total"]
    misses = after["logos_pxl_cache_misses_total"] - before["logos_pxl_cache_misses_total"]
    row.name += f" [hit rate {100 * hits / max(hits + misses, 1):.1f} %]"
    return after


def prove_body(goal: str, logic: str = "S5") -> bytes:
    return json.dumps({"goal": goal, "logic": logic}).encode()


class Bench:
    """Runs rows against a prover, each interleaved slice by slice with the echo ceiling,
    so both see the same background load (this machine is shared)."""

    SLICE_S = 2.0

    def __init__(self, args: argparse.Namespace, echo_port: int, echo_pid: int) -> None:
        self.args = args
        self.echo_port = echo_port
        self.echo_pid = echo_pid
        self.echo_body = prove_body("BOX(A -> A)")
        self.server_pid: int | None = None  # the prover the rows run against

    def paired(
        self, name: str, port: int, next_body: Callable[[int], bytes], secret: str | None
    ) -> Row:
        row, echo = Row(name), Row("echo")
        clients = self.args.clients
        for _ in range(max(1, round(self.args.duration / self.SLICE_S))):
            echo.add(drive("echo", self.echo_port, "/echo", lambda i: self.echo_body,
                           clients, self.SLICE_S, server_pid=self.echo_pid))  # fmt: skip
            row.add(drive(name, port, "/prove", next_body, clients, self.SLICE_S, secret,
                          server_pid=self.server_pid))  # fmt: skip
        row.ceiling = echo
        return row

    def cached_rows(self, port: int, secret: str | None) -> list[Row]:
        """Against a server with the cache on: warmed guide goals, then the repeats workload."""
        suffix = " (HMAC)" if secret else ""
        warm = [prove_body(g) for g in GUIDE_GOALS]
        drive("warm-up", port, "/prove", lambda i: warm[i % len(warm)], 1, 2.0, secret)
        cached = self.paired("cached" + suffix, port, lambda i: warm[i % len(warm)], secret)
        before = metrics(port)
        rng = random.Random(7)
        rng_lock = threading.Lock()

        def repeat_body(i: int) -> bytes:
            with rng_lock:
                return prove_body(renamed(rng.choice(SHAPES), rng))

        repeats = self.paired("repeats" + suffix, port, repeat_body, secret)
        with_hit_rate(repeats, port, before)
        return [cached, repeats, self.new_shapes_row(port, secret)]

    def new_shapes_row(self, port: int, secret: str | None) -> Row:
        """Against a server with the cache on: random goals of shapes it was never asked."""
        suffix = " (HMAC)" if secret else ""
        goals = new_shapes(random.Random(11), NEW_SHAPES)
        fresh = [prove_body(goal) for goal in goals]
        served = itertools.count()  # across the row's slices (each counts from 0)
        before = metrics(port)
        new = self.paired(
            "uncached, new shapes" + suffix, port, lambda i: fresh[next(served)], secret
        )
        with_hit_rate(new, port, before)
        new.goals = goals[: new.answered]
        return new

    def uncached_row(self, port: int, secret: str | None) -> Row:
        """Against a server with the cache off: every guide goal goes through search and Coq."""
        suffix = " (HMAC)" if secret else ""
        goals = [prove_body(g) for g in GUIDE_GOALS]
        # every session and each lemma are warm before the row (the first check with a
        # lemma asks Coq what the theorem rests on, about half a second)
        warm_clients = self.args.pool_size * 2
        drive("warm-up", port, "/prove", lambda i: goals[i % len(goals)], warm_clients, 3.0, secret)
        row = self.paired("uncached" + suffix, port, lambda i: goals[i % len(goals)], secret)
        row.goals = GUIDE_GOALS
        return row


def pigeonhole(n: int, prefix: str) -> str:
    """n+1 pigeons in n holes: valid, and exponential for a tableau (a slow goal)."""
    atom = [[f"{prefix}{i}_{j}" for j in range(n)] for i in range(n + 1)]
    clauses = ["(" + " | ".join(row) + ")" for row in atom]
    clauses += [
        f"~({atom[i][j]} & {atom[k][j]})"
        for j in range(n)
        for i in range(n + 1)
        for k in range(i + 1, n + 1)
    ]
    return "~(" + " & ".join(clauses) + ")"


def saturation_row(args: argparse.Namespace, queue: int = 5, goal_ms: int = 3000) -> str:
    """A burst of slow goals, 3x what the server admits, on a server with the cache off:
    when the first 429 arrives, and /ready's latency while the pool is full."""
    port = free_port()
    proc = start_prover(port, args, hmac_on=False, cache_size="0")
    burst = 3 * (args.pool_size + queue)
    outcomes: list[tuple[int, float]] = []
    probes: list[tuple[int, float]] = []
    lock = threading.Lock()
    start = time.perf_counter()

    def slow(i: int) -> None:
        body = json.dumps({"goal": pigeonhole(8, f"s{i}x"), "logic": "K", "timeout_ms": goal_ms})
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        try:
            conn.request("POST", "/prove", body=body, headers={"Content-Type": "application/json"})
            response = conn.getresponse()
            response.read()
            status = response.status
        except OSError:
            status = 0
        finally:
            conn.close()
        with lock:
            outcomes.append((status, time.perf_counter() - start))

    def probe(until: threading.Event) -> None:
        while not until.is_set():
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            sent = time.perf_counter()
            conn.request("GET", "/ready")
            status = conn.getresponse().status
            probes.append((status, (time.perf_counter() - sent) * 1000))
            conn.close()
            until.wait(0.05)

    done = threading.Event()
    prober = threading.Thread(target=probe, args=(done,))
    try:
        workers = [threading.Thread(target=slow, args=(i,)) for i in range(burst)]
        for worker in workers:
            worker.start()
        prober.start()
        for worker in workers:
            worker.join()
    finally:
        done.set()
        if prober.is_alive():
            prober.join()
        proc.terminate()
        proc.wait(60)
    refused = sorted(t for status, t in outcomes if status == 429)
    admitted = sorted(t for status, t in outcomes if status == 200)
    latencies = sorted(ms for _, ms in probes)
    first_429 = f"{refused[0] * 1000:.1f} ms" if refused else "none"
    first_200 = f"{admitted[0] * 1000:.0f} ms" if admitted else "none"
    other = len(outcomes) - len(refused) - len(admitted)
    return (
        f"saturation: burst of {burst} slow goals ({goal_ms} ms each), pool={args.pool_size} "
        f"queue={queue}\n"
        f"  first 429 after {first_429} ({len(refused)} refused, {len(admitted)} answered, "
        f"{other} other; first answer after {first_200})\n"
        f"  /ready while full: P50 {percentile(latencies, 50):.1f} ms, "
        f"P99 {percentile(latencies, 99):.1f} ms, max {latencies[-1] if latencies else 0:.1f} ms "
        f"over {len(latencies)} probes, {sum(1 for s, _ in probes if s != 200)} not 200"
    )


def print_table(rows: list[Row], args: argparse.Namespace) -> None:
    print(
        f"\nclients={args.clients} duration={args.duration:g}s per row (and as long on the echo, "
        f"interleaved) pool={args.pool_size} threads={args.threads} cpus={os.cpu_count()}\n"
        "CPU: ms per request of the server process (srv) and of its children (kids: coqtop "
        "sessions, search processes)"
    )
    header = (
        f"{'row':<36} {'req/s':>7} {'P50 ms':>7} {'P95 ms':>7} {'P99 ms':>7} {'errors':>6} "
        f"{'srv CPU':>7} {'kids CPU':>8} {'echo/s':>7} {'echo P95':>8} {'echo CPU':>8}"
    )
    print(header)
    print("-" * len(header))
    echo_all = Row("echo ceiling (bare Flask+waitress)")
    for row in rows:
        assert row.ceiling is not None
        echo_all.add(row.ceiling)
    for row in [echo_all, *rows]:
        values = sorted(row.latencies_ms)
        ceiling = row.ceiling or row
        print(
            f"{row.name:<36} {row.rate:>7.0f} {percentile(values, 50):>7.2f} "
            f"{row.p95_ms:>7.2f} {percentile(values, 99):>7.2f} {sum(row.errors.values()):>6} "
            f"{row.server_cpu_ms_per_request:>7.2f} {row.children_cpu_ms_per_request:>8.2f} "
            f"{ceiling.rate:>7.0f} {ceiling.p95_ms:>8.2f} {ceiling.cpu_ms_per_request:>8.2f}"
        )
        if row.errors:
            print(f"{'':<36} errors by status: {row.errors}")


# The targets, as ratios to the echo measured in the same run.
UNCACHED_MIN_THROUGHPUT = 0.4
UNCACHED_MAX_P95 = 3.0
CACHED_MIN_THROUGHPUT = 0.6


def _against(value: float, target: float, *, at_least: bool) -> str:
    met = value >= target if at_least else value <= target
    return "met" if met else "MISSED"


def print_targets(rows: list[Row], floor_ms: float) -> None:
    """Each row's ratios to its own interleaved echo, against the issue's targets; for an
    uncached row also what its parts cost alone: the echo's CPU (the same HTTP stack) plus
    Coq's own CPU for the row's checks, which no Python can take away."""
    print(
        f"floor: one warm Coq check of a small lemma {floor_ms:.2f} ms CPU\n"
        "targets (ratios to the row's own interleaved echo):"
    )
    for row in rows:
        echo = row.ceiling
        assert echo is not None
        speed = row.rate / echo.rate if echo.rate else 0.0
        if row.name.startswith("uncached"):
            p95 = row.p95_ms / echo.p95_ms if echo.p95_ms else 0.0
            echo_cpu = echo.cpu_ms_per_request
            budget = 2 * echo_cpu + floor_ms
            cpu = row.cpu_ms_per_request
            print(
                f"  {row.name:<34} throughput {speed:.2f} of echo (>= {UNCACHED_MIN_THROUGHPUT}: "
                f"{_against(speed, UNCACHED_MIN_THROUGHPUT, at_least=True)}); "
                f"P95 {p95:.1f}x echo's (<= {UNCACHED_MAX_P95:g}x: "
                f"{_against(p95, UNCACHED_MAX_P95, at_least=False)}); "
                f"CPU {cpu:.2f} ms = {cpu / budget:.1f}x the budget 2 x {echo_cpu:.2f}"
                f" + {floor_ms:.2f} = {budget:.2f} ms ({_against(cpu, budget, at_least=False)})"
            )
            if row.coq_alone_ms is not None:
                coq_ms = row.coq_alone_ms
                print(
                    f"  {'':<34} Coq alone checking these goals' certificates (warm session, "
                    f"no load) {coq_ms:.2f} ms; + the echo's CPU {echo_cpu:.2f} = "
                    f"{coq_ms + echo_cpu:.2f} ms = {(coq_ms + echo_cpu) / budget:.1f}x the budget"
                    " before any of the prover's Python"
                )
        elif row.name.startswith("cached"):
            print(
                f"  {row.name:<34} throughput {speed:.2f} of echo (>= {CACHED_MIN_THROUGHPUT}: "
                f"{_against(speed, CACHED_MIN_THROUGHPUT, at_least=True)})"
            )
        else:
            print(f"  {row.name:<34} throughput {speed:.2f} of echo (no target)")


# How many of an uncached row's goals `own_coq_check_ms` has Coq check (after a warm-up).
OWN_CHECKS = 1500


def own_coq_check_ms(goals: list[str]) -> float:
    """Mean CPU (ms) a warm coqtop spends per request on the certificates of `goals` (in
    S5, as the rows ask them), sent as the server sends them: the coqtop process's CPU
    alone, with no load beside it and no Python counted."""
    from pxl_prover import tableau
    from pxl_prover.engine import Prover
    from pxl_prover.kernel import build_kernel
    from pxl_prover.sessions import CoqSession

    session = CoqSession(build_kernel())
    prover = Prover(session)
    cycle = itertools.islice(itertools.cycle(goals), 100 + OWN_CHECKS)
    try:
        for goal in itertools.islice(cycle, 100):  # each lemma's first check asks more of Coq
            prover.answer(goal, "S5")
        before = process_tree_cpu_s(session.pid)
        for goal in cycle:
            prover.answer(goal, "S5")
        return 1000 * (process_tree_cpu_s(session.pid) - before) / OWN_CHECKS
    finally:
        session.close()
        tableau.PROCESSES.close()


def warm_check_floor_ms(repeat: int = 300) -> float:
    """Mean CPU (ms) a warm coqtop spends on one check of a small lemma, state restored
    after it: the least any uncached request can cost on the Coq side."""
    from pxl_prover.kernel import build_kernel
    from pxl_prover.sessions import CoqSession

    session = CoqSession(build_kernel())
    sentence = "Definition pxl_floor : forall A : Prop, A -> A := fun A a => a."
    samples = []
    try:
        for _ in range(repeat):
            before = process_tree_cpu_s(session.pid)
            session._run(f"{sentence}\nBackTo {session._state}.", 10)  # noqa: SLF001
            session._wait(10)  # noqa: SLF001
            samples.append(process_tree_cpu_s(session.pid) - before)
    finally:
        session.close()
    return 1000 * sum(samples) / len(samples)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per row")
    parser.add_argument("--pool-size", type=int, default=5)
    parser.add_argument("--threads", type=int, default=16, help="waitress threads")
    parser.add_argument("--echo-server", type=int, metavar="PORT", help=argparse.SUPPRESS)
    parser.add_argument(
        "--saturation-only", action="store_true", help="only the saturation row (~10 s)"
    )
    parser.add_argument(
        "--uncached-only", action="store_true", help="only the uncached row, HMAC off"
    )
    parser.add_argument(
        "--new-shapes-only",
        action="store_true",
        help="only the new-shapes row (random goals never asked), HMAC off",
    )
    args = parser.parse_args(argv)
    if args.echo_server:
        echo_server(args.echo_server, args.threads)
        return 0
    if args.saturation_only:
        print(saturation_row(args))
        return 0

    floor_ms = warm_check_floor_ms()
    echo_port = free_port()
    echo = start_echo(echo_port, args.threads)
    bench = Bench(args, echo_port, echo.pid)
    rows: list[Row] = []
    summaries = []
    try:
        drive("warm-up", echo_port, "/echo", lambda i: bench.echo_body, args.clients, 1.0)
        one_row = args.uncached_only or args.new_shapes_only
        for secret in (None,) if one_row else (None, HMAC_KEY):
            sizes = ("0",) if args.uncached_only else ("100000",) if one_row else ("100000", "0")
            for cache_size in sizes:
                port = free_port()
                proc = start_prover(port, args, hmac_on=secret is not None, cache_size=cache_size)
                bench.server_pid = proc.pid
                try:
                    if cache_size == "0":
                        rows.append(bench.uncached_row(port, secret))
                    elif args.new_shapes_only:
                        rows.append(bench.new_shapes_row(port, secret))
                    else:
                        rows += bench.cached_rows(port, secret)
                    label = f"HMAC {'on' if secret else 'off'}, cache {cache_size}"
                    summaries.append((label, metrics(port)))
                finally:
                    proc.terminate()
                    proc.wait(60)
    finally:
        echo.terminate()
        echo.wait(60)
    for row in rows:
        if row.goals:
            row.coq_alone_ms = own_coq_check_ms(row.goals)
    print_table(rows, args)
    print_targets(rows, floor_ms)
    for label, summary in summaries:
        print(
            f"{label}: verification ratio "
            f"{summary['logos_pxl_verification_ratio_percent']:.2f} %, cache hit rate "
            f"{summary['logos_pxl_cache_hit_rate_percent']:.1f} %, goals "
            f"{summary['logos_pxl_goals_total']:.0f}"
        )
    if not one_row:
        print(saturation_row(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
