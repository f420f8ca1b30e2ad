"""The search's verdicts against an independent oracle, its trees against a replay of the
checker's rules, and its countermodels against the independent evaluator."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from oracle import MAX_KEYS, is_valid, keys_of
from replay import replay
from strategies import formulas

from pxl_prover import prooftree
from pxl_prover.certificate import THEOREM, render
from pxl_prover.check.evaluator import check_frame, confirm
from pxl_prover.countermodel import Countermodel
from pxl_prover.formula import And, Atom, Box, Dia, Formula, Implies, Not, Or
from pxl_prover.logics import LOGICS, get_logic
from pxl_prover.nnf import nneg
from pxl_prover.search import tree
from pxl_prover.search.models import contract
from pxl_prover.syntax import parse
from pxl_prover.tableau import Proof, Refutation, Unknown, run_search, search

ALL_LOGICS = sorted(LOGICS)
LWB = Path(__file__).resolve().parents[2] / "shared" / "benchmarks" / "lwb"


def decide(goal: Formula, logic_name: str, *, here: bool = False) -> bool:
    """Search (in a search process, or `here` in this one, which sees this module's
    settings), then check whatever came back; True iff the goal was proved."""
    logic = get_logic(logic_name)
    result = run_search(goal, logic, None, None) if here else search(goal, logic)
    if isinstance(result, Proof):
        replay(result.tree, goal, logic)
        return True
    assert isinstance(result, Refutation), result
    assert confirm(result.model, goal, logic)
    assert not check_frame(result.model, logic)
    return False


TEXTBOOK = [
    ("BOX(A -> A)", "K", True),
    ("BOX A -> A", "T", True),
    ("BOX A -> A", "K", False),
    ("BOX A -> BOX BOX A", "S4", True),
    ("BOX A -> BOX BOX A", "T", False),
    ("DIA A -> BOX DIA A", "S5", True),
    ("DIA A -> BOX DIA A", "KD45", True),
    ("DIA A -> BOX DIA A", "S4", False),
    ("BOX(A /\\ BOX(B) -> BOX(A /\\ B))", "S5", False),
    ("BOX A -> DIA A", "D", True),
    ("BOX A -> DIA A", "K", False),
    ("A -> BOX DIA A", "B", True),
    ("A -> BOX DIA A", "S4", False),
    ("BOX(A -> B) -> BOX A -> BOX B", "K", True),
    ("DIA BOX A -> BOX A", "S5", True),
    ("DIA BOX A -> BOX A", "S4", False),
    ("BOX A -> BOX BOX A", "KD45", True),
    ("BOX A -> A", "KD45", False),
    ("BOX(BOX A -> A) -> BOX A", "S4", False),
    ("BOX(A -> BOX A) -> (DIA BOX A -> A)", "S4", False),
    ("DIA true", "D", True),
    ("DIA true", "K", False),
    ("true", "K", True),
    ("false", "S5", False),
]


@pytest.mark.parametrize(("goal", "logic", "valid"), TEXTBOOK)
def test_textbook_facts(goal: str, logic: str, valid: bool) -> None:
    assert decide(parse(goal), logic) is valid


@pytest.mark.parametrize("logic", ALL_LOGICS)
@settings(max_examples=120, suppress_health_check=[HealthCheck.too_slow])
@given(goal=formulas(max_leaves=7))
def test_search_agrees_with_the_oracle(logic: str, goal: Formula) -> None:
    assume(len(keys_of(goal)) <= MAX_KEYS - 3)
    assert decide(goal, logic) is is_valid(goal, get_logic(logic))


@pytest.mark.parametrize("logic", ["S4", "B", "S5", "KD45"])
@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(goal=formulas(max_leaves=10, atoms=("A", "B"), constants=False))
def test_search_agrees_with_the_oracle_on_larger_goals(logic: str, goal: Formula) -> None:
    assume(len(keys_of(goal)) <= MAX_KEYS - 2)
    assert decide(goal, logic) is is_valid(goal, get_logic(logic))


@pytest.mark.parametrize("probe", [0, 1, 3])
@pytest.mark.parametrize("logic", ["K", "T", "D"])
@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(goal=formulas(max_leaves=12, atoms=("A", "B"), constants=False))
def test_probed_successors_agree_with_the_oracle(logic: str, probe: int, goal: Formula) -> None:
    """Probes that give up at once or after a few successors (so that their partial
    work is thrown away and only their cache entries stay) change no verdict, and the
    trees and countermodels they lead to still check. The search runs here: the probe
    limit set below is this process's."""
    assume(len(keys_of(goal)) <= MAX_KEYS - 2)
    saved = tree._PROBE
    tree._PROBE = probe
    try:
        assert decide(goal, logic, here=True) is is_valid(goal, get_logic(logic))
    finally:
        tree._PROBE = saved


