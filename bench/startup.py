"""Start-up time: from process start to /ready 200, and where it goes.

Starts `pxl-prover serve` as the README does (a fresh process, the compiled kernel taken
from the cache) on a free loopback port, polls /ready every 10 ms and prints when each
start-up phase (as /ready's reasons name it) was first seen, then the total; repeats
`--runs` times and prints the median. The CPU column is the server process tree's
(server, forkserver, search processes, coqtop sessions) at that moment.

    .venv/bin/python bench/startup.py [--runs 3] [--pool-size 5]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # run as a file or with -m
from load import process_tree_cpu_s  # noqa: E402 - the CPU reading load.py prints

SERVE = Path(sys.executable).with_name("pxl-prover")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def ready_state(port: int) -> str:
    """'ready', the unready reasons, or 'not listening'."""
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        connection.request("GET", "/ready")
        response = connection.getresponse()
        body = json.loads(response.read())
        connection.close()
    except (OSError, ValueError):
        return "not listening"
    if response.status == 200:
        return "ready"
    return "; ".join(body.get("error", {}).get("reasons", [])) or str(response.status)


def one_start(pool_size: int) -> list[tuple[float, float, str]]:
    """(seconds since start, CPU seconds so far, state) at each change of state."""
    port = free_port()
    env = {**os.environ, "PXL_SERVER_PORT": str(port), "PXL_POOL_SIZE": str(pool_size)}
    started = time.monotonic()
    process = subprocess.Popen(
        [str(SERVE), "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    seen: list[tuple[float, float, str]] = []
    try:
        while True:
            state = ready_state(port)
            if not seen or seen[-1][2] != state:
                seen.append((time.monotonic() - started, process_tree_cpu_s(process.pid), state))
            if state == "ready" or time.monotonic() - started > 120:
                return seen
            time.sleep(0.01)
    finally:
        process.terminate()
        process.wait(30)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--pool-size", type=int, default=5)
    args = parser.parse_args(argv)
    totals = []
    for run in range(args.runs):
        seen = one_start(args.pool_size)
        print(f"run {run + 1}, pool {args.pool_size}, cpus {os.cpu_count()}")
        print(f"{'seconds':>9}{'CPU s':>8}  state first seen")
        for at, cpu, state in seen:
            print(f"{at:>9.2f}{cpu:>8.2f}  {state}")
        if seen[-1][2] == "ready":
            totals.append(seen[-1][0])
    if totals:
        print(f"start to /ready 200: median {statistics.median(totals):.2f} s over {len(totals)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
