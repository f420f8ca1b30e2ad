"""Hostile input and overload against real servers on loopback: nothing a client sends
crashes the process or gets a 5xx, a burst is refused before any search, probes answer
while the pool is full, a batch keeps what it computed, Coq starved of memory is no
retry loop, and a request cut at shutdown still gets a JSON answer."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from goals import memory_hungry_goal
from service_fixtures import HMAC_KEY, RunningServer, assert_matches_openapi
from test_service_api import pigeonhole

from pxl_prover.auth import sign_headers

pytestmark = pytest.mark.timeout(300)

# ~70,000 levels and ~140 KB: far under the 1 MiB body limit, far over any C stack that
# json.loads could recurse through under a raised recursion limit.
NESTED_GOAL = b'{"goal": ' + b"[" * 70_000 + b"]" * 70_000 + b"}"
NESTED_BATCH = b'{"goals": ' + b"[" * 70_000 + b"]" * 70_000 + b"}"
# A goal whose search runs until its timeout (the Coq check never starts).
SLOW = pigeonhole(8)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(predicate, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.05)


class ServerProcess:
    """`pxl-prover serve` as its own process with HMAC on, so a crash shows as its exit."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "PXL_SERVER_HOST": "127.0.0.1", "PXL_SERVER_PORT": str(self.port)}
        env.update(PXL_POOL_SIZE="1", ENABLE_HMAC_AUTH="true", HMAC_SECRET_KEY=HMAC_KEY)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "pxl_prover", "serve"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(self.ready)

    def ready(self) -> bool:
        assert self.proc.poll() is None, f"the server exited with {self.proc.returncode}"
        try:
            return requests.get(self.url + "/ready", timeout=5).status_code == 200
        except requests.ConnectionError:
            return False

    def post_signed(self, path: str, body: bytes) -> requests.Response:
        headers = {"Content-Type": "application/json", **sign_headers(HMAC_KEY, body)}
        return requests.post(self.url + path, data=body, headers=headers, timeout=60)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture(scope="module")
def hmac_server():
    server = ServerProcess()
    yield server
    server.stop()


def assert_alive_and_answering(server: ServerProcess) -> None:
    assert server.proc.poll() is None, f"the server died with {server.proc.returncode}"
    assert server.ready()
    body = json.dumps({"goal": "BOX(p -> p)", "logic": "K"}).encode()
    answer = server.post_signed("/prove", body)
    assert answer.status_code == 200 and answer.json()["verdict"] == "proved"


@pytest.mark.parametrize("path, body", [("/prove", NESTED_GOAL), ("/prove/batch", NESTED_BATCH)])
def test_deeply_nested_signed_json_is_a_400_and_the_server_lives(hmac_server, path, body):
    response = hmac_server.post_signed(path, body)
    assert_matches_openapi("POST", path, response)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "json_too_deep"
    assert "nests too deeply" in response.json()["error"]["message"]
    assert_alive_and_answering(hmac_server)


def test_a_20_mb_body_gets_a_json_413_not_a_reset(hmac_server):
    body = b'{"goal": "' + b"p" * (20 * 1024 * 1024) + b'"}'
    response = requests.post(
        hmac_server.url + "/prove",
        data=body,
        headers={"Content-Type": "application/json"},
        timeout=60,
    )
    assert response.status_code == 413
    assert response.headers["Content-Type"].startswith("application/json")
    assert "MAX_REQUEST_SIZE" in response.json()["error"]["message"]
    assert_alive_and_answering(hmac_server)


def test_random_bytes_and_broken_framing_never_crash_the_server(hmac_server):
    for raw in (b"\xff\xfe" * 5000, b"[" * 200_000, bytes(range(256)) * 100):
        response = hmac_server.post_signed("/prove", raw)
        assert 400 <= response.status_code < 500, response.text
    with socket.create_connection(("127.0.0.1", hmac_server.port), timeout=10) as sock:
        sock.sendall(b"POST /prove HTTP/1.1\r\nHost: x\r\nContent-Length: banana\r\n\r\n")
        head = sock.recv(65536)
    assert head.startswith(b"HTTP/1.1 400") and b"application/json" in head
    assert_alive_and_answering(hmac_server)


