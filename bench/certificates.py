"""Certificate size and Coq check time, plain trees against shared sub-proofs (lemmas).

For each chosen LWB formula that the search proves, the same proof tree is rendered twice —
as a plain tree (`tableau_<logic>`) and with repeated sub-proofs written once as lemmas
(`dag_<logic>`, `pxl_prover.sharing`) — and each is checked by one long-lived Coq session
(the one the service uses). Prints a table: rules in the tree and outside lemmas, lemmas and
uses, certificate sizes, the time `share` took (Python), check times (the fastest of
--repeat checks, the two certificates checked in turn), and Coq's verdict on each.

    .venv/bin/python bench/certificates.py [--files k_ph_p:3,4 k_branch_p:8 ...]
        [--limit-s 30] [--repeat 3] [--cpu]

With --cpu the times are Coq's own CPU time for the definition the session sends (coqc's
`Time`, user + system), which a busy machine disturbs far less than wall-clock time.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import tempfile
import time
from pathlib import Path

from pxl_prover import certificate
from pxl_prover.check.gate import THEOREM, read
from pxl_prover.kernel import build_kernel
from pxl_prover.logics import get_logic
from pxl_prover.prooftree import Cut, OrRule, Tableau, Use
from pxl_prover.sessions import CoqSession, coq_limits
from pxl_prover.sharing import share
from pxl_prover.syntax import parse
from pxl_prover.tableau import Proof, SearchCrashed, SearchOverran, search

LWB = Path(__file__).resolve().parents[2] / "shared" / "benchmarks" / "lwb"
LOGIC_OF = {"k": "K", "kt": "T", "s4": "S4"}
DEFAULT_FILES = (
    "k_branch_p:8,11",
    "k_ph_p:4,5",
    "k_poly_p:21",
    "kt_branch_p:8",
    "kt_ph_p:4",
    "s4_ph_p:4",
    "s4_ipc_p:6",
)


def formulas(path: Path) -> list[str]:
    lines = path.read_text().splitlines()
    return [line.split(":", 1)[1].strip() for line in lines if line.split(":", 1)[0].isdigit()]


def rules(tree: Tableau) -> tuple[int, int]:
    """(rules in the tree, uses of lemmas in it), lemma proofs not counted."""
    count, uses, stack = 0, 0, [tree]
    while stack:
        node = stack.pop()
        count += 1
        if isinstance(node, Use):
            uses += 1
        elif isinstance(node, OrRule | Cut):
            stack.extend([node.left, node.right])
        elif hasattr(node, "then"):
            stack.append(node.then)
    return count, uses


def timed_checks(
    session: CoqSession, sources: tuple[str, ...], repeat: int
) -> list[tuple[bool, float]]:
    """(all accepted, fastest check in ms) per source, checked in turn `repeat` times (in
    turn, so that neither is favoured by what the machine or the session did before)."""
    best = [float("inf")] * len(sources)
    accepted = [True] * len(sources)
    for _ in range(repeat):
        for k, source in enumerate(sources):
            result = session.check(source, THEOREM, 120)
            accepted[k] = accepted[k] and result.accepted
            best[k] = min(best[k], result.elapsed_ms)
    return list(zip(accepted, best, strict=True))


def cpu_checks(
    session: CoqSession, sources: tuple[str, ...], repeat: int
) -> list[tuple[bool, float]]:
    """(accepted, least CPU ms) per source: coqc timing `repeat` copies of the definition,
    as `session` sends it."""
    out = []
    for source in sources:
        shape = read(source)
        definition = f"Definition {THEOREM} : {shape.claim} := {shape.proof}."
        body = "From PXL Require Import Tableau.\n" + "".join(
            "Time " + session.as_sent(definition.replace(THEOREM, f"copy{k}", 1)) + "\n"
            for k in range(repeat)
        )
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "timed.v"
            path.write_text(body)
            done = subprocess.run(
                ["coqc", *session.kernel.load_args, str(path)],
                capture_output=True,
                text=True,
                preexec_fn=coq_limits(None),  # coqc needs coqtop's stack for deep terms
            )
        times = [
            float(u) + float(s) for u, s in re.findall(r"\(([\d.]+)u,([\d.]+)s\)", done.stdout)
        ]
        accepted = done.returncode == 0 and len(times) == repeat
        out.append((accepted, min(times, default=float("nan")) * 1000))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", nargs="*", default=list(DEFAULT_FILES))
    parser.add_argument("--limit-s", type=float, default=30.0, help="search time per formula")
    parser.add_argument("--repeat", type=int, default=3, help="checks per certificate")
    parser.add_argument("--lwb", type=Path, default=LWB)
    parser.add_argument("--cpu", action="store_true", help="Coq's CPU time, by coqc")
    args = parser.parse_args()
    kernel = build_kernel()
    session = CoqSession(kernel)
    how = "Coq CPU time (coqc Time)" if args.cpu else "wall-clock time of a session's check"
    print(f"ms: the least of {args.repeat}, {how}")
    print(
        f"{'formula':<16} {'rules':>6} {'shared':>6} {'lemmas':>6} {'uses':>5} "
        f"{'plain kB':>9} {'dag kB':>8} {'share ms':>8} {'plain ms':>9} {'dag ms':>8}  coq"
    )
    try:
        for spec in args.files:
            name, numbers = spec.split(":")
            folder = name.split("_")[0]
            logic = get_logic(LOGIC_OF[folder])
            goals = formulas(args.lwb / folder / f"{name}.txt")
            for n in map(int, numbers.split(",")):
                goal = parse(goals[n - 1])
                try:
                    found = search(goal, logic, deadline=time.monotonic() + args.limit_s)
                except (SearchOverran, SearchCrashed) as exc:
                    print(f"{name}:{n:<6} {exc}")
                    continue
                if not isinstance(found, Proof):
                    print(f"{name}:{n:<6} {type(found).__name__} (no proof to measure)", flush=True)
                    continue
                tree = found.tree
                started = time.perf_counter()
                shared = share(goal, tree)
                share_ms = (time.perf_counter() - started) * 1000
                lemmas = len(certificate._lemmas_in(shared))
                plain = certificate.render(goal, logic, tree, shared=False)
                dag = certificate.render(goal, logic, tree)
                measure = cpu_checks if args.cpu else timed_checks
                (ok_plain, ms_plain), (ok_dag, ms_dag) = measure(session, (plain, dag), args.repeat)
                verdict = "both accepted" if ok_plain and ok_dag else f"{ok_plain=} {ok_dag=}"
                left, uses = rules(shared)
                print(
                    f"{name + ':' + str(n):<16} {rules(tree)[0]:>6} {left:>6} {lemmas:>6} "
                    f"{uses:>5} {len(plain) / 1000:>9.1f} {len(dag) / 1000:>8.1f} "
                    f"{share_ms:>8.1f} {ms_plain:>9.1f} {ms_dag:>8.1f}  {verdict}",
                    flush=True,
                )
    finally:
        session.close()


if __name__ == "__main__":
    main()
