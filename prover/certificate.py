"""Certificates: closed labelled tableaux that the Coq kernel's checker replays.

The search (untrusted) builds a `Tableau` tree; `render` turns it into Coq source
stating `valid_<logic> <formula>` and proving it by reflection with the kernel's
checker (`coq/Tableau.v`, `check`), whose soundness is proved in Coq.

Branch state, exactly as the Coq checker keeps it:
  * entries: labelled formulas (label, A). The root branch is [(0, nneg goal)], where
    `nneg` is the kernel's negation normal form of the negated goal (see `nnf.py`).
  * relations: pairs (w, v) meaning w R v. Initially empty.
  * labels: the root is 0; every TDia/TSerial takes the next fresh label 1, 2, 3, ...

In this module every index is ABSOLUTE: entries and relations are numbered 0, 1, 2, ...
in the order they were added along the path from the root to the node. `render`
converts them to the kernel's relative indices (0 = most recently added).

Rules (what each adds, and when the checker accepts it):
  Close(i, j)      entry i = (w, A) and entry j = (w, Neg A)         -> branch closed
  CloseBot(i)      entry i = (w, FBot)                               -> branch closed
  AndRule(i, t)    entry i = (w, A /\\ B): adds (w, A) then (w, B)
  OrRule(i, l, r)  entry i = (w, A \\/ B): left adds (w, A), right adds (w, B)
  BoxRule(i, k, t) entry i = (w, []A), relation k = (w, v): adds (v, A)
  DiaRule(i, t)    entry i = (w, <>A): fresh v; adds relation (w, v) then entry (v, A)
  Refl(w, t)       logic reflexive:   adds relation (w, w)
  Serial(w, t)     logic serial:      fresh v; adds relation (w, v)
  Sym(k, t)        logic symmetric:   relation k = (w, v) adds (v, w)
  Trans(k1, k2, t) logic transitive:  k1 = (w, v), k2 = (v, u) adds (w, u)
  Eucl(k1, k2, t)  logic euclidean:   k1 = (w, v), k2 = (w, u) adds (v, u)
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
