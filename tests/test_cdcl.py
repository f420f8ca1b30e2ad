"""K and T worlds decided by the CDCL solver with modal clause learning (`search.cdcl`):
its models against the independent evaluator, its verdicts against the oracle, and the
LWB pigeonhole formulas it exists for through the whole search."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from oracle import MAX_KEYS, is_valid, keys_of
from strategies import formulas

from pxl_prover.check.evaluator import confirm
from pxl_prover.formula import Formula
from pxl_prover.logics import get_logic
from pxl_prover.nnf import nneg
from pxl_prover.search.formulas import Formulas
from pxl_prover.search.models import World, tree_countermodel
from pxl_prover.search.proofs import ROOT_ENTRY, ROOT_LABEL
from pxl_prover.search.tree import TreeBranch, TreeShared
from pxl_prover.syntax import parse
from pxl_prover.tableau import Refutation, search

LWB = Path(__file__).resolve().parents[2] / "shared" / "benchmarks" / "lwb"


def solve_root(goal: Formula, logic_name: str) -> World | None:
    """The CDCL solver on the root set of `goal`'s search (its successors decided as the
    search decides them: caches, then a branch of their own, CDCL first again)."""
    logic = get_logic(logic_name)
    fs = Formulas()
    root = fs.intern(nneg(goal))
    shared = TreeShared(fs, logic, None, None)
    branch = TreeBranch(shared, ROOT_LABEL, {root: ROOT_ENTRY})
    found = branch.by_cdcl(frozenset([root]))
    return found if isinstance(found, World) else None


@pytest.mark.parametrize("logic", ["K", "T"])
@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(goal=formulas(max_leaves=12, atoms=("A", "B")))
def test_cdcl_finds_a_model_exactly_when_the_oracle_says_invalid(logic: str, goal: Formula) -> None:
    """Learnt clauses are sound (a model is never lost) and a model found is one: the
    evaluator confirms that it refutes the goal."""
    assume(len(keys_of(goal)) <= MAX_KEYS - 2)
    model = solve_root(goal, logic)
    assert (model is None) is is_valid(goal, get_logic(logic))
    if model is not None:
        countermodel = tree_countermodel(model, get_logic(logic))
        assert countermodel is not None
        assert confirm(countermodel, goal, get_logic(logic))


@pytest.mark.parametrize(
    ("goal", "logic", "valid"),
    [
        # the solver's first choice (R false) needs the box, whose successor closes:
        # the clause learnt from that core makes it choose R
        ("~(((BOX ~Q) \\/ R) /\\ DIA Q)", "K", False),
        ("~(((BOX ~Q) \\/ R) /\\ DIA Q /\\ ~R)", "K", True),
        # in T a box's content holds here too, and a diamond may be its own witness
        ("~(((BOX ~Q) \\/ R) /\\ DIA Q /\\ ~R)", "T", True),
        ("~((BOX (~Q \\/ P)) /\\ DIA Q /\\ (~P \\/ R))", "T", False),
    ],
)
def test_learnt_clauses_on_small_worlds(goal: str, logic: str, valid: bool) -> None:
    model = solve_root(parse(goal), logic)
    assert (model is None) is valid
    if model is not None:
        countermodel = tree_countermodel(model, get_logic(logic))
        assert countermodel is not None and confirm(countermodel, parse(goal), get_logic(logic))


def _lwb_formula(relpath: str, n: int) -> str:
    for line in (LWB / relpath).read_text().splitlines():
        if line.strip().startswith(f"{n}:"):
            return line.split(":", 1)[1]
    raise LookupError(f"{relpath} #{n}")


@pytest.mark.parametrize(("relpath", "logic"), [("k/k_ph_n.txt", "K"), ("kt/kt_ph_n.txt", "T")])
def test_lwb_pigeonhole_countermodels_within_a_small_node_budget(relpath: str, logic: str) -> None:
    """Pigeonhole with a hole to spare (LWB `ph_n` #12: 13 pigeons) is a propositional
    search the tableau's splitting does not finish in 2,000,000 nodes; the CDCL solver
    needs under 1,000 (measured), and its countermodel checks."""
    goal = parse(_lwb_formula(relpath, 12))
    result = search(goal, get_logic(logic), node_budget=50_000)
    assert isinstance(result, Refutation), result
    assert confirm(result.model, goal, get_logic(logic))
