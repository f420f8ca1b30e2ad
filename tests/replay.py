"""Test-only replay of a certificate tree, mirroring the Coq checker's semantics.

It follows `certificate.py`'s docstring rule by rule (absolute indices, fresh labels,
frame rules allowed only when the logic has the property), so that trees can be
checked without Coq; the Coq-checking tests confirm that both agree.
"""

from __future__ import annotations

from pxl_prover import prooftree as c
from pxl_prover.formula import And, Bot, Box, Dia, Formula, Not, Or
from pxl_prover.logics import Logic
from pxl_prover.nnf import nneg


class ReplayError(AssertionError):
    pass


def replay(tree: c.Tableau, goal: Formula, logic: Logic) -> None:
    """Raise ReplayError unless `tree` closes the tableau for `nneg(goal)` in `logic`."""
    _replay(tree, [(0, nneg(goal))], [], 1, logic, set())


def _replay(
    tree: c.Tableau,
    ents: list[tuple[int, Formula]],
    rels: list[tuple[int, int]],
    nxt: int,
    logic: Logic,
    lemmas: set[int],
) -> None:
    """Close every branch from the given one; `lemmas`: the lemmas (by id) already replayed."""
    # (subtree, entry to add first, branch lengths to return to, next fresh label)
    todo: list[tuple[c.Tableau, tuple[int, Formula] | None, int, int, int]] = [
        (tree, None, len(ents), len(rels), nxt)
    ]
    while todo:
        node, first, n_ents, n_rels, nxt = todo.pop()
        del ents[n_ents:], rels[n_rels:]
        if first is not None:
            ents.append(first)
        while True:
            match node:
                case c.Close(i, j):
                    _need(i < len(ents) and j < len(ents), "Close index out of range")
                    (wi, fi), (wj, fj) = ents[i], ents[j]
                    _need(wi == wj and fj == Not(fi), f"Close({i}, {j}) does not clash")
                    break
                case c.CloseBot(i):
                    _need(i < len(ents) and ents[i][1] == Bot(), "CloseBot on a non-bottom")
                    break
                case c.AndRule(i, then):
                    w, f = _entry(ents, i)
                    _need(isinstance(f, And), "AndRule on a non-conjunction")
                    ents += [(w, f.left), (w, f.right)]
                    node = then
                case c.Cut(w, f, left, right):
                    _need(0 <= w < nxt, "Cut at a label not on the branch")
                    todo.append((right, (w, nneg(f)), len(ents), len(rels), nxt))
                    ents.append((w, f))
                    node = left
                case c.Use(lemma, labels, at_entries, at_relations):
                    _use(lemma, labels, at_entries, at_relations, ents, rels, logic, lemmas)
                    break
                case c.OrRule(i, left, right):
                    w, f = _entry(ents, i)
                    _need(isinstance(f, Or), "OrRule on a non-disjunction")
                    todo.append((right, (w, f.right), len(ents), len(rels), nxt))
                    ents.append((w, f.left))
                    node = left
                case c.BoxRule(i, k, then):
                    w, f = _entry(ents, i)
                    _need(isinstance(f, Box), "BoxRule on a non-box")
                    u, v = _rel(rels, k)
                    _need(u == w, "BoxRule relation does not start at the box's world")
                    ents.append((v, f.arg))
                    node = then
                case c.DiaRule(i, then):
                    w, f = _entry(ents, i)
                    _need(isinstance(f, Dia), "DiaRule on a non-diamond")
                    rels.append((w, nxt))
                    ents.append((nxt, f.arg))
                    nxt += 1
                    node = then
                case c.Refl(w, then):
                    _need(logic.reflexive, f"Refl in {logic.name}")
                    rels.append((w, w))
                    node = then
                case c.Serial(w, then):
                    _need(logic.serial, f"Serial in {logic.name}")
                    rels.append((w, nxt))
                    nxt += 1
                    node = then
                case c.Sym(k, then):
                    _need(logic.symmetric, f"Sym in {logic.name}")
                    u, v = _rel(rels, k)
                    rels.append((v, u))
                    node = then
                case c.Trans(k1, k2, then):
                    _need(logic.transitive, f"Trans in {logic.name}")
                    (a, b), (b2, d) = _rel(rels, k1), _rel(rels, k2)
                    _need(b == b2, "Trans relations do not chain")
                    rels.append((a, d))
                    node = then
                case c.Eucl(k1, k2, then):
                    _need(logic.euclidean, f"Eucl in {logic.name}")
                    (a, b), (a2, d) = _rel(rels, k1), _rel(rels, k2)
                    _need(a == a2, "Eucl relations do not share a source")
                    rels.append((b, d))
                    node = then
                case _:
                    raise ReplayError(f"not a tableau node: {node!r}")


def _use(
    lemma: c.Lemma,
    labels: tuple[int, ...],
    at_entries: tuple[int, ...],
    at_relations: tuple[int, ...],
    ents: list[tuple[int, Formula]],
    rels: list[tuple[int, int]],
    logic: Logic,
    lemmas: set[int],
) -> None:
    """A lemma closes the branch: it holds (replayed once), and its hypotheses, labels
    renamed, are on the branch where the use says."""
    if id(lemma) not in lemmas:
        used = [w for w, _ in lemma.entries] + [w for r in lemma.relations for w in r]
        _need(all(0 <= w < lemma.labels for w in used), "lemma label out of range")
        _replay(
            lemma.proof, list(lemma.entries), list(lemma.relations), lemma.labels, logic, lemmas
        )
        lemmas.add(id(lemma))
    _need(len(at_entries) == len(lemma.entries), "Use: one position per lemma entry")
    _need(len(at_relations) == len(lemma.relations), "Use: one position per lemma relation")

    def label(w: int) -> int:
        _need(0 <= w < len(labels), "Use: a lemma label without a branch label")
        return labels[w]

    for (w, f), i in zip(lemma.entries, at_entries, strict=True):
        _need(_entry(ents, i) == (label(w), f), f"Use: entry {i} is not the lemma's")
    for (u, v), k in zip(lemma.relations, at_relations, strict=True):
        _need(_rel(rels, k) == (label(u), label(v)), f"Use: relation {k} is not the lemma's")


def _need(ok: bool, message: str) -> None:
    if not ok:
        raise ReplayError(message)


def _entry(ents: list[tuple[int, Formula]], i: int) -> tuple[int, Formula]:
    _need(0 <= i < len(ents), f"entry index {i} out of range")
    return ents[i]


def _rel(rels: list[tuple[int, int]], k: int) -> tuple[int, int]:
    _need(0 <= k < len(rels), f"relation index {k} out of range")
    return rels[k]
