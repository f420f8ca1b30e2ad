"""A box and its dual diamond at one world close the branch at once (`search.complements`),
with a proof of the ordinary rules that the replay and Coq's kernel accept in every logic."""

from __future__ import annotations

import pytest
from replay import replay

from pxl_prover.certificate import THEOREM, render
from pxl_prover.logics import LOGICS, get_logic
from pxl_prover.nnf import nneg
from pxl_prover.search.formulas import Formulas
from pxl_prover.search.tree import TreeBranch, TreeShared
from pxl_prover.syntax import parse
from pxl_prover.tableau import Proof, search

GOALS = [
    "BOX(A /\\ DIA B) -> BOX(A /\\ DIA B)",
    "DIA(A \\/ BOX ~B) -> DIA(A \\/ BOX ~B)",
    "(BOX A /\\ (DIA ~A \\/ B)) -> B",
    "(BOX(A \\/ B) /\\ (DIA(~A /\\ ~B) \\/ C) /\\ (DIA(~A /\\ ~B) \\/ ~C)) -> false",
]


@pytest.mark.parametrize("logic", sorted(LOGICS))
@pytest.mark.parametrize("goal", GOALS)
def test_dual_modal_formulas_give_proofs_the_kernel_accepts(
    goal: str, logic: str, coq_session
) -> None:
    formula = parse(goal)
    result = search(formula, get_logic(logic))
    assert isinstance(result, Proof), result
    replay(result.tree, formula, get_logic(logic))
    checked = coq_session.check(render(formula, get_logic(logic), result.tree), THEOREM, 60)
    assert checked.accepted, checked.message


def test_the_branch_closes_when_the_dual_arrives_before_any_rule_runs() -> None:
    """Entered together, `[](A & <>B)` and `<>(~A | []~B)` clash on entry: no conjunction,
    disjunction or successor is needed to find it."""
    fs = Formulas()
    box = fs.intern(nneg(parse("~BOX(A /\\ DIA B)")))  # [](A & <>B)
    dual = fs.intern(nneg(parse("~~BOX(A /\\ DIA B)")))
    assert fs.comp[box] == dual and fs.comp[dual] == box
    branch = TreeBranch(TreeShared(fs, get_logic("K"), None, None), 0, {box: 1, dual: 2})
    assert branch.clash is not None
    assert branch.clash[1] == {1, 2}
