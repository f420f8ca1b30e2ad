"""Shared sub-proofs: a plain proof tree turned into lemmas and uses of them.

The search's caches reuse a closed sub-proof wherever the same hypotheses come back
(under other labels and at other positions on the branch); emitted as a tree, it is
written out again at every use. `share` finds such repeats: for each sub-proof that
starts a branch (a child of a disjunction or a cut) it computes the sub-proof as a
`Lemma` would state it — the entries, relations and labels from above that the sub-proof
uses (its hypotheses, numbered in branch order) and its rules over them — and every
sub-proof whose lemma occurs more than once becomes one `Lemma`, applied by `Use`.
Untrusted like the rest of rendering: the kernel checks each lemma and each use.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pxl_prover.deadline import Clock
from pxl_prover.formula import Formula, children
from pxl_prover.nnf import nneg
from pxl_prover.prooftree import (
    AndRule,
    BoxRule,
    Close,
    CloseBot,
    Cut,
    DiaRule,
    Eucl,
    Lemma,
    OrRule,
    Refl,
    Serial,
    Sym,
    Tableau,
    Trans,
    Use,
)

# A sub-proof smaller than this (in rules) is cheaper written out than applied as a lemma.
MIN_SHARED_RULES = 6
# A proof with fewer rules than this gains too little from lemmas to be worth looking.
MIN_TREE_RULES = 1000
# Finding repeats costs a walk of each branch's sub-proof; past this many rule visits in
# all, the remaining branches are left as they are (a bigger certificate, never a wrong one).
WALK_BUDGET = 2_000_000


@dataclass(frozen=True, slots=True)
class _Site:
    """A sub-proof starting a branch: its lemma's key, and where its hypotheses are."""

    node: Tableau
    key: tuple[Any, ...]
    rules: int
    entries: tuple[int, ...]  # absolute indices on the branch, in the lemma's order
    relations: tuple[int, ...]
    labels: tuple[int, ...]
    start: tuple[int, int, int]  # entries, relations, labels on the branch at the site
    hyp_entries: tuple[tuple[int, Formula], ...]  # as the lemma states them
    hyp_relations: tuple[tuple[int, int], ...]


class FormulaIds:
    """Structural identity of formulas as small ints (formulas nest thousands deep, so no
    recursive hashing)."""

    def __init__(self) -> None:
        self._by_object: dict[int, int] = {}
        self._by_shape: dict[tuple[Any, ...], int] = {}
        self._keep: list[Formula] = []

    def of(self, formula: Formula) -> int:
        stack: list[tuple[Formula, bool]] = [(formula, False)]
        while stack:
            f, ready = stack.pop()
            if id(f) in self._by_object:
                continue
            kids = children(f)
            if not ready:
                stack.append((f, True))
                stack.extend((k, False) for k in kids)
                continue
            shape = (
                type(f).__name__,
                getattr(f, "name", None),
                *(self._by_object[id(k)] for k in kids),
            )
            self._by_object[id(f)] = self._by_shape.setdefault(shape, len(self._by_shape))
            self._keep.append(f)  # ids stay valid while the object lives
        return self._by_object[id(formula)]


