"""The service under pressure: many concurrent clients, Coq processes killed mid-request,
a kernel that does not compile, a kernel other than the expected one, and SIGTERM."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from service_fixtures import RunningServer, assert_matches_openapi
from test_service_api import pigeonhole

from pxl_prover import kernel
from pxl_prover.check import evaluator
from pxl_prover.countermodel import Countermodel
from pxl_prover.logics import get_logic
from pxl_prover.syntax import parse

pytestmark = pytest.mark.timeout(300)

# (goal, logic, verdict) known from the textbook; atoms p and q.
KNOWN = [
    ("BOX(p -> p)", "K", "proved"),
    ("BOX p -> p", "K", "refuted"),
    ("BOX p -> p", "T", "proved"),
    ("BOX p -> BOX BOX p", "T", "refuted"),
    ("BOX p -> BOX BOX p", "S4", "proved"),
    ("DIA p -> BOX DIA p", "S4", "refuted"),
    ("DIA p -> BOX DIA p", "S5", "proved"),
    ("BOX p -> DIA p", "D", "proved"),
    ("BOX p -> DIA p", "K", "refuted"),
    ("p -> BOX DIA p", "B", "proved"),
    ("(BOX p & BOX q) -> BOX(p & q)", "K", "proved"),
    ("BOX(p | q) -> (BOX p | BOX q)", "K", "refuted"),
]


def rename_atoms(goal: str, i: int) -> str:
    return re.sub(r"\b([pq])\b", rf"\g<1>{i}", goal)


def wait_for(predicate, timeout=30.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.05)


def check_answer(answer: dict, goal: str, logic: str, verdict: str) -> None:
    """The answer is for this goal, has the textbook verdict, and its evidence holds."""
    assert answer["goal"] == goal and answer["logic"] == logic
    assert answer["verdict"] == verdict and answer["verified"] is True
    if verdict == "refuted":
        model = Countermodel.from_json(answer["countermodel"])
        assert evaluator.confirm(model, parse(goal), get_logic(logic))
    else:
        assert answer["ok"] is True and f"valid_{logic} " in answer["certificate"]


@pytest.fixture(scope="module")
def server():
    running = RunningServer(pool_size="2", threads="16", max_queue="16")  # all 16 clients queue
    yield running
    running.stop()


def test_many_concurrent_clients_all_answered_correctly(server):
    # Fresh atom names per request make most of them cache misses that reach Coq.
    jobs = []
    for i in range(96):
        goal, logic, verdict = KNOWN[i % len(KNOWN)]
        jobs.append((rename_atoms(goal, i), logic, verdict))

    def run(job):
        goal, logic, verdict = job
        with requests.Session() as http:
            response = http.post(
                server.url + "/prove", json={"goal": goal, "logic": logic}, timeout=120
            )
        return job, response

    with ThreadPoolExecutor(max_workers=16) as executor:
        results = list(executor.map(run, jobs))
    for (goal, logic, verdict), response in results:
        assert_matches_openapi("POST", "/prove", response)
        assert response.status_code == 200, response.text
        check_answer(response.json(), goal, logic, verdict)


def test_coq_killed_mid_request_is_retried_and_the_pool_heals():
    running = RunningServer(pool_size="2", cache_size="0")  # every request reaches Coq
    try:
        pool = running.service.pool
        goal = pigeonhole(6)  # its certificate (117 kB) takes Coq a second or more to check
        body = {"goal": goal, "logic": "K", "timeout_ms": 60_000}
        check_answer(running.post("/prove", body).json(), goal, "K", "proved")
        box: dict = {}
        worker = threading.Thread(target=lambda: box.update(response=running.post("/prove", body)))
        restarts_before = pool.restarts
        worker.start()
        wait_for(lambda: pool.pids(busy_only=True) or not worker.is_alive(), timeout=60)
        busy = pool.pids(busy_only=True)
        assert busy, "the check finished before it could be interrupted"
        os.kill(busy[0], signal.SIGKILL)
        worker.join(120)
        response = box["response"]
        assert_matches_openapi("POST", "/prove", response)
        if response.status_code == 200:
            check_answer(response.json(), goal, "K", "proved")
        else:
            assert response.status_code == 503 and "Retry-After" in response.headers
        assert pool.restarts > restarts_before
        wait_for(lambda: pool.stats()["active_sessions"] == 2 and busy[0] not in pool.pids())
        healed = running.post("/prove", {"goal": "BOX(K1 -> K1)", "logic": "K"}).json()
        check_answer(healed, "BOX(K1 -> K1)", "K", "proved")
    finally:
        running.stop()


def test_killing_coq_under_load_never_gives_a_wrong_answer_or_a_500(server):
    pool = server.service.pool
    stop = threading.Event()

    def killer():
        while not stop.is_set():
            pids = pool.pids()
            if pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pids[0], signal.SIGKILL)
            stop.wait(0.4)

    jobs = [(rename_atoms(g, 1000 + i), lg, v) for i, (g, lg, v) in enumerate(KNOWN * 4)]

    def run(job):
        goal, logic, _ = job
        return job, requests.post(
            server.url + "/prove", json={"goal": goal, "logic": logic}, timeout=120
        )

    thread = threading.Thread(target=killer)
    thread.start()
    try:
        with ThreadPoolExecutor(max_workers=8) as executor:
            results = list(executor.map(run, jobs))
    finally:
        stop.set()
        thread.join()
    answered = 0
    for (goal, logic, verdict), response in results:
        assert_matches_openapi("POST", "/prove", response)
        assert response.status_code in {200, 429, 503}, response.text
        if response.status_code == 200:
            check_answer(response.json(), goal, logic, verdict)
            answered += 1
        else:
            assert int(response.headers["Retry-After"]) >= 1
    assert answered >= len(jobs) // 2
    wait_for(lambda: pool.stats()["active_sessions"] == pool.size)
    assert server.get("/ready").status_code == 200


def test_kernel_that_does_not_compile_leaves_the_server_up_but_unready(tmp_path):
    bad = tmp_path / "kernel"
    bad.mkdir()
    (bad / "Broken.v").write_text("Definition broken : nat := true.\n")
    running = RunningServer(kernel_dir=str(bad), cache_dir=str(tmp_path / "cache"))
    try:
        health = running.get("/health")
        assert_matches_openapi("GET", "/health", health)
        assert health.status_code == 200 and health.json()["status"] == "degraded"
        assert health.json()["kernel_hash"] == kernel.kernel_hash(bad)
        ready = running.get("/ready")
        assert_matches_openapi("GET", "/ready", ready)
        assert ready.status_code == 503 and "did not compile" in ready.json()["error"]["message"]
        prove = running.post("/prove", {"goal": "p -> p"})
        assert_matches_openapi("POST", "/prove", prove)
        assert prove.status_code == 503 and prove.json()["error"]["code"] == "not_ready"
    finally:
        running.stop()


def test_coq_that_cannot_start_within_its_memory_limit_leaves_the_server_unready():
    running = RunningServer(pool_size="1", session_memory_mb="100", wait=False)
    try:

        def reason() -> str:
            response = running.get("/ready")
            assert response.status_code == 503
            return response.json()["error"]["message"]

        wait_for(lambda: "no Coq session could start" in reason())
        health = running.get("/health").json()
        assert health["status"] == "degraded" and health["session_pool"]["active_sessions"] == 0
        prove = running.post("/prove", {"goal": "p -> p"})
        assert_matches_openapi("POST", "/prove", prove)
        assert prove.status_code == 503 and "Retry-After" in prove.headers
    finally:
        running.stop()


def test_unexpected_kernel_hash_is_unready_with_the_reason():
    running = RunningServer(pool_size="1", expected_kernel_hash="0" * 64)
    try:
        ready = running.get("/ready")
        assert ready.status_code == 503
        assert "PXL_EXPECTED_KERNEL_HASH" in ready.json()["error"]["message"]
        assert running.get("/health").json()["ready"] is False
    finally:
        running.stop()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_sigterm_finishes_in_flight_requests_then_exits(tmp_path):
    port = free_port()
    env = {**os.environ, "PXL_SERVER_PORT": str(port), "PXL_POOL_SIZE": "1"}
    env["PXL_SERVER_HOST"] = "127.0.0.1"
    proc = subprocess.Popen(
        [sys.executable, "-m", "pxl_prover", "serve"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:

        def ready() -> bool:
            try:
                return requests.get(url + "/ready", timeout=2).status_code == 200
            except requests.ConnectionError:
                return False

        wait_for(ready, timeout=120)
        # coqtop only: the search processes are children too, and end with the server
        coq_pids = [int(p) for p in subprocess.run(
            ["pgrep", "-P", str(proc.pid), "coqtop"], capture_output=True, text=True
        ).stdout.split()]  # fmt: skip
        assert coq_pids
        box: dict = {}
        worker = threading.Thread(
            target=lambda: box.update(
                response=requests.post(
                    url + "/prove", json={"goal": pigeonhole(6), "timeout_ms": 60_000}, timeout=120
                )
            )
        )
        worker.start()
        wait_for(lambda: requests.get(url + "/health").json()["session_pool"]["busy_sessions"])
        proc.send_signal(signal.SIGTERM)
        worker.join(120)
        assert box["response"].status_code == 200
        assert box["response"].json()["verdict"] == "proved"
        assert proc.wait(60) == 0
        with pytest.raises(requests.ConnectionError):
            requests.get(url + "/health", timeout=2)
        assert all(not Path(f"/proc/{pid}").exists() for pid in coq_pids)
    finally:
        if proc.poll() is None:
            proc.kill()
        output = proc.communicate()[0]
    assert "PXL prover" in output and f":{port}" in output


def test_a_batch_cannot_outlive_its_time_budget():
    running = RunningServer(pool_size="1", default_timeout_ms="200", max_timeout_ms="300")
    try:
        goals = [pigeonhole(7), pigeonhole(6), pigeonhole(5), "p -> p"]
        started = time.monotonic()
        response = running.post("/prove/batch", {"goals": goals})
        elapsed = time.monotonic() - started
        assert_matches_openapi("POST", "/prove/batch", response)
        results = response.json()["results"]
        assert results[0]["verdict"] == "unknown" and results[0]["limits"]["reason"] == "time"
        assert any(r.get("error", {}).get("code") == "batch_timeout" for r in results[2:])
        assert elapsed < 5
    finally:
        running.stop()
