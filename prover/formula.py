"""The immutable formula type shared by every stage: parser, search, certificates, evaluators.

Nodes are frozen, slotted dataclasses, so formulas are hashable values that can be
used as dictionary keys and compared structurally. `xor` has no node of its own: the
parser reads `A xor B` as `~(A <-> B)`, which is what the Coq kernel states.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Atom:
    name: str


@dataclass(frozen=True, slots=True)
class Top:
    pass


@dataclass(frozen=True, slots=True)
class Bot:
    pass


@dataclass(frozen=True, slots=True)
class Not:
    arg: Formula


@dataclass(frozen=True, slots=True)
class And:
    left: Formula
    right: Formula


@dataclass(frozen=True, slots=True)
class Or:
    left: Formula
    right: Formula


@dataclass(frozen=True, slots=True)
class Implies:
    left: Formula
    right: Formula


@dataclass(frozen=True, slots=True)
class Iff:
    left: Formula
    right: Formula


@dataclass(frozen=True, slots=True)
class Box:
    arg: Formula


@dataclass(frozen=True, slots=True)
class Dia:
    arg: Formula


Formula = Atom | Top | Bot | Not | And | Or | Implies | Iff | Box | Dia
UNARY = (Not, Box, Dia)
BINARY = (And, Or, Implies, Iff)