def share(
    goal: Formula,
    tree: Tableau,
    min_rules: int = MIN_SHARED_RULES,
    *,
    eager: bool = False,
    deadline: float | None = None,
) -> Tableau:
    """`tree` with sub-proofs whose lemma occurs more than once written as one `Lemma`
    and `Use`s of it: those of at least `min_rules` rules that make the certificate
    smaller (`_choose`; in a tree of at least `MIN_TREE_RULES` rules), or every one when
    `eager`. A tree that does not replay (the kernel will say why) is returned as it is.
    DeadlinePassed once `deadline` has passed: this takes seconds on a tree of a few
    hundred thousand rules, and the request's time is the user's (`pxl_prover.deadline`)."""
    if not eager and not _has_rules(tree, MIN_TREE_RULES):
        return tree
    clock = Clock(deadline)
    try:
        sites, enclosing = _sites(goal, tree, min_rules, clock)
    except (IndexError, AttributeError, KeyError, TypeError):
        return tree
    counts = Counter(site.key for site in sites.values())
    if eager:
        repeated = {
            node_id: site
            for node_id, site in sites.items()
            if counts[site.key] > 1 and site.rules >= min_rules
        }
    else:
        chosen = _choose(sites, enclosing, counts, min_rules)
        repeated = {node_id: site for node_id, site in sites.items() if site.key in chosen}
    if not repeated:
        return tree
    lemmas: dict[tuple[Any, ...], Lemma] = {}
    for site in sorted(repeated.values(), key=lambda s: s.rules):  # nested ones first
        if site.key in lemmas:
            continue
        local = _localizer(site)
        proof = _rewrite(
            site.node,
            *local,
            lambda n, at=site, maps=local: _use(n, at.node, repeated, lemmas, maps),
            clock,
        )
        lemmas[site.key] = Lemma(len(site.labels), site.hyp_entries, site.hyp_relations, proof)
    identity = (_same, _same, _same)
    return _rewrite(tree, *identity, lambda n: _use(n, None, repeated, lemmas, identity), clock)


# What a lemma's parts cost, in rules' worth of certificate term (Coq's check time follows
# the term's size: elaborating a certificate costs far more than running the checker on it,
# and a list element costs more to elaborate than a rule; measured with bench/certificates.py).
_HYPOTHESIS_COST = 2.0  # `HSub w k` in the lemma's list
_REFERENCE_COST = 1.5  # `P n` in a use's lists of labels and positions


def _use_cost(site: _Site) -> float:
    return 1 + _REFERENCE_COST * (len(site.entries) + len(site.relations) + len(site.labels))


def _choose(
    sites: dict[int, _Site],
    enclosing: dict[int, int | None],
    counts: Counter[tuple[Any, ...]],
    min_rules: int,
) -> set[tuple[Any, ...]]:
    """The lemmas worth writing, smallest first: one is worth it when writing it once plus
    a use per occurrence is smaller than writing it at every occurrence, its size counting
    the lemmas already chosen inside it as uses. (Decided on each lemma's first occurrence,
    the one whose sub-proofs `_sites` described.)"""
    first: dict[tuple[Any, ...], int] = {}
    for node_id, site in sites.items():
        first.setdefault(site.key, node_id)
    size = {key: float(sites[node_id].rules) for key, node_id in first.items()}
    chosen: set[tuple[Any, ...]] = set()
    for key, node_id in sorted(first.items(), key=lambda item: sites[item[1]].rules):
        site, count = sites[node_id], counts[key]
        if count < 2 or site.rules < min_rules:
            continue
        inline = size[key]
        lemma = 1 + inline + _HYPOTHESIS_COST * (len(site.entries) + len(site.relations))
        if lemma + count * _use_cost(site) >= count * inline:
            continue
        chosen.add(key)
        saved = inline - _use_cost(site)
        up = enclosing[node_id]
        while up is not None:
            size[sites[up].key] -= saved
            up = enclosing[up]
    return chosen


def _same(index: int) -> int:
    return index


def _use(
    node: Tableau,
    root: Tableau | None,
    repeated: dict[int, _Site],
    lemmas: dict[tuple[Any, ...], Lemma],
    maps: tuple[Callable[[int], int], Callable[[int], int], Callable[[int], int]],
) -> Use | None:
    """The `Use` replacing `node` (not the root of the lemma being built), if it is shared."""
    site = repeated.get(id(node))
    if site is None or node is root:
        return None
    e, r, w = maps
    return Use(
        lemmas[site.key],
        tuple(w(x) for x in site.labels),
        tuple(e(i) for i in site.entries),
        tuple(r(k) for k in site.relations),
    )


