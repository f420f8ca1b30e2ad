"""The result cache: shared by goals equal up to atom renaming and ∧/∨ order, and every
hit answers the user's goal (renamed certificate still checks in Coq, renamed
countermodel still confirms), never a different formula's."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import formulas

from pxl_prover import certificate, kernel, prooftree
from pxl_prover.answer import PROOF_METHOD, Answer
from pxl_prover.cache import (
    ProofCache,
    canonical,
    confirm_countermodel,
    relabel_certificate,
    rename,
)
from pxl_prover.check import evaluator
from pxl_prover.countermodel import Countermodel
from pxl_prover.engine import Prover
from pxl_prover.formula import And, Atom, Box, Formula, Implies, Or, atoms
from pxl_prover.logics import get_logic
from pxl_prover.sessions import CoqSession
from pxl_prover.syntax import parse, to_ascii

HASH = "cd" * 32


@pytest.fixture(scope="module")
def session():
    coq = CoqSession(kernel.build_kernel())
    yield coq
    coq.close()


@pytest.fixture(scope="module")
def prover(session):
    return Prover(session)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def new_cache(size=100, ttl=300.0, timer=None):
    return ProofCache(
        size,
        ttl,
        confirm_countermodel=confirm_countermodel,
        relabel_certificate=relabel_certificate,
        **({"timer": timer} if timer else {}),
    )


def solve(prover, cache, goal, logic="S5"):
    """What the service does: the cache, else the engine (and store the answer)."""
    formula = parse(goal)
    hit = cache.get(cache.slot(HASH, logic, formula))
    if hit is not None:
        return hit.to_json(), True
    answer = prover.answer(goal, logic)
    cache.put(cache.slot(HASH, logic, formula), answer)
    return answer.to_json(), False


# --- canonical form --------------------------------------------------------------------


@pytest.mark.parametrize(
    "a, b",
    [
        ("BOX(A -> A)", "BOX(B -> B)"),
        ("A & (B | C)", "(C | B) & A"),
        ("DIA(p & q) -> BOX r", "DIA(y & x) -> BOX z"),
        ("Good(action) -> Good(action)", "X -> X"),
    ],
)
def test_equal_up_to_renaming_and_reordering(a, b):
    assert canonical(parse(a)).text == canonical(parse(b)).text


@pytest.mark.parametrize(
    "a, b",
    [
        ("BOX(A -> B)", "BOX(A -> A)"),
        ("A -> (B -> A)", "A -> (B -> B)"),
        ("BOX A", "DIA A"),
        ("A & B", "A | B"),
    ],
)
def test_different_formulas_have_different_keys(a, b):
    assert canonical(parse(a)).text != canonical(parse(b)).text


@given(formulas(), st.data())
def test_canonical_form_is_invariant_under_renaming(formula: Formula, data):
    names = atoms(formula)
    fresh = data.draw(st.permutations([f"x{i}" for i in range(len(names))]))
    renamed = rename(formula, dict(zip(names, fresh, strict=True)))
    assert canonical(renamed).text == canonical(formula).text


def test_deep_goals_do_not_recurse():
    goal: Formula = Atom("p")
    for i in range(20_000):
        goal = And(goal, Atom(f"q{i % 3}")) if i % 2 else Box(goal)
    renamed = rename(goal, {"p": "r", "q0": "s0", "q1": "s1", "q2": "s2"})
    assert canonical(renamed).text == canonical(goal).text
    assert sorted(canonical(goal).atoms) == ["p", "q0", "q1", "q2"]


# --- hits answer the user's goal --------------------------------------------------------


def test_renamed_proof_hit_states_the_users_goal_and_checks_in_coq(prover, session):
    cache = new_cache()
    first, hit = solve(prover, cache, "BOX(A -> A)")
    assert not hit and first["verdict"] == "proved"
    answer, hit = solve(prover, cache, "BOX(Zed -> Zed)")
    assert hit
    assert "atoms: 0 = Zed" in answer["certificate"] and "BOX(Zed -> Zed)" in answer["certificate"]
    direct = certificate.render(parse("BOX(Zed -> Zed)"), get_logic("S5"), prooftree.Close(0, 0))
    assert direct.split("\n")[4] in answer["certificate"]
    assert session.check(answer["certificate"], certificate.THEOREM, 30).accepted


def test_reordered_proof_is_a_miss_then_both_orders_hit(prover):
    cache = new_cache()
    solve(prover, cache, "(A & B) -> (B & A)")
    _, hit = solve(prover, cache, "(A & B) -> (A & B)")
    assert not hit
    assert solve(prover, cache, "(X & Y) -> (Y & X)")[1]
    assert solve(prover, cache, "(X & Y) -> (X & Y)")[1]


def test_renamed_and_reordered_countermodel_hit_is_reconfirmed(prover):
    cache = new_cache()
    first, _ = solve(prover, cache, "BOX(p | q) -> BOX p", "K")
    assert first["verdict"] == "refuted"
    answer, hit = solve(prover, cache, "BOX(b | a) -> BOX a", "K")
    assert hit and answer["verdict"] == "refuted" and answer["verified"]
    model = Countermodel.from_json(answer["countermodel"])
    assert evaluator.confirm(model, parse("BOX(b | a) -> BOX a"), get_logic("K"))
    used = {
        atom for atoms_true in answer["countermodel"]["valuation"].values() for atom in atoms_true
    }
    assert used <= {"a", "b"}


def test_a_countermodel_that_does_not_confirm_is_not_served(prover):
    cache = ProofCache(
        10, 300, confirm_countermodel=lambda *a: False, relabel_certificate=relabel_certificate
    )
    solve(prover, cache, "BOX p -> p", "K")
    assert solve(prover, cache, "BOX q -> q", "K")[1] is False


def test_a_certificate_for_another_statement_is_never_served():
    source = certificate.render(parse("A -> A"), get_logic("K"), prooftree.Close(0, 0))
    assert relabel_certificate(source, parse("A -> B"), get_logic("K")) is None
    assert relabel_certificate(source, parse("B -> B"), get_logic("K")) is not None


def test_keyed_by_logic_and_kernel_hash(prover):
    cache = new_cache()
    formula = parse("BOX p -> p")
    answer = prover.answer("BOX p -> p", "T")
    cache.put(cache.slot(HASH, "T", formula), answer)
    assert cache.get(cache.slot(HASH, "T", formula)) is not None
    assert cache.get(cache.slot(HASH, "K", formula)) is None
    assert cache.get(cache.slot("ef" * 32, "T", formula)) is None


def test_unknown_answers_are_not_stored():
    cache = new_cache()
    formula = parse("p")
    unknown = Answer("K", "p", HASH, "unknown", PROOF_METHOD["unknown"], limits={"reason": "time"})
    assert not unknown.verified and unknown.to_json()["verified"] is False
    cache.put(cache.slot(HASH, "K", formula), unknown)
    cache.put_exact(HASH, "K", "p", unknown)
    assert len(cache) == 0 and cache.get(cache.slot(HASH, "K", formula)) is None
    assert cache.get_exact(HASH, "K", "p") is None


def test_ttl_expiry_and_lru_bound(prover):
    clock = Clock()
    cache = new_cache(size=2, ttl=10.0, timer=clock)
    goals = ["BOX(A -> A)", "A | ~A", "BOX A -> BOX BOX A"]
    for goal in goals:
        solve(prover, cache, goal)
    assert len(cache) == 2
    assert cache.get(cache.slot(HASH, "S5", parse(goals[0]))) is None
    assert cache.get(cache.slot(HASH, "S5", parse(goals[2]))) is not None
    clock.now = 11.0
    assert cache.get(cache.slot(HASH, "S5", parse(goals[2]))) is None


def test_size_zero_disables_the_cache(prover):
    cache = new_cache(size=0)
    solve(prover, cache, "p -> p")
    assert solve(prover, cache, "p -> p")[1] is False


def test_rename_keeps_shape_and_order():
    f = Implies(And(Atom("a"), Atom("b")), Or(Atom("b"), Atom("c")))
    assert to_ascii(rename(f, {"a": "x", "b": "y"})) == to_ascii(parse("x & y -> y | c"))


def test_a_renamed_hit_is_a_new_answer_the_stored_one_is_unchanged(prover):
    cache = new_cache()
    first, _ = solve(prover, cache, "BOX(p | q) -> BOX p", "K")
    renamed, hit = solve(prover, cache, "BOX(b | a) -> BOX a", "K")
    assert hit and renamed["countermodel"] != first["countermodel"]
    again, hit = solve(prover, cache, "BOX(p | q) -> BOX p", "K")
    assert hit and again["countermodel"] == first["countermodel"]
    assert again.get("certificate") == first.get("certificate")
