"""The search proper: branches of a labelled tableau, saturated and split depth first.

See `pxl_prover.tableau` for the design. This module holds what every logic shares: the
propositional core of a branch (adding formulas, the conjunction and box rules, unit
propagation and splitting of disjunctions, undoing along a trail when the search
backtracks, assembling the proof) and what all branches of one search share. How boxes
reach worlds and how diamonds are fulfilled is each family's own: `search.tree` (K, T, D,
S4) and `search.global_` (B, S5, KD45).
"""

from __future__ import annotations

import time
from typing import Any, Literal

from pxl_prover.countermodel import Countermodel
from pxl_prover.logics import Logic
from pxl_prover.search import complements
from pxl_prover.search.formulas import AND, ATOM, BOT, BOX, DIA, NATOM, OR, Formulas
from pxl_prover.search.models import Loops, World
from pxl_prover.search.proofs import P_BOT, P_CLOSE, P_OR, P_STEP, S_AND, S_BOX, S_REFL


class Limit(Exception):
    def __init__(self, reason: Literal["time", "nodes"], detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


class Open(Exception):
    """Raised from deep inside the recursion when a branch saturates open. In tree mode
    `external` names the loops the model makes back to ancestors' worlds (S4)."""

    def __init__(self, model: Countermodel | World, external: Loops) -> None:
        super().__init__("open branch")
        self.model = model
        self.external = external


class Shared:
    """What all branches of one search share: formulas, item ids and limits."""

    def __init__(
        self, fs: Formulas, logic: Logic, deadline: float | None, node_budget: int | None
    ) -> None:
        self.fs = fs
        self.logic = logic
        self.deadline = deadline
        self.node_budget = node_budget
        self.nodes = 0
        self.next_item = 2  # 0 = root label, 1 = root entry

    def fresh(self) -> int:
        self.next_item += 1
        return self.next_item - 1

    def tick(self) -> None:
        self.nodes += 1
        if self.nodes & 1023 == 0:
            self.check_limits()

    def charge(self, work: int) -> None:
        """Count `work` nodes at once (what the CDCL solver handled), checking the limits
        whenever `tick` would have."""
        crossed = (self.nodes & 1023) + work >= 1024
        self.nodes += work
        if crossed:
            self.check_limits()

    def check_limits(self) -> None:
        if self.node_budget is not None and self.nodes > self.node_budget:
            raise Limit("nodes", f"node budget of {self.node_budget} exhausted")
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise Limit("time", f"deadline reached after {self.nodes} nodes")


class Branch:
    """The mutable branch, undone along a trail when the search backtracks: its worlds'
    entries and boxes, the disjunctions and diamonds still to process, the steps taken.

    A family's subclass says which worlds a box reaches (`successors`), which frame steps
    justify a relation (`frame_step`), how pending diamonds are fulfilled
    (`next_diamond`) and what an open saturated branch is a model of (`saturated`)."""

    wide_first = False  # see `pick_or`

    def __init__(self, shared: Shared, root: int, entries: dict[int, int]) -> None:
        self.shared = shared
        self.fs = shared.fs
        self.logic = shared.logic
        self.fresh = shared.fresh
        self.tick = shared.tick
        self.trail: list[Any] = []
        self.steps: list[tuple[int, tuple[int, ...], tuple[int, ...]]] = []
        self.queue: list[tuple[int, int, int]] = []
        self.ors: list[tuple[int, int, int]] = []
        self.dias: list[tuple[int, int, int]] = []
        self.or_ptr = 0
        self.wides: list[tuple[int, int, int]] = []  # disjunctions with a disjunction side
        self.wide_ptr = 0
        self.units: list[tuple[int, int, int]] = []  # disjunctions with a refuted side
        self.unit_ptr = 0
        self.follow: tuple[int, int, int] | None = None  # see `pick_or`
        self.dia_ptr = 0
        self.root = root
        self.worlds: list[int] = [root]
        self.ents: dict[int, dict[int, int]] = {root: {}}
        # boxes holding at a world: (fid, entry, relation from the box's world or -1)
        self.boxes: dict[int, list[tuple[int, int, int]]] = {root: []}
        self.rel: dict[tuple[int, int], int] = {}
        self.clash: tuple[Any, ...] | None = None
        for fid, eid in entries.items():
            self.add(root, fid, eid)

    # -- the family's rules ------------------------------------------------------------

    def successors(self, x: int) -> list[int]:
        """Worlds of this branch that a box at `x` reaches."""
        raise NotImplementedError

    def next_diamond(self) -> bool:
        """Process pending diamonds (or seriality); False when nothing is left."""
        raise NotImplementedError

    def saturated(self) -> Open:
        """What an open saturated branch is a model of."""
        raise NotImplementedError

    def frame_step(self, x: int, y: int) -> int:
        """A new relation item for (x, y), from the frame step that justifies it: here
        reflexivity; the global families add their own."""
        if x == y and self.logic.reflexive:
            r = self.fresh()
            self.step(S_REFL, (x,), (r,))
            return r
        raise AssertionError(f"no {self.logic.name} relation from {x} to {y}")

    # -- bookkeeping -------------------------------------------------------------------

    def mark(self) -> tuple[int, ...]:
        return (
            len(self.trail),
            len(self.steps),
            len(self.ors),
            len(self.dias),
            self.or_ptr,
            self.dia_ptr,
            len(self.units),
            self.unit_ptr,
            len(self.wides),
            self.wide_ptr,
        )

    def undo(self, m: tuple[int, ...]) -> None:
        """Back to mark `m`: the trail holds (dict, key) pairs to delete and lists to pop."""
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
        self.or_ptr = m[4]
        self.dia_ptr = m[5]
        del self.units[m[6] :]
        self.unit_ptr = m[7]
        del self.wides[m[8] :]
        self.wide_ptr = m[9]
        self.queue.clear()
        self.clash = None
        self.follow = None

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
            if kind == BOX:
                self.modal_complement(x, fid, eid)
        elif kind == OR:
            self.ors.append((x, fid, eid))
            if self.wide_first and (fs.kind[fs.a[fid]] == OR or fs.kind[fs.b[fid]] == OR):
                self.wides.append((x, fid, eid))
            if self.contradicted(x, fs.a[fid]) or self.contradicted(x, fs.b[fid]):
                self.units.append((x, fid, eid))
        elif kind == DIA:
            self.dias.append((x, fid, eid))
            self.modal_complement(x, fid, eid)

    def modal_complement(self, x: int, fid: int, eid: int) -> None:
        """A box or diamond meets its dual at `x` (`search.complements`): the branch
        closes, and a disjunction with the dual as a side becomes a unit."""
        fs, ents = self.fs, self.ents[x]
        comp = fs.comp[fid]
        if comp < 0:
            return
        other = ents.get(comp, -1)
        if other >= 0 and self.clash is None:
            proof = complements.closure(fs, fid, eid, comp, other, self.fresh)
            self.clash = (proof, {eid, other})
        for disjunction in fs.in_or.get(comp, ()):
            if disjunction in ents:
                self.units.append((x, disjunction, ents[disjunction]))

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

    def derive(self, x: int, y: int) -> int:
        """The relation item for (x, y), adding the frame steps that justify it."""
        r = self.rel.get((x, y))
        if r is not None:
            return r
        r = self.frame_step(x, y)
        self.rel[(x, y)] = r
        self.trail.append((self.rel, (x, y)))
        return r

    # -- disjunctions ------------------------------------------------------------------

    def contradicted(self, x: int, fid: int) -> bool:
        kind = self.fs.kind[fid]
        if kind == BOT:
            return True
        return kind in (ATOM, NATOM, BOX, DIA) and self.fs.comp[fid] in self.ents[x]

    def pick_or(self) -> tuple[int, int, int] | None:
        """The next disjunction to split: one with a refuted side if any (that side
        closes at once, so this is unit propagation), else the side just chosen if it is
        a disjunction itself (`follow`: a nested disjunction is split as one clause of
        many sides, the way LWB `ph` needs a pigeon placed in each hole in turn before
        anything else is tried), else the oldest open one with a disjunction as a side if
        the family splits `wide_first` (a clause of three or more sides: two-sided
        clauses such as LWB `ph`'s "not two pigeons in one hole" are better left to unit
        propagation), else the oldest open one."""
        fs, ents_of = self.fs, self.ents
        units = self.units
        while self.unit_ptr < len(units):
            x, fid, e = units[self.unit_ptr]
            self.unit_ptr += 1
            ents = ents_of[x]
            if fs.a[fid] not in ents and fs.b[fid] not in ents:
                return x, fid, e
        follow, self.follow = self.follow, None
        if follow is not None and fs.kind[follow[1]] == OR:
            ents = ents_of[follow[0]]
            if fs.a[follow[1]] not in ents and fs.b[follow[1]] not in ents:
                return follow
        wides = self.wides
        while self.wide_ptr < len(wides):
            x, fid, e = wides[self.wide_ptr]
            ents = ents_of[x]
            if fs.a[fid] in ents or fs.b[fid] in ents:
                self.wide_ptr += 1
            else:
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

    # -- the saturation loop -----------------------------------------------------------

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
                raise self.saturated()

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
        self.follow = (x, self.fs.a[fid], left_e)
        left_proof, left_deps = self.expand()
        self.undo(m)
        if left_e not in left_deps:
            return self.wrap(start, left_proof, left_deps)
        right_e = self.fresh()
        self.add(x, self.fs.b[fid], right_e)
        self.follow = (x, self.fs.b[fid], right_e)
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