@pytest.mark.parametrize("logic", ["K", "T", "D"])
def test_a_diamond_refuted_at_once_is_found_before_its_siblings_model(logic: str) -> None:
    """A world whose other diamond needs a 3,000-world model closes on the diamond that
    is refuted at once, whichever comes first: the budget is far below that model."""
    chain: Formula = Atom("P0")
    for i in range(1, 3000):
        chain = And(Atom(f"P{i}"), Dia(chain))
    quick, never = Dia(Atom("Q")), Box(Not(Atom("Q")))
    for pair in ((Dia(chain), quick), (quick, Dia(chain))):
        goal = Not(And(And(*pair), never))
        result = search(goal, get_logic(logic), node_budget=1000)
        assert isinstance(result, Proof), result
        replay(result.tree, goal, get_logic(logic))


def test_trees_use_only_the_logics_frame_rules() -> None:
    """The same S5 theorem needs Eucl/Sym/Refl in S5 and has no proof at all in K."""
    goal = parse("DIA BOX A -> BOX A")
    proof = search(goal, get_logic("S5"))
    assert isinstance(proof, Proof)
    with pytest.raises(AssertionError):
        replay(proof.tree, goal, get_logic("K"))
    assert isinstance(search(goal, get_logic("K")), Refutation)


def test_unused_disjunctions_are_pruned_from_the_tree() -> None:
    """A contradiction next to a big irrelevant disjunction closes without splitting it."""
    noise: Formula = Atom("C0")
    for i in range(1, 30):
        noise = Or(noise, Atom(f"C{i}"))
    goal = Not(And(And(noise, Atom("A")), Not(Atom("A"))))
    result = search(goal, get_logic("K"))
    assert isinstance(result, Proof)
    assert not _rules_used(result.tree) & {"OrRule"}


def _rules_used(tree: prooftree.Tableau) -> set[str]:
    names, todo = set(), [tree]
    while todo:
        node = todo.pop()
        names.add(type(node).__name__)
        if isinstance(node, prooftree.OrRule):
            todo.extend((node.left, node.right))
        elif hasattr(node, "then"):
            todo.append(node.then)
    return names


def test_deep_goals_do_not_hit_the_recursion_limit() -> None:
    goal: Formula = Implies(Atom("A"), Atom("A"))
    for i in range(6000):
        goal = Box(goal) if i % 2 else Dia(goal) if i % 3 else Implies(Atom("B"), goal)
    result = search(goal, get_logic("K"))
    assert isinstance(result, Proof | Refutation)


def test_limits_give_unknown_with_the_reason() -> None:
    hard = parse(_lwb_formula("k/k_branch_n.txt", 12))
    by_nodes = search(hard, get_logic("K"), node_budget=2000)
    assert isinstance(by_nodes, Unknown) and by_nodes.reason == "nodes"
    by_time = search(hard, get_logic("K"), deadline=time.monotonic() + 0.05)
    assert isinstance(by_time, Unknown) and by_time.reason == "time"


def test_a_proof_not_written_out_by_the_deadline_is_unknown_for_time(
    monkeypatch, clock_jump
) -> None:
    """Writing a proof out takes time in proportion to the proof (seconds for LWB kt_ph_p
    #7 in T); it keeps to the deadline like the search, so the search process answers in
    time instead of overrunning its grace and being ended."""
    from pxl_prover import tableau

    written = tableau.emit

    def emit_as_the_deadline_passes(*args):
        clock_jump[0] = 3600.0
        return written(*args)

    monkeypatch.setattr(tableau, "emit", emit_as_the_deadline_passes)
    goal = parse("BOX(A -> B) -> (BOX A -> BOX B)")
    found = run_search(goal, get_logic("K"), time.monotonic() + 600, None)
    assert isinstance(found, Unknown) and found.reason == "time"
    assert "writing out the proof" in found.detail
    monkeypatch.setattr(tableau, "emit", written)  # the same proof, written in time
    clock_jump[0] = 0.0
    assert isinstance(run_search(goal, get_logic("K"), time.monotonic() + 600, None), Proof)


