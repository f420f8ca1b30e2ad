"""The countermodel checker: small enough to be obviously right, and independent.

A refutation counts as verified only when this module confirms it, so it shares no
code with the search (no NNF, no tableau): it evaluates the ORIGINAL goal, every
connective by its textbook truth condition, computing for each subformula the set of
worlds where it holds (iteratively, because goals nest thousands deep). Equal subformulas
are evaluated once: a node's class is its connective and its children's classes (LWB's
k_branch_n #12 has 4,489 nodes in 318 classes, and a model of 8,191 worlds).
"""

from __future__ import annotations

from pxl_prover.countermodel import Countermodel
from pxl_prover.formula import And, Atom, Bot, Box, Dia, Formula, Iff, Implies, Not, Or, Top
from pxl_prover.logics import Logic


def check_frame(model: Countermodel, logic: Logic) -> list[str]:
    """The frame conditions of `logic` that the model's relation violates (empty if none)."""
    worlds = model.worlds
    rel = set(model.relation)
    succ = successor_sets(model)
    problems: list[str] = []
    if logic.reflexive and any((w, w) not in rel for w in worlds):
        problems.append("reflexive")
    if logic.serial and any(not succ[w] for w in worlds):
        problems.append("serial")
    if logic.symmetric and any((v, u) not in rel for u, v in rel):
        problems.append("symmetric")
    if logic.transitive and any(not succ[v] <= succ[u] for u, v in rel):
        problems.append("transitive")
    if logic.euclidean and any(not succ[u] <= succ[v] for u, v in rel):
        problems.append("euclidean")
    return problems


def successor_sets(model: Countermodel) -> dict[str, frozenset[str]]:
    succ: dict[str, set[str]] = {w: set() for w in model.worlds}
    for u, v in model.relation:
        succ[u].add(v)
    return {w: frozenset(vs) for w, vs in succ.items()}


def true_worlds(model: Countermodel, goal: Formula) -> frozenset[str]:
    """The set of worlds of `model` at which `goal` holds."""
    worlds = frozenset(model.worlds)
    succ = successor_sets(model)
    atom_ext: dict[str, set[str]] = {}
    for w in worlds:
        for name in model.true_atoms(w):
            atom_ext.setdefault(name, set()).add(w)
    classes: dict[tuple[object, ...], int] = {}  # connective + children's classes -> class
    of: dict[int, int] = {}  # id(node) -> its class
    ext: list[frozenset[str]] = []  # class -> the worlds where its formulas hold

    def sub(f: Formula) -> list[Formula]:
        match f:
            case Not(a) | Box(a) | Dia(a):
                return [a]
            case And(a, b) | Or(a, b) | Implies(a, b) | Iff(a, b):
                return [a, b]
        return []

    def holds(f: Formula) -> frozenset[str]:
        return ext[of[id(f)]]

    def value(f: Formula) -> frozenset[str]:
        match f:
            case Atom(name):
                return frozenset(atom_ext.get(name, ()))
            case Top():
                return worlds
            case Bot():
                return frozenset()
            case Not(a):
                return worlds - holds(a)
            case And(a, b):
                return holds(a) & holds(b)
            case Or(a, b):
                return holds(a) | holds(b)
            case Implies(a, b):
                return (worlds - holds(a)) | holds(b)
            case Iff(a, b):
                return worlds - (holds(a) ^ holds(b))
            case Box(a):
                return frozenset(w for w in worlds if succ[w] <= holds(a))
            case Dia(a):
                return frozenset(w for w in worlds if succ[w] & holds(a))
        raise TypeError(f"not a formula: {f!r}")

    stack: list[tuple[Formula, bool]] = [(goal, False)]
    while stack:
        f, ready = stack.pop()
        if id(f) in of:
            continue
        if ready:
            name = f.name if isinstance(f, Atom) else None
            key = (type(f), name, *(of[id(a)] for a in sub(f)))
            if key not in classes:
                classes[key] = len(ext)
                ext.append(value(f))
            of[id(f)] = classes[key]
            continue
        stack.append((f, True))
        stack.extend((a, False) for a in sub(f) if id(a) not in of)
    return holds(goal)


def falsifies(model: Countermodel, goal: Formula) -> bool:
    """True iff `goal` is false at the model's designated world."""
    return model.world not in true_worlds(model, goal)


def confirm(model: Countermodel, goal: Formula, logic: Logic) -> bool:
    """A countermodel is confirmed iff its frame is one of `logic`'s and it falsifies `goal`."""
    return not check_frame(model, logic) and falsifies(model, goal)
