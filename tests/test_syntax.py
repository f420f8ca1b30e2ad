"""The goal language (docs/goal-language.md): every spelling, precedence, positioned errors, limits,
printers that round-trip, and the inputs users really send (guide goals, LWB benchmark files).

Deep formulas are compared through their printed form: the formula dataclasses' own `==`
recurses in CPython and fails on formulas thousands of levels deep; the printers do not.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import atom_names, formulas

from pxl_prover.formula import (
    And,
    Atom,
    Bot,
    Box,
    Dia,
    Iff,
    Implies,
    Not,
    Or,
    Top,
    atoms,
    depth,
    size,
)
from pxl_prover.syntax import (
    Limits,
    ParseError,
    is_atom_name,
    parse,
    to_ascii,
    to_unicode,
)

A, B, C, D = Atom("A"), Atom("B"), Atom("C"), Atom("D")
LWB_DIR = Path(__file__).resolve().parents[2] / "shared" / "benchmarks" / "lwb"


# ---------------------------------------------------------------- what users send

GUIDE_GOALS = {
    "BOX(A -> A)": Box(Implies(A, A)),
    "BOX(A /\\ B -> A)": Box(Implies(And(A, B), A)),
    "BOX((A -> B) -> ((B -> C) -> (A -> C)))": Box(
        Implies(Implies(A, B), Implies(Implies(B, C), Implies(A, C)))
    ),
    "BOX(BOX(A) -> BOX(BOX(A)))": Box(Implies(Box(A), Box(Box(A)))),
    "BOX(Good(action) and TrueP(props))": Box(And(Atom("Good(action)"), Atom("TrueP(props)"))),
    "BOX(DIAMOND(Goal(plan_4014)))": Box(Dia(Atom("Goal(plan_4014)"))),
    "A -> BOX(A)": Implies(A, Box(A)),
    "DIA A -> BOX A": Implies(Dia(A), Box(A)),
    "BOX(A /\\ BOX(B) -> BOX(A /\\ B))": Box(Implies(And(A, Box(B)), Box(And(A, B)))),
}


@pytest.mark.parametrize("goal", GUIDE_GOALS)
def test_guide_goals_parse_as_written(goal: str) -> None:
    assert parse(goal) == GUIDE_GOALS[goal]


def _lwb_files() -> list[Path]:
    return sorted(LWB_DIR.glob("*/*.txt"))


def _lwb_formulas(path: Path) -> list[tuple[int, str]]:
    """(number, formula) pairs of a benchmark file: header, `begin`, `N: formula`..., `end`."""
    lines = path.read_text().splitlines()
    assert lines[1] == "begin" and lines[-1] == "end", f"{path} is not in the LWB format"
    pairs = []
    for line in lines[2:-1]:
        number, _, goal = line.partition(": ")
        pairs.append((int(number), goal))
    return pairs


@pytest.mark.skipif(not LWB_DIR.is_dir(), reason=f"LWB benchmarks not found at {LWB_DIR}")
def test_every_lwb_benchmark_formula_parses() -> None:
    files = _lwb_files()
    assert len(files) == 54  # 3 logics x 9 classes x provable/not provable
    for path in files:
        pairs = _lwb_formulas(path)
        assert [n for n, _ in pairs] == list(range(1, 22)), path
        for number, goal in pairs:
            try:
                parse(goal)
            except ParseError as error:
                pytest.fail(f"{path.name} formula {number}: {error}")


@pytest.mark.skipif(not LWB_DIR.is_dir(), reason=f"LWB benchmarks not found at {LWB_DIR}")
def test_deepest_lwb_formulas_round_trip_through_both_printers() -> None:
    """The pigeonhole class nests ~4,900 deep: printing and reparsing must not recurse."""
    number, goal = _lwb_formulas(LWB_DIR / "k" / "k_ph_p.txt")[-1]
    formula = parse(goal)
    assert depth(formula) > 4000
    ascii_text = to_ascii(formula)
    assert to_ascii(parse(ascii_text)) == ascii_text
    assert to_ascii(parse(to_unicode(formula))) == ascii_text
    assert atoms(parse(ascii_text)) == atoms(formula)
    assert size(parse(ascii_text)) == size(formula)


# ---------------------------------------------------------------- spellings

BINARY_SPELLINGS = {
    And: ["/\\", "&", "&&", "∧", "and", "AND", "And"],
    Or: ["\\/", "|", "||", "∨", "or", "OR", "v"],
    Implies: ["->", "=>", "→", "⟹", "⇒", "implies", "IMPLIES"],
    Iff: ["<->", "<=>", "↔", "⩪", "⇔", "⟺", "iff", "IFF"],
}
UNARY_SPELLINGS = {
    Not: ["~", "¬", "∼", "!", "not", "NOT"],
    Box: ["BOX", "Box", "box", "[]", "□", "NEC"],
    Dia: ["DIA", "Dia", "dia", "DIAMOND", "<>", "◇", "◊", "POS"],
}


@pytest.mark.parametrize(
    ("node", "spelling"), [(n, s) for n, spellings in BINARY_SPELLINGS.items() for s in spellings]
)
def test_every_binary_spelling(node: type, spelling: str) -> None:
    assert parse(f"A {spelling} B") == node(A, B)
    assert parse(f"(A){spelling}(B)") == node(A, B)


@pytest.mark.parametrize("spelling", ["xor", "XOR", "⇎"])
def test_not_equivalent_reads_as_negated_iff(spelling: str) -> None:
    assert parse(f"A {spelling} B") == Not(Iff(A, B))


@pytest.mark.parametrize(
    ("node", "spelling"), [(n, s) for n, spellings in UNARY_SPELLINGS.items() for s in spellings]
)
def test_every_unary_spelling(node: type, spelling: str) -> None:
    assert parse(f"{spelling} A") == node(A)
    assert parse(f"{spelling}(A)") == node(A)
    assert parse(f"{spelling} {spelling} A") == node(node(A))


@pytest.mark.parametrize("spelling", ["true", "True", "TRUE", "⊤"])
def test_true_spellings(spelling: str) -> None:
    assert parse(spelling) == Top()


@pytest.mark.parametrize("spelling", ["false", "False", "FALSE", "⊥"])
def test_false_spellings(spelling: str) -> None:
    assert parse(spelling) == Bot()


def test_v_is_or_only_where_an_operator_is_expected() -> None:
    assert parse("p0 v p1") == Or(Atom("p0"), Atom("p1"))
    assert parse("v") == Atom("v")
    assert parse("v v v") == Or(Atom("v"), Atom("v"))
    assert parse("~v v box v") == Or(Not(Atom("v")), Box(Atom("v")))
    assert parse("V") == Atom("V")
    assert parse("vv v v1") == Or(Atom("vv"), Atom("v1"))


def test_lwb_style_box_application_and_parenthesised_negation() -> None:
    assert parse("(box(p100 -> p0)) & ((~p0) v dia p1)") == And(
        Box(Implies(Atom("p100"), Atom("p0"))), Or(Not(Atom("p0")), Dia(Atom("p1")))
    )


def test_ground_applications_are_single_atoms_named_by_their_text() -> None:
    assert parse("Good(action)") == Atom("Good(action)")
    assert parse("R( a ,f( b ),  4014 )") == Atom("R(a, f(b), 4014)")
    assert parse("Good(action) -> Good(action)") == Implies(
        Atom("Good(action)"), Atom("Good(action)")
    )
    assert parse("Holds(box, not)") == Atom("Holds(box, not)")  # arguments are names
    assert parse("v(x) v v") == Or(Atom("v(x)"), Atom("v"))
    assert atoms(parse("Good(a) & Good(b) & Good(a)")) == ["Good(a)", "Good(b)"]


def test_blanks_of_every_kind_separate_tokens() -> None:
    assert parse("\tA\r\n->\u00a0B\u3000") == Implies(A, B)
    assert parse("A->B") == Implies(A, B)


# ---------------------------------------------------------------- precedence, associativity

PRECEDENCE_CASES = {
    "~A & B": And(Not(A), B),
    "BOX A -> A": Implies(Box(A), A),
    "BOX(A -> A)": Box(Implies(A, A)),
    "DIA A & B": And(Dia(A), B),
    "~BOX ~A": Not(Box(Not(A))),
    "A & B | C": Or(And(A, B), C),
    "A | B & C": Or(A, And(B, C)),
    "A | B -> C": Implies(Or(A, B), C),
    "A -> B | C": Implies(A, Or(B, C)),
    "A -> B <-> C": Iff(Implies(A, B), C),
    "A <-> B -> C": Iff(A, Implies(B, C)),
    "A & B -> C | D": Implies(And(A, B), Or(C, D)),
    "A -> B -> C": Implies(A, Implies(B, C)),
    "(A -> B) -> C": Implies(Implies(A, B), C),
    "A & B & C": And(And(A, B), C),
    "A | B | C": Or(Or(A, B), C),
    "A <-> B <-> C": Iff(Iff(A, B), C),
    "A xor B <-> C": Iff(Not(Iff(A, B)), C),
    "A <-> B xor C": Not(Iff(Iff(A, B), C)),
    "A xor B -> C": Not(Iff(A, Implies(B, C))),
    "~A -> ~B -> ~C": Implies(Not(A), Implies(Not(B), Not(C))),
    "((A))": A,
    "~(A & B)": Not(And(A, B)),
    "true -> false": Implies(Top(), Bot()),
}


@pytest.mark.parametrize("goal", PRECEDENCE_CASES)
def test_precedence_and_associativity(goal: str) -> None:
    assert parse(goal) == PRECEDENCE_CASES[goal]


# ---------------------------------------------------------------- printers

PRINTED = {
    Box(Implies(A, A)): ("BOX(A -> A)", "□(A → A)"),
    Implies(Box(A), A): ("BOX A -> A", "□A → A"),
    Not(Box(Not(A))): ("~BOX ~A", "¬□¬A"),
    Box(Box(Dia(A))): ("BOX BOX DIA A", "□□◇A"),
    Implies(A, Implies(B, C)): ("A -> B -> C", "A → B → C"),
    Implies(Implies(A, B), C): ("(A -> B) -> C", "(A → B) → C"),
    And(And(A, B), C): ("A /\\ B /\\ C", "A ∧ B ∧ C"),
    And(A, And(B, C)): ("A /\\ (B /\\ C)", "A ∧ (B ∧ C)"),
    Or(And(A, B), Not(C)): ("A /\\ B \\/ ~C", "A ∧ B ∨ ¬C"),
    And(Or(A, B), C): ("(A \\/ B) /\\ C", "(A ∨ B) ∧ C"),
    Iff(A, Iff(B, C)): ("A <-> (B <-> C)", "A ↔ (B ↔ C)"),
    Not(Iff(Top(), Bot())): ("~(true <-> false)", "¬(⊤ ↔ ⊥)"),
    Dia(Atom("Goal(plan_4014)")): ("DIA Goal(plan_4014)", "◇Goal(plan_4014)"),
}


@pytest.mark.parametrize("formula", PRINTED, ids=[a for a, _ in PRINTED.values()])
def test_printers_use_minimal_parentheses(formula) -> None:
    assert (to_ascii(formula), to_unicode(formula)) == PRINTED[formula]


@given(formulas(max_leaves=16))
def test_ascii_printer_round_trips(formula) -> None:
    text = to_ascii(formula)
    assert text.isascii()
    assert parse(text) == formula


@given(formulas(max_leaves=16))
def test_unicode_printer_round_trips(formula) -> None:
    assert parse(to_unicode(formula)) == formula


@given(
    st.lists(atom_names(), min_size=1, max_size=4, unique=True).flatmap(
        lambda names: formulas(max_leaves=8, atoms=tuple(names))
    )
)
def test_printers_round_trip_any_writable_atom_name(formula) -> None:
    assert parse(to_ascii(formula)) == formula
    assert parse(to_unicode(formula)) == formula


@pytest.mark.parametrize("name", ["box", "True", "A B", "", "1A", "f()", "f(a)(b)", "f( a)", "φ"])
def test_printers_refuse_atom_names_that_would_read_back_differently(name: str) -> None:
    assert not is_atom_name(name)
    with pytest.raises(ValueError, match="cannot be written"):
        to_ascii(And(A, Atom(name)))


def test_printers_and_helpers_handle_formulas_far_deeper_than_the_recursion_limit() -> None:
    formula = A
    for i in range(20_000):
        formula = (Box, Not, Dia)[i % 3](formula) if i % 2 else Implies(formula, B)
    text = to_ascii(formula)
    assert to_ascii(parse(text, Limits(max_depth=30_000))) == text
    unicode_text = to_unicode(formula)
    assert to_ascii(parse(unicode_text, Limits(max_depth=30_000))) == text
    assert depth(formula) == 20_000
    assert size(formula) == 20_000 + 10_000 + 1
    assert atoms(formula) == ["A", "B"]


def test_atoms_depth_size() -> None:
    formula = parse("BOX(q -> p) & (p | ~r) & true")
    assert atoms(formula) == ["q", "p", "r"]
    assert depth(formula) == 4  # And, And, BOX, ->
    assert size(formula) == 11
    assert (atoms(Top()), depth(Top()), size(Top())) == ([], 0, 1)


# ---------------------------------------------------------------- errors

ERRORS = {
    "": (0, "empty"),
    "   \n\t": (0, "empty"),
    "A B": (2, "expected an operator"),
    "A ->": (4, "end of input"),
    "(A": (0, "never closed"),
    "((A) & (B)": (0, "never closed"),
    "A)": (1, "unbalanced ')'"),
    "BOX(A -> A))": (11, "unbalanced ')'"),
    "()": (1, "expected a formula"),
    "-> A": (0, "expected a formula"),
    "A & & B": (4, "expected a formula"),
    "A <- B": (2, "unexpected character '<'"),
    "A = B": (2, "unexpected character '='"),
    "A\x00B": (1, "U+0000"),
    "A \x1b B": (2, "U+001B"),
    "A \ufffd": (2, "U+FFFD"),
    "∀x. P": (0, "unexpected character '∀'"),
    "Good (action)": (5, "without a space"),
    "Good(action": (11, "expected ',' or ')'"),
    "Good()": (5, "expected a name"),
    "Good(a,,b)": (7, "expected a name"),
    "Good(a b)": (7, "expected ',' or ')'"),
    "Good(a)(b)": (7, "expected an operator"),
    "BOX": (3, "end of input"),
    "A xor": (5, "end of input"),
    "true A": (5, "expected an operator"),
}


@pytest.mark.parametrize("goal", ERRORS)
def test_parse_errors_name_the_position(goal: str) -> None:
    position, fragment = ERRORS[goal]
    with pytest.raises(ParseError) as caught:
        parse(goal)
    assert caught.value.position == position
    assert fragment in caught.value.message


def test_errors_quote_long_tokens_briefly() -> None:
    with pytest.raises(ParseError) as caught:
        parse("A " + "B" * 100_000)
    assert len(caught.value.message) < 200


def test_parse_error_is_a_value_error_that_survives_pickling() -> None:
    with pytest.raises(ValueError) as caught:
        parse("A &")
    copy = pickle.loads(pickle.dumps(caught.value))
    assert (copy.message, copy.position) == (caught.value.message, caught.value.position)
    assert "position 3" in str(copy)


def test_non_string_input_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        parse(b"A -> A")  # type: ignore[arg-type]


def _parses_or_raises_parse_error(text: str) -> None:
    try:
        formula = parse(text)
    except ParseError as error:
        assert 0 <= error.position <= len(text)
        assert error.message
    else:
        assert parse(to_ascii(formula)) == formula


@given(st.text())
def test_arbitrary_text_parses_or_gives_a_parse_error(text: str) -> None:
    _parses_or_raises_parse_error(text)


@given(st.text(alphabet="ABv()~&|-<>=/\\[]! ⊤⊥□◇¬,x", max_size=40))
def test_operator_soup_parses_or_gives_a_parse_error(text: str) -> None:
    _parses_or_raises_parse_error(text)


TOKENS = sorted(
    {s for spellings in (*BINARY_SPELLINGS.values(), *UNARY_SPELLINGS.values()) for s in spellings}
    | {"xor", "⇎", "true", "⊥", "(", ")", "A", "B", "v", "Good(action)", "f(", ",", "\t"}
)


@given(st.lists(st.sampled_from(TOKENS), max_size=30), st.sampled_from(["", " "]))
def test_token_soup_parses_or_gives_a_parse_error(tokens: list[str], separator: str) -> None:
    _parses_or_raises_parse_error(separator.join(tokens))


@given(st.binary())
def test_binary_input_decoded_any_way_gives_a_parse_error_or_a_formula(data: bytes) -> None:
    for encoding in ("utf-8", "latin-1"):
        _parses_or_raises_parse_error(data.decode(encoding, errors="surrogateescape"))


# ---------------------------------------------------------------- limits


def test_hundred_thousand_nested_parentheses_is_a_clean_depth_error() -> None:
    goal = "(" * 100_000 + "A" + ")" * 100_000
    with pytest.raises(ParseError) as caught:
        parse(goal)
    assert "max_depth=10000" in caught.value.message
    assert caught.value.position == 10_000


def test_deep_connective_nesting_is_a_clean_depth_error() -> None:
    for goal in ("~" * 100_000 + "A", "A -> " * 50_000 + "A", "A & " * 50_000 + "A"):
        with pytest.raises(ParseError, match="max_depth=10000"):
            parse(goal)


def test_unbalanced_deep_input_is_a_clean_error() -> None:
    with pytest.raises(ParseError, match="max_depth"):
        parse("(" * 100_000)
    with pytest.raises(ParseError, match="unbalanced"):
        parse("A" + ")" * 100_000)
    with pytest.raises(ParseError, match="max_depth"):
        parse("f(" * 100_000 + "a" + ")" * 100_000)


def test_length_limit() -> None:
    with pytest.raises(ParseError, match="max_length=1000000") as caught:
        parse("A" * 1_000_001)
    assert caught.value.position == 1_000_000
    with pytest.raises(ParseError, match="max_length=10"):
        parse("A -> A -> A", Limits(max_length=10))
    assert parse("A -> A", Limits(max_length=6)) == Implies(A, A)


def test_depth_limit_is_configurable_and_counts_connectives_and_parentheses() -> None:
    assert parse("BOX BOX A", Limits(max_depth=2)) == Box(Box(A))
    with pytest.raises(ParseError, match="max_depth=2") as caught:
        parse("BOX BOX BOX A", Limits(max_depth=2))
    assert caught.value.position == 0
    with pytest.raises(ParseError, match="max_depth=2") as caught:
        parse("(((A)))", Limits(max_depth=2))
    assert caught.value.position == 2


def test_atom_limit_counts_distinct_atoms() -> None:
    assert parse("A & B & A & B", Limits(max_atoms=2)) == And(And(And(A, B), A), B)
    with pytest.raises(ParseError, match="max_atoms=2") as caught:
        parse("A & B & A & C", Limits(max_atoms=2))
    assert caught.value.position == 12
    many = " & ".join(f"p{i}" for i in range(10_001))
    with pytest.raises(ParseError, match="max_atoms=10000"):
        parse(many)


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "10"])
def test_limits_must_be_positive_integers(bad) -> None:
    with pytest.raises(ValueError, match="max_depth"):
        Limits(max_depth=bad)
