"""Tree mode (K, T, D; S4 in `search.s4`): a branch holds one world, and each successor
is decided by a branch of its own, because nothing at a successor changes its
predecessor. The verdict is cached by the successor's formula set: unsatisfiable cores
with their proofs (reused under a renaming of their free items, `P_ALIAS`), satisfiable
sets with their models (also for subsets)."""

from __future__ import annotations

from typing import Any

from pxl_prover.logics import Logic
from pxl_prover.search import cdcl
from pxl_prover.search.core import Branch, Open, Shared
from pxl_prover.search.formulas import ATOM, Formulas
from pxl_prover.search.models import Found, World
from pxl_prover.search.proofs import P_ALIAS, ROOT_LABEL, S_BOX, S_DIA, S_SERIAL


class Budget(Exception):
    """A successor's probe decided more successors than its caller allowed (see
    `TreeBranch.try_children`)."""

    def __init__(self, cap: int) -> None:
        super().__init__(f"node cap {cap}")
        self.cap = cap


Core = frozenset[int]
Handles = dict[int, tuple[int, int]]  # box fid -> (entry of the box, relation to here)
_NO_CAP = 1 << 62
_PROBE = 64  # successors a probe may decide (see `TreeBranch.try_children`)
_SUPERSET_TRIES = 32


def handle_key(fid: int) -> int:
    """Sets and cores write an inherited box (a handle, S4) as a negative number, so that
    it is never confused with an entry of the same formula: their proofs differ."""
    return -1 - fid


class TreeShared(Shared):
    """What all branches of a tree-mode search share besides items and limits: the
    caches of successor sets known (un)satisfiable, and the probe's budget."""

    def __init__(
        self, fs: Formulas, logic: Logic, deadline: float | None, node_budget: int | None
    ) -> None:
        super().__init__(fs, logic, deadline, node_budget)
        self.successors = 0  # successor sets decided on their own (`solve_alone`)
        self.cap = _NO_CAP  # successor count at which the running probe gives up
        # unsatisfiable cores -> (proof, the entries and box handles it closes on,
        # the label it was found at, whether the proof uses that label)
        self.unsat: dict[Core, tuple[tuple[Any, ...], dict[int, int], Handles, int, bool]] = {}
        self.unsat_index: dict[int, list[Core]] = {}
        self.sat: dict[Core, Found] = {}
        self.sat_index: dict[int, list[Core]] = {}
        self.abstraction: cdcl.Abstraction | None = None  # K and T: the CDCL solver's

    def satisfied_by(self, initial: frozenset[int], hint: int | None = None) -> Found | None:
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

    def satisfied_with(self, base: frozenset[int], content: int) -> Found | None:
        """`satisfied_by(base | {content}, content)` among the recent candidates, without
        making that set: a world with hundreds of boxes (LWB `poly`) has dozens of
        diamonds, most answered here, and copying and hashing the boxes' contents once
        per diamond was a third of the search."""
        for key in self.sat_index.get(content, ())[-_SUPERSET_TRIES:]:
            if base <= key:
                return self.sat[key]
        return None

    def remember_model(self, key: Core, model: World) -> Found:
        found = (model, frozenset())
        self.sat[key] = found
        for k in key:
            self.sat_index.setdefault(k, []).append(key)
        return found

    def cached_core(self, initial: frozenset[int]) -> Core | None:
        """A cached core within `initial`: looked up by each member, or, when the index
        has fewer entries than `initial` has members (S4 sets of a thousand inherited
        boxes, LWB s4_md_p), by each entry of the index."""
        index = self.unsat_index
        if len(index) < len(initial):
            candidates = (cores for fid, cores in index.items() if fid in initial)
        else:
            candidates = (index[fid] for fid in initial if fid in index)
        for cores in candidates:
            for core in cores:
                if core <= initial:
                    return core
        return None

    def remember(
        self,
        proof: tuple[Any, ...],
        used: dict[int, int],
        handles: Handles,
        label: int,
        uses_label: bool,
    ) -> Core:
        core = frozenset(used) | frozenset(handle_key(fid) for fid in handles)
        if core not in self.unsat:
            self.unsat[core] = (proof, used, handles, label, uses_label)
            self.unsat_index.setdefault(next(iter(core)), []).append(core)
        return core


