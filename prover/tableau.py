"""The untrusted search: a labelled tableau for K, T, D, B, S4, S5 and KD45.

`search(goal, logic)` either closes the tableau for `nneg goal` (a `Proof` whose tree
the Coq checker replays; see `certificate.py`), or saturates an open branch and reads
a countermodel off it (a `Refutation`, which the independent evaluator must confirm
before it is returned), or stops at a time or node limit (`Unknown`).

How the search works, and why:
  * One branch holds worlds (labels) with their formula sets. Rules are applied in a
    fixed order: conjunctions, boxes and literals at once; then disjunctions (depth
    first, preferring one whose disjunct is already contradicted); then diamonds;
    then seriality. Each logic only changes which worlds a box reaches, which
    relation steps justify that (Refl/Sym/Trans/Eucl), and when a diamond is already
    fulfilled (T, B: by its own world; S4: by an ancestor with the same boxes, the
    loop check; S5, KD45: by any world of the cluster).
  * Every step records the items (entries, relations, labels) it used and produced.
    A closed branch reports the items its closure depends on; a disjunction whose
    chosen side was not used is skipped entirely (dependency-directed backjumping),
    and steps nobody depends on are left out of the tree.
  * Items have unique symbolic ids; `_emit` numbers them into the certificate's
    absolute indices only at the end, after pruning.
Deep goals (LWB nests thousands of levels) run in a thread with a large stack.
"""

from __future__ import annotations

import sys
import threading
import time
from dataclasses import dataclass
from typing import Any, Literal

from pxl_prover import certificate as cert
from pxl_prover.countermodel import Countermodel
from pxl_prover.evaluator import confirm
from pxl_prover.formula import And, Atom, Bot, Box, Dia, Formula, Not, Or, Top
from pxl_prover.logics import Logic
from pxl_prover.nnf import nneg


@dataclass(frozen=True, slots=True)
class Proof:
    tree: cert.Tableau


@dataclass(frozen=True, slots=True)
class Refutation:
    model: Countermodel


@dataclass(frozen=True, slots=True)
class Unknown:
    reason: Literal["time", "nodes"]
    detail: str


Result = Proof | Refutation | Unknown


class SearchBug(RuntimeError):
    """The search produced a countermodel the evaluator rejects: a bug, never a verdict."""


# ---------------------------------------------------------------------------------------
# Interned NNF formulas: ids with a kind and children, so that sets are sets of ints.

ATOM, NATOM, TOP, BOT, AND, OR, BOX, DIA = range(8)


class _Formulas:
    """NNF formulas interned bottom-up; equal subformulas get one id."""

    def __init__(self) -> None:
        self.kind: list[int] = []
        self.a: list[int] = []
        self.b: list[int] = []
        self.name: list[str] = []
        self.comp: list[int] = []  # literal -> id of its complement (-1 if absent)
        self._table: dict[tuple[Any, ...], int] = {}

    def _make(self, key: tuple[Any, ...]) -> int:
        fid = self._table.get(key)
        if fid is None:
            fid = len(self.kind)
            self._table[key] = fid
            kind, a, b, name = key
            self.kind.append(kind)
            self.a.append(a)
            self.b.append(b)
            self.name.append(name)
            self.comp.append(-1)
            if kind in (ATOM, NATOM):
                other = self._table.get((NATOM if kind == ATOM else ATOM, -1, -1, name))
                if other is not None:
                    self.comp[fid], self.comp[other] = other, fid
        return fid

    def intern(self, root: Formula) -> int:
        done: dict[int, int] = {}
        stack: list[tuple[Formula, bool]] = [(root, False)]
        while stack:
            f, ready = stack.pop()
            if id(f) in done:
                continue
            subs: tuple[Formula, ...]
            match f:
                case And(l, r) | Or(l, r):
                    subs = (l, r)
                case Box(s) | Dia(s):
                    subs = (s,)
                case _:
                    subs = ()
            if not ready and subs:
                stack.append((f, True))
                stack.extend((s, False) for s in subs if id(s) not in done)
                continue
            match f:
                case Atom(name):
                    key = (ATOM, -1, -1, name)
                case Not(Atom(name)):
                    key = (NATOM, -1, -1, name)
                case Top():
                    key = (TOP, -1, -1, "")
                case Bot():
                    key = (BOT, -1, -1, "")
                case And(l, r):
                    key = (AND, done[id(l)], done[id(r)], "")
                case Or(l, r):
                    key = (OR, done[id(l)], done[id(r)], "")
                case Box(s):
                    key = (BOX, done[id(s)], -1, "")
                case Dia(s):
                    key = (DIA, done[id(s)], -1, "")
                case _:
                    raise TypeError(f"not in negation normal form: {type(f).__name__}")
            done[id(f)] = self._make(key)
        return done[id(root)]


