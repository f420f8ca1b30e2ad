"""Hypothesis strategies for formulas, shared by every test file that needs random goals."""

from __future__ import annotations

from hypothesis import strategies as st

from pxl_prover.formula import And, Atom, Bot, Box, Dia, Formula, Iff, Implies, Not, Or, Top
from pxl_prover.syntax import is_atom_name

UNARY_NODES = (Not, Box, Dia)
BINARY_NODES = (And, Or, Implies, Iff)


def formulas(
    max_leaves: int = 12,
    atoms: tuple[str, ...] = ("A", "B", "C"),
    constants: bool = True,
) -> st.SearchStrategy[Formula]:
    """Formulas over `atoms` (plus ⊤/⊥ when `constants`) using every connective."""
    leaves: st.SearchStrategy[Formula] = st.sampled_from([Atom(a) for a in atoms])
    if constants:
        leaves = leaves | st.sampled_from([Top(), Bot()])

    def extend(children: st.SearchStrategy[Formula]) -> st.SearchStrategy[Formula]:
        unary = st.builds(lambda node, arg: node(arg), st.sampled_from(UNARY_NODES), children)
        binary = st.builds(
            lambda node, left, right: node(left, right),
            st.sampled_from(BINARY_NODES),
            children,
            children,
        )
        return unary | binary

    return st.recursive(leaves, extend, max_leaves=max_leaves)


def atom_names() -> st.SearchStrategy[str]:
    """Names the goal language can write: identifiers (including `v`) and ground applications."""
    identifier = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,6}", fullmatch=True).filter(is_atom_name)
    argument = st.from_regex(r"[A-Za-z0-9_]{1,5}", fullmatch=True)
    application = st.builds(
        lambda head, args: f"{head}({', '.join(args)})",
        identifier,
        st.lists(argument, min_size=1, max_size=3),
    )
    return st.just("v") | identifier | application
