"""Search-only timing over the LWB benchmark files (no certificate rendering, no Coq).

For each file: the standard score (largest n such that formulas 1..n all got the
expected verdict within the limit), the time of that instance, the total time, and what
stopped the file (the formula's number and its limit, or its search process overrunning
its deadline or dying: such a goal ends its file's row, not the run).
Neither is checked: countermodels are counted as found (the engine confirms them with the
evaluator, outside the search) and so are proofs — `bench/lwb.py` measures the whole pipeline.

    .venv/bin/python bench/search.py [--limit 10] [--only k_branch] [--dir PATH]
"""

from __future__ import annotations

import argparse
import re
import time
from pathlib import Path

from pxl_prover.logics import get_logic
from pxl_prover.syntax import parse
from pxl_prover.tableau import Proof, Refutation, SearchCrashed, SearchOverran, Unknown, search

DEFAULT_DIR = Path(__file__).resolve().parents[2] / "shared" / "benchmarks" / "lwb"
LOGIC_OF_FOLDER = {"k": "K", "kt": "T", "s4": "S4"}
_LINE = re.compile(r"^\s*(\d+)\s*:\s*(.*)$")


def read_lwb(path: Path) -> list[str]:
    """The formulas of one LWB file, in order (1..21)."""
    return [m.group(2) for line in path.read_text().splitlines() if (m := _LINE.match(line))]


def run_file(path: Path, limit: float) -> tuple[int, float, float, list[str], str]:
    """(score, seconds of the last solved instance, total seconds, wrong verdicts, what
    stopped the file)."""
    logic = get_logic(LOGIC_OF_FOLDER[path.parent.name])
    expected = path.stem.endswith("_p")
    score, last, total, wrong, stop = 0, 0.0, 0.0, [], "-"
    for n, text in enumerate(read_lwb(path), start=1):
        start = time.monotonic()
        try:
            result = search(parse(text), logic, deadline=start + limit)
        except SearchCrashed as exc:  # SearchOverran too: no verdict for this goal
            kind = "overran" if isinstance(exc, SearchOverran) else "crashed"
            total += time.monotonic() - start
            stop = f"{n}: {kind} ({exc})"
            break
        elapsed = time.monotonic() - start
        total += elapsed
        if not isinstance(result, Proof | Refutation) or elapsed > limit:
            stop = f"{n}: {result.reason if isinstance(result, Unknown) else 'over time'}"
            break
        if isinstance(result, Proof) is not expected:
            wrong.append(f"{path.name} #{n}: got {type(result).__name__}")
            stop = f"{n}: WRONG"
            break
        score, last = n, elapsed
    return score, last, total, wrong, stop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=float, default=10.0, help="seconds per formula")
    parser.add_argument("--only", default="", help="substring of the file names to run")
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIR)
    args = parser.parse_args()
    files = sorted(p for p in args.dir.glob("*/*.txt") if args.only in p.name)
    print(f"LWB search only, limit {args.limit:g} s per formula")
    print(f"{'file':<18} {'score':>5} {'time(n)':>9} {'total':>8}  stopped by")
    all_wrong: list[str] = []
    for path in files:
        score, last, total, wrong, stop = run_file(path, args.limit)
        all_wrong.extend(wrong)
        flag = "  WRONG VERDICT" if wrong else ""
        print(f"{path.stem:<18} {score:>5} {last:>8.2f}s {total:>7.1f}s  {stop}{flag}", flush=True)
    if all_wrong:
        print("\n!!! WRONG VERDICTS !!!")
        for line in all_wrong:
            print("  " + line)


if __name__ == "__main__":
    main()