# ---------------------------------------------------------------------------------------
# Steps and internal proofs. A step is (kind, premises, produced); items are ints.

S_AND, S_BOX, S_DIA, S_REFL, S_SERIAL, S_SYM, S_TRANS, S_EUCL = range(8)
P_CLOSE, P_BOT, P_OR, P_STEP, P_ALIAS = range(5)

ROOT_LABEL = 0
ROOT_ENTRY = 1


class _Limit(Exception):
    def __init__(self, reason: Literal["time", "nodes"], detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


@dataclass(eq=False, slots=True)
class _World:
    """A satisfiable world set's model in K, T, D: its true atoms and its successors.
    Models of equal sets are shared, so these form a DAG."""

    atoms: tuple[str, ...]
    succ: list[_World]


class _Open(Exception):
    """Raised from deep inside the recursion when a branch saturates open."""

    def __init__(self, model: Countermodel | _World) -> None:
        super().__init__("open branch")
        self.model = model


Core = frozenset[int]


class _Shared:
    """What all branches of one search share: formulas, item ids, limits, and the
    caches of world sets known (un)satisfiable."""

    def __init__(
        self, fs: _Formulas, logic: Logic, deadline: float | None, node_budget: int | None
    ) -> None:
        self.fs = fs
        self.logic = logic
        self.deadline = deadline
        self.node_budget = node_budget
        self.nodes = 0
        self.next_item = 2  # 0 = root label, 1 = root entry
        # unsatisfiable cores -> (proof, {fid: entry it closes on}, label, uses the label)
        self.unsat: dict[Core, tuple[tuple[Any, ...], dict[int, int], int, bool]] = {}
        self.unsat_index: dict[int, list[Core]] = {}
        self.sat: dict[Core, _World] = {}

    def fresh(self) -> int:
        self.next_item += 1
        return self.next_item - 1

    def tick(self) -> None:
        self.nodes += 1
        if self.nodes & 1023 == 0:
            if self.node_budget is not None and self.nodes > self.node_budget:
                raise _Limit("nodes", f"node budget of {self.node_budget} exhausted")
            if self.deadline is not None and time.monotonic() > self.deadline:
                raise _Limit("time", f"deadline reached after {self.nodes} nodes")

    def cached_core(self, initial: set[int]) -> Core | None:
        for fid in initial:
            for core in self.unsat_index.get(fid, ()):
                if core <= initial:
                    return core
        return None

    def remember(
        self, proof: tuple[Any, ...], used: dict[int, int], label: int, uses: bool
    ) -> Core:
        core = frozenset(used)
        if core not in self.unsat:
            self.unsat[core] = (proof, used, label, uses)
            self.unsat_index.setdefault(next(iter(core)), []).append(core)
        return core


class _Branch:
    """The mutable branch, undone along a trail when the search backtracks.

    In K, T and D (`tree_mode`) a branch holds one world: each successor is decided by
    a branch of its own (`solve_alone`), because nothing there can affect its
    predecessor; its verdict is cached by formula set. Otherwise the branch holds all
    worlds, since boxes reach back (B, S5, KD45) or loops are checked (S4)."""

    def __init__(self, shared: _Shared, root: int, entries: dict[int, int]) -> None:
        self.shared = shared
        self.fs = shared.fs
        logic = self.logic = shared.logic
        self.fresh = shared.fresh
        self.tick = shared.tick
        self.trail: list[Any] = []
        self.steps: list[tuple[int, tuple[int, ...], tuple[int, ...]]] = []
        self.queue: list[tuple[int, int, int]] = []
        self.ors: list[tuple[int, int, int]] = []
        self.dias: list[tuple[int, int, int]] = []
        self.or_ptr = 0
        self.dia_ptr = 0
        self.worlds: list[int] = []
        self.parent: dict[int, int] = {}
        self.children: dict[int, list[int]] = {}
        self.ents: dict[int, dict[int, int]] = {}
        self.own_boxes: dict[int, list[tuple[int, int]]] = {}
        self.rel: dict[tuple[int, int], int] = {}
        self.blocked: list[tuple[int, int]] = []  # S4 loop edges, for the countermodel
        self.clash: tuple[Any, ...] | None = None
        self.tree_mode = not (logic.symmetric or logic.euclidean or logic.transitive)
        self.models: list[_World] = []  # tree mode: the successors found satisfiable
        self.tree_boxes_reach_descendants = logic.transitive and not logic.euclidean
        self.cluster = logic.euclidean  # S5, KD45
        self.kd45 = logic.euclidean and not logic.reflexive
        self.root = root
        self.worlds.append(root)
        self.ents[root] = {}
        self.children[root] = []
        self.own_boxes[root] = []
        for fid, eid in entries.items():
            self.add(root, fid, eid)

    # -- bookkeeping -------------------------------------------------------------------

    def mark(self) -> tuple[int, ...]:
        return (
            len(self.trail),
            len(self.steps),
            len(self.ors),
            len(self.dias),
            len(self.worlds),
            self.or_ptr,
            self.dia_ptr,
            len(self.blocked),
            len(self.models),
        )

    def undo(self, m: tuple[int, ...]) -> None:
        trail = self.trail
        while len(trail) > m[0]:
            item = trail.pop()
            if type(item) is tuple:
                del item[0][item[1]]
            else:
                item.pop()
        del self.steps[m[1] :]
        del self.ors[m[2] :]
        del self.dias[m[3] :]
        del self.worlds[m[4] :]
        self.or_ptr = m[5]
        self.dia_ptr = m[6]
        del self.blocked[m[7] :]
        del self.models[m[8] :]
        self.queue.clear()
        self.clash = None

    # -- adding formulas ---------------------------------------------------------------

    def add(self, x: int, fid: int, eid: int) -> None:
        ents = self.ents[x]
        if fid in ents:
            return
        ents[fid] = eid
        self.trail.append((ents, fid))
        kind = self.fs.kind[fid]
        if kind in (ATOM, NATOM):
            other = ents.get(self.fs.comp[fid], -1) if self.fs.comp[fid] >= 0 else -1
            if other >= 0 and self.clash is None:
                pair = (eid, other) if kind == ATOM else (other, eid)
                self.clash = ((P_CLOSE, *pair), set(pair))
        elif kind == BOT:
            if self.clash is None:
                self.clash = ((P_BOT, eid), {eid})
        elif kind in (AND, BOX):
            self.queue.append((x, fid, eid))
        elif kind == OR:
            self.ors.append((x, fid, eid))
        elif kind == DIA:
            self.dias.append((x, fid, eid))

    def new_world(self, x: int, y: int, r: int) -> None:
        """Register world `y`, reached from `x` by relation item `r`."""
        self.worlds.append(y)
        self.parent[y] = x
        self.children[y] = []
        self.ents[y] = {}
        self.own_boxes[y] = []
        self.children[x].append(y)
        self.trail.append(self.children[x])
        self.rel[(x, y)] = r
        self.trail.append((self.rel, (x, y)))

    def step(self, kind: int, premises: tuple[int, ...], produced: tuple[int, ...]) -> None:
        self.steps.append((kind, premises, produced))
        self.tick()

    def reuse(self, core: frozenset[int], entries: dict[int, int], y: int) -> None:
        """Close the branch with a cached proof, its free items bound to this world's."""
        proof, old_entries, old_y, uses_label = self.shared.unsat[core]
        bindings = [(old_entries[fid], entries[fid]) for fid in core]
        deps = {new for _, new in bindings}
        if uses_label:
            bindings.append((old_y, y))
            deps.add(y)
        self.clash = ((P_ALIAS, tuple(bindings), proof), deps)

    # -- the relation, per logic -------------------------------------------------------

    def is_cluster(self, y: int) -> bool:
        return not (self.kd45 and y == ROOT_LABEL)

    def ancestors(self, y: int) -> list[int]:
        out = []
        while y in self.parent:
            y = self.parent[y]
            out.append(y)
        return out

    def successors(self, x: int) -> list[int]:
        """Worlds a box at `x` reaches, in the closed tableau's relation."""
        logic = self.logic
        if self.tree_mode:
            return [x] if logic.reflexive else []
        if self.cluster:
            return [y for y in self.worlds if self.is_cluster(y)]
        if self.tree_boxes_reach_descendants:
            out, todo = [x], [x]
            while todo:
                kids = self.children[todo.pop()]
                out.extend(kids)
                todo.extend(kids)
            return out
        out = list(self.children[x])
        if logic.reflexive:
            out.append(x)
        if logic.symmetric and x in self.parent:
            out.append(self.parent[x])
        return out

    def predecessors(self, y: int) -> list[int]:
        """Worlds whose boxes reach a newly created world `y` (other than `y` itself)."""
        if self.cluster:
            return [x for x in self.worlds if x != y]
        if self.tree_boxes_reach_descendants:
            return self.ancestors(y)
        return [self.parent[y]]

    def derive(self, x: int, y: int) -> int:
        """The relation item for (x, y), adding the frame steps that justify it."""
        r = self.rel.get((x, y))
        if r is not None:
            return r
        logic = self.logic
        if x == y and logic.reflexive:
            r = self.fresh()
            self.step(S_REFL, (x,), (r,))
        elif logic.symmetric and self.parent.get(x) == y and not self.cluster:
            r0 = self.rel[(y, x)]
            r = self.fresh()
            self.step(S_SYM, (r0,), (r,))
        elif logic.transitive and x in self.ancestors(y):
            p = self.parent[y]
            r1 = self.derive(x, p)
            r = self.fresh()
            self.step(S_TRANS, (r1, self.rel[(p, y)]), (r,))
        elif logic.euclidean:
            r1 = self.derive(ROOT_LABEL, x)
            r2 = self.derive(ROOT_LABEL, y)
            r = self.fresh()
            self.step(S_EUCL, (r1, r2), (r,))
        else:
            raise AssertionError(f"no {logic.name} relation from {x} to {y}")
        self.rel[(x, y)] = r
        self.trail.append((self.rel, (x, y)))
        return r

    def apply_box(self, x: int, fid: int, e: int, y: int) -> None:
        content = self.fs.a[fid]
        if content in self.ents[y]:
            return
        r = self.derive(x, y)
        e1 = self.fresh()
        self.step(S_BOX, (e, r), (e1,))
        self.add(y, content, e1)

    # -- saturation --------------------------------------------------------------------

    def propagate(self) -> None:
        """Apply conjunction and box rules until none applies or the branch clashes."""
        fs, queue = self.fs, self.queue
        while queue and self.clash is None:
            x, fid, e = queue.pop()
            if fs.kind[fid] == AND:
                ents = self.ents[x]
                left, right = fs.a[fid], fs.b[fid]
                if left in ents and right in ents:
                    continue
                e1, e2 = self.fresh(), self.fresh()
                self.step(S_AND, (e,), (e1, e2))
                self.add(x, left, e1)
                self.add(x, right, e2)
            else:
                boxes = self.own_boxes[x]
                boxes.append((fid, e))
                self.trail.append(boxes)
                for y in self.successors(x):
                    self.apply_box(x, fid, e, y)
                    if self.clash is not None:
                        break
        queue.clear()

    def contradicted(self, x: int, fid: int) -> bool:
        kind = self.fs.kind[fid]
        if kind == BOT:
            return True
        return (kind in (ATOM, NATOM)) and self.fs.comp[fid] in self.ents[x]

    def pick_or(self) -> tuple[int, int, int] | None:
        fs, ors = self.fs, self.ors
        while self.or_ptr < len(ors):
            x, fid, _ = ors[self.or_ptr]
            ents = self.ents[x]
            if fs.a[fid] in ents or fs.b[fid] in ents:
                self.or_ptr += 1
            else:
                break
        first = None
        for i in range(self.or_ptr, len(ors)):
            x, fid, e = ors[i]
            ents = self.ents[x]
            left, right = fs.a[fid], fs.b[fid]
            if left in ents or right in ents:
                continue
            if self.contradicted(x, left) or self.contradicted(x, right):
                return ors[i]
            if first is None:
                first = ors[i]
        return first

    def box_set(self, x: int) -> frozenset[int]:
        return frozenset(fid for w in (x, *self.ancestors(x)) for fid, _ in self.own_boxes[w])

    def fulfilled(self, x: int, content: int) -> int | None:
        """A world that already satisfies a diamond of `x` with this content, if any."""
        logic = self.logic
        if self.cluster:
            for y in self.worlds:
                if self.is_cluster(y) and content in self.ents[y]:
                    return y
            return None
        if self.tree_boxes_reach_descendants:
            boxes = self.box_set(x)
            u: int | None = x
            while u is not None:
                if self.box_set(u) != boxes:
                    return None
                if content in self.ents[u]:
                    return u
                u = self.parent.get(u)
            return None
        if logic.reflexive and content in self.ents[x]:
            return x
        return None

    def create_world(self, x: int, kind: int, e: int, content: int) -> None:
        y, r = self.fresh(), self.fresh()
        if kind == S_DIA:
            e1 = self.fresh()
            self.step(S_DIA, (e,), (y, r, e1))
        else:
            self.step(S_SERIAL, (x,), (y, r))
        self.new_world(x, y, r)
        if kind == S_DIA:
            self.add(y, content, e1)
        for w in self.predecessors(y):
            for fid, eb in list(self.own_boxes[w]):
                if self.clash is not None:
                    return
                self.apply_box(w, fid, eb, y)

    def solve_child(self, x: int, kind: int, e: int, content: int) -> None:
        """Tree mode: decide the successor's set on its own; record its model, or close
        this branch with its (possibly cached) unsatisfiable core."""
        fs, shared = self.fs, self.shared
        initial = {fs.a[fid] for fid, _ in self.own_boxes[x]}
        if kind == S_DIA:
            initial.add(content)
        key = frozenset(initial)
        model = shared.sat.get(key)
        core = None if model is not None else shared.cached_core(initial)
        if model is None and core is None:
            outcome = self.solve_alone(initial)
            if isinstance(outcome, _World):
                model = shared.sat[key] = outcome
            else:
                core = outcome
        if model is not None:
            self.models.append(model)
            return
        assert core is not None
        y, r = self.fresh(), self.fresh()
        entries: dict[int, int] = {}
        if kind == S_DIA:
            entries[content] = self.fresh()
            self.step(S_DIA, (e,), (y, r, entries[content]))
        else:
            self.step(S_SERIAL, (x,), (y, r))
        for fid, eb in self.own_boxes[x]:
            sub = fs.a[fid]
            if sub in core and sub not in entries:
                entries[sub] = self.fresh()
                self.step(S_BOX, (eb, r), (entries[sub],))
        self.reuse(core, entries, y)

    def solve_alone(self, initial: set[int]) -> _World | Core:
        shared = self.shared
        label = shared.fresh()
        entries = {fid: shared.fresh() for fid in initial}
        try:
            branch = _Branch(shared, label, entries)
            proof, deps = branch.expand()
        except _Open as found:
            assert isinstance(found.model, _World)
            return found.model
        used = {fid: eid for fid, eid in entries.items() if eid in deps}
        return shared.remember(proof, used, label, label in deps)

    def next_diamond(self) -> bool:
        """Process one pending diamond (or seriality); False when nothing is left."""
        while self.dia_ptr < len(self.dias):
            x, fid, e = self.dias[self.dia_ptr]
            self.dia_ptr += 1
            content = self.fs.a[fid]
            target = self.fulfilled(x, content)
            if target is None:
                if self.tree_mode:
                    self.solve_child(x, S_DIA, e, content)
                else:
                    self.create_world(x, S_DIA, e, content)
                return True
            if self.tree_boxes_reach_descendants and target != x:
                self.blocked.append((x, target))
        if self.logic.serial and not self.logic.reflexive:
            for x in self.worlds:
                if self.own_boxes[x] and not self.has_successor(x):
                    if self.tree_mode:
                        self.solve_child(x, S_SERIAL, -1, -1)
                    else:
                        self.create_world(x, S_SERIAL, -1, -1)
                    return True
        return False

    def has_successor(self, x: int) -> bool:
        if self.tree_mode:
            return bool(self.models)
        if self.cluster:
            return len(self.worlds) > 1
        return bool(self.children[x])

    def run(self) -> tuple[int, int, int] | None:
        """Saturate until a clash (None, with `self.clash` set), a disjunction to split
        (returned), or an open saturated branch (raises `_Open`)."""
        while True:
            self.propagate()
            if self.clash is not None:
                return None
            choice = self.pick_or()
            if choice is not None:
                return choice
            if not self.next_diamond():
                if self.tree_mode:
                    raise _Open(self.world_model())
                raise _Open(self.countermodel())

    # -- the recursive search and proof assembly ---------------------------------------

    def expand(self) -> tuple[tuple[Any, ...], set[int]]:
        start = len(self.steps)
        choice = self.run()
        if choice is None:
            assert self.clash is not None
            proof, deps = self.clash
            return self.wrap(start, proof, deps)
        x, fid, e = choice
        m = self.mark()
        self.tick()
        left_e = self.fresh()
        self.add(x, self.fs.a[fid], left_e)
        left_proof, left_deps = self.expand()
        self.undo(m)
        if left_e not in left_deps:
            return self.wrap(start, left_proof, left_deps)
        right_e = self.fresh()
        self.add(x, self.fs.b[fid], right_e)
        right_proof, right_deps = self.expand()
        self.undo(m)
        if right_e not in right_deps:
            return self.wrap(start, right_proof, right_deps)
        left_deps.discard(left_e)
        right_deps.discard(right_e)
        left_deps |= right_deps
        left_deps.add(e)
        return self.wrap(start, (P_OR, e, left_e, left_proof, right_e, right_proof), left_deps)

    def wrap(
        self, start: int, proof: tuple[Any, ...], deps: set[int]
    ) -> tuple[tuple[Any, ...], set[int]]:
        """Prefix `proof` with the steps since `start` that it depends on."""
        for i in range(len(self.steps) - 1, start - 1, -1):
            st = self.steps[i]
            produced = st[2]
            if any(p in deps for p in produced):
                deps.difference_update(produced)
                deps.update(st[1])
                proof = (P_STEP, st, proof)
        return proof, deps

    # -- countermodels -----------------------------------------------------------------

    def world_model(self) -> _World:
        fs = self.fs
        atoms = tuple(sorted(fs.name[f] for f in self.ents[self.root] if fs.kind[f] == ATOM))
        return _World(atoms, list(self.models))

    def countermodel(self) -> Countermodel:
        worlds = list(self.worlds)
        names = {w: f"w{i}" for i, w in enumerate(worlds)}
        logic = self.logic
        edges: set[tuple[int, int]] = set()
        extra: list[str] = []
        if self.cluster:
            cluster = [y for y in worlds if self.is_cluster(y)]
            if not cluster:
                extra.append(f"w{len(worlds)}")
                names[-1] = extra[0]
                cluster = [-1]
            for u in cluster:
                edges.update((u, v) for v in cluster)
            if self.kd45:
                edges.update((ROOT_LABEL, v) for v in cluster)
        else:
            for y in worlds[1:]:
                edges.add((self.parent[y], y))
                if logic.symmetric:
                    edges.add((y, self.parent[y]))
            if logic.reflexive:
                edges.update((w, w) for w in worlds)
            if logic.transitive:
                edges.update(self.blocked)
                edges = _transitive_closure(edges)
            if logic.serial and not logic.reflexive:
                edges.update((w, w) for w in worlds if not self.children[w])
        fs = self.fs
        valuation = {
            names[w]: tuple(sorted(fs.name[f] for f in self.ents[w] if fs.kind[f] == ATOM))
            for w in worlds
        }
        for name in extra:
            valuation[name] = ()
        all_names = tuple(names[w] for w in worlds) + tuple(extra)
        relation = tuple(sorted((names[u], names[v]) for u, v in edges))
        return Countermodel(all_names, relation, valuation, names[ROOT_LABEL])


def _transitive_closure(edges: set[tuple[int, int]]) -> set[tuple[int, int]]:
    succ: dict[int, set[int]] = {}
    for u, v in edges:
        succ.setdefault(u, set()).add(v)
    closed: set[tuple[int, int]] = set()
    for u in succ:
        seen, todo = set(), [u]
        while todo:
            for v in succ.get(todo.pop(), ()):
                if v not in seen:
                    seen.add(v)
                    todo.append(v)
        closed.update((u, v) for v in seen)
    return closed


# ---------------------------------------------------------------------------------------
# Emission: symbolic items -> the certificate's absolute indices.


def _emit(proof: tuple[Any, ...]) -> cert.Tableau:
    pos: dict[int, int] = {ROOT_LABEL: 0, ROOT_ENTRY: 0}
    return _emit_from(proof, pos, 1, 0, 1)


def _emit_from(node: tuple[Any, ...], pos: dict[int, int], ne: int, nr: int, nl: int) -> Any:
    """Number the items along one path; recursion only at disjunctions."""
    chain: list[tuple[int, tuple[int, ...]]] = []
    while node[0] == P_STEP or node[0] == P_ALIAS:
        if node[0] == P_ALIAS:
            for old, new in node[1]:
                pos[old] = pos[new]
            node = node[2]
            continue
        kind, premises, produced = node[1]
        args = tuple(pos[p] for p in premises)
        if kind == S_AND:
            pos[produced[0]], pos[produced[1]] = ne, ne + 1
            ne += 2
        elif kind == S_BOX:
            pos[produced[0]] = ne
            ne += 1
        elif kind == S_DIA:
            pos[produced[0]], pos[produced[1]], pos[produced[2]] = nl, nr, ne
            nl, nr, ne = nl + 1, nr + 1, ne + 1
        elif kind == S_SERIAL:
            pos[produced[0]], pos[produced[1]] = nl, nr
            nl, nr = nl + 1, nr + 1
        else:
            pos[produced[0]] = nr
            nr += 1
        chain.append((kind, args))
        node = node[2]
    tree: cert.Tableau
    if node[0] == P_CLOSE:
        tree = cert.Close(pos[node[1]], pos[node[2]])
    elif node[0] == P_BOT:
        tree = cert.CloseBot(pos[node[1]])
    else:
        _, e, left_e, left, right_e, right = node
        pos[left_e] = pos[right_e] = ne
        tree = cert.OrRule(
            pos[e],
            _emit_from(left, pos, ne + 1, nr, nl),
            _emit_from(right, pos, ne + 1, nr, nl),
        )
    for kind, args in reversed(chain):
        tree = _STEP_RULES[kind](*args, tree)
    return tree


_STEP_RULES: dict[int, Any] = {
    S_AND: cert.AndRule,
    S_BOX: cert.BoxRule,
    S_DIA: cert.DiaRule,
    S_REFL: cert.Refl,
    S_SERIAL: cert.Serial,
    S_SYM: cert.Sym,
    S_TRANS: cert.Trans,
    S_EUCL: cert.Eucl,
}


# ---------------------------------------------------------------------------------------
# Entry point.

_STACK_BYTES = 512 * 1024 * 1024
_RECURSION_LIMIT = 1_000_000


def search(
    goal: Formula,
    logic: Logic,
    *,
    deadline: float | None = None,
    node_budget: int | None = None,
) -> Result:
    """Decide `goal` in `logic`. `deadline` is a `time.monotonic()` instant."""
    outcome: list[Result | BaseException] = []

    def work() -> None:
        try:
            outcome.append(_search(goal, logic, deadline, node_budget))
        except BaseException as exc:  # re-raised in the caller's thread
            outcome.append(exc)

    old_size = threading.stack_size()
    old_limit = sys.getrecursionlimit()
    threading.stack_size(_STACK_BYTES)
    try:
        sys.setrecursionlimit(max(old_limit, _RECURSION_LIMIT))
        worker = threading.Thread(target=work, name="pxl-search", daemon=True)
        worker.start()
    finally:
        threading.stack_size(old_size)
    worker.join()
    result = outcome[0]
    if isinstance(result, BaseException):
        raise result
    return result


def _search(goal: Formula, logic: Logic, deadline: float | None, budget: int | None) -> Result:
    fs = _Formulas()
    root = fs.intern(nneg(goal))
    shared = _Shared(fs, logic, deadline, budget)
    try:
        branch = _Branch(shared, ROOT_LABEL, {root: ROOT_ENTRY})
        proof, _ = branch.expand()
    except _Limit as limit:
        return Unknown(limit.reason, limit.detail)
    except _Open as found:
        model = found.model
        if isinstance(model, _World):
            model = _tree_countermodel(model, logic)
        if not confirm(model, goal, logic):
            raise SearchBug(f"{logic.name}: countermodel not confirmed: {model}") from None
        return Refutation(model)
    return Proof(_emit(proof))


def _tree_countermodel(root: _World, logic: Logic) -> Countermodel:
    """Name the worlds of a K/T/D model DAG; add the frame's reflexive or serial loops."""
    names: dict[int, str] = {}
    order: list[_World] = []
    todo = [root]
    while todo:
        w = todo.pop()
        if id(w) in names:
            continue
        names[id(w)] = f"w{len(order)}"
        order.append(w)
        todo.extend(reversed(w.succ))
    relation: set[tuple[str, str]] = set()
    for w in order:
        relation.update((names[id(w)], names[id(v)]) for v in w.succ)
        if logic.reflexive or (logic.serial and not w.succ):
            relation.add((names[id(w)], names[id(w)]))
    return Countermodel(
        tuple(names[id(w)] for w in order),
        tuple(sorted(relation)),
        {names[id(w)]: w.atoms for w in order},
        names[id(root)],
    )