def _localizer(
    site: _Site,
) -> tuple[Callable[[int], int], Callable[[int], int], Callable[[int], int]]:
    """Index maps from the branch at `site` into its lemma: hypotheses first, in order,
    then what the sub-proof adds, in order."""
    ne, nr, nl = site.start
    rank_e = {i: n for n, i in enumerate(site.entries)}
    rank_r = {k: n for n, k in enumerate(site.relations)}
    rank_l = {w: n for n, w in enumerate(site.labels)}
    ce, cr, cl = len(rank_e), len(rank_r), len(rank_l)
    return (
        lambda i: rank_e[i] if i < ne else ce + i - ne,
        lambda k: rank_r[k] if k < nr else cr + k - nr,
        lambda w: rank_l[w] if w < nl else cl + w - nl,
    )


def _shapes(tree: Tableau, clock: Clock) -> tuple[dict[int, int], dict[int, int]]:
    """Each node's shape (its rules, indices left out) as a small int, and its size in
    rules. Two sub-proofs with the same lemma have the same shape, so only sub-proofs whose
    shape occurs twice need the (costlier) walk that finds their lemma."""
    shape: dict[int, int] = {}
    size: dict[int, int] = {}
    interned: dict[tuple[Any, ...], int] = {}
    stack: list[tuple[Tableau, bool]] = [(tree, False)]
    while stack:
        clock.tick()
        node, ready = stack.pop()
        kids = subproofs(node)
        if not ready:
            stack.append((node, True))
            stack.extend((kid, False) for kid in kids)
            continue
        key = (type(node), *(shape[id(kid)] for kid in kids))
        shape[id(node)] = interned.setdefault(key, len(interned))
        size[id(node)] = 1 + sum(size[id(kid)] for kid in kids)
    return shape, size


def subproofs(node: Tableau) -> tuple[Tableau, ...]:
    """The sub-proofs right below a rule (none below one that closes the branch)."""
    match node:
        case OrRule(_, left, right) | Cut(_, _, left, right):
            return (left, right)
        case Close() | CloseBot() | Use():
            return ()
    return (node.then,)


def _sites(
    goal: Formula, tree: Tableau, min_rules: int, clock: Clock
) -> tuple[dict[int, _Site], dict[int, int | None]]:
    """Replay the tree from the kernel's root branch and describe every sub-proof that
    starts a branch and may occur twice (by the identity of its root node), with the
    nearest one around each. Below a sub-proof whose lemma was met before, nothing more
    is described: it is that earlier one again, sub-proofs and all."""
    shape, size = _shapes(tree, clock)
    branches = Counter(shape[id(kid)] for node in _nodes(tree) for kid in _forks(node))
    ids = FormulaIds()
    ents: list[tuple[int, Formula]] = [(0, nneg(goal))]
    rels: list[tuple[int, int]] = []
    labels = [1]
    sites: dict[int, _Site] = {}
    enclosing: dict[int, int | None] = {}
    met: set[tuple[Any, ...]] = set()
    budget = [WALK_BUDGET]
    stack: list[tuple[Any, ...]] = [("visit", tree, False, None)]
    while stack:
        clock.tick()
        item = stack.pop()
        if item[0] == "restore":
            _, ne, nr, nl, added = item
            del ents[ne:], rels[nr:]
            labels[0] = nl
            if added is not None:
                ents.append(added)
            continue
        _, node, starts_branch, within = item
        if (
            starts_branch
            and budget[0] > 0
            and size[id(node)] >= min_rules
            and branches[shape[id(node)]] > 1
        ):
            site = sites[id(node)] = _site(node, ents, rels, labels[0], ids, budget)
            enclosing[id(node)] = within
            within = id(node)
            if site.key in met:
                continue
            met.add(site.key)
        match node:
            case OrRule(i, left, right) | Cut(i, _, left, right):
                if isinstance(node, OrRule):
                    w, f = ents[i]
                    sides = ((w, f.left), (w, f.right))
                else:
                    sides = ((node.w, node.formula), (node.w, nneg(node.formula)))
                state = (len(ents), len(rels), labels[0])
                stack.append(("visit", right, True, within))
                stack.append(("restore", *state, sides[1]))
                stack.append(("visit", left, True, within))
                stack.append(("restore", *state, sides[0]))
            case Close() | CloseBot() | Use():
                pass
            case _:
                _apply(node, ents, rels, labels)
                stack.append(("visit", node.then, False, within))
    return sites, enclosing


