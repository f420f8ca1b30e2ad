"""The countermodel checker and the countermodel's JSON form."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import formulas

from pxl_prover.check.evaluator import check_frame, confirm, falsifies, true_worlds
from pxl_prover.countermodel import Countermodel
from pxl_prover.formula import And, Atom, Box, Dia, Formula, Iff, Implies, Not, Or, Top
from pxl_prover.logics import Logic, get_logic
from pxl_prover.syntax import parse, to_ascii


def model(relation: list[tuple[str, str]], true: dict[str, list[str]], world: str = "a"):
    worlds = sorted({"a", "b", "c"} | {w for pair in relation for w in pair})
    return Countermodel(
        tuple(worlds),
        tuple(relation),
        {w: tuple(atoms) for w, atoms in true.items()},
        world,
    )


A, B = Atom("A"), Atom("B")


def test_connectives_follow_their_truth_tables() -> None:
    m = model([("a", "b"), ("a", "c")], {"a": ["A"], "b": ["B"], "c": ["A", "B"]})
    assert true_worlds(m, A) == {"a", "c"}
    assert true_worlds(m, Not(A)) == {"b"}
    assert true_worlds(m, And(A, B)) == {"c"}
    assert true_worlds(m, Or(A, B)) == {"a", "b", "c"}
    assert true_worlds(m, Implies(A, B)) == {"b", "c"}
    assert true_worlds(m, Iff(A, B)) == {"c"}
    assert true_worlds(m, Box(B)) == {"a", "b", "c"}  # b and c have no successors
    assert true_worlds(m, Box(A)) == {"b", "c"}
    assert true_worlds(m, Dia(A)) == {"a"}
    assert true_worlds(m, Dia(Not(A))) == {"a"}
    assert true_worlds(m, Dia(Or(A, B))) == {"a"}


def test_falsifies_looks_at_the_designated_world_only() -> None:
    m = model([("a", "b")], {"b": ["A"]}, world="a")
    assert falsifies(m, A)
    assert not falsifies(m, Dia(A))
    assert not falsifies(Countermodel(m.worlds, m.relation, m.valuation, "b"), A)


EVERY_CONDITION = Logic(
    "all", reflexive=True, symmetric=True, transitive=True, euclidean=True, serial=True
)
RESTRICTED = [(u, v) for u in "ab" for v in "ab"] + [("c", "c")]


@pytest.mark.parametrize(
    ("relation", "violated"),
    [
        ([("a", "b")], {"reflexive", "serial", "symmetric", "euclidean"}),
        ([("a", "a"), ("b", "b"), ("c", "c"), ("a", "b")], {"symmetric", "euclidean"}),
        (
            [("a", "b"), ("b", "c"), ("c", "c")],
            {"reflexive", "symmetric", "transitive", "euclidean"},
        ),
        (RESTRICTED, set()),
    ],
)
def test_check_frame_names_exactly_the_violated_conditions(
    relation: list[tuple[str, str]], violated: set[str]
) -> None:
    assert set(check_frame(model(relation, {}), EVERY_CONDITION)) == violated
    assert check_frame(model(relation, {}), get_logic("K")) == []


def test_confirm_needs_both_the_frame_and_the_falsification() -> None:
    goal = parse("BOX A -> A")
    not_reflexive = model([("a", "b")], {"b": ["A"]})
    assert falsifies(not_reflexive, goal)
    assert confirm(not_reflexive, goal, get_logic("K"))
    assert not confirm(not_reflexive, goal, get_logic("T"))
    reflexive = model([("a", "a"), ("b", "b"), ("c", "c")], {"a": ["A"]})
    assert not confirm(reflexive, goal, get_logic("T"))


def test_deep_goals_are_evaluated_without_recursion() -> None:
    goal: Formula = A
    for _ in range(20000):
        goal = Not(Box(goal))
    m = model([("a", "a")], {"a": ["A"]})
    assert falsifies(m, goal) is falsifies(m, A)


def test_json_round_trip() -> None:
    m = model([("a", "b")], {"b": ["A", "Good(x)"]})
    data = m.to_json()
    assert data == {
        "worlds": ["a", "b", "c"],
        "relation": [["a", "b"]],
        "valuation": {"a": [], "b": ["A", "Good(x)"], "c": []},
        "world": "a",
    }
    assert Countermodel.from_json(data).to_json() == data


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ([], "JSON object"),
        ({"worlds": ["a"], "relation": []}, "missing"),
        ({"worlds": "a", "relation": [], "valuation": {}, "world": "a"}, "'worlds'"),
        ({"worlds": ["a"], "relation": [["a"]], "valuation": {}, "world": "a"}, "'relation'"),
        ({"worlds": ["a"], "relation": [], "valuation": {"a": "A"}, "world": "a"}, "valuation"),
        ({"worlds": ["a"], "relation": [], "valuation": {}, "world": "b"}, "not one of"),
        ({"worlds": ["a"], "relation": [["a", "z"]], "valuation": {}, "world": "a"}, "names no"),
        ({"worlds": ["a", "a"], "relation": [], "valuation": {}, "world": "a"}, "distinct"),
        ({"worlds": ["a"], "relation": [], "valuation": {"q": []}, "world": "a"}, "unknown"),
    ],
)
def test_from_json_rejects_bad_shapes_with_a_clear_message(data: object, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        Countermodel.from_json(data)


def _holds(model: Countermodel, f: Formula, w: str) -> bool:
    """The textbook truth condition at one world, recursively (small formulas only)."""
    succ = [v for u, v in model.relation if u == w]
    match f:
        case Atom(name):
            return name in model.true_atoms(w)
        case Not(a):
            return not _holds(model, a, w)
        case And(a, b):
            return _holds(model, a, w) and _holds(model, b, w)
        case Or(a, b):
            return _holds(model, a, w) or _holds(model, b, w)
        case Implies(a, b):
            return not _holds(model, a, w) or _holds(model, b, w)
        case Iff(a, b):
            return _holds(model, a, w) == _holds(model, b, w)
        case Box(a):
            return all(_holds(model, a, v) for v in succ)
        case Dia(a):
            return any(_holds(model, a, v) for v in succ)
    return isinstance(f, Top)


_WORLDS = ("a", "b", "c", "d")


@settings(max_examples=300, deadline=None)
@given(
    formulas(max_leaves=10, atoms=("A", "B")),
    st.sets(st.tuples(st.sampled_from(_WORLDS), st.sampled_from(_WORLDS))),
    st.dictionaries(st.sampled_from(_WORLDS), st.lists(st.sampled_from(["A", "B"]), unique=True)),
)
def test_equal_subformulas_evaluated_once_hold_where_each_would(
    f: Formula, relation: set[tuple[str, str]], true: dict[str, list[str]]
) -> None:
    """Equal subformulas share one evaluation: the same text parsed twice gives distinct
    but equal nodes, and the connective must still count (BOX A is not DIA A)."""
    m = Countermodel(_WORLDS, tuple(sorted(relation)), {w: tuple(a) for w, a in true.items()}, "a")
    text = to_ascii(f)
    for goal in (f, And(parse(text), Box(parse(text))), Or(Dia(parse(text)), Not(parse(text)))):
        assert true_worlds(m, goal) == {w for w in _WORLDS if _holds(m, goal, w)}
