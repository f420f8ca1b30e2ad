"""Where a Coq check's CPU goes: the parts of the one sentence a session sends per check.

For each of the deployment guide's goals, the search finds a proof or a countermodel and
`certificate` renders it; the sentence a session sends (`Definition <name> : <claim> :=
<proof>.`, numerals as the kernel's constants when it has them) is then timed by a bare
coqtop with the kernel loaded, against sentences made of its parts:

  sentence        `Definition g : True := I.`: what any sentence costs (read, run, answer)
  + claim         `Definition g := <claim>.`: reading and typing the goal's statement
  + proof term    `Definition g := <the certificate's term>.`: reading and typing the tree
                  or model the search found (no checking)
  check           the whole sentence a session sends: the claim, the term, the kernel
                  lemma applied and the VM running the checker

Each cell is coqtop's CPU per whole sentence (ms): N copies piped into one coqtop (`BackTo`
every 100), minus a run with one copy (start-up and the kernel's loading), over N - 1; the
least of --repeat runs of each. No Python
is involved in what is timed. (`bench/load.py` prints the floor: one warm check of a small
lemma, `BackTo` included.)

    .venv/bin/python bench/coq_check_cost.py [--copies 2000] [--repeat 3] [--logic S5]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

from pxl_prover import certificate, tableau
from pxl_prover.check.gate import read
from pxl_prover.kernel import build_kernel
from pxl_prover.logics import get_logic
from pxl_prover.sessions import COQTOP_ARGS, IMPORT_SENTENCE, CoqSession, coq_environment
from pxl_prover.syntax import parse

GUIDE_GOALS = (
    "BOX(A -> A)",
    "BOX((A -> B) -> ((B -> C) -> (A -> C)))",
    "BOX(A -> BOX(DIA(A)))",
    "BOX(Good(action) and TrueP(props)) -> BOX(Good(action))",
    "DIA A -> BOX A",
    "BOX(A /\\ BOX(B) -> BOX(A /\\ B))",
)
# The sentence a kernel-loaded coqtop is in after the import (its `BackTo` target).
LOADED_STATE = 2


def sentences(goal: str, logic_name: str, session: CoqSession) -> dict[str, str]:
    """The check sentence for `goal` as a session sends it, and its parts as sentences."""
    logic = get_logic(logic_name)
    formula = parse(goal)
    found = tableau.search(formula, logic)
    if isinstance(found, tableau.Proof):
        source = certificate.render(formula, logic, found.tree, shared=False)
    elif isinstance(found, tableau.Refutation):
        source = certificate.render_refutation(formula, logic, found.model)
    else:
        raise SystemExit(f"{goal}: the search found neither a proof nor a countermodel")
    shape = read(source)
    # The proof is `<lemma>_L _ <term> <cast>`: its term alone, between the `_` and the cast.
    term = shape.proof.split(" _ ", 1)[1].rsplit(f" {certificate.CAST}", 1)[0]
    claim = shape.claim.removeprefix("~ ")
    return {
        "sentence": "Definition g{i} : True := I.",
        "+ claim": session.as_sent(f"Definition g{{i}} := ({claim})."),
        "+ proof term": session.as_sent(f"Definition g{{i}} := {term}."),
        "check": session.as_sent(f"Definition g{{i}} : {shape.claim} := {shape.proof}."),
    }


def coqtop_cpu_s(kernel_args: list[str], build_dir: str, lines: list[str]) -> float:
    """CPU seconds a coqtop spends reading `lines` after the kernel's import."""
    before = os.times()
    done = subprocess.run(
        ["coqtop", *COQTOP_ARGS, *kernel_args],
        cwd=build_dir,
        env=coq_environment(build_dir),
        input="\n".join([IMPORT_SENTENCE + ".", *lines]) + "\n",
        capture_output=True,
        text=True,
        check=False,
    )
    after = os.times()
    if "Error" in done.stdout:
        raise SystemExit(f"coqtop refused a timed sentence: {done.stdout[-400:]}")
    return (after.children_user + after.children_system) - (
        before.children_user + before.children_system
    )


def per_sentence_ms(
    kernel_args: list[str], build_dir: str, template: str, copies: int, repeat: int
) -> float:
    """The least of `repeat` measurements (a busy machine only ever adds CPU time)."""

    def run(n: int) -> float:
        lines = []
        for i in range(n):
            lines.append(template.format(i=i))
            if i % 100 == 99:
                lines.append(f"BackTo {LOADED_STATE}.")
        return coqtop_cpu_s(kernel_args, build_dir, lines)

    start_up = min(run(1) for _ in range(repeat))
    return (min(run(copies) for _ in range(repeat)) - start_up) * 1000 / (copies - 1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--copies", type=int, default=2000)
    parser.add_argument("--logic", default="S5")
    parser.add_argument("--repeat", type=int, default=3, help="runs per cell; the least counts")
    args = parser.parse_args(argv)
    kernel = build_kernel()
    session = CoqSession(kernel)  # only for how a session writes numerals
    try:
        rows = [(goal, sentences(goal, args.logic, session)) for goal in GUIDE_GOALS]
    finally:
        session.close()
        tableau.PROCESSES.close()
    print(f"coqtop CPU per sentence (ms), logic {args.logic}, {args.copies} copies each")
    print(f"{'goal':<58}{'sentence':>9}{'+ claim':>9}{'+ term':>8}{'check':>8}{'chars':>7}")
    for goal, parts in rows:
        cells = [
            per_sentence_ms(
                kernel.load_args, str(kernel.build_dir), parts[part], args.copies, args.repeat
            )
            for part in ("sentence", "+ claim", "+ proof term", "check")
        ]
        print(
            f"{goal:<58}{cells[0]:>9.3f}{cells[1]:>9.3f}{cells[2]:>8.3f}{cells[3]:>8.3f}"
            f"{len(parts['check'].format(i=0)):>7}",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
