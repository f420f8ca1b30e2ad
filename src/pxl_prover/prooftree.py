"""Certificate trees: the closed labelled tableaux the search builds and the Coq kernel's
checker replays (`coq/Tableau.v`, `check`). Plain values with no behaviour, so the
untrusted search can build them without importing anything that judges them; indices
are absolute (see `certificate.py` for the rules and how they are rendered).

A sub-proof used many times can be a `Lemma`, written once and applied with `Use`
wherever its hypotheses are on the branch (the kernel checks each lemma once,
`check_dag`); `certificate.share` finds repeated sub-proofs in a plain tree.
"""

from __future__ import annotations

from dataclasses import dataclass

from pxl_prover.formula import Formula


@dataclass(frozen=True, slots=True)
class Close:
    i: int
    j: int


@dataclass(frozen=True, slots=True)
class CloseBot:
    i: int


@dataclass(frozen=True, slots=True)
class AndRule:
    i: int
    then: Tableau


@dataclass(frozen=True, slots=True)
class OrRule:
    i: int
    left: Tableau
    right: Tableau


@dataclass(frozen=True, slots=True)
class BoxRule:
    i: int
    k: int
    then: Tableau


@dataclass(frozen=True, slots=True)
class DiaRule:
    i: int
    then: Tableau


@dataclass(frozen=True, slots=True)
class Refl:
    w: int
    then: Tableau


@dataclass(frozen=True, slots=True)
class Serial:
    w: int
    then: Tableau


@dataclass(frozen=True, slots=True)
class Sym:
    k: int
    then: Tableau


@dataclass(frozen=True, slots=True)
class Trans:
    k1: int
    k2: int
    then: Tableau


@dataclass(frozen=True, slots=True)
class Eucl:
    k1: int
    k2: int
    then: Tableau


@dataclass(frozen=True, slots=True)
class Cut:
    """Split on `formula` at label `w`: the left branch adds (w, formula), the right
    (w, nneg formula), the kernel's negation normal form of its negation."""

    w: int
    formula: Formula
    left: Tableau
    right: Tableau


@dataclass(frozen=True, slots=True)
class Lemma:
    """No model of the logic satisfies these hypotheses, by `proof`: formulas at labels
    (`entries`) and edges (`relations`) over labels 0 .. labels-1. The proof starts from
    the hypotheses alone: its entries 0 .. len(entries)-1 and relations
    0 .. len(relations)-1 are these, in order, and its first fresh label is `labels`."""

    labels: int
    entries: tuple[tuple[int, Formula], ...]
    relations: tuple[tuple[int, int], ...]
    proof: Tableau


@dataclass(frozen=True, slots=True)
class Use:
    """Close the branch by `lemma`: its label k is this branch's label `labels[k]`, and
    its i-th entry (relation) is this branch's entry `entries[i]` (relation
    `relations[i]`). Equal lemmas are written once when they are the same object."""

    lemma: Lemma
    labels: tuple[int, ...]
    entries: tuple[int, ...]
    relations: tuple[int, ...]


Tableau = (
    Close
    | CloseBot
    | AndRule
    | OrRule
    | BoxRule
    | DiaRule
    | Refl
    | Serial
    | Sym
    | Trans
    | Eucl
    | Cut
    | Use
)
