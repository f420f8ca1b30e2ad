"""Certificate trees: the closed labelled tableaux the search builds and the Coq kernel's
checker replays (`coq/Tableau.v`, `check`). Plain values with no behaviour, so the
untrusted search can build them without importing anything that judges them; indices
are absolute (see `certificate.py` for the rules and how they are rendered).
"""

from __future__ import annotations

from dataclasses import dataclass


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


Tableau = (
    Close | CloseBot | AndRule | OrRule | BoxRule | DiaRule | Refl | Serial | Sym | Trans | Eucl
)
