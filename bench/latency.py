"""Latency of the guide's example goals in a warm process (search + certificate + Coq check).

No cache is involved: every repetition runs the search and has Coq check the
certificate again. Prints per goal the median and P95 wall time, the median of the check
(as the answer's timings report it), and CPU per request split into the Python part (this
process: parse, the search of a small goal (searched in the calling thread) or handing it
to a search process, certificate, reading Coq's answer), the search processes' part (from
/proc; none for the guide's goals) and the Coq part (the coqtop process, from /proc).

    .venv/bin/python bench/latency.py [--repeat 200] [--logic S5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

from pxl_prover import tableau
from pxl_prover.engine import Prover
from pxl_prover.kernel import build_kernel
from pxl_prover.sessions import CoqSession

GUIDE_GOALS = (
    "BOX(A -> A)",
    "BOX(A /\\ B -> A)",
    "BOX((A -> B) -> ((B -> C) -> (A -> C)))",
    "BOX(BOX(A) -> BOX(BOX(A)))",
    "BOX(A -> BOX(DIA(A)))",
    "BOX(Good(action) and TrueP(props)) -> BOX(Good(action))",
    "BOX(A /\\ BOX(B) -> BOX(A /\\ B))",
    "DIA A -> BOX A",
)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def process_cpu_s(pid: int) -> float:
    """User + system CPU seconds of process `pid` so far."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def search_cpu_s() -> float:
    """User + system CPU seconds of the search processes alive now."""
    return sum(process_cpu_s(pid) for pid in tableau.PROCESSES.pids())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--logic", default="S5")
    args = parser.parse_args(argv)
    session = CoqSession(build_kernel())
    prover = Prover(session)
    prover.canary()  # warm: every logic's lemma assumptions asked once
    print(f"warm process, logic {args.logic}, {args.repeat} runs per goal, no cache")
    print(
        f"{'goal':<58}{'verdict':>9}{'median ms':>11}{'p95 ms':>9}{'check ms':>10}"
        f"{'python CPU':>12}{'search CPU':>12}{'coq CPU':>9}"
    )
    totals = [0.0, 0.0, 0.0, 0]
    for goal in GUIDE_GOALS:
        times, checks, verdict = [], [], ""
        python_before, coq_before = time.process_time(), process_cpu_s(session.pid)
        search_before = search_cpu_s()
        for _ in range(args.repeat):
            started = time.perf_counter()
            answer = prover.prove(goal, args.logic)
            times.append((time.perf_counter() - started) * 1000)
            checks.append(answer.get("timings_ms", {}).get("check", 0.0))
            verdict = answer["verdict"]
        python_ms = (time.process_time() - python_before) * 1000 / args.repeat
        coq_ms = (process_cpu_s(session.pid) - coq_before) * 1000 / args.repeat
        search_ms = (search_cpu_s() - search_before) * 1000 / args.repeat
        totals[0] += python_ms
        totals[1] += search_ms
        totals[2] += coq_ms
        totals[3] += 1
        print(
            f"{goal:<58}{verdict:>9}{statistics.median(times):>11.2f}"
            f"{percentile(times, 0.95):>9.2f}{statistics.median(checks):>10.2f}"
            f"{python_ms:>12.2f}{search_ms:>12.2f}{coq_ms:>9.2f}"
        )
    print(
        f"mean CPU per request: python {totals[0] / totals[3]:.2f} ms, "
        f"search {totals[1] / totals[3]:.2f} ms, coq {totals[2] / totals[3]:.2f} ms"
    )
    session.close()
    tableau.PROCESSES.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
