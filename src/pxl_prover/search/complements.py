"""Closing a branch on a formula and its NNF negation, whatever their shape.

A box and its dual diamond at one world (`[]A` and `<>~A`) contradict each other, but
the tableau rules find that only when the diamond's successor is made, after every
disjunction of the world is split: treating them as complementary, like an atom and
its negation, closes the branch (and makes a disjunction with such a side a unit) at
once. The proof is built from the ordinary rules, so the kernel checks it as it stands:
the diamond's successor gets the box's content, and the two contents close in turn.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pxl_prover.search.formulas import AND, ATOM, BOX, TOP, Formulas
from pxl_prover.search.proofs import P_BOT, P_CLOSE, P_OR, P_STEP, S_AND, S_BOX, S_DIA


def closure(
    fs: Formulas, f: int, ef: int, g: int, eg: int, fresh: Callable[[], int]
) -> tuple[Any, ...]:
    """A proof closing a branch with entry `ef` of formula `f` and entry `eg` of its
    complement `g` at the same world (`fresh` gives new items)."""
    if fs.kind[f] not in (ATOM, TOP, AND, BOX):
        f, ef, g, eg = g, eg, f, ef
    kind = fs.kind[f]
    if kind == ATOM:
        return (P_CLOSE, ef, eg)
    if kind == TOP:
        return (P_BOT, eg)
    if kind == AND:
        e1, e2, left, right = fresh(), fresh(), fresh(), fresh()
        split = (
            P_OR,
            eg,
            left,
            closure(fs, fs.a[f], e1, fs.a[g], left, fresh),
            right,
            closure(fs, fs.b[f], e2, fs.b[g], right, fresh),
        )
        return (P_STEP, (S_AND, (ef,), (e1, e2)), split)
    y, r, e1, e2 = fresh(), fresh(), fresh(), fresh()
    inside = closure(fs, fs.a[f], e2, fs.a[g], e1, fresh)
    return (P_STEP, (S_DIA, (eg,), (y, r, e1)), (P_STEP, (S_BOX, (ef, r), (e2,)), inside))
