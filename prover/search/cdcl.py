"""Satisfiable worlds found by a CDCL SAT solver, with modal clause learning (K and T).

A world's set is first handed to a SAT solver as a propositional problem: every formula
of the set's closure (through conjunctions and disjunctions, and in T through boxes,
whose contents hold at the world itself) is a variable, an atom and its
negation are one variable, and so are a box and its dual diamond (`[]A` is `~<>~A`).
A model of that problem names the formulas the world needs (read off from the set
downwards, `_justified`); its diamonds' successors are decided as the tableau does
(caches, then a search of their own). A successor that is unsatisfiable has a core: the
clause "not this diamond together with the boxes the core used" (in T: "or the content
holds here") is learnt and the solver asked again. The world is satisfiable when every
needed successor is; when the solver runs out of models, None is returned and the
tableau decides the world, which is the only way to a proof: the successors' cores and
proofs it needs are by then in the caches.

Nothing here is trusted: a model found this way is a countermodel that the engine has the
independent evaluator confirm, like every other.
"""

from __future__ import annotations

from collections.abc import Callable

from pxl_prover.logics import Logic
from pxl_prover.search.formulas import AND, ATOM, BOT, BOX, DIA, NATOM, OR, TOP, Formulas
from pxl_prover.search.models import World
from pysat.solvers import Solver

# decides successor sets (each with a member few sets share) until one is unsatisfiable:
# all their models, or that one's index and unsatisfiable core (a subset of its set)
DecideEach = Callable[
    [list[tuple[frozenset[int], int | None]]],
    list[tuple[World, frozenset[World]]] | tuple[int, frozenset[int]],
]

SOLVER = "m22"


def applies(logic: Logic) -> bool:
    """K and T: a world's set alone decides it (no inherited boxes, as in S4) and every
    world needs successors for its diamonds only (no seriality, as in D)."""
    return not logic.transitive and (logic.reflexive or not logic.serial)


class _Problem:
    """The propositional abstraction of one world's set: a literal per formula (an atom
    and its negation, a box and its dual diamond share a variable), and the clauses
    saying what each formula needs at the world: a part of a disjunction, both parts of
    a conjunction, and in T the content of a box. Clauses go only one way (a formula's
    variable may be false although its parts make it true): `_justified` reads the
    model by what makes the formulas true, not by these variables."""

    def __init__(self, fs: Formulas, reflexive: bool) -> None:
        self.fs = fs
        self.reflexive = reflexive
        self.var: dict[int, int] = {}  # formula -> literal
        self.atoms: dict[str, int] = {}
        self.clauses: list[list[int]] = []
        self.nvars = 0

    def _new(self) -> int:
        self.nvars += 1
        return self.nvars

    def literal(self, fid: int) -> int:
        """The formula's literal, giving it and the formulas below it at this world (in T
        also below boxes) their literals and clauses on first sight."""
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
                    self.clauses.append([var[f] if kind == TOP else -var[f]])
            if kind in (AND, OR):
                below.append(f)
                todo += (fs.a[f], fs.b[f])
            elif self.reflexive and kind == BOX:
                below.append(f)
                todo.append(fs.a[f])
        for f in below:
            v, kind, a = var[f], fs.kind[f], var[fs.a[f]]
            if kind == OR:
                self.clauses.append([-v, a, var[fs.b[f]]])
            elif kind == AND:
                self.clauses += ([-v, a], [-v, var[fs.b[f]]])
            elif kind == BOX:  # reflexive: the content holds here too
                self.clauses.append([-v, a])
        return var[fid]


def _justified(
    fs: Formulas, problem: _Problem, initial: frozenset[int], true: set[int], reflexive: bool
) -> set[int]:
    """The formulas the world needs under the model `true` (true literals): the set, and
    downwards the parts that make each needed formula true. A disjunction takes a side
    already needed, else one that its literals alone make true (the solver may leave a
    true disjunction's own variable false), else one the model makes true: so that no
    box or diamond is needed that the model merely happens to make true."""
    var = problem.var
    plain: dict[int, bool] = {}

    def by_literals(f: int) -> bool:
        known = plain.get(f)
        if known is None:
            kind = fs.kind[f]
            if kind in (ATOM, NATOM):
                known = var[f] in true
            elif kind == AND:
                known = by_literals(fs.a[f]) and by_literals(fs.b[f])
            elif kind == OR:
                known = by_literals(fs.a[f]) or by_literals(fs.b[f])
            else:
                known = kind == TOP
            plain[f] = known
        return known

    needed: set[int] = set()
    todo = list(initial)
    while todo:
        f = todo.pop()
        if f in needed:
            continue
        needed.add(f)
        kind = fs.kind[f]
        if kind == AND:
            todo += (fs.a[f], fs.b[f])
        elif kind == OR:
            a, b = fs.a[f], fs.b[f]
            if a in needed or b in needed:
                continue
            if by_literals(a):
                todo.append(a)
            elif by_literals(b) or var[a] not in true:
                todo.append(b)
            else:
                todo.append(a)
        elif reflexive and (kind == BOX or (kind == DIA and var.get(fs.a[f]) in true)):
            todo.append(fs.a[f])
    return needed


def solve_world(
    fs: Formulas,
    reflexive: bool,
    initial: frozenset[int],
    decide_each: DecideEach,
    tick: Callable[[], None],
) -> World | None:
    """A model of the world set `initial` (K, or T if `reflexive`), or None if the solver
    finds none with satisfiable successors (the tableau then decides the set)."""
    problem = _Problem(fs, reflexive)
    for f in initial:
        problem.clauses.append([problem.literal(f)])
    _charge(tick, problem.nvars)
    sent = len(problem.clauses)
    with Solver(name=SOLVER, bootstrap_with=problem.clauses) as solver:
        while True:
            if not solver.solve():
                return None
            true = set(solver.get_model() or ())
            needed = _justified(fs, problem, initial, true, reflexive)
            _charge(tick, len(needed))
            boxes = [f for f in needed if fs.kind[f] == BOX]
            contents = frozenset(fs.a[f] for f in boxes)
            dias = [
                f for f in needed if fs.kind[f] == DIA and not (reflexive and fs.a[f] in needed)
            ]
            learnt = _successors(fs, problem, boxes, contents, dias, decide_each)
            if isinstance(learnt, tuple):
                solver.append_formula(problem.clauses[sent:])
                sent = len(problem.clauses)
                solver.add_clause(learnt)
                continue
            atoms = tuple(sorted(fs.name[f] for f in needed if fs.kind[f] == ATOM))
            return World(atoms, learnt, frozenset(needed))


def _charge(tick: Callable[[], None], work: int) -> None:
    """Count `work` formulas handled as nodes (a tableau step handles about one), so
    that the node budget and the deadline, checked every so many nodes, hold here too."""
    for _ in range(work):
        tick()


def _successors(
    fs: Formulas,
    problem: _Problem,
    boxes: list[int],
    contents: frozenset[int],
    dias: list[int],
    decide_each: DecideEach,
) -> list[World] | tuple[int, ...]:
    """The models of the diamonds' successors, or a clause to learn when one of them is
    unsatisfiable: not that diamond with the boxes its core used (in T: or its content
    here, which would make the world its own witness)."""
    outcome = decide_each([(contents | {fs.a[d]}, fs.a[d]) for d in dias])
    if isinstance(outcome, list):
        return [model for model, _ in outcome]
    i, core = outcome
    var, d = problem.var, dias[i]
    clause = [-var[d]] + [-var[b] for b in boxes if fs.a[b] in core]
    if problem.reflexive:
        clause.append(problem.literal(fs.a[d]))
    return tuple(clause)
