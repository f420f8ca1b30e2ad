"""LWB benchmark (Balsiger, Heuerding, Schwendimann 2000) through the whole pipeline.

For each file, formulas 1..21 are decided in order with a per-formula time limit that
includes the Coq check of the certificate; the score is the largest n such that
formulas 1..n were all answered correctly in time. A wrong verdict is printed loudly
and makes the exit status non-zero.

    .venv/bin/python bench/lwb.py [--limit-s 10] [--logic k kt s4] [--only ph branch]
        [--files k_branch_n] [--peers konclude fact++]

The same files, in the same run and with the same limit and scoring, go to the peers a
user could pick instead (bench/peers.py: Konclude, FaCT++; a peer not installed is
skipped with a note). They answer without a certificate; PXL's time includes its check.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pxl_prover.cli import local_prover
from pxl_prover.pool import PoolError

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/peers.py, beside this script
import peers  # noqa: E402

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
    parser.add_argument(
        "--files", nargs="*", default=None, help="file names without .txt, e.g. k_branch_n"
    )
    parser.add_argument(
        "--peers",
        nargs="*",
        default=sorted(peers.PEERS),
        choices=sorted(peers.PEERS),
        help="other reasoners to score on the same formulas (none: --peers with no names)",
    )
    parser.add_argument("--lwb", type=Path, default=LWB, help="folder of the LWB files")
    args = parser.parse_args(argv)

    with local_prover() as prover:
        return run(prover, args)


@dataclass
class Score:
    """A reasoner's score on one file: the largest n with 1..n right in time."""

    n: int = 0
    seconds: float = 0.0
    stop: str = "-"
    search_s: float = 0.0
    check_s: float = 0.0
    wrong: str = ""


def score(
    path: Path,
    expected: str,
    limit_s: float,
    decide: Callable[[str], tuple[str, float, str, dict[str, Any]]],
) -> Score:
    """Decide formulas 1..21 in order until the first one not answered right in time."""
    result = Score()
    for n, goal in enumerate(formulas(path), start=1):
        verdict, elapsed, reason, timings = decide(goal)
        if verdict not in ("unknown", expected):
            result.wrong = f"{path.stem} #{n}: expected {expected}, got {verdict}"
            result.stop = f"{n}: WRONG"
            break
        if verdict != expected or elapsed > limit_s:
            result.stop = f"{n}: {reason or 'over time'}"
            break
        result.n, result.seconds = n, elapsed
        result.search_s = timings.get("search", 0) / 1000
        result.check_s = timings.get("check", 0) / 1000
    return result


def run(prover, args: argparse.Namespace) -> int:
    wrong: list[str] = []
    peer_wrong: list[str] = []
    chosen = dict(peers.available())
    others = [name for name in args.peers if name in chosen]
    missing = [name for name in args.peers if name not in chosen]
    print(
        f"LWB, {args.limit_s:g} s per formula incl. the Coq check; kernel {prover.kernel_hash[:12]}"
    )
    print("peers: the ALC translation (K; KT reflexive; S4 reflexive+transitive), no certificate")
    for name in missing:
        print(f"note: {name} is not installed here; skipped")
    print(
        f"{'file':<16}{'pxl':>5}{'time of n (s)':>15}{'search (s)':>12}{'check (s)':>11}"
        + "".join(f"{name:>10}" for name in others)
        + "  stopped by"
    )
    totals: dict[str, dict[str, int]] = {}

    def pxl_decide(folder: str) -> Callable[[str], tuple[str, float, str, dict[str, Any]]]:
        def decide(goal: str) -> tuple[str, float, str, dict[str, Any]]:
            started = time.monotonic()
            try:
                answer = prover.prove(goal, LOGIC_OF[folder], timeout_ms=int(args.limit_s * 1000))
            except PoolError as exc:
                return "unknown", time.monotonic() - started, str(exc), {}
            reason = answer.get("limits", {}).get("reason", "")
            return (
                answer["verdict"],
                time.monotonic() - started,
                reason,
                answer.get("timings_ms", {}),
            )

        return decide

    def peer_decide(
        name: str, folder: str
    ) -> Callable[[str], tuple[str, float, str, dict[str, Any]]]:
        def decide(goal: str) -> tuple[str, float, str, dict[str, Any]]:
            answer = chosen[name](goal, folder, args.limit_s)
            return answer.verdict, answer.seconds, answer.note, {}

        return decide

    for folder in args.logic:
        for path in sorted((args.lwb / folder).glob("*.txt")):
            klass = path.stem.split("_")[1]
            if args.only and klass not in args.only:
                continue
            if args.files and path.stem not in args.files:
                continue
            expected = "proved" if path.stem.endswith("_p") else "refuted"
            mine = score(path, expected, args.limit_s, pxl_decide(folder))
            if mine.wrong:
                wrong.append(mine.wrong)
                print(f"!!! WRONG VERDICT {mine.wrong}", flush=True)
            theirs = {
                name: score(path, expected, args.limit_s, peer_decide(name, folder))
                for name in others
            }
            stops = [f"pxl {mine.stop}"] + [f"{name} {s.stop}" for name, s in theirs.items()]
            for name, s in theirs.items():
                if s.wrong:
                    peer_wrong.append(f"{name}: {s.wrong}")
            total = totals.setdefault(folder, {})
            for name, s in [("pxl", mine), *theirs.items()]:
                total[name] = total.get(name, 0) + s.n
            print(
                f"{path.stem:<16}{mine.n:>5}{mine.seconds:>15.2f}{mine.search_s:>12.2f}"
                f"{mine.check_s:>11.2f}"
                + "".join(f"{theirs[name].n:>10}" for name in others)
                + "  "
                + "; ".join(stops),
                flush=True,
            )
    for folder, total in totals.items():
        print(
            f"total {folder:<10}{total['pxl']:>5}{'':>38}"
            + "".join(f"{total[name]:>10}" for name in others)
        )
    if len(totals) > 1:
        print(
            f"{'total':<16}{sum(t['pxl'] for t in totals.values()):>5}{'':>38}"
            + "".join(f"{sum(t[name] for t in totals.values()):>10}" for name in others)
        )
    if peer_wrong:
        print(
            "\npeers' wrong verdicts (their defect or the translation's, not PXL's):",
            *peer_wrong,
            sep="\n  ",
        )
    if wrong:
        print(f"\n!!! {len(wrong)} WRONG VERDICT(S):", *wrong, sep="\n!!! ")
        return 1
    print("\nwrong verdicts: 0")
    return 0


if __name__ == "__main__":
    sys.exit(main())
