"""Satisfiable worlds found by a CDCL SAT solver, with modal clause learning (K and T here;
S4 builds its own worlds on the same abstraction and `justified`, in `search.s4`).

One incremental solver serves a whole search (`Abstraction`). Every formula is a
variable (an atom and its negation are one, and so are a box and its dual diamond,
`[]A` being `~<>~A`), with clauses defining each conjunction and disjunction by its
parts, and in T one saying that a box's content holds at the box's world. These hold
at every world, so a world's set is decided by solving under the assumption that its members
hold. A model names the formulas the world needs (read off from the set downwards,
`justified`); its diamonds' successors are decided as the tableau decides them (caches,
then a search of their own). A successor that is unsatisfiable has a core, and the
clause "not this diamond together with the boxes the core used" (in T: "or the content
holds here", the world being its own witness) holds at every world: it is learnt for
the rest of the search, and the solver asked again. The world is satisfiable when every
needed successor is. When the solver runs out of models, the members its refutation
used (the solver's core of the assumptions) are returned, and the tableau proves that
smaller set unsatisfiable, the only way to a proof: the successors' cores and proofs it
needs are by then in the caches.

Nothing here is trusted: a model found this way is a countermodel that the engine has the
independent evaluator confirm, like every other.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pysat.solvers import Solver

from pxl_prover.logics import Logic
from pxl_prover.search.formulas import AND, ATOM, BOT, BOX, DIA, NATOM, OR, TOP, Formulas
from pxl_prover.search.models import Found, World

# decides successor sets (each with a member few sets share) until one is unsatisfiable:
# all their models, or that one's index and unsatisfiable core (a subset of its set)
DecideEach = Callable[
    [list[tuple[frozenset[int], int | None]]],
    list[Found] | tuple[int, frozenset[int]],
]

# a cached model of a successor set, given as the boxes' contents and a diamond's content
# (`TreeShared.satisfied_with`: most are answered without making the set)
Cached = Callable[[frozenset[int], int], Found | None]

SOLVER = "m22"
# conflicts the solver may spend before the search's limits are looked at again: a hard
# world (pigeonhole with 9 pigeons, tests/test_search_processes.py) took seconds of CPU
# in one call, past the deadline
CONFLICTS_PER_CHECK = 2000


def applies(logic: Logic) -> bool:
    """K and T: a world's set alone decides it (no inherited boxes, as in S4) and every
    world needs successors for its diamonds only (no seriality, as in D)."""
    return not logic.transitive and (logic.reflexive or not logic.serial)


class Abstraction:
    """The search's propositional abstraction: a literal per formula, the clauses
    defining conjunctions and disjunctions (both ways, so that a model's variables are
    the formulas' truth), in T a box's content at its world, and the modal clauses
    learnt."""

    def __init__(self, fs: Formulas, reflexive: bool) -> None:
        self.fs = fs
        self.reflexive = reflexive
        self.var: dict[int, int] = {}  # formula -> literal
        self.atoms: dict[str, int] = {}
        self.nvars = 0
        self.solver = Solver(name=SOLVER)

    def _new(self) -> int:
        self.nvars += 1
        return self.nvars

    def literal(self, fid: int) -> int:
        """The formula's literal, giving it and the formulas below it at this world (in T
        also below boxes and diamonds, whose contents may hold here) their literals and
        clauses on first sight."""
        var, fs = self.var, self.fs
        if fid in var:
            return var[fid]
        below: list[int] = []
        todo = [fid]
        while todo:
            f = todo.pop()
            if f in var:
                continue
            kind = fs.kind[f]
            if kind in (ATOM, NATOM):
                v = self.atoms.get(fs.name[f])
                if v is None:
                    v = self.atoms[fs.name[f]] = self._new()
                var[f] = v if kind == ATOM else -v
                continue
            comp = fs.comp[f]
            if kind in (BOX, DIA, TOP, BOT) and comp in var:
                var[f] = -var[comp]
            else:
                var[f] = self._new()
                if kind in (TOP, BOT):
                    self.solver.add_clause([var[f] if kind == TOP else -var[f]])
            if kind in (AND, OR):
                below.append(f)
                todo += (fs.a[f], fs.b[f])
            elif self.reflexive and kind in (BOX, DIA):
                below.append(f)
                todo.append(fs.a[f])
        add = self.solver.add_clause
        for f in below:
            v, kind, a = var[f], fs.kind[f], var[fs.a[f]]
            if kind == OR:
                b = var[fs.b[f]]
                add([-v, a, b])
                add([v, -a])
                add([v, -b])
            elif kind == AND:
                b = var[fs.b[f]]
                add([-v, a])
                add([-v, b])
                add([v, -a, -b])
            elif kind == BOX:  # reflexive: the content holds here too
                add([-v, a])
        return var[fid]


def justified(
    fs: Formulas, var: dict[int, int], initial: frozenset[int], model: list[int], reflexive: bool
) -> set[int]:
    """The formulas the world needs under `model` (`_needed`)."""
    return _needed(fs, var, initial, model, reflexive)[0]


def _needed(
    fs: Formulas, var: dict[int, int], initial: frozenset[int], model: list[int], reflexive: bool
) -> tuple[set[int], list[int], list[int], list[int]]:
    """The formulas the world needs under `model` (the solver's, indexed by variable):
    the set, and downwards the parts that make each needed formula true. A disjunction
    takes a side already needed, else a true one, a box or diamond only if the other
    side is false: so that few boxes and diamonds are needed. Also the needed boxes,
    diamonds and atoms, in the order met (one walk instead of one per kind)."""
    true = set(model)
    kinds, a_of, b_of = fs.kind, fs.a, fs.b
    needed: set[int] = set()
    by_kind: tuple[list[int], ...] = ([], [], [], [], [], [], [], [])
    todo = list(initial)
    while todo:
        f = todo.pop()
        if f in needed:
            continue
        needed.add(f)
        kind = kinds[f]
        by_kind[kind].append(f)
        if kind == AND:
            todo += (a_of[f], b_of[f])
        elif kind == OR:
            a, b = a_of[f], b_of[f]
            if a in needed or b in needed:
                continue
            if var[a] in true and (kinds[a] < BOX or var[b] not in true):
                todo.append(a)
            else:
                todo.append(b)
        elif reflexive and (kind == BOX or (kind == DIA and var.get(a_of[f]) in true)):
            todo.append(a_of[f])
    return needed, by_kind[BOX], by_kind[DIA], by_kind[ATOM]


def solve(solver: Any, assumptions: list[int], charge: Callable[[int], None]) -> bool:
    """The solver's answer under `assumptions`, asked in slices of conflicts with the
    search's limits looked at between them (`charge` of a slice's worth of nodes): a hard
    propositional core (pigeonhole) would otherwise keep one call past any deadline."""
    while True:
        solver.conf_budget(CONFLICTS_PER_CHECK)
        answer = solver.solve_limited(assumptions=assumptions)
        if answer is not None:
            return bool(answer)
        charge(1024)


def solve_world(
    abstraction: Abstraction,
    initial: frozenset[int],
    decide_each: DecideEach,
    cached: Cached,
    charge: Callable[[int], None],
) -> World | frozenset[int]:
    """A model of the world set `initial` (K, or T if the abstraction is reflexive), or
    the members of `initial` that no model with satisfiable successors can hold
    together (the tableau then proves them unsatisfiable)."""
    fs, solver, reflexive = abstraction.fs, abstraction.solver, abstraction.reflexive
    known, var, literal = abstraction.nvars, abstraction.var, abstraction.literal
    assumptions = [var.get(f) or literal(f) for f in initial]
    charge((abstraction.nvars - known) // 16 + 1)
    while True:
        if not solve(solver, assumptions, charge):
            core = set(solver.get_core() or ())
            return frozenset(f for f in initial if abstraction.var[f] in core)
        model = solver.get_model() or []
        needed, boxes, dias, atoms = _needed(fs, abstraction.var, initial, model, reflexive)
        charge(len(needed) // 4 + 1)  # a tableau node costs about four formulas here
        a_of = fs.a
        contents = frozenset([a_of[f] for f in boxes])
        if reflexive:
            dias = [f for f in dias if a_of[f] not in needed]
        learnt = _successors(abstraction, boxes, contents, dias, decide_each, cached)
        if isinstance(learnt, tuple):
            solver.add_clause(learnt)
            continue
        names = fs.name
        return World(tuple(sorted([names[f] for f in atoms])), learnt, frozenset(needed))


def _successors(
    abstraction: Abstraction,
    boxes: list[int],
    contents: frozenset[int],
    dias: list[int],
    decide_each: DecideEach,
    cached: Cached,
) -> list[World] | tuple[int, ...]:
    """The models of the diamonds' successors, or a clause to learn when one of them is
    unsatisfiable: not that diamond with the boxes its core used (in T: or its content
    here, which would make the world its own witness)."""
    fs = abstraction.fs
    models = [cached(contents, fs.a[d]) for d in dias]
    unknown = [i for i, found in enumerate(models) if found is None]
    outcome = decide_each([(contents | {fs.a[dias[i]]}, fs.a[dias[i]]) for i in unknown])
    if isinstance(outcome, list):
        for i, found in zip(unknown, outcome, strict=True):
            models[i] = found
        return [found[0] for found in models if found is not None]
    i, core = outcome
    var, d = abstraction.var, dias[unknown[i]]
    clause = [-var[d]] + [-var[b] for b in boxes if fs.a[b] in core]
    if abstraction.reflexive:
        clause.append(abstraction.literal(fs.a[d]))
    return tuple(clause)