def _has_rules(tree: Tableau, count: int) -> bool:
    stack = [tree]
    while stack and count > 0:
        count -= 1
        stack.extend(subproofs(stack.pop()))
    return count <= 0


def _nodes(tree: Tableau) -> list[Tableau]:
    out, stack = [], [tree]
    while stack:
        node = stack.pop()
        out.append(node)
        stack.extend(subproofs(node))
    return out


def _forks(node: Tableau) -> tuple[Tableau, ...]:
    """The sub-proofs that start a branch below `node`: a disjunction's or a cut's sides."""
    return subproofs(node) if isinstance(node, OrRule | Cut) else ()


def _apply(
    node: Tableau, ents: list[tuple[int, Formula]], rels: list[tuple[int, int]], labels: list[int]
) -> None:
    """What a one-child rule adds to the branch (as the kernel's `check` does)."""
    match node:
        case AndRule(i):
            w, f = ents[i]
            ents.extend([(w, f.left), (w, f.right)])
        case BoxRule(i, k):
            ents.append((rels[k][1], ents[i][1].arg))
        case DiaRule(i):
            w, f = ents[i]
            rels.append((w, labels[0]))
            ents.append((labels[0], f.arg))
            labels[0] += 1
        case Refl(w):
            rels.append((w, w))
        case Serial(w):
            rels.append((w, labels[0]))
            labels[0] += 1
        case Sym(k):
            w, v = rels[k]
            rels.append((v, w))
        case Trans(k1, k2):
            rels.append((rels[k1][0], rels[k2][1]))
        case Eucl(k1, k2):
            rels.append((rels[k1][1], rels[k2][1]))
        case _:
            raise TypeError(f"not a tableau rule: {node!r}")


# What each rule adds: (entries, relations, labels).
_ADDS = {
    AndRule: (2, 0, 0),
    BoxRule: (1, 0, 0),
    DiaRule: (1, 1, 1),
    Refl: (0, 1, 0),
    Serial: (0, 1, 1),
    Sym: (0, 1, 0),
    Trans: (0, 1, 0),
    Eucl: (0, 1, 0),
}


