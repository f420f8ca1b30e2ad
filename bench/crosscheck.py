"""Random goals through the whole pipeline in all seven logics, against the independent oracle.

Goals nobody wrote: random formulas over three atoms, the constants and every connective
(nesting 2-6), each decided by `Prover.prove` in every logic (search, then Coq's check of
the certificate or the evaluator's, and Coq's, of the countermodel), and each `proved` or
`refuted` compared with the tests' oracle (`tests/oracle.py`: elimination of types, which
shares nothing with the search). Prints per logic how many goals were proved, refuted,
left unknown, and how many verdicts were wrong, then every wrong or unknown goal.

    .venv/bin/python bench/crosscheck.py [--seconds 300] [--seed 1]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections import Counter
from pathlib import Path

from pxl_prover import tableau
from pxl_prover.engine import Prover
from pxl_prover.kernel import build_kernel
from pxl_prover.logics import LOGICS, get_logic
from pxl_prover.sessions import CoqSession
from pxl_prover.syntax import parse

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from goals import random_goal  # noqa: E402
from oracle import MAX_KEYS, is_valid, keys_of  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=300.0)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    session = CoqSession(build_kernel())
    prover = Prover(session)
    counts = {name: Counter() for name in sorted(LOGICS)}
    odd: list[str] = []
    stop = time.monotonic() + args.seconds
    try:
        while time.monotonic() < stop:
            text = random_goal(rng, rng.randrange(2, 7))
            formula = parse(text)
            if len(keys_of(formula)) > MAX_KEYS:  # past what the oracle decides quickly
                continue
            for name in sorted(LOGICS):
                verdict = prover.prove(text, name)["verdict"]
                if verdict not in ("proved", "refuted"):
                    counts[name]["unknown"] += 1
                    odd.append(f"unknown  {name:<5} {text}")
                elif (verdict == "proved") != is_valid(formula, get_logic(name)):
                    counts[name]["wrong"] += 1
                    odd.append(f"WRONG    {name:<5} {text}  ({verdict})")
                else:
                    counts[name][verdict] += 1
    finally:
        session.close()
        tableau.PROCESSES.close()
    print(f"random goals, {args.seconds:.0f} s, seed {args.seed}; oracle: tests/oracle.py")
    print(f"{'logic':<7}{'proved':>8}{'refuted':>9}{'unknown':>9}{'wrong':>7}")
    for name, tally in counts.items():
        print(
            f"{name:<7}{tally['proved']:>8}{tally['refuted']:>9}{tally['unknown']:>9}"
            f"{tally['wrong']:>7}"
        )
    print("\n".join(odd))
    return 1 if any(tally["wrong"] for tally in counts.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