def test_nested_json_in_process_server_is_a_400():
    running = RunningServer(pool_size="1")
    try:
        response = running.http.post(
            running.url + "/prove",
            data=NESTED_GOAL,
            headers={"Content-Type": "application/json"},
            timeout=60,
        )
        assert response.status_code == 400 and response.json()["error"]["code"] == "json_too_deep"
        assert sys.getrecursionlimit() < 10_000  # the search never raised it in this process
        assert running.post("/prove", {"goal": "BOX(p -> p)", "logic": "K"}).status_code == 200
    finally:
        running.stop()


def test_coq_out_of_memory_is_unknown_memory_without_retry_or_readiness_flap():
    # A session starts (about 280 MB at its peak) and checks small certificates in 450 MB;
    # this goal's certificate needs more (`memory_hungry_goal`: about 660 MB).
    running = RunningServer(pool_size="1", session_memory_mb="450", cache_size="0")
    try:
        pool = running.service.pool
        goal = memory_hungry_goal()
        statuses: list[int] = []
        stop = threading.Event()

        def probe() -> None:
            while not stop.is_set():
                statuses.append(requests.get(running.url + "/ready", timeout=10).status_code)
                stop.wait(0.02)

        prober = threading.Thread(target=probe)
        restarts = pool.restarts
        prober.start()
        try:
            # Time enough on a busy machine: the answer must come from memory, not time.
            request = {"goal": goal, "logic": "K", "timeout_ms": 60_000}
            answers = [running.post("/prove", request) for _ in range(2)]
        finally:
            stop.set()
            prober.join()
        for response in answers:
            assert_matches_openapi("POST", "/prove", response)
            assert response.status_code == 200, response.text
            answer = response.json()
            assert answer["verdict"] == "unknown" and answer["verified"] is False
            assert answer["limits"]["reason"] == "memory"
        assert pool.restarts == restarts + 1  # one session died; the certificate never again
        assert statuses and set(statuses) == {200}
        healed = running.post("/prove", {"goal": "BOX(q -> q)", "logic": "K"}).json()
        assert healed["verdict"] == "proved"
    finally:
        running.stop()


def test_a_burst_is_refused_before_any_search_and_probes_stay_prompt():
    running = RunningServer(pool_size="1", max_queue="1", pool_wait_s="30", cache_size="0")
    try:
        finished: dict[int, float] = {}

        def prove(i: int) -> requests.Response:
            goal = SLOW.replace("p", f"x{i}_")
            with requests.Session() as http:
                response = http.post(
                    running.url + "/prove",
                    json={"goal": goal, "logic": "K", "timeout_ms": 1500},
                    timeout=120,
                )
            finished[i] = time.monotonic()
            return response

        probe_seconds: list[float] = []
        with ThreadPoolExecutor(max_workers=8) as executor:
            futures = [executor.submit(prove, i) for i in range(6)]
            # the 4 refused have answered; one goal runs, one waits for it
            wait_for(lambda: len(finished) == 4 and running.server.in_flight.count == 2, 30)
            for path in ["/ready", "/health"] * 10:
                started = time.monotonic()
                assert running.get(path).status_code == 200
                probe_seconds.append(time.monotonic() - started)
            responses = [f.result() for f in futures]
        refused = [i for i, r in enumerate(responses) if r.status_code == 429]
        served = [i for i, r in enumerate(responses) if r.status_code == 200]
        assert len(refused) == 4 and len(served) == 2, [r.status_code for r in responses]
        for i in refused:
            assert_matches_openapi("POST", "/prove", responses[i])
            assert responses[i].json()["error"]["code"] == "saturated"
            assert int(responses[i].headers["Retry-After"]) >= 1
        # every refusal came back before the first admitted goal finished its search
        assert max(finished[i] for i in refused) < min(finished[i] for i in served)
        assert max(probe_seconds) < 0.5  # generous: probes never wait behind proofs
    finally:
        running.stop()


def test_a_batch_that_meets_saturation_keeps_what_it_answered():
    running = RunningServer(pool_size="1", max_queue="0")
    try:
        cached = running.post("/prove", {"goal": "BOX(p -> p)", "logic": "K"}).json()
        assert cached["verdict"] == "proved"
        box: dict = {}
        hog = threading.Thread(
            target=lambda: box.update(
                r=running.post("/prove", {"goal": SLOW, "logic": "K", "timeout_ms": 3000})
            )
        )
        hog.start()
        wait_for(lambda: running.server.in_flight.count == 1, timeout=30)
        goals = ["BOX q -> q", "(BOX q & BOX r) -> BOX(q & r)", "BOX q -> BOX BOX q"]  # misses
        batch = running.post("/prove/batch", {"goals": ["BOX(p -> p)", *goals], "logic": "K"})
        whole = running.post("/prove/batch", {"goals": goals, "logic": "K"})
        hog.join(60)
        assert_matches_openapi("POST", "/prove/batch", batch)
        assert batch.status_code == 200 and int(batch.headers["Retry-After"]) >= 1
        first, *rest = batch.json()["results"]
        assert first["verdict"] == "proved" and first["verified"] is True
        assert [r["error"]["code"] for r in rest] == ["saturated"] * 3
        assert all(r["ok"] is False and r["goal"] == g for r, g in zip(rest, goals, strict=True))
        assert whole.status_code == 429  # nothing answered yet: nothing to lose
        assert box["r"].status_code == 200
    finally:
        running.stop()