def _site(
    root: Tableau,
    ents: list[tuple[int, Formula]],
    rels: list[tuple[int, int]],
    nl0: int,
    ids: FormulaIds,
    budget: list[int],
) -> _Site:
    """The sub-proof at `root` as a lemma: its hypotheses and a key equal for two sub-proofs
    exactly when their lemmas are the same. One walk: an item from above (a hypothesis) is
    numbered in the order the walk first meets it, an item the sub-proof adds (a negative
    number) by how many of its kind were added before it."""
    ne0, nr0 = len(ents), len(rels)
    free_e: dict[int, int] = {}
    free_r: dict[int, int] = {}
    free_l: dict[int, int] = {}

    def lab(w: int) -> int:
        if w >= nl0:
            return nl0 - 1 - w
        n = free_l.get(w)
        if n is None:
            n = free_l[w] = len(free_l)
        return n

    def e(i: int) -> int:
        if i >= ne0:
            return ne0 - 1 - i
        n = free_e.get(i)
        if n is None:
            n = free_e[i] = len(free_e)
            lab(ents[i][0])
        return n

    def r(k: int) -> int:
        if k >= nr0:
            return nr0 - 1 - k
        n = free_r.get(k)
        if n is None:
            n = free_r[k] = len(free_r)
            lab(rels[k][0])
            lab(rels[k][1])
        return n

    tokens: list[Any] = []
    add = tokens.append
    rules = 0
    stack: list[tuple[Tableau, int, int, int]] = [(root, ne0, nr0, nl0)]
    while stack:
        node, ne, nr, nl = stack.pop()
        rules += 1
        kind = type(node)
        add(kind)
        if kind is Close:
            add(e(node.i))
            add(e(node.j))
        elif kind is OrRule:
            add(e(node.i))
            stack.append((node.right, ne + 1, nr, nl))
            stack.append((node.left, ne + 1, nr, nl))
        elif kind is AndRule or kind is DiaRule or kind is CloseBot:
            add(e(node.i))
        elif kind is BoxRule:
            add(e(node.i))
            add(r(node.k))
        elif kind is Refl or kind is Serial:
            add(lab(node.w))
        elif kind is Sym:
            add(r(node.k))
        elif kind is Trans or kind is Eucl:
            add(r(node.k1))
            add(r(node.k2))
        elif kind is Cut:
            add(lab(node.w))
            add(ids.of(node.formula))
            stack.append((node.right, ne + 1, nr, nl))
            stack.append((node.left, ne + 1, nr, nl))
        elif kind is Use:
            tokens.extend((id(node.lemma), len(node.labels), len(node.entries)))
            tokens.extend([*map(lab, node.labels), *map(e, node.entries), *map(r, node.relations)])
        else:
            raise TypeError(f"not a tableau rule: {node!r}")
        if kind in _ADDS:
            de, dr, dl = _ADDS[kind]
            stack.append((node.then, ne + de, nr + dr, nl + dl))
    budget[0] -= rules
    entries = tuple(free_e)
    relations = tuple(free_r)
    hyp_entries = tuple((free_l[ents[i][0]], ents[i][1]) for i in entries)
    hyp_relations = tuple((free_l[rels[k][0]], free_l[rels[k][1]]) for k in relations)
    key = (
        tuple(tokens),
        tuple((w, ids.of(f)) for w, f in hyp_entries),
        hyp_relations,
        len(free_l),
    )
    return _Site(
        root,
        key,
        rules,
        entries,
        relations,
        tuple(free_l),
        (ne0, nr0, nl0),
        hyp_entries,
        hyp_relations,
    )


def _rewrite(
    root: Tableau,
    e: Callable[[int], int],
    r: Callable[[int], int],
    lab: Callable[[int], int],
    replace: Callable[[Tableau], Use | None],
    clock: Clock,
) -> Tableau:
    """`root` with its indices mapped and the nodes `replace` names replaced (post-order,
    iterative: proof trees are thousands of rules deep)."""
    done: list[Tableau] = []
    stack: list[tuple[Tableau, bool]] = [(root, False)]
    while stack:
        clock.tick()
        node, ready = stack.pop()
        if not ready:
            use = replace(node)
            if use is not None:
                done.append(use)
                continue
            stack.append((node, True))
            match node:
                case OrRule(_, left, right) | Cut(_, _, left, right):
                    stack.extend([(right, False), (left, False)])
                case Close() | CloseBot() | Use():
                    pass
                case _:
                    stack.append((node.then, False))
            continue
        match node:
            case Close(i, j):
                done.append(Close(e(i), e(j)))
            case CloseBot(i):
                done.append(CloseBot(e(i)))
            case Use(lemma, ls, es, rs):
                done.append(Use(lemma, tuple(map(lab, ls)), tuple(map(e, es)), tuple(map(r, rs))))
            case OrRule(i):
                right, left = done.pop(), done.pop()
                done.append(OrRule(e(i), left, right))
            case Cut(w, formula):
                right, left = done.pop(), done.pop()
                done.append(Cut(lab(w), formula, left, right))
            case AndRule(i):
                done.append(AndRule(e(i), done.pop()))
            case BoxRule(i, k):
                done.append(BoxRule(e(i), r(k), done.pop()))
            case DiaRule(i):
                done.append(DiaRule(e(i), done.pop()))
            case Refl(w):
                done.append(Refl(lab(w), done.pop()))
            case Serial(w):
                done.append(Serial(lab(w), done.pop()))
            case Sym(k):
                done.append(Sym(r(k), done.pop()))
            case Trans(k1, k2):
                done.append(Trans(r(k1), r(k2), done.pop()))
            case Eucl(k1, k2):
                done.append(Eucl(r(k1), r(k2), done.pop()))
    return done[0]