def test_nnf_matches_the_kernels_clauses() -> None:
    a, b = Atom("A"), Atom("B")
    from pxl_prover.formula import Bot, Iff, Top

    assert nneg(Iff(a, b)) == Or(And(a, Not(b)), And(Not(a), b))
    assert nneg(Implies(a, Box(b))) == And(a, Dia(Not(b)))
    assert nneg(Not(Not(Top()))) == Bot()
    assert nneg(Dia(Iff(a, b))) == Box(Or(And(a, Not(b)), And(Not(a), b)))


def _lwb_formula(relpath: str, n: int) -> str:
    for line in (LWB / relpath).read_text().splitlines():
        if line.startswith(f"{n}:"):
            return line.split(":", 1)[1]
    raise LookupError(f"{relpath} has no formula {n}")


LWB_FILES = sorted(str(p.relative_to(LWB)) for p in LWB.glob("*/*.txt") if p.name != "README.md")


@pytest.mark.skipif(not LWB.is_dir(), reason="LWB benchmark files not present")
@pytest.mark.parametrize("relpath", LWB_FILES)
def test_lwb_first_formulas_get_the_expected_verdict(relpath: str) -> None:
    logic = {"k": "K", "kt": "T", "s4": "S4"}[relpath.split("/")[0]]
    expected = relpath.endswith("_p.txt")
    for n in (1, 2, 3):
        goal = parse(_lwb_formula(relpath, n))
        result = search(goal, get_logic(logic), deadline=time.monotonic() + 60)
        assert not isinstance(result, Unknown), (relpath, n, result)
        assert isinstance(result, Proof) is expected, (relpath, n)
        if isinstance(result, Refutation):
            assert confirm(result.model, goal, get_logic(logic))


# -- Coq: the kernel's checker, not only the replay, accepts what the search produces --


@pytest.mark.parametrize(("goal", "logic"), [(g, lg) for g, lg, valid in TEXTBOOK if valid])
def test_coq_accepts_the_textbook_proofs(goal: str, logic: str, coq_session) -> None:
    formula = parse(goal)
    result = search(formula, get_logic(logic))
    assert isinstance(result, Proof)
    checked = coq_session.check(render(formula, get_logic(logic), result.tree), THEOREM, 60)
    assert checked.accepted, checked.message


@pytest.mark.parametrize("logic", ALL_LOGICS)
@settings(max_examples=25, suppress_health_check=[HealthCheck.too_slow])
@given(goal=formulas(max_leaves=8))
def test_coq_accepts_random_proofs(logic: str, goal: Formula, coq_session) -> None:
    result = search(goal, get_logic(logic))
    if isinstance(result, Proof):
        source = render(goal, get_logic(logic), result.tree)
        checked = coq_session.check(source, THEOREM, 60)
        assert checked.accepted, checked.message


@pytest.mark.skipif(not LWB.is_dir(), reason="LWB benchmark files not present")
@pytest.mark.parametrize("relpath", [p for p in LWB_FILES if p.endswith("_p.txt")])
def test_coq_accepts_lwb_proofs(relpath: str, coq_session) -> None:
    logic = get_logic({"k": "K", "kt": "T", "s4": "S4"}[relpath.split("/")[0]])
    for n in (1, 2, 3):
        goal = parse(_lwb_formula(relpath, n))
        result = search(goal, logic, deadline=time.monotonic() + 60)
        assert isinstance(result, Proof), (relpath, n, result)
        checked = coq_session.check(render(goal, logic, result.tree), THEOREM, 120)
        assert checked.accepted, (relpath, n, checked.message)


def test_countermodels_are_contracted_by_bisimulation() -> None:
    twins = Countermodel(
        ("r", "a", "b", "c"),
        (("r", "a"), ("r", "b"), ("b", "c")),
        {"a": ("A",), "b": ("A",), "c": ()},
        "r",
    )
    small = contract(twins)
    assert len(small.worlds) == 4  # b sees c, a sees nothing: not bisimilar
    leaves = Countermodel(
        ("r", "a", "b"), (("r", "a"), ("r", "b")), {"a": ("A",), "b": ("A",)}, "r"
    )
    merged = contract(leaves)
    assert merged.worlds == ("r", "a") and merged.relation == (("r", "a"),)
    goal = parse("DIA A -> DIA (A /\\ DIA A)")
    assert confirm(leaves, goal, get_logic("K")) and confirm(merged, goal, get_logic("K"))