def test_a_request_cut_at_shutdown_gets_a_json_503():
    running = RunningServer(pool_size="1", shutdown_grace_s="0.5")
    box: dict = {}

    def slow() -> None:
        try:
            box["r"] = running.post("/prove", {"goal": SLOW, "logic": "K", "timeout_ms": 30000})
        except requests.RequestException as exc:
            box["r"] = exc

    worker = threading.Thread(target=slow)
    worker.start()
    wait_for(lambda: running.server.in_flight.count == 1, timeout=30)
    started = time.monotonic()
    running.stop()
    worker.join(60)
    response = box["r"]
    assert isinstance(response, requests.Response), f"the connection was cut: {response!r}"
    assert_matches_openapi("POST", "/prove", response)
    assert response.status_code == 503 and "Retry-After" in response.headers
    assert response.json()["error"]["code"] == "unavailable"
    assert time.monotonic() - started < 25  # the grace, not the request's 30 s timeout


def test_the_largest_configurable_timeout_is_honoured_and_one_past_it_is_a_400():
    running = RunningServer(pool_size="1", max_timeout_ms="600000")
    try:
        body = {"goal": "BOX(p -> p)", "logic": "K", "timeout_ms": 600_000}
        assert running.post("/prove", body).json()["verdict"] == "proved"
        batch = running.post("/prove/batch", {"goals": ["BOX q -> q"], "timeout_ms": 600_000})
        assert batch.status_code == 200 and batch.json()["results"][0]["verified"] is True
        too_long = running.post("/prove", {**body, "timeout_ms": 600_001})
        assert_matches_openapi("POST", "/prove", too_long)
        assert too_long.status_code == 400 and "600000" in too_long.json()["error"]["message"]
    finally:
        running.stop()


def test_a_search_process_that_dies_takes_only_its_goal_with_it():
    from pxl_prover import tableau

    running = RunningServer(pool_size="1", cache_size="0")
    box: dict = {}
    try:
        worker = threading.Thread(
            target=lambda: box.update(
                r=running.post("/prove", {"goal": SLOW, "logic": "K", "timeout_ms": 30000})
            )
        )
        worker.start()
        wait_for(lambda: running.server.in_flight.count == 1 and tableau.PROCESSES.pids(), 30)
        for pid in tableau.PROCESSES.pids():
            os.kill(pid, 9)
        worker.join(60)
        response = box["r"]
        assert_matches_openapi("POST", "/prove", response)
        assert response.status_code == 200
        answer = response.json()
        assert answer["verdict"] == "unknown" and answer["limits"]["reason"] == "memory"
        assert "search process died" in answer["limits"]["detail"]
        after = running.post("/prove", {"goal": "BOX(p -> p)", "logic": "K"}).json()
        assert after["verdict"] == "proved"
    finally:
        running.stop()


def test_probes_are_answered_while_every_http_thread_is_busy():
    running = RunningServer(pool_size="1", max_queue="0", threads="1")
    release = threading.Event()

    def hold() -> str:
        release.wait(60)
        return "released"

    running.server.app.add_url_rule("/test-hold", "test_hold", hold)
    threads = running.config.waitress_threads
    try:
        with ThreadPoolExecutor(max_workers=threads) as executor:
            held = [executor.submit(running.get, "/test-hold") for _ in range(threads)]
            wait_for(lambda: running.server.in_flight.count == threads, timeout=30)
            for path in ("/ready", "/health"):
                started = time.monotonic()
                response = requests.get(running.url + path, timeout=10)
                assert response.status_code == 200
                assert time.monotonic() - started < 2  # generous: with no free thread, never
            release.set()
            assert all(f.result().status_code == 200 for f in held)
    finally:
        release.set()
        running.stop()
