"""Shared sub-proofs: lemmas checked once by the kernel (`check_dag`, `dag_<logic>`), the cut
rule, and the gate. Every certificate here goes through the gate and a real Coq session;
hand-written bad ones (wrong references, forward references, out-of-range positions,
false lemmas, false claims) must be refused by one of them, never accepted."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from oracle import is_valid
from replay import ReplayError, replay
from strategies import formulas

from pxl_prover import certificate as c
from pxl_prover import prooftree as t
from pxl_prover.check import gate
from pxl_prover.formula import Formula
from pxl_prover.logics import LOGICS, get_logic
from pxl_prover.sessions import CoqSession
from pxl_prover.sharing import share
from pxl_prover.syntax import parse
from pxl_prover.tableau import Proof, search

LWB = Path(__file__).resolve().parents[2] / "shared" / "benchmarks" / "lwb"


def _lemmas(tree: t.Tableau) -> list[t.Lemma]:
    return c._lemmas_in(tree)


def _dag(claim: str, lemmas: str, root: str, logic: str = "K") -> str:
    """A hand-written certificate with lemmas, in the shape PXL renders."""
    return "\n".join(
        [
            "From PXL Require Import Tableau.",
            f"Theorem pxl_goal : valid_{logic} ({claim}).",
            f"Proof (dag_{logic} _ [{lemmas}] ({root})",
            f"  {gate.CAST}).",
        ]
    )


# A ∧ ¬A at one label is closed: the lemma. `A -> A` in NNF negated is `A ∧ ¬A` at the root:
# after TAnd the branch is [(0, ¬A), (0, A), root] (position 0 newest).
CLOSED = "Lem 1 [HForm 0 (Var 0); HForm 0 (Neg (Var 0))] (TClose 0 1)"
A_TO_A = "Impl (Var 0) (Var 0)"


def _accepted(session: CoqSession, source: str) -> bool:
    try:
        gate.read(source)
    except gate.CertificateFormatError:
        return False
    return session.check(source, c.THEOREM, 60).accepted


def test_a_lemma_applied_with_its_labels_and_positions_is_accepted(
    coq_session: CoqSession,
) -> None:
    source = _dag(A_TO_A, CLOSED, "TAnd 0 (TUse 0 [P 0] [P 1; P 0])")
    result = coq_session.check(source, c.THEOREM, 60)
    assert result.accepted, result.message
    assert result.assumptions == ("Classical_Prop.classic",)


def test_hypotheses_may_name_the_root_formulas_subformulas(coq_session: CoqSession) -> None:
    # nneg (A -> A) = A /\ ~A; its subformulas in preorder: 0 = A /\ ~A, 1 = A, 2 = ~A, 3 = A.
    by_number = "Lem 1 [HSub 0 1; HSub 0 2] (TClose 0 1)"
    source = _dag(A_TO_A, by_number, "TAnd 0 (TUse 0 [P 0] [P 1; P 0])")
    assert coq_session.check(source, c.THEOREM, 60).accepted
    for wrong in (
        "Lem 1 [HSub 0 1; HSub 0 3] (TClose 0 1)",
        "Lem 1 [HSub 0 1; HSub 0 4] (TClose 0 1)",
    ):
        assert not _accepted(coq_session, _dag(A_TO_A, wrong, "TAnd 0 (TUse 0 [P 0] [P 1; P 0])"))


def test_lemmas_using_earlier_lemmas_are_accepted(coq_session: CoqSession) -> None:
    # Lemma 1 closes by lemma 0 (relative index 0 = the last lemma before it).
    second = "Lem 1 [HForm 0 (Conj (Var 0) (Neg (Var 0)))] (TAnd 0 (TUse 0 [P 0] [P 1; P 0]))"
    source = _dag(A_TO_A, f"{CLOSED}; {second}", "TUse 0 [P 0] [P 0]")
    assert coq_session.check(source, c.THEOREM, 60).accepted


@pytest.mark.parametrize(
    ("lemmas", "root", "why"),
    [
        (CLOSED, "TAnd 0 (TUse 1 [P 0] [P 1; P 0])", "a lemma index past the lemmas"),
        (CLOSED, "TAnd 0 (TUse 0 [P 0] [P 0; P 1])", "positions swapped (¬A where A must be)"),
        (CLOSED, "TAnd 0 (TUse 0 [P 0] [P 7; P 0])", "a position past the branch"),
        (CLOSED, "TAnd 0 (TUse 0 [P 0] [P 1])", "fewer positions than hypotheses"),
        (CLOSED, "TAnd 0 (TUse 0 [P 0] [P 1; P 0; P 0])", "more positions than hypotheses"),
        (CLOSED, "TAnd 0 (TUse 0 [P 5] [P 1; P 0])", "a label the branch's entries do not have"),
        (CLOSED, "TAnd 0 (TUse 0 [] [P 1; P 0])", "no label for the lemma's label 0"),
        # A lemma may use only lemmas before it: no self-reference, no cycle.
        (
            "Lem 1 [HForm 0 (Var 0); HForm 0 (Neg (Var 0))] (TUse 0 [P 0] [P 0; P 1])",
            "TAnd 0 (TUse 0 [P 0] [P 1; P 0])",
            "a lemma that uses itself",
        ),
        (
            "Lem 1 [HForm 0 (Var 0); HForm 0 (Neg (Var 0))] (TUse 1 [P 0] [P 0; P 1]); " + CLOSED,
            "TAnd 0 (TUse 0 [P 0] [P 1; P 0])",
            "a lemma that uses a later one",
        ),
        # False lemmas: satisfiable hypotheses "closed" anyway.
        (
            "Lem 2 [HForm 0 (Var 0); HForm 1 (Neg (Var 0))] (TClose 0 1)",
            "TAnd 0 (TUse 0 [P 0; P 0] [P 1; P 0])",
            "A at one world and ¬A at another closed as a clash",
        ),
        (
            "Lem 0 [HForm 0 (Var 0); HForm 0 (Neg (Var 0))] (TClose 0 1)",
            "TAnd 0 (TUse 0 [P 0] [P 1; P 0])",
            "a lemma whose labels are not below its label count",
        ),
    ],
)
def test_bad_lemma_references_and_false_lemmas_are_refused(
    coq_session: CoqSession, lemmas: str, root: str, why: str
) -> None:
    assert not _accepted(coq_session, _dag(A_TO_A, lemmas, root)), why


def test_a_false_claim_is_refused_however_its_lemmas_check(coq_session: CoqSession) -> None:
    for claim in ("Var 0", "Impl (Var 0) (Var 1)", "Box (Var 0)"):
        for root in ("TUse 0 [P 0] [P 0; P 0]", "TAnd 0 (TUse 0 [P 0] [P 1; P 0])", "TBot 0"):
            assert not _accepted(coq_session, _dag(claim, CLOSED, root)), (claim, root)


def test_a_lemma_checked_in_one_logic_does_not_prove_in_a_weaker_one(
    coq_session: CoqSession,
) -> None:
    # BOX A -> A needs reflexivity: a lemma using TRefl is fine in T, refused in K.
    # Hypotheses: 0 = BOX A, 1 = ~A; TRefl adds the edge (0, 0), TBox puts A at 0.
    lemma = "Lem 1 [HForm 0 (Box (Var 0)); HForm 0 (Neg (Var 0))] (TRefl 0 (TBox 0 0 (TClose 0 2)))"
    root = "TAnd 0 (TUse 0 [P 0] [P 1; P 0])"
    claim = "Impl (Box (Var 0)) (Var 0)"
    assert coq_session.check(_dag(claim, lemma, root, "T"), c.THEOREM, 60).accepted
    assert not _accepted(coq_session, _dag(claim, lemma, root, "K"))


def test_a_cut_on_any_formula_is_accepted_and_needs_an_existing_label(
    coq_session: CoqSession,
) -> None:
    # A \/ ~A: cut on A; each side closes against the root's conjuncts ~A, A.
    claim = "Disj (Var 0) (Neg (Var 0))"
    cut = "TCut {w} (Var 0) (TAnd 1 (TClose 0 1)) (TAnd 1 (TClose 0 1))"
    good = _dag(claim, "", cut.format(w=0))
    assert coq_session.check(good, c.THEOREM, 60).accepted
    assert not _accepted(coq_session, _dag(claim, "", cut.format(w=1)))
    plain = good.replace("dag_K _ [] ", "tableau_K _ ")
    assert coq_session.check(plain, c.THEOREM, 60).accepted


@pytest.mark.parametrize(
    "edit",
    [
        lambda s: s.replace("Lem 1", "(fun x => x) Lem 1"),
        lambda s: s.replace("(TClose 0 1)", "(TClose 0 1) : lemma"),
        lambda s: s.replace("HForm 0 (Var 0)", "HForm 0 (Var O)"),
        lambda s: s.replace("dag_K", "dag_S5"),
        lambda s: s.replace("Theorem pxl_goal : valid_K", "Theorem pxl_goal : ~ valid_K"),
        lambda s: s.replace("From PXL Require Import Tableau.", "From PXL Require Import Hilbert."),
        lambda s: s.replace("P 0]", "P (check_dag flags_K (Var 0) [] (TBot 0))]"),
    ],
)
def test_the_gate_admits_only_the_dag_shape(coq_session: CoqSession, edit) -> None:
    source = edit(_dag(A_TO_A, CLOSED, "TAnd 0 (TUse 0 [P 0] [P 1; P 0])"))
    with pytest.raises(gate.CertificateFormatError):
        gate.read(source)
    assert not coq_session.check(source, c.THEOREM, 60).accepted


def test_a_refutation_cannot_apply_a_proof_lemma() -> None:
    source = _dag(A_TO_A, CLOSED, "TBot 0").replace(": valid_K", ": ~ valid_K")
    with pytest.raises(gate.CertificateFormatError):
        gate.read(source.replace("Tableau.", "Countermodel."))


# -- what the renderer makes of real proof trees --------------------------------------


@pytest.mark.parametrize("logic", sorted(LOGICS))
@settings(max_examples=20, suppress_health_check=[HealthCheck.too_slow])
@given(goal=formulas(max_leaves=9))
def test_random_proofs_with_every_repeat_shared_are_accepted(
    logic: str, goal: Formula, coq_session: CoqSession
) -> None:
    """Sharing as eagerly as possible (every repeated sub-proof, however small) on random
    goals in every logic: Coq accepts each certificate, and the goal is valid by the
    independent oracle."""
    found = search(goal, get_logic(logic))
    if not isinstance(found, Proof):
        return
    assert is_valid(goal, get_logic(logic))
    shared = share(goal, found.tree, min_rules=1, eager=True)
    replay(shared, goal, get_logic(logic))
    source = c.render(goal, get_logic(logic), shared, shared=False)
    assert ("dag_" in source) == bool(_lemmas(shared))
    result = coq_session.check(source, c.THEOREM, 60)
    assert result.accepted, result.message


def _lwb_text(name: str, n: int) -> str:
    folder = name.split("_")[0]
    lines = (LWB / folder / f"{name}.txt").read_text().splitlines()
    texts = [x.split(":", 1)[1].strip() for x in lines if x.split(":", 1)[0].isdigit()]
    return texts[n - 1]


def _lwb(name: str, n: int) -> Formula:
    return parse(_lwb_text(name, n))


@pytest.mark.skipif(not LWB.is_dir(), reason="LWB benchmark files not present")
@pytest.mark.parametrize(
    ("name", "n", "logic"),
    [("k_ph_p", 3, "K"), ("kt_ph_p", 3, "T"), ("s4_ph_p", 3, "S4"), ("k_ph_p", 4, "K")],
)
def test_lwb_proofs_with_repeated_sub_proofs_are_written_once_and_accepted(
    name: str, n: int, logic: str, coq_session: CoqSession
) -> None:
    goal = _lwb(name, n)
    found = search(goal, get_logic(logic), deadline=time.monotonic() + 60)
    assert isinstance(found, Proof)
    shared = share(goal, found.tree, min_rules=1, eager=True)
    lemmas = _lemmas(shared)
    assert lemmas, "these proofs repeat sub-proofs"
    keys = [(x.labels, x.entries, x.relations) for x in lemmas]
    assert len(set(keys)) == len(keys) or len(lemmas) > 1  # written once each
    for source in (
        c.render(goal, get_logic(logic), shared, shared=False),
        c.render(goal, get_logic(logic), found.tree),
    ):
        result = coq_session.check(source, c.THEOREM, 120)
        assert result.accepted, result.message


def test_a_repeated_sub_proof_becomes_one_lemma_used_twice() -> None:
    # (A ∧ ¬A) at two sides of a disjunction: the same closing sub-proof on both branches.
    goal = parse("~((B \\/ C) /\\ (A /\\ ~A /\\ D))")
    logic = get_logic("K")
    found = search(goal, logic)
    assert isinstance(found, Proof)
    both = t.AndRule(0, t.OrRule(1, _closing(), _closing()))
    shared = share(goal, both, min_rules=1, eager=True)
    assert isinstance(shared, t.AndRule) and isinstance(shared.then, t.OrRule)
    left, right = shared.then.left, shared.then.right
    assert isinstance(left, t.Use) and isinstance(right, t.Use)
    assert left.lemma is right.lemma
    assert len(_lemmas(shared)) == 1


def _closing() -> t.Tableau:
    # After AndRule(0) and the disjunction's side: 1 = B \/ C, 2 = A /\ ~A /\ D, 3 = side.
    # 2 is (A /\ ~A) /\ D: AndRule(2) gives 4 = A /\ ~A, 5 = D; AndRule(4): 6 = A, 7 = ~A.
    return t.AndRule(2, t.AndRule(4, t.Close(6, 7)))


@pytest.mark.skipif(not LWB.is_dir(), reason="LWB benchmark files not present")
def test_the_default_rendering_shares_where_it_makes_the_certificate_smaller(
    coq_session: CoqSession,
) -> None:
    # #5: K and T split a pigeon's clause first, and #4's tree is now under
    # MIN_TREE_RULES (861 rules), too small to be worth sharing
    goal, logic = _lwb("kt_ph_p", 5), get_logic("T")
    found = search(goal, logic, deadline=time.monotonic() + 60)
    assert isinstance(found, Proof)
    plain = c.render(goal, logic, found.tree, shared=False)
    shared = c.render(goal, logic, found.tree)
    assert "Proof (dag_T _ [Lem " in shared
    assert len(shared) < len(plain)  # by how much depends on the search's tree
    result = coq_session.check(shared, c.THEOREM, 120)
    assert result.accepted, result.message


def test_a_cut_in_a_proof_tree_is_rendered_and_checked(coq_session: CoqSession) -> None:
    # A \/ ~A by a cut on A at the root label: 0 = root (~A /\ A), 1 = the cut's side;
    # AndRule(0) gives 2 = ~A, 3 = A.
    goal, logic = parse("A \\/ ~A"), get_logic("K")
    a = parse("A")
    tree = t.Cut(0, a, t.AndRule(0, t.Close(1, 2)), t.AndRule(0, t.Close(3, 1)))
    source = c.render(goal, logic, tree)
    assert "TCut 0 (Var 0)" in source
    replay(tree, goal, logic)
    result = coq_session.check(source, c.THEOREM, 60)
    assert result.accepted, result.message


@pytest.mark.skipif(not LWB.is_dir(), reason="LWB benchmark files not present")
def test_the_service_proves_with_a_certificate_that_uses_lemmas(prover) -> None:
    """The whole pipeline: the engine renders the proof with lemmas, the gate admits it, Coq
    accepts it, and the answer carries the certificate that was checked."""
    answer = prover.prove(_lwb_text("kt_ph_p", 5), "T", timeout_ms=120_000)
    assert answer["verdict"] == "proved" and answer["verified"] is True, answer.get("limits")
    assert "Proof (dag_T _ [Lem " in answer["certificate"]
    assert answer["assumptions"] == ["Classical_Prop.classic"]


def test_a_lemma_built_by_the_search_is_rendered_once_and_checked(
    coq_session: CoqSession,
) -> None:
    """The tree types let a search emit a lemma itself (the same `Lemma` object wherever
    it applies); the certificate writes it once, and a use that maps it wrongly is refused."""
    goal, logic = parse("(A -> A) /\\ (B \\/ (A -> A))"), get_logic("K")
    a = parse("A")
    clash = t.Lemma(1, ((0, a), (0, parse("~A"))), (), t.Close(0, 1))
    # Root 0 = nneg goal = (A /\ ~A) \/ (~B /\ (A /\ ~A)). Left: 1 = A /\ ~A, then 2 = A,
    # 3 = ~A. Right: 1 = ~B /\ (A /\ ~A), 2 = ~B, 3 = A /\ ~A, then 4 = A, 5 = ~A.
    tree = t.OrRule(
        0,
        t.AndRule(1, t.Use(clash, (0,), (2, 3), ())),
        t.AndRule(1, t.AndRule(3, t.Use(clash, (0,), (4, 5), ()))),
    )
    source = c.render(goal, logic, tree, shared=False)
    assert source.count("Lem ") == 1 and source.count("TUse 0") == 2
    result = coq_session.check(source, c.THEOREM, 60)
    assert result.accepted, result.message
    wrong = t.OrRule(
        0,
        t.AndRule(1, t.Use(clash, (0,), (3, 2), ())),
        t.AndRule(1, t.AndRule(3, t.Use(clash, (0,), (4, 5), ()))),
    )
    assert not coq_session.check(c.render(goal, logic, wrong), c.THEOREM, 60).accepted
    replay(tree, goal, logic)
    with pytest.raises(ReplayError):
        replay(wrong, goal, logic)
