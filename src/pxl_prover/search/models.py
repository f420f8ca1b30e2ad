"""Countermodels read off the tree-mode search (K, T, D, S4)."""

from __future__ import annotations

from dataclasses import dataclass, field

from pxl_prover.countermodel import Countermodel
from pxl_prover.logics import Logic

MAX_MODEL_PAIRS = 200_000  # a bigger countermodel costs more to confirm than it is worth


@dataclass(eq=False, slots=True)
class World:
    """A world of a tree-mode model: its true atoms and its successors. Models of equal
    sets are shared and S4 loops point back at ancestors, so these form a graph."""

    atoms: tuple[str, ...] = ()
    succ: list[World] = field(default_factory=list)
    formulas: frozenset[int] = frozenset()  # its saturated set: equal sets can merge


# Loops a model makes back to ancestors' worlds (S4): (the ancestor's world, the content
# of the diamond it satisfies). A model with loops is valid only while those worlds still
# fit it (see `search.s4`).
Loops = frozenset[tuple[World, int]]
Found = tuple[World, Loops]  # a model of a successor's set, and its loops


def tree_countermodel(root: World, logic: Logic) -> Countermodel | None:
    """Name the worlds of a tree-mode model graph, add the frame's loops, contract it and,
    in S4, close it transitively (None if that is too big to be worth checking). Worlds
    with equal saturated sets are merged first: what a world must satisfy depends on its
    set only, so one world can serve for all of them."""
    names: dict[frozenset[int], str] = {}
    atoms: dict[str, tuple[str, ...]] = {}
    succ: dict[str, set[str]] = {}
    seen: set[int] = set()
    worlds: list[World] = []
    todo = [root]
    while todo:
        w = todo.pop()
        if id(w) in seen:
            continue
        seen.add(id(w))
        worlds.append(w)
        if w.formulas not in names:
            name = names[w.formulas] = f"w{len(names)}"
            atoms[name], succ[name] = w.atoms, set()
        todo.extend(reversed(w.succ))
    for w in worlds:
        succ[names[w.formulas]].update(names[v.formulas] for v in w.succ)
    relation: set[tuple[str, str]] = set()
    for name, targets in succ.items():
        relation.update((name, v) for v in targets)
        if logic.reflexive or (logic.serial and not targets):
            relation.add((name, name))
    base = contract(Countermodel(tuple(atoms), tuple(relation), atoms, names[root.formulas]))
    if not logic.transitive:
        return base if len(base.relation) <= MAX_MODEL_PAIRS else None
    # A bisimulation of the edges is one of their transitive closure too: contract first.
    closed = _transitive_closure(set(base.relation), MAX_MODEL_PAIRS)
    if closed is None:
        return None
    return Countermodel(base.worlds, tuple(sorted(closed)), base.valuation, base.world)


def _transitive_closure(edges: set[tuple[str, str]], cap: int) -> set[tuple[str, str]] | None:
    """The transitive closure, or None as soon as it has more than `cap` pairs."""
    succ: dict[str, set[str]] = {}
    for u, v in edges:
        succ.setdefault(u, set()).add(v)
    closed: set[tuple[str, str]] = set()
    for u in succ:
        seen: set[str] = set()
        todo = [u]
        while todo:
            for v in succ.get(todo.pop(), ()):
                if v not in seen:
                    seen.add(v)
                    todo.append(v)
        closed.update((u, v) for v in seen)
        if len(closed) > cap:
            return None
    return closed


def contract(model: Countermodel) -> Countermodel:
    """The quotient of `model` by its largest bisimulation (worlds agreeing on all modal
    formulas become one). Truth of every formula is kept, and so are reflexivity,
    seriality, symmetry, transitivity and euclideanness, so the quotient refutes what
    the model refuted, in the same logic; it is smaller to send and to check."""
    succ: dict[str, list[str]] = {w: [] for w in model.worlds}
    for u, v in model.relation:
        succ[u].append(v)
    labels: dict[tuple[str, ...], int] = {}
    block = {w: labels.setdefault(tuple(sorted(model.true_atoms(w))), len(labels)) for w in succ}
    count = len(labels)
    while True:
        signatures: dict[tuple[int, frozenset[int]], int] = {}
        refined = {
            w: signatures.setdefault((block[w], frozenset(block[v] for v in vs)), len(signatures))
            for w, vs in succ.items()
        }
        block = refined
        if len(signatures) == count:
            break
        count = len(signatures)
    names: dict[int, str] = {}
    for w in model.worlds:
        names.setdefault(block[w], w)
    relation = {(names[block[u]], names[block[v]]) for u, v in model.relation}
    return Countermodel(
        tuple(names.values()),
        tuple(sorted(relation)),
        {w: tuple(model.true_atoms(w)) for w in names.values()},
        names[block[model.world]],
    )
