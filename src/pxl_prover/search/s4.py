"""S4 in tree mode: boxes are inherited, and diamonds may loop back to an ancestor.

A successor does not start with the boxes' contents but with the boxes themselves, as
handles: the box's entry and a relation reaching the new world, built by Trans from the
relation that brought the box here. Since every box is inherited, the boxes only grow
down a path; a diamond whose content an ancestor with the same boxes already holds is
satisfied by looping back to that ancestor (the relation is reflexive and transitive),
so the path is finite.

A model found through such a loop is valid only as long as each world it loops to still
has the same boxes and holds the contents of the diamonds it satisfies there: while
that world is on the path, in its current state; once it is complete (saturated open, a
model of its own), in its final state and as long as its own loops hold, recursively. So
such models are cached with exactly that dependency and reused wherever it holds, their
loops to complete worlds replaced by those worlds' own loops: a looping result is not
recomputed for every sibling and every backtrack of an unrelated ancestor (LWB s4_ipc_n
decided 15 distinct sets 9,413 times without it). The model points at those worlds:
they must be the same ones, not others that would fit as well (measured on LWB: others
hardly ever fit, since a loop's target is usually the world made for that very diamond).

Worlds are first decided by a CDCL SAT solver (`S4Branch.by_s4_cdcl`, with T's
abstraction from `search.cdcl`): a model's needed formulas make a world on the path,
looping back and deciding successors like a branch's, and a successor found
unsatisfiable teaches the solver a clause that holds at every S4 world. The tableau
decides what the solver cannot satisfy, and is the only way to a proof; its siblings
are looked up among the cached cores and probed locally before any is decided in full
(`S4Branch.decide_each`). Measured on LWB (search alone, 10 s): s4_s5_n from 11 to 21
(#21 in 0.2 s, where the tableau alone decided thousands of worlds, each splitting
every inherited box's content again), s4_md_p from 11 to 21 (its proofs
from 15,000 rules at #10 to 300: the tableau finds the cores the solver learnt from),
s4_ph_n from 8 to 21, s4_branch_p from 13 to 21.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pxl_prover.logics import Logic
from pxl_prover.search import cdcl
from pxl_prover.search.core import Open
from pxl_prover.search.formulas import BOX, DIA, Formulas
from pxl_prover.search.models import Found, Loops, World
from pxl_prover.search.proofs import ROOT_LABEL, S_TRANS
from pxl_prover.search.tree import Core, Handles, TreeBranch, TreeShared, handle_key

_LOOPING_KEPT = 8  # looping models kept per set
_SELF_WITNESS_ROUNDS = 8  # see `S4Branch.self_witnessing`
_SELF_WITNESS_TRIES = 4
_LOCAL_PROBE = 512  # search nodes a sibling's local probe may take (see `S4Branch.decide_each`)


class Undecided(Exception):
    """A local probe neither closed its world within its nodes nor can it close it without
    deciding successors (see `S4Branch.decide_each`)."""


@dataclass(eq=False, slots=True)
class PathWorld(World):
    """The world of an S4 branch: `depth` is its place on the path, so that a model
    looping back to it knows which ancestor it depends on; once the branch saturates
    open, its `boxes` and its own `loops` say what a loop to it still depends on."""

    depth: int = 0
    boxes: frozenset[int] = frozenset()
    loops: Loops | None = None  # None while not complete


# What a looping model needs of one ancestor: (its world, the diamond contents it must
# hold); it must also have the boxes of the set the model is for.
Dependency = tuple[PathWorld, frozenset[int]]


class S4Shared(TreeShared):
    """The tree-mode caches, and models that loop back to ancestors, each with what it
    needs of them."""

    def __init__(
        self, fs: Formulas, logic: Logic, deadline: float | None, node_budget: int | None
    ) -> None:
        super().__init__(fs, logic, deadline, node_budget)
        self.looping: dict[Core, list[tuple[Found, tuple[Dependency, ...]]]] = {}
        self.local_until: int | None = None  # the node count a running local probe stops at
        self.probed: set[Core] = set()  # successor sets probed locally once: not again


class S4Branch(TreeBranch):
    """A tree-mode branch whose world inherits its ancestors' boxes as handles and knows
    its ancestors (`history`, oldest first) for the loop check.

    It does not probe as K and T do (`try_children`): a probe abandoned at its cap loses
    the models that loop back to worlds inside it, and an S4 world's own propositional
    work is large, so failed probes cost more than they save. Measured with looping
    models cached (in-process, 20 s limit): probes solve LWB s4_branch_p #21 in 1.5 s
    (#17 in 17 s without), but lose s4_md_p #11, s4_ipc_p #21, s4_s5_n #14 and s4_md_n
    #21 (all solved without); probing each set once, only near the root, or only while
    failed probes have cost under half the successors decided, did not keep the gain.
    Its own probes (`decide_each`) decide no successor, and lose nothing.
    """

    probes = False
    shared: S4Shared

    def __init__(
        self,
        shared: S4Shared,
        root: int,
        entries: dict[int, int],
        handles: Handles | None = None,
        history: tuple[S4Branch, ...] = (),
    ) -> None:
        super().__init__(shared, root, entries)
        self.history = history
        self.me = PathWorld(depth=len(history))
        # `refuted`'s inherited boxes: as a set, their literals, the members of each
        self._probe_cache: tuple[Any, list[int], dict[int, list[int]]] = (None, [], {})
        for fid, (eb, rb) in (handles or {}).items():
            self.boxes[root].append((fid, eb, rb))
            self.apply_box(root, fid, eb, rb, root)

    def passed_down(self, boxes: list[tuple[int, int, int]]) -> frozenset[int]:
        """The items these boxes give every successor: the boxes themselves, as handles."""
        return frozenset(handle_key(fid) for fid, _, _ in boxes)

    def bind_boxes(self, core: Core, r: int, entries: dict[int, int], handles: Handles) -> None:
        """Give the successor reached by relation `r` the handles `core` closes on: the
        box's entry, with `r` itself for a box of this world, or else the relation that
        brought the box here composed with `r` by Trans."""
        for fid, eb, rb in self.boxes[self.root]:
            if handle_key(fid) in core:
                if rb < 0:
                    handles[fid] = (eb, r)
                else:
                    r2 = self.fresh()
                    self.step(S_TRANS, (rb, r), (r2,))
                    handles[fid] = (eb, r2)

    def loop_target(self, content: int) -> TreeBranch | None:
        """This world if it satisfies a diamond with this content, else the nearest
        ancestor that does, if every world between has the same boxes."""
        target = super().loop_target(content)
        if target is not None or not self.logic.reflexive:
            return target
        boxes = self.box_fids()
        if content in boxes:
            return self
        for u in reversed(self.history):
            if u.box_fids() != boxes:
                return None
            if content in u.ents[u.root] or content in boxes:
                return u
        return None

    def ancestor(self, world: PathWorld) -> S4Branch | None:
        """The branch of `world` if it is on the path to this one (or this one)."""
        path, depth = self.history, world.depth
        branch = path[depth] if depth < len(path) else self if depth == len(path) else None
        return branch if branch is not None and branch.me is world else None

    def holds_all(self, contents: frozenset[int]) -> bool:
        ents, boxes = self.ents[self.root], self.box_fids()
        return all(c in ents or c in boxes for c in contents)

    def resolve(
        self,
        world: PathWorld,
        contents: frozenset[int],
        boxes: frozenset[int],
        memo: dict[PathWorld, set[tuple[World, int]] | None],
    ) -> set[tuple[World, int]] | None:
        """The loops to worlds on this path that loops to `world` for diamonds with these
        contents amount to, if `world` has these boxes and contents: itself if on the
        path, else (complete) its own loops, resolved (once per world: `memo`). None if
        they do not hold."""
        owner = self.ancestor(world)
        if owner is not None:
            if owner.box_fids() == boxes and owner.holds_all(contents):
                return {(world, c) for c in contents}
            return None
        if world.loops is None or world.boxes != boxes or not contents <= world.formulas:
            return None
        if world in memo:
            return memo[world]
        self.tick()
        memo[world] = None  # loops go to strict ancestors: no cycle reaches back here
        resolved: set[tuple[World, int]] = set()
        for target, content in world.loops:
            assert isinstance(target, PathWorld)
            further = self.resolve(target, frozenset([content]), boxes, memo)
            if further is None:
                return None
            resolved |= further
        memo[world] = resolved
        return resolved

    def cached_model(self, key: Core, hint: int | None) -> Found | None:
        """A model cached for any path, else one whose loops still hold here (see the
        module's docstring). Models looping to a world that has left the path without
        completing can never be used again and are dropped."""
        found = super().cached_model(key, hint)
        if found is not None:
            return found
        candidates = self.shared.looping.get(key)
        if not candidates:
            return None
        kept = [
            c for c in candidates if all(w.loops is not None or self.ancestor(w) for w, _ in c[1])
        ]
        self.shared.looping[key] = kept
        boxes = self.box_fids()
        memo: dict[PathWorld, set[tuple[World, int]] | None] = {}
        for (model, _), dependencies in reversed(kept):
            loops: set[tuple[World, int]] = set()
            for world, contents in dependencies:
                resolved = self.resolve(world, contents, boxes, memo)
                if resolved is None:
                    break
                loops |= resolved
            else:
                return model, frozenset(loops)
        return None

    def remember_looping(self, key: Core, found: Found) -> Found:
        """Cache a model looping back to ancestors with what it needs of each (the
        newest few per set: older ones are mostly for paths long gone)."""
        contents: dict[PathWorld, set[int]] = {}
        for world, content in found[1]:
            assert isinstance(world, PathWorld)  # only worlds on the path are looped to
            contents.setdefault(world, set()).add(content)
        dependencies = tuple((world, frozenset(needed)) for world, needed in contents.items())
        kept = self.shared.looping.setdefault(key, [])
        kept.append((found, dependencies))
        if len(kept) > _LOOPING_KEPT:
            del kept[0]
        return found

    def saturated(self) -> Open:
        found = super().saturated()
        assert isinstance(self.me, PathWorld)
        self.me.boxes = self.box_fids()
        self.me.loops = found.external
        return found

    def decide_each(
        self, keys: list[tuple[frozenset[int], int | None]]
    ) -> list[Found] | tuple[int, Core]:
        """Before deciding the successors in order, look them all up among the
        unsatisfiable cores (a tableau world in a proof has hundreds of diamonds, the
        CDCL solver refuted it by one of them: LWB s4_md_p), then probe the second and
        later ones locally: each world alone, from the members the CDCL solver refutes
        (`refuted`), its own successors not decided, within a few hundred nodes. One
        that closes either way is unsatisfiable (a local probe's proof is a whole one,
        now cached), and closes this world at once, before the first one's model is
        built (LWB `branch_p`: the refuted diamond comes last). A local probe decides
        no successor, so unlike the probes of K and T it loses no model that loops back
        into it; and a set is probed once (LWB s4_ipc_p took ten times as long when
        sets were probed again after each backtrack)."""
        shared = self.shared
        for i, (key, _) in enumerate(keys):
            core = shared.cached_core(key)
            if core is not None:
                return i, core
        for i in range(1, len(keys)):
            key, content = keys[i]
            assert content is not None  # S4's successors are for diamonds (`try_children`)
            if key in shared.probed or key in shared.sat:
                continue
            shared.probed.add(key)
            refuted = self.refuted(content)
            if refuted is None:
                continue
            shared.local_until = shared.nodes + _LOCAL_PROBE
            try:
                outcome = self.solve_alone(refuted)
            except Undecided:
                continue
            finally:
                shared.local_until = None
            assert isinstance(outcome, frozenset)  # a local probe never finds a model
            return i, outcome
        return super().decide_each(keys)

    def solve_alone(self, initial: frozenset[int]) -> Found | Core:
        """A successor's set is first handed to the CDCL solver (`by_s4_cdcl`), unless a
        local probe is running; what it cannot satisfy, the tableau decides, and it is
        the only way to a proof. The tableau starts from the whole set, not from the
        members the solver's refutation used (as in K and T): its loop check needs a
        world to hold the content of the diamond it was made for and every box its
        parent had, or a path of worlds without them may never end."""
        if self.shared.local_until is None:
            found = self.by_s4_cdcl(initial, (*self.history, self))
            if not isinstance(found, frozenset):
                self.shared.successors += 1
                return found
        return super().solve_alone(initial)

    def expand(self, start: int | None = None) -> tuple[tuple[Any, ...], set[int]]:
        """The root world of the search too goes to the CDCL solver first."""
        if start == 0 and self.root == ROOT_LABEL and not self.history:
            found = self.by_s4_cdcl(frozenset(self.ents[self.root]), ())
            if not isinstance(found, frozenset):
                raise Open(*found)
        return super().expand(start)

    def literals(self, initial: frozenset[int]) -> tuple[cdcl.Abstraction, dict[int, int]]:
        """The search's abstraction (T's: `search.cdcl`), and the literal of each member
        of a world set (an inherited box's is the box's)."""
        shared = self.shared
        if shared.abstraction is None:
            shared.abstraction = cdcl.Abstraction(self.fs, reflexive=True)
        abstraction, known = shared.abstraction, shared.abstraction.nvars
        members = {k: abstraction.literal(k if k >= 0 else -1 - k) for k in initial}
        shared.charge((abstraction.nvars - known) // 16 + 1)
        return abstraction, members

    def refuted(self, content: int) -> frozenset[int] | None:
        """The members of the successor set for a diamond with this content (the
        inherited boxes and the content) that the CDCL solver finds inconsistent with the
        clauses learnt so far, if it does (no successor decided: a quick test, not a
        verdict). A local probe starts from these alone: it decides no successor, so it
        needs no loop check, and a set the solver can satisfy no local probe can close
        (the solver's clauses say at least what a world's own rules do). The inherited
        boxes' literals are looked up once per box list (LWB s4_md_p: a thousand boxes,
        thousands of probes)."""
        inherited = self.inherited()
        if self._probe_cache[0] is not inherited:
            abstraction, members = self.literals(inherited)
            owners: dict[int, list[int]] = {}
            for k, lit in members.items():
                owners.setdefault(lit, []).append(k)
            self._probe_cache = (inherited, list(owners), owners)
        _, assumptions, owners = self._probe_cache
        abstraction, own = self.literals(frozenset([content]))
        solver = abstraction.solver
        if cdcl.solve(solver, [*assumptions, own[content]], self.shared.charge):
            return None
        core = set(solver.get_core() or ())
        refuted = {k for lit in core for k in owners.get(lit, ())}
        if own[content] in core:
            refuted.add(content)
        return frozenset(refuted)

    def self_witnessing(
        self,
        abstraction: cdcl.Abstraction,
        assumptions: list[int],
        fids: frozenset[int],
        model: list[int],
    ) -> set[int]:
        """The formulas needed by a model of the world set `fids` (under `assumptions`,
        of which `model` is one) whose needed diamonds hold their contents at the world
        itself where the solver allows it: all at once, else a few at a time, for a few
        rounds (a content made true may need diamonds of its own). The world is then its
        own witness (the relation is reflexive) instead of a successor's parent: LWB
        s4_s5_n's countermodels were chains of a world per nested diamond, 122 worlds at
        #21, each one more for Coq to check."""
        fs, solver, var = self.fs, abstraction.solver, abstraction.var
        extra: list[int] = []
        for _ in range(_SELF_WITNESS_ROUNDS):
            needed = cdcl.justified(fs, var, fids, model, True)
            true = set(model)
            lits = [var[fs.a[f]] for f in needed if fs.kind[f] == DIA and var[fs.a[f]] not in true]
            if not lits:
                return needed
            if cdcl.solve(solver, [*assumptions, *extra, *lits], self.shared.charge):
                extra += lits
                model = solver.get_model() or []
                continue
            grew = False
            for lit in lits[:_SELF_WITNESS_TRIES]:
                if cdcl.solve(solver, [*assumptions, *extra, lit], self.shared.charge):
                    extra.append(lit)
                    model = solver.get_model() or []
                    grew = True
            if not grew:
                return needed
        return cdcl.justified(fs, var, fids, model, True)

    def by_s4_cdcl(
        self, initial: frozenset[int], history: tuple[S4Branch, ...]
    ) -> Found | frozenset[int]:
        """A model of the world set `initial` (entries, and inherited boxes as handles)
        below the worlds `history`, with its loops back to them, or the members that no
        such model holds together. The solver's abstraction is T's (`search.cdcl`: a box's
        content holds at its world); each model's needed formulas become a world on the
        path (an `S4Branch` that no rule runs on and that proves nothing: its entries are
        the needed formulas, its boxes the needed boxes, each of which every successor
        inherits), whose diamonds loop back as a branch's would or are decided as its
        successors. A successor set found unsatisfiable gives the clause "not the diamond,
        or not one of the boxes its core used", which holds at every S4 world (the boxes
        hold at the diamond's witness too, by transitivity): it is learnt, and the solver
        asked again."""
        shared, fs = self.shared, self.fs
        abstraction, members = self.literals(initial)
        solver, assumptions = abstraction.solver, list(set(members.values()))
        fids = frozenset(k if k >= 0 else -1 - k for k in initial)
        while True:
            if not cdcl.solve(solver, assumptions, self.shared.charge):
                core = set(solver.get_core() or ())
                return frozenset(k for k, lit in members.items() if lit in core)
            needed = self.self_witnessing(abstraction, assumptions, fids, solver.get_model() or [])
            shared.charge(len(needed) // 4 + 1)
            world = S4Branch(shared, shared.fresh(), {}, None, history)
            kinds = fs.kind
            world.ents[world.root] = {f: shared.fresh() for f in needed if kinds[f] != BOX}
            world.boxes[world.root] = [(f, shared.fresh(), -1) for f in needed if kinds[f] == BOX]
            pending: list[tuple[int, int]] = []
            for f in needed:
                if fs.kind[f] == DIA and fs.a[f] not in needed:
                    target = world.loop_target(fs.a[f])
                    if target is None:
                        pending.append((f, fs.a[f]))
                    elif target is not world:
                        world.record((target.me, frozenset([(target.me, fs.a[f])])))
            inherited = world.inherited()
            outcome = world.decide_each([(inherited | {c}, c) for _, c in pending])
            if isinstance(outcome, tuple):
                i, core = outcome
                var = abstraction.var
                solver.add_clause([-var[pending[i][0]]] + [-var[-1 - k] for k in core if k < 0])
                continue
            for found in outcome:
                world.record(found)
            opened = world.saturated()
            assert isinstance(opened.model, World)
            return opened.model, opened.external

    def successor(self, label: int, entries: dict[int, int], handles: Handles) -> S4Branch:
        history = (*self.history, self)
        if self.shared.local_until is not None:
            return LocalBranch(self.shared, label, entries, handles, history)
        return S4Branch(self.shared, label, entries, handles, history)


class LocalBranch(S4Branch):
    """A successor's world probed alone (`S4Branch.decide_each`): it closes by its own
    rules within the probe's nodes, or the probe is abandoned (`Undecided`)."""

    def run(self) -> tuple[int, int, int] | None:
        until = self.shared.local_until
        if until is not None and self.shared.nodes > until:
            raise Undecided
        return super().run()

    def next_diamond(self) -> bool:
        raise Undecided