class TreeBranch(Branch):
    """A branch holding one world (K, T, D). A box reaches the world itself in the
    reflexive logics; its successors are decided by `solve_child` and kept in `models`.
    A successor's set starts with the boxes' contents."""

    shared: TreeShared
    probes = True  # see `try_children`

    def __init__(self, shared: TreeShared, root: int, entries: dict[int, int]) -> None:
        # K and T split clauses of three or more sides first (`Branch.pick_or`): LWB
        # kt_ph_p #6 closes in 36,000 rules instead of 266,000, k_ph_p #5 in 5,100
        # instead of 21,600
        self.wide_first = cdcl.applies(shared.logic)
        super().__init__(shared, root, entries)
        self.me = World()
        self._box_cache: tuple[Any, int, frozenset[int]] = (None, 0, frozenset())
        self._inherited_cache: tuple[Any, int, frozenset[int]] = (None, 0, frozenset())
        self.models: list[Found] = []  # the successors' models

    def successors(self, x: int) -> list[int]:
        return [x] if self.logic.reflexive else []

    # -- what a successor starts with --------------------------------------------------

    def box_fids(self) -> frozenset[int]:
        """The boxes holding at the root world (own and inherited), cached until the list
        changes: the last element is kept, so a different list has a different last."""
        boxes = self.boxes[self.root]
        last = boxes[-1] if boxes else None
        if self._box_cache[0] is not last or self._box_cache[1] != len(boxes):
            self._box_cache = (last, len(boxes), frozenset(fid for fid, _, _ in boxes))
        return self._box_cache[2]

    def inherited(self) -> frozenset[int]:
        """What every successor's set starts with (`passed_down`). Cached like
        `box_fids`: a world with hundreds of boxes (LWB `poly`) asks for it once per
        diamond, and most answers come from the caches."""
        boxes = self.boxes[self.root]
        last = boxes[-1] if boxes else None
        cached = self._inherited_cache
        if cached[0] is not last or cached[1] != len(boxes):
            cached = self._inherited_cache = (last, len(boxes), self.passed_down(boxes))
        return cached[2]

    def passed_down(self, boxes: list[tuple[int, int, int]]) -> frozenset[int]:
        """The items these boxes give every successor: their contents."""
        a = self.fs.a
        return frozenset(a[fid] for fid, _, _ in boxes)

    def bind_boxes(self, core: Core, r: int, entries: dict[int, int], handles: Handles) -> None:
        """Give the successor reached by relation `r` the boxes' items that `core`
        closes on: each content by the box rule."""
        fs = self.fs
        for fid, eb, _ in self.boxes[self.root]:
            content = fs.a[fid]
            if content in core and content not in entries:
                entries[content] = self.fresh()
                self.step(S_BOX, (eb, r), (entries[content],))

    def loop_target(self, content: int) -> TreeBranch | None:
        """A world on the path that already satisfies a diamond with this content: the
        world itself, in the reflexive logics."""
        if not self.logic.reflexive:
            return None
        if content in self.ents[self.root]:
            return self
        return None

    def successor(self, label: int, entries: dict[int, int], handles: Handles) -> TreeBranch:
        """A branch of its own for a successor's set."""
        return TreeBranch(self.shared, label, entries)

    # -- deciding successors -----------------------------------------------------------

    def cached_model(self, key: Core, hint: int | None) -> Found | None:
        """A cached model for a successor starting with `key` (`hint`: see
        `TreeShared.satisfied_by`)."""
        return self.shared.satisfied_by(key, hint)

    def remember_looping(self, key: Core, found: Found) -> Found:
        """A model that loops back to ancestors (S4) is valid on this path only: here,
        not cached."""
        return found

    def record(self, found: Found) -> None:
        self.models.append(found)
        self.trail.append(self.models)

    def decide(self, key: frozenset[int], hint: int | None) -> Found | Core:
        """A successor set's verdict: a cached model (`cached_model`: also of a superset;
        `hint` is a member few sets share), a cached core, else a branch of its own, whose
        model is cached (one that loops back to ancestors, S4, by `remember_looping`)."""
        shared = self.shared
        found = self.cached_model(key, hint)
        if found is not None:
            return found
        core = shared.cached_core(key)
        if core is not None:
            return core
        outcome = self.solve_alone(key)
        if isinstance(outcome, frozenset):
            return outcome
        if outcome[1]:
            return self.remember_looping(key, outcome)
        return shared.remember_model(key, outcome[0])

    def decide_each(
        self, keys: list[tuple[frozenset[int], int | None]]
    ) -> list[Found] | tuple[int, Core]:
        """Decide successor sets (with their hints) until one is unsatisfiable (its
        index and core) or all are satisfiable (their models, in order). The second and
        later ones are first probed (if the family `probes`), each allowed to decide
        only a few successor sets, so that one that closes quickly is not found only
        after the first one's large model is built (LWB `branch`: the refuted diamond
        comes last); the rest are then decided in full, in order. Inside a probe, worlds
        do not probe again, so that a probe's cost does not compound with the depth;
        what a probe completes (models, cores) stays in the caches."""
        shared = self.shared
        found: dict[int, Found] = {}
        order = range(len(keys))
        if len(keys) > 1 and shared.cap == _NO_CAP and self.probes:
            left = [0]
            for i in range(1, len(keys)):
                cap = shared.cap = shared.successors + _PROBE
                try:
                    outcome = self.decide(*keys[i])
                except Budget as over:
                    if over.cap != cap:
                        raise
                    left.append(i)
                    continue
                finally:
                    shared.cap = _NO_CAP
                if isinstance(outcome, frozenset):
                    return i, outcome
                found[i] = outcome
            order = left
        for i in order:
            outcome = self.decide(*keys[i])
            if isinstance(outcome, frozenset):
                return i, outcome
            found[i] = outcome
        return [found[i] for i in range(len(keys))]

    def solve_child(self, kind: int, e: int, content: int) -> bool:
        """Decide a successor's set on its own; record its model, or close this branch
        with its (possibly cached) unsatisfiable core (True)."""
        key = self.inherited() | {content} if kind == S_DIA else self.inherited()
        found = self.decide(key, content if kind == S_DIA else None)
        if isinstance(found, frozenset):
            self.close_by_child(kind, e, content, found)
            return True
        self.record(found)
        return False

    def close_by_child(self, kind: int, e: int, content: int, core: Core) -> None:
        """Close this branch: the successor of diamond `e` (or of seriality) has the
        unsatisfiable core `core`, whose cached proof is reused there."""
        y, r = self.fresh(), self.fresh()
        entries: dict[int, int] = {}
        handles: Handles = {}
        if kind == S_DIA:
            entries[content] = self.fresh()
            self.step(S_DIA, (e,), (y, r, entries[content]))
        else:
            self.step(S_SERIAL, (self.root,), (y, r))
        self.bind_boxes(core, r, entries, handles)
        self.reuse(core, entries, handles, y)

    def solve_alone(self, initial: frozenset[int]) -> Found | Core:
        """Decide a successor's set by a branch of its own: its model and the ancestors'
        worlds it loops back to, or its unsatisfiable core (now cached with its proof).
        In K and T the CDCL solver tries first; if it finds no model, the branch starts
        with only the members its refutation used."""
        shared = self.shared
        shared.successors += 1
        if shared.successors > shared.cap:
            raise Budget(shared.cap)
        if cdcl.applies(self.logic):
            found = self.by_cdcl(initial)
            if isinstance(found, World):
                return found, frozenset()
            initial = found
        label = shared.fresh()
        entries = {fid: shared.fresh() for fid in initial if fid >= 0}
        handles = {-1 - k: (shared.fresh(), shared.fresh()) for k in initial if k < 0}
        try:
            proof, deps = self.successor(label, entries, handles).expand(0)
        except Open as found:
            assert isinstance(found.model, World)
            return found.model, found.external
        used = {fid: eid for fid, eid in entries.items() if eid in deps}
        used_handles = {f: (e, r) for f, (e, r) in handles.items() if e in deps or r in deps}
        return shared.remember(proof, used, used_handles, label, label in deps)

    def reuse(self, core: Core, entries: dict[int, int], handles: Handles, y: int) -> None:
        """Close the branch with a cached proof, its free items bound to this world's."""
        proof, old_entries, old_handles, old_y, uses_label = self.shared.unsat[core]
        bindings = [(old, entries[fid]) for fid, old in old_entries.items()]
        for fid, (old_e, old_r) in old_handles.items():
            new_e, new_r = handles[fid]
            bindings += [(old_e, new_e), (old_r, new_r)]
        if uses_label:
            bindings.append((old_y, y))
        self.clash = ((P_ALIAS, tuple(bindings), proof), {new for _, new in bindings})

    # -- the saturation loop -----------------------------------------------------------

    def by_cdcl(self, initial: frozenset[int]) -> World | frozenset[int]:
        """The CDCL solver's verdict on a K or T world set (`search.cdcl`): a model, or
        the members that cannot hold together."""
        shared = self.shared
        if shared.abstraction is None:
            shared.abstraction = cdcl.Abstraction(self.fs, self.logic.reflexive)
        return cdcl.solve_world(
            shared.abstraction, initial, self.decide_each, shared.satisfied_with, shared.charge
        )

    def expand(self, start: int | None = None) -> tuple[tuple[Any, ...], set[int]]:
        """The root world of a K or T search is first handed to the CDCL solver (its
        successors are, in `solve_alone`): it finds satisfiable sets' models fast; the
        tableau decides the rest, and is the only way to a proof."""
        if start == 0 and self.root == ROOT_LABEL and cdcl.applies(self.logic):
            found = self.by_cdcl(frozenset(self.ents[self.root]))
            if isinstance(found, World):
                raise Open(found, frozenset())
        return super().expand(start)

    def next_diamond(self) -> bool:
        if self.dia_ptr < len(self.dias):
            pending: list[tuple[int, int]] = []
            for _, fid, e in self.dias[self.dia_ptr :]:
                content = self.fs.a[fid]
                target = self.loop_target(content)
                if target is None:
                    pending.append((e, content))
                elif target is not self:
                    self.record((target.me, frozenset([(target.me, content)])))
            self.dia_ptr = len(self.dias)
            if pending:
                self.try_children(pending)
                return True
        logic = self.logic
        if logic.serial and not logic.reflexive and self.boxes[self.root] and not self.models:
            self.solve_child(S_SERIAL, -1, -1)
            return True
        return False

    def try_children(self, pending: list[tuple[int, int]]) -> None:
        """Decide the successors of this world's diamonds (`decide_each`) until one is
        unsatisfiable, which closes the world, or all are satisfiable."""
        inherited = self.inherited()
        outcome = self.decide_each([(inherited | {content}, content) for _, content in pending])
        if isinstance(outcome, tuple):
            i, core = outcome
            self.close_by_child(S_DIA, pending[i][0], pending[i][1], core)
            return
        for found in outcome:
            self.record(found)

    def saturated(self) -> Open:
        fs, me = self.fs, self.me
        me.atoms = tuple(sorted(fs.name[f] for f in self.ents[self.root] if fs.kind[f] == ATOM))
        me.succ = [model for model, _ in self.models]
        me.formulas = frozenset(self.ents[self.root]) | self.box_fids()
        loops = frozenset(loop for _, ext in self.models for loop in ext if loop[0] is not me)
        return Open(me, loops)
