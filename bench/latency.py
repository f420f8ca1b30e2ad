"""Latency of the guide's example goals in a warm process (search + certificate + Coq check).

No cache is involved: every repetition runs the search and has Coq check the
certificate again. Prints median and P95 per goal.

    .venv/bin/python bench/latency.py [--repeat 200] [--logic S5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

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
    print(f"{'goal':<58}{'verdict':>9}{'median ms':>11}{'p95 ms':>9}{'check ms':>10}")
    for goal in GUIDE_GOALS:
        times, checks, verdict = [], [], ""
        for _ in range(args.repeat):
            started = time.perf_counter()
            answer = prover.prove(goal, args.logic)
            times.append((time.perf_counter() - started) * 1000)
            checks.append(answer.get("timings_ms", {}).get("check", 0.0))
            verdict = answer["verdict"]
        print(
            f"{goal:<58}{verdict:>9}{statistics.median(times):>11.2f}"
            f"{percentile(times, 0.95):>9.2f}{statistics.median(checks):>10.2f}"
        )
    session.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
