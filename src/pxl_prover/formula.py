"""The immutable formula type shared by every stage: parser, search, certificates, evaluators.

Nodes are frozen, slotted dataclasses, so formulas are hashable values that can be
used as dictionary keys and compared structurally. `xor` has no node of its own: the
parser reads `A xor B` as `~(A <-> B)`, which is what the Coq kernel states.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
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


# Walks are iterative: goals nest thousands of levels deep.


def children(f: Formula) -> tuple[Formula, ...]:
    """The immediate subformulas, left to right (none for atoms and constants)."""
    if isinstance(f, UNARY):
        return (f.arg,)
    if isinstance(f, BINARY):
        return (f.left, f.right)
    return ()


def atoms(formula: Formula) -> list[str]:
    """Atom names in order of first occurrence, reading left to right."""
    seen: dict[str, None] = {}
    todo = [formula]
    while todo:
        node = todo.pop()
        if isinstance(node, Atom):
            seen.setdefault(node.name)
        todo.extend(reversed(children(node)))
    return list(seen)


def depth(formula: Formula) -> int:
    """Nesting of connectives: 0 for an atom or constant, 1 + the deepest child otherwise."""
    deepest = 0
    todo = [(formula, 0)]
    while todo:
        node, level = todo.pop()
        below = children(node)
        todo.extend((child, level + 1) for child in below)
        if not below:
            deepest = max(deepest, level)
    return deepest


def size(formula: Formula, at_most: int | None = None) -> int:
    """Number of nodes (atoms, constants and connectives); with `at_most`, counting stops
    once past it (the answer is then `at_most + 1`)."""
    count = 0
    todo = [formula]
    while todo and (at_most is None or count <= at_most):
        count += 1
        todo.extend(children(todo.pop()))
    return count


def spell(formula: Formula, pieces: Callable[[Formula], Sequence[Formula | str]]) -> str:
    """A formula's text, written left to right: `pieces(node)` gives the node's text as
    strings with its subformulas in the places where their own text goes. One iterative
    writer for every prefix notation (the cache's canonical text, the kernel's terms)."""
    out: list[str] = []
    stack: list[Formula | str] = [formula]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            out.append(item)
        else:
            stack.extend(reversed(pieces(item)))
    return "".join(out)
