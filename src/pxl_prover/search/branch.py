"""The search proper: branches of a labelled tableau, saturated and split depth first.

See `pxl_prover.tableau` for the design; this module holds the mutable branch (undone
along a trail when the search backtracks) and what all branches of a search share.
"""

from __future__ import annotations

import time
from typing import Any, Literal

from pxl_prover.countermodel import Countermodel
from pxl_prover.logics import Logic
from pxl_prover.search.formulas import AND, ATOM, BOT, BOX, DIA, NATOM, OR, Formulas
from pxl_prover.search.models import World
from pxl_prover.search.proofs import (
    P_ALIAS,
    P_BOT,
    P_CLOSE,
    P_OR,
    P_STEP,
    ROOT_LABEL,
    S_AND,
    S_BOX,
    S_DIA,
    S_EUCL,
    S_REFL,
    S_SERIAL,
    S_SYM,
    S_TRANS,
)


class Limit(Exception):
    def __init__(self, reason: Literal["time", "nodes"], detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


class Open(Exception):
    """Raised from deep inside the recursion when a branch saturates open. In tree mode
    `external` names the ancestors' worlds the model loops back to (S4)."""

    def __init__(self, model: Countermodel | World, external: frozenset[World]) -> None:
        super().__init__("open branch")
        self.model = model
        self.external = external


class Budget(Exception):
    """A successor's probe decided more successors than its caller allowed (see
    `try_children`)."""

    def __init__(self, cap: int) -> None:
        super().__init__(f"node cap {cap}")
        self.cap = cap


Core = frozenset[int]
_NO_CAP = 1 << 62
_PROBE = 64  # successors a probe may decide (see `try_children`)
_SUPERSET_TRIES = 32
_Handles = dict[int, tuple[int, int]]  # box fid -> (entry of the box, relation to here)


def _handle_key(fid: int) -> int:
    """Sets and cores write an inherited box (a handle) as a negative number, so that it
    is never confused with an entry of the same formula: their proofs differ."""
    return -1 - fid


class Shared:
    """What all branches of one search share: formulas, item ids, limits, and the
    caches of world sets known (un)satisfiable."""

    def __init__(
        self, fs: Formulas, logic: Logic, deadline: float | None, node_budget: int | None
    ) -> None:
        self.fs = fs
        self.logic = logic
        self.deadline = deadline
        self.node_budget = node_budget
        self.nodes = 0
        self.successors = 0  # successor sets decided on their own (`solve_alone`)
        self.cap = _NO_CAP  # successor count at which the running probe gives up
        self.next_item = 2  # 0 = root label, 1 = root entry
        # unsatisfiable cores -> (proof, the entries and box handles it closes on,
        # the label it was found at, whether the proof uses that label)
        self.unsat: dict[Core, tuple[tuple[Any, ...], dict[int, int], _Handles, int, bool]] = {}
        self.unsat_index: dict[int, list[Core]] = {}
        self.sat: dict[Core, tuple[World, frozenset[World]]] = {}
        self.sat_index: dict[int, list[Core]] = {}

    def fresh(self) -> int:
        self.next_item += 1
        return self.next_item - 1

    def tick(self) -> None:
        self.nodes += 1
        if self.nodes & 1023 == 0:
            if self.node_budget is not None and self.nodes > self.node_budget:
                raise Limit("nodes", f"node budget of {self.node_budget} exhausted")
            if self.deadline is not None and time.monotonic() > self.deadline:
                raise Limit("time", f"deadline reached after {self.nodes} nodes")

    def satisfied_by(
        self, initial: frozenset[int], hint: int | None = None
    ) -> tuple[World, frozenset[World]] | None:
        """A cached model of a superset of `initial`: it satisfies `initial` too. Only
        the most recent candidates are tried: this is a shortcut, not a search. The
        candidates are the sets holding `hint` (a member of `initial`, the diamond's
        content: few sets share it), else those holding the rarest member."""
        found = self.sat.get(initial)
        if found is not None or not initial:
            return found
        shortest: list[Core] = []
        if hint is not None:
            shortest = self.sat_index.get(hint, [])
        else:
            for k in initial:
                keys = self.sat_index.get(k)
                if not keys:
                    return None
                if not shortest or len(keys) < len(shortest):
                    shortest = keys
        for key in shortest[-_SUPERSET_TRIES:]:
            if initial <= key:
                return self.sat[key]
        return None

    def remember_model(self, key: Core, model: World) -> tuple[World, frozenset[World]]:
        found = (model, frozenset())
        self.sat[key] = found
        for k in key:
            self.sat_index.setdefault(k, []).append(key)
        return found

    def cached_core(self, initial: frozenset[int]) -> Core | None:
        for fid in initial:
            for core in self.unsat_index.get(fid, ()):
                if core <= initial:
                    return core
        return None

    def remember(
        self,
        proof: tuple[Any, ...],
        used: dict[int, int],
        handles: _Handles,
        label: int,
        uses_label: bool,
    ) -> Core:
        core = frozenset(used) | frozenset(_handle_key(fid) for fid in handles)
        if core not in self.unsat:
            self.unsat[core] = (proof, used, handles, label, uses_label)
            self.unsat_index.setdefault(next(iter(core)), []).append(core)
        return core


class Branch:
    """The mutable branch, undone along a trail when the search backtracks.

    Tree mode (K, T, D, S4): the branch holds one world; each successor is decided by a
    branch of its own (`solve_alone`), because nothing there changes its predecessor,
    and the verdict is cached by formula set. In S4 the successor inherits the boxes as
    handles (the box's entry and a relation reaching the new world, by Trans), and a
    diamond already satisfied by an ancestor with the same boxes loops back to it.
    Global mode (B, S5, KD45): the branch holds all worlds, since boxes reach back."""

    def __init__(
        self,
        shared: Shared,
        root: int,
        entries: dict[int, int],
        handles: _Handles | None = None,
        history: tuple[Branch, ...] = (),
    ) -> None:
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
        self.units: list[tuple[int, int, int]] = []  # disjunctions with a refuted side
        self.unit_ptr = 0
        self.dia_ptr = 0
        self.worlds: list[int] = [root]
        self.parent: dict[int, int] = {}
        self.children: dict[int, list[int]] = {root: []}
        self.ents: dict[int, dict[int, int]] = {root: {}}
        # boxes holding at a world: (fid, entry, relation from the box's world or -1)
        self.boxes: dict[int, list[tuple[int, int, int]]] = {root: []}
        self.rel: dict[tuple[int, int], int] = {}
        self.clash: tuple[Any, ...] | None = None
        self.tree_mode = not (logic.symmetric or logic.euclidean)
        self.inherit = self.tree_mode and logic.transitive  # S4
        self.cluster = logic.euclidean  # S5, KD45
        self.kd45 = logic.euclidean and not logic.reflexive
        self.root = root
        self.history = history
        self.me = World()
        self._box_cache: tuple[Any, int, frozenset[int]] = (None, 0, frozenset())
        self._inherited_cache: tuple[Any, int, frozenset[int]] = (None, 0, frozenset())
        self.models: list[tuple[World, frozenset[World]]] = []  # tree mode successors
        for fid, eid in entries.items():
            self.add(root, fid, eid)
        for fid, (eb, rb) in (handles or {}).items():
            self.boxes[root].append((fid, eb, rb))
            self.apply_box(root, fid, eb, rb, root)

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
            len(self.models),
            len(self.units),
            self.unit_ptr,
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
        del self.models[m[7] :]
        del self.units[m[8] :]
        self.unit_ptr = m[9]
        self.queue.clear()
        self.clash = None

    def step(self, kind: int, premises: tuple[int, ...], produced: tuple[int, ...]) -> None:
        self.steps.append((kind, premises, produced))
        self.tick()

    # -- adding formulas ---------------------------------------------------------------

    def add(self, x: int, fid: int, eid: int) -> None:
        ents = self.ents[x]
        if fid in ents:
            return
        ents[fid] = eid
        self.trail.append((ents, fid))
        fs = self.fs
        kind = fs.kind[fid]
        if kind in (ATOM, NATOM):
            comp = fs.comp[fid]
            other = ents.get(comp, -1) if comp >= 0 else -1
            if other >= 0 and self.clash is None:
                pair = (eid, other) if kind == ATOM else (other, eid)
                self.clash = ((P_CLOSE, *pair), set(pair))
            for disjunction in fs.in_or.get(comp, ()):
                if disjunction in ents:
                    self.units.append((x, disjunction, ents[disjunction]))
        elif kind == BOT:
            if self.clash is None:
                self.clash = ((P_BOT, eid), {eid})
        elif kind in (AND, BOX):
            self.queue.append((x, fid, eid))
        elif kind == OR:
            self.ors.append((x, fid, eid))
            if self.contradicted(x, fs.a[fid]) or self.contradicted(x, fs.b[fid]):
                self.units.append((x, fid, eid))
        elif kind == DIA:
            self.dias.append((x, fid, eid))

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
                boxes = self.boxes[x]
                boxes.append((fid, e, -1))
                self.trail.append(boxes)
                for y in self.successors(x):
                    self.apply_box(x, fid, e, -1, y)
                    if self.clash is not None:
                        break
        queue.clear()

    def apply_box(self, x: int, fid: int, e: int, rb: int, y: int) -> None:
        """Add the content of box `e` (at `x`, or reaching `x` by relation `rb`) at `y`."""
        content = self.fs.a[fid]
        if content in self.ents[y]:
            return
        r = rb if rb >= 0 else self.derive(x, y)
        e1 = self.fresh()
        self.step(S_BOX, (e, r), (e1,))
        self.add(y, content, e1)

    # -- disjunctions ------------------------------------------------------------------

    def contradicted(self, x: int, fid: int) -> bool:
        kind = self.fs.kind[fid]
        if kind == BOT:
            return True
        return kind in (ATOM, NATOM) and self.fs.comp[fid] in self.ents[x]

    def pick_or(self) -> tuple[int, int, int] | None:
        """The next disjunction to split: one with a refuted side if any (that side
        closes at once, so this is unit propagation), else the oldest open one."""
        fs, ents_of = self.fs, self.ents
        units = self.units
        while self.unit_ptr < len(units):
            x, fid, e = units[self.unit_ptr]
            self.unit_ptr += 1
            ents = ents_of[x]
            if fs.a[fid] not in ents and fs.b[fid] not in ents:
                return x, fid, e
        ors = self.ors
        while self.or_ptr < len(ors):
            x, fid, e = ors[self.or_ptr]
            ents = ents_of[x]
            if fs.a[fid] in ents or fs.b[fid] in ents:
                self.or_ptr += 1
            else:
                return x, fid, e
        return None

    # -- the relation in global mode (B, S5, KD45) --------------------------------------

    def is_cluster(self, y: int) -> bool:
        return not (self.kd45 and y == ROOT_LABEL)

    def successors(self, x: int) -> list[int]:
        """Worlds of this branch that a box at `x` reaches."""
        logic = self.logic
        if self.tree_mode:
            return [x] if logic.reflexive else []
        if self.cluster:
            return [y for y in self.worlds if self.is_cluster(y)]
        out = [*self.children[x], x]  # B: reflexive and symmetric
        if x in self.parent:
            out.append(self.parent[x])
        return out

    def predecessors(self, y: int) -> list[int]:
        """Worlds whose boxes reach a newly created world `y` (other than `y` itself)."""
        if self.cluster:
            return [x for x in self.worlds if x != y]
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
        elif logic.symmetric and not self.cluster and self.parent.get(x) == y:
            r0 = self.rel[(y, x)]
            r = self.fresh()
            self.step(S_SYM, (r0,), (r,))
        elif self.cluster and x == ROOT_LABEL:
            p = self.parent[y]
            r1 = self.derive(x, p)
            r = self.fresh()
            self.step(S_TRANS, (r1, self.rel[(p, y)]), (r,))
        elif self.cluster:
            r1 = self.derive(ROOT_LABEL, x)
            r2 = self.derive(ROOT_LABEL, y)
            r = self.fresh()
            self.step(S_EUCL, (r1, r2), (r,))
        else:
            raise AssertionError(f"no {logic.name} relation from {x} to {y}")
        self.rel[(x, y)] = r
        self.trail.append((self.rel, (x, y)))
        return r

    def fulfilled(self, x: int, content: int) -> bool:
        """Global mode: is a diamond at `x` with this content already satisfied?"""
        if self.cluster:
            return any(self.is_cluster(y) and content in self.ents[y] for y in self.worlds)
        return content in self.ents[x]  # B: reflexive

    def create_world(self, x: int, kind: int, e: int, content: int) -> None:
        y, r = self.fresh(), self.fresh()
        if kind == S_DIA:
            e1 = self.fresh()
            self.step(S_DIA, (e,), (y, r, e1))
        else:
            self.step(S_SERIAL, (x,), (y, r))
        self.worlds.append(y)
        self.parent[y] = x
        self.children[y] = []
        self.ents[y] = {}
        self.boxes[y] = []
        self.children[x].append(y)
        self.trail.append(self.children[x])
        self.rel[(x, y)] = r
        self.trail.append((self.rel, (x, y)))
        if kind == S_DIA:
            self.add(y, content, e1)
        for w in self.predecessors(y):
            for fid, eb, _ in list(self.boxes[w]):
                if self.clash is not None:
                    return
                self.apply_box(w, fid, eb, -1, y)

    # -- successors in tree mode (K, T, D, S4) -----------------------------------------

    def box_fids(self) -> frozenset[int]:
        """The boxes holding at the root world (own and inherited), cached until the list
        changes: the last element is kept, so a different list has a different last."""
        boxes = self.boxes[self.root]
        last = boxes[-1] if boxes else None
        if self._box_cache[0] is not last or self._box_cache[1] != len(boxes):
            self._box_cache = (last, len(boxes), frozenset(fid for fid, _, _ in boxes))
        return self._box_cache[2]

    def inherited(self) -> frozenset[int]:
        """What every successor's set starts with: the box handles (S4) or the boxes'
        contents (K, T, D). Cached like `box_fids`: a world with hundreds of boxes
        (LWB `poly`) asks for it once per diamond, and most answers come from the caches."""
        boxes = self.boxes[self.root]
        last = boxes[-1] if boxes else None
        cached = self._inherited_cache
        if cached[0] is not last or cached[1] != len(boxes):
            if self.inherit:
                items = frozenset(_handle_key(fid) for fid, _, _ in boxes)
            else:
                a = self.fs.a
                items = frozenset(a[fid] for fid, _, _ in boxes)
            cached = self._inherited_cache = (last, len(boxes), items)
        return cached[2]

    def loop_target(self, content: int) -> Branch | None:
        """A world on the path that already satisfies a diamond with this content: the
        world itself (reflexive logics), or in S4 an ancestor with the same boxes."""
        if not self.logic.reflexive:
            return None
        if content in self.ents[self.root]:
            return self
        if not self.inherit:
            return None
        boxes = self.box_fids()
        if content in boxes:
            return self
        for u in reversed(self.history):
            if u.box_fids() != boxes:
                return None
            if content in u.ents[u.root] or content in boxes:
                return u
        return None

    def solve_child(self, kind: int, e: int, content: int) -> bool:
        """Decide a successor's set on its own; record its model, or close this branch
        with its (possibly cached) unsatisfiable core (True)."""
        fs, shared, x = self.fs, self.shared, self.root
        initial = key = self.inherited() | {content} if kind == S_DIA else self.inherited()
        found = shared.satisfied_by(key, content if kind == S_DIA else None)
        core = None if found is not None else shared.cached_core(initial)
        if found is None and core is None:
            outcome = self.solve_alone(initial)
            if isinstance(outcome, frozenset):
                core = outcome
            elif outcome[1]:
                found = outcome  # loops back to an ancestor: valid on this path only
            else:
                found = shared.remember_model(key, outcome[0])
        if found is not None:
            self.models.append(found)
            return False
        assert core is not None
        y, r = self.fresh(), self.fresh()
        entries: dict[int, int] = {}
        handles: _Handles = {}
        if kind == S_DIA:
            entries[content] = self.fresh()
            self.step(S_DIA, (e,), (y, r, entries[content]))
        else:
            self.step(S_SERIAL, (x,), (y, r))
        for fid, eb, rb in self.boxes[x]:
            if self.inherit and _handle_key(fid) in core:
                if rb < 0:
                    handles[fid] = (eb, r)
                else:
                    r2 = self.fresh()
                    self.step(S_TRANS, (rb, r), (r2,))
                    handles[fid] = (eb, r2)
            elif not self.inherit and fs.a[fid] in core and fs.a[fid] not in entries:
                entries[fs.a[fid]] = self.fresh()
                self.step(S_BOX, (eb, r), (entries[fs.a[fid]],))
        self.reuse(core, entries, handles, y)
        return True

    def solve_alone(self, initial: frozenset[int]) -> tuple[World, frozenset[World]] | Core:
        shared = self.shared
        shared.successors += 1
        if shared.successors > shared.cap:
            raise Budget(shared.cap)
        label = shared.fresh()
        entries = {fid: shared.fresh() for fid in initial if fid >= 0}
        handles = {-1 - k: (shared.fresh(), shared.fresh()) for k in initial if k < 0}
        try:
            branch = Branch(shared, label, entries, handles, (*self.history, self))
            proof, deps = branch.expand(0)
        except Open as found:
            assert isinstance(found.model, World)
            return found.model, found.external
        used = {fid: eid for fid, eid in entries.items() if eid in deps}
        used_handles = {f: (e, r) for f, (e, r) in handles.items() if e in deps or r in deps}
        return shared.remember(proof, used, used_handles, label, label in deps)

    def reuse(self, core: Core, entries: dict[int, int], handles: _Handles, y: int) -> None:
        """Close the branch with a cached proof, its free items bound to this world's."""
        proof, old_entries, old_handles, old_y, uses_label = self.shared.unsat[core]
        bindings = [(old, entries[fid]) for fid, old in old_entries.items()]
        for fid, (old_e, old_r) in old_handles.items():
            new_e, new_r = handles[fid]
            bindings += [(old_e, new_e), (old_r, new_r)]
        if uses_label:
            bindings.append((old_y, y))
        self.clash = ((P_ALIAS, tuple(bindings), proof), {new for _, new in bindings})

    def open_world(self) -> Open:
        fs, me = self.fs, self.me
        me.atoms = tuple(sorted(fs.name[f] for f in self.ents[self.root] if fs.kind[f] == ATOM))
        me.succ = [model for model, _ in self.models]
        me.formulas = frozenset(self.ents[self.root]) | self.box_fids()
        external = frozenset().union(*(ext for _, ext in self.models)) - {me}
        return Open(me, external)

    # -- the saturation loop -----------------------------------------------------------

    def next_diamond(self) -> bool:
        """Process one pending diamond (or seriality); False when nothing is left."""
        if self.tree_mode and self.dia_ptr < len(self.dias):
            pending: list[tuple[int, int]] = []
            for _, fid, e in self.dias[self.dia_ptr :]:
                content = self.fs.a[fid]
                target = self.loop_target(content)
                if target is None:
                    pending.append((e, content))
                elif target is not self:
                    self.models.append((target.me, frozenset([target.me])))
            self.dia_ptr = len(self.dias)
            if pending:
                self.try_children(pending)
                return True
        while self.dia_ptr < len(self.dias):
            x, fid, e = self.dias[self.dia_ptr]
            self.dia_ptr += 1
            content = self.fs.a[fid]
            if not self.fulfilled(x, content):
                self.create_world(x, S_DIA, e, content)
                return True
        if self.logic.serial and not self.logic.reflexive:
            for x in self.worlds:
                if self.boxes[x] and not self.has_successor(x):
                    if self.tree_mode:
                        self.solve_child(S_SERIAL, -1, -1)
                    else:
                        self.create_world(x, S_SERIAL, -1, -1)
                    return True
        return False

    def try_children(self, pending: list[tuple[int, int]]) -> None:
        """Decide the successors of this world's diamonds until one is unsatisfiable
        (which closes the world) or all are satisfiable. In K, T and D, the second and
        later ones are first probed, each allowed to decide only a few successor sets,
        so that one that closes quickly is not found only after the first one's large
        model is built (LWB `branch`: the refuted diamond comes last); the rest are then
        solved in full, in order. Inside a probe, worlds do not probe again, so that a
        probe's cost does not compound with the depth; what a probe completes (models,
        cores) stays in the caches. Not in S4: its successors' results that loop back
        to an ancestor are not cached, so an abandoned probe's work is lost (measured:
        LWB s4_ipc_p and s4_md lost more than s4_branch_p won)."""
        shared = self.shared
        if len(pending) > 1 and shared.cap == _NO_CAP and not self.inherit:
            left: list[tuple[int, int]] = [pending[0]]
            for e, content in pending[1:]:
                cap = shared.cap = shared.successors + _PROBE
                try:
                    if self.solve_child(S_DIA, e, content):
                        return
                except Budget as over:
                    if over.cap != cap:
                        raise
                    left.append((e, content))
                finally:
                    shared.cap = _NO_CAP
            pending = left
        for e, content in pending:
            if self.solve_child(S_DIA, e, content):
                return

    def has_successor(self, x: int) -> bool:
        if self.tree_mode:
            return bool(self.models)
        return len(self.worlds) > 1  # KD45: the cluster is not empty

    def run(self) -> tuple[int, int, int] | None:
        """Saturate until a clash (None, with `self.clash` set), a disjunction to split
        (returned), or an open saturated branch (raises `Open`)."""
        while True:
            self.propagate()
            if self.clash is not None:
                return None
            choice = self.pick_or()
            if choice is not None:
                return choice
            if not self.next_diamond():
                if self.tree_mode:
                    raise self.open_world()
                raise Open(self.countermodel(), frozenset())

    # -- the recursive search and proof assembly ---------------------------------------

    def expand(self, start: int | None = None) -> tuple[tuple[Any, ...], set[int]]:
        """Close the branch from here (a proof and the items it depends on) or raise."""
        if start is None:
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

    # -- countermodels in global mode --------------------------------------------------

    def countermodel(self) -> Countermodel:
        worlds = list(self.worlds)
        names = {w: f"w{i}" for i, w in enumerate(worlds)}
        edges: set[tuple[int, int]] = set()
        extra: list[str] = []
        if self.cluster:
            cluster = [y for y in worlds if self.is_cluster(y)]
            if not cluster:  # KD45 with nothing to witness: any successor will do
                extra.append(f"w{len(worlds)}")
                names[-1] = extra[0]
                cluster = [-1]
            for u in cluster:
                edges.update((u, v) for v in cluster)
            if self.kd45:
                edges.update((ROOT_LABEL, v) for v in cluster)
        else:  # B: the tree, reflexive and symmetric
            for y in worlds[1:]:
                edges.update({(self.parent[y], y), (y, self.parent[y])})
            edges.update((w, w) for w in worlds)
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
