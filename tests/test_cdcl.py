"""K and T worlds decided by the CDCL solver with modal clause learning (`search.cdcl`):
its models against the independent evaluator, its verdicts against the oracle, and the
LWB pigeonhole formulas it exists for through the whole search."""

from __future__ import annotations

from functools import reduce
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from oracle import MAX_KEYS, is_valid, keys_of
from replay import replay
from strategies import formulas

from pxl_prover.check.evaluator import check_frame, confirm
from pxl_prover.formula import Formula, Not, Or
from pxl_prover.logics import get_logic
from pxl_prover.nnf import nneg
from pxl_prover.search.formulas import Formulas
from pxl_prover.search.models import World, tree_countermodel
from pxl_prover.search.proofs import ROOT_ENTRY, ROOT_LABEL
from pxl_prover.search.tree import TreeBranch, TreeShared
from pxl_prover.sharing import subproofs
from pxl_prover.syntax import parse
from pxl_prover.tableau import Proof, Refutation, search

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


def _rules(tree: object) -> int:
    count, stack = 0, [tree]
    while stack:
        count += 1
        stack.extend(subproofs(stack.pop()))
    return count


# clauses of one to four sides, each side any small formula: nested disjunctions, which K
# and T split before the two-sided ones (`Branch.wide_first`)
_CLAUSES = st.lists(
    st.lists(formulas(max_leaves=3, atoms=("A", "B"), constants=False), min_size=1, max_size=4),
    min_size=1,
    max_size=4,
)


@pytest.mark.parametrize("logic", ["K", "T"])
@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(clauses=_CLAUSES)
def test_clauses_split_widest_first_agree_with_the_oracle(
    logic: str, clauses: list[list[Formula]]
) -> None:
    """A goal "not all of these clauses" is valid iff the clauses are unsatisfiable
    together: the search says so, its proof replays and its countermodel checks."""
    goal = Not(reduce(lambda a, b: Not(Or(Not(a), Not(b))), [reduce(Or, c) for c in clauses]))
    assume(len(keys_of(goal)) <= MAX_KEYS - 2)
    chosen = get_logic(logic)
    result = search(goal, chosen)
    if isinstance(result, Proof):
        replay(result.tree, goal, chosen)
    else:
        assert isinstance(result, Refutation), result
        assert confirm(result.model, goal, chosen) and not check_frame(result.model, chosen)
    assert isinstance(result, Proof) is is_valid(goal, chosen)


@pytest.mark.parametrize(("relpath", "logic"), [("k/k_ph_p.txt", "K"), ("kt/kt_ph_p.txt", "T")])
def test_lwb_pigeonhole_proofs_place_each_pigeon_first(relpath: str, logic: str) -> None:
    """Splitting a pigeon's clause (three or more sides) before any two-sided "not two
    in one hole" clause: LWB `ph_p` #5 closes in 5,129 rules (measured; 21,557 when the
    oldest open disjunction came first, whatever its width), and the proof replays."""
    goal = parse(_lwb_formula(relpath, 5))
    result = search(goal, get_logic(logic))
    assert isinstance(result, Proof), result
    replay(result.tree, goal, get_logic(logic))
    assert _rules(result.tree) < 10_000


def test_lwb_kt_ph_p_6_is_proved_through_the_whole_pipeline(prover) -> None:
    """Seven pigeons, six holes, in T: proved and its certificate checked by Coq (before
    the widest-first split its search alone took the whole 10 s of `bench/lwb.py`)."""
    answer = prover.prove(_lwb_formula("kt/kt_ph_p.txt", 6), "T", timeout_ms=120_000)
    assert answer["verdict"] == "proved", answer.get("limits")
    assert answer["verified"] is True


def test_a_cached_model_is_found_from_the_boxes_contents_and_the_diamonds_content() -> None:
    """`satisfied_with(base, content)` answers for the set base | {content}: a model
    cached for a superset of it, never one of a set missing a member."""
    fs = Formulas()
    p, q, r = (fs.intern(parse(name)) for name in ("P", "Q", "R"))
    shared = TreeShared(fs, get_logic("K"), None, None)
    world = World(("P", "Q"))
    shared.remember_model(frozenset([p, q]), world)
    assert shared.satisfied_with(frozenset([p]), q) == (world, frozenset())
    assert shared.satisfied_with(frozenset(), q) == (world, frozenset())
    assert shared.satisfied_with(frozenset([r]), q) is None
    assert shared.satisfied_with(frozenset([p]), r) is None
