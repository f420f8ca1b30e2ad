"""Negation normal form of a negated goal, exactly as the Coq kernel computes it (`nneg`).

A certificate's indices point at entries the kernel computes itself, starting from
`nneg goal`; if this module disagreed with the kernel by one connective, every index
after it would point at the wrong formula. So the clauses below are the kernel's,
one for one (implication and equivalence are expanded, negation is pushed to atoms,
`nneg Top = Bot`). The conversion is iterative: LWB goals nest thousands deep.
Shared subformulas (a DAG) are converted once per polarity.
"""

from __future__ import annotations

from pxl_prover.formula import And, Atom, Bot, Box, Dia, Formula, Iff, Implies, Not, Or, Top

_POS = True
_NEG = False


def nneg(formula: Formula) -> Formula:
    """The kernel's `nneg`: the negation normal form of `Not(formula)`."""
    return _convert(formula, _NEG)


def _children(node: Formula, pol: bool) -> list[tuple[Formula, bool]]:
    """The (subformula, polarity) pairs the clause for `node` at `pol` is built from."""
    match node:
        case Not(arg):
            return [(arg, not pol)]
        case And(left, right) | Or(left, right):
            return [(left, pol), (right, pol)]
        case Implies(left, right):
            return [(left, not pol), (right, pol)]
        case Iff(left, right):
            return [(left, _POS), (left, _NEG), (right, _POS), (right, _NEG)]
        case Box(arg) | Dia(arg):
            return [(arg, pol)]
    return []


def _build(node: Formula, pol: bool, done: dict[tuple[int, bool], Formula]) -> Formula:
    """Apply one kernel clause, the converted children being in `done`."""

    def get(sub: Formula, p: bool) -> Formula:
        return done[(id(sub), p)]

    match node:
        case Atom():
            return node if pol else Not(node)
        case Top():
            return node if pol else Bot()
        case Bot():
            return node if pol else Top()
        case Not(arg):
            return get(arg, not pol)
        case And(left, right):
            if pol:
                return And(get(left, _POS), get(right, _POS))
            return Or(get(left, _NEG), get(right, _NEG))
        case Or(left, right):
            if pol:
                return Or(get(left, _POS), get(right, _POS))
            return And(get(left, _NEG), get(right, _NEG))
        case Implies(left, right):
            if pol:
                return Or(get(left, _NEG), get(right, _POS))
            return And(get(left, _POS), get(right, _NEG))
        case Iff(left, right):
            ap, an, bp, bn = get(left, _POS), get(left, _NEG), get(right, _POS), get(right, _NEG)
            if pol:
                return And(Or(an, bp), Or(ap, bn))
            return Or(And(ap, bn), And(an, bp))
        case Box(arg):
            return Box(get(arg, _POS)) if pol else Dia(get(arg, _NEG))
        case Dia(arg):
            return Dia(get(arg, _POS)) if pol else Box(get(arg, _NEG))
    raise TypeError(f"not a formula: {node!r}")


def _convert(root: Formula, pol: bool) -> Formula:
    done: dict[tuple[int, bool], Formula] = {}
    keep: list[Formula] = []  # keeps nodes alive so that their id() stays unique
    stack: list[tuple[Formula, bool, bool]] = [(root, pol, False)]
    while stack:
        node, p, expanded = stack.pop()
        key = (id(node), p)
        if key in done:
            continue
        if expanded:
            done[key] = _build(node, p, done)
            keep.append(node)
            continue
        stack.append((node, p, True))
        for sub, sp in _children(node, p):
            if (id(sub), sp) not in done:
                stack.append((sub, sp, False))
    return done[(id(root), pol)]
