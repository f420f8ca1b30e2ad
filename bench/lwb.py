"""LWB benchmark (Balsiger, Heuerding, Schwendimann 2000) through the whole pipeline.

For each file, formulas 1..21 are decided in order with a per-formula time limit that
includes the Coq check of the certificate; the score is the largest n such that
formulas 1..n were all answered correctly in time. A wrong verdict is printed loudly
and makes the exit status non-zero.

    .venv/bin/python bench/lwb.py [--limit-s 10] [--logic k kt s4] [--only ph branch]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from pxl_prover.cli import local_prover
from pxl_prover.pool import PoolError

LWB = Path(__file__).resolve().parents[2] / "shared" / "benchmarks" / "lwb"
LOGIC_OF = {"k": "K", "kt": "T", "s4": "S4"}


def formulas(path: Path) -> list[str]:
    lines = path.read_text().splitlines()
    return [line.split(":", 1)[1].strip() for line in lines if line.split(":", 1)[0].isdigit()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--limit-s", type=float, default=10.0, help="time limit per formula")
    parser.add_argument("--logic", nargs="*", default=["k", "kt", "s4"], choices=sorted(LOGIC_OF))
    parser.add_argument("--only", nargs="*", default=None, help="class names, e.g. ph branch")
    parser.add_argument("--lwb", type=Path, default=LWB, help="folder of the LWB files")
    args = parser.parse_args(argv)

    with local_prover() as prover:
        return run(prover, args)


def run(prover, args: argparse.Namespace) -> int:
    wrong: list[str] = []
    print(
        f"LWB, {args.limit_s:g} s per formula incl. the Coq check; kernel {prover.kernel_hash[:12]}"
    )
    print(
        f"{'file':<16}{'score':>6}{'time of n (s)':>15}{'search (s)':>12}"
        f"{'check (s)':>11}  stopped by"
    )
    for folder in args.logic:
        for path in sorted((args.lwb / folder).glob("*.txt")):
            klass = path.stem.split("_")[1]
            if args.only and klass not in args.only:
                continue
            expected = "proved" if path.stem.endswith("_p") else "refuted"
            score, last, stop, search_s, check_s = 0, 0.0, "-", 0.0, 0.0
            for n, goal in enumerate(formulas(path), start=1):
                started = time.monotonic()
                try:
                    answer = prover.prove(
                        goal, LOGIC_OF[folder], timeout_ms=int(args.limit_s * 1000)
                    )
                except PoolError as exc:
                    stop = f"{n}: {exc}"
                    break
                elapsed = time.monotonic() - started
                verdict = answer["verdict"]
                if verdict not in ("unknown", expected):
                    wrong.append(f"{path.stem} #{n}: expected {expected}, got {verdict}")
                    print(
                        f"!!! WRONG VERDICT {path.stem} #{n}: expected {expected}, got {verdict}",
                        flush=True,
                    )
                    stop = f"{n}: WRONG"
                    break
                if verdict != expected or elapsed > args.limit_s:
                    reason = answer.get("limits", {}).get("reason", "over time")
                    stop = f"{n}: {reason}"
                    break
                score, last = n, elapsed
                timings = answer.get("timings_ms", {})
                search_s = timings.get("search", 0) / 1000
                check_s = timings.get("check", 0) / 1000
            print(
                f"{path.stem:<16}{score:>6}{last:>15.2f}{search_s:>12.2f}{check_s:>11.2f}  {stop}",
                flush=True,
            )
    if wrong:
        print(f"\n!!! {len(wrong)} WRONG VERDICT(S):", *wrong, sep="\n!!! ")
        return 1
    print("\nwrong verdicts: 0")
    return 0


if __name__ == "__main__":
    sys.exit(main())
