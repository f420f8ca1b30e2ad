"""The tableau's propositional core: a nested disjunction is split as one clause of many
sides (`Branch.pick_or`), which is what makes LWB pigeonhole proofs small enough."""

from __future__ import annotations

from pathlib import Path

import pytest
from replay import replay

from pxl_prover.certificate import THEOREM, render
from pxl_prover.logics import get_logic
from pxl_prover.syntax import parse
from pxl_prover.tableau import Proof, search

LWB = Path(__file__).resolve().parents[2] / "shared" / "benchmarks" / "lwb"


def _lwb_formula(relpath: str, n: int) -> str:
    for line in (LWB / relpath).read_text().splitlines():
        if line.strip().startswith(f"{n}:"):
            return line.split(":", 1)[1]
    raise LookupError(f"{relpath} #{n}")


@pytest.mark.skipif(not LWB.is_dir(), reason="LWB benchmark files not present")
def test_pigeonhole_proof_within_a_node_budget(coq_session) -> None:
    """LWB k_ph_p #5 (6 pigeons, 5 holes) took 132,000 nodes when the sides of a pigeon's
    disjunction were split in between other clauses; placing each pigeon in turn takes
    about 9,000 (measured). The proof replays and Coq's kernel accepts it."""
    goal, logic = parse(_lwb_formula("k/k_ph_p.txt", 5)), get_logic("K")
    result = search(goal, logic, node_budget=40_000)
    assert isinstance(result, Proof), result
    replay(result.tree, goal, logic)
    checked = coq_session.check(render(goal, logic, result.tree), THEOREM, 120)
    assert checked.accepted, checked.message
