"""The untrusted search: a labelled tableau for K, T, D, B, S4, S5 and KD45.

`search(goal, logic)` either closes the tableau for `nneg goal` (a `Proof` whose tree
the Coq checker replays; see `certificate.py`), or saturates an open branch and reads
a countermodel off it (a `Refutation`, which the engine has the independent evaluator
confirm: the search imports nothing that judges), or stops at a time or node limit (`Unknown`).

How the search works, and why:
  * A branch holds worlds (labels) with their formula sets. Rules run in a fixed
    order: conjunctions, boxes and literals at once (an atom and its negation, or a
    box and its dual diamond, close the branch: `search.complements`); then
    disjunctions (first one whose side is already refuted, i.e. unit propagation,
    then a chosen side that is a disjunction itself, then in K and T the oldest
    with three or more sides, then the oldest); then
    diamonds; then seriality. Each logic changes which worlds a box reaches, which frame steps
    (Refl/Sym/Trans/Eucl) justify that, and when a diamond is already fulfilled.
  * K, T, D, S4 ("tree mode", `search.tree`, `search.s4`): nothing at a successor
    changes its predecessor, so each successor's set is decided by a branch of its
    own and the verdict cached by set: unsatisfiable cores with their proofs (reused
    under a renaming of their free items, `P_ALIAS`), satisfiable sets with their
    models (also for supersets). S4 passes boxes down as handles (entry + a relation
    built by Trans) and lets a diamond loop back to an ancestor with the same boxes
    that satisfies it; models with such loops are cached with what they need of the
    worlds they loop to, and reused while that holds. In K, T and S4 a world's set first
    goes to a CDCL SAT solver with modal clause learning (`search.cdcl`; S4's own worlds
    and loops in `search.s4`), which finds models fast; what it cannot satisfy, the
    tableau proves (in K and T from the solver's core, in S4 from the whole set).
  * B, S5, KD45 ("global mode", `search.global_`): boxes reach back (Sym, Eucl), so
    one branch holds all worlds; S5/KD45 worlds form one cluster, a diamond already
    witnessed in it needs no new world, and a B world's depth is bounded by the modal
    depth.
  * Every step records the items (entries, relations, labels) it used and produced.
    A closed branch reports the items its closure depends on; a disjunction whose
    chosen side was not used is skipped entirely (dependency-directed backjumping),
    and steps nobody depends on are left out of the tree.
  * Items have unique symbolic ids; `_emit` numbers them into the certificate's
    absolute indices only at the end, after pruning.
Deep goals (LWB nests thousands of levels) need a deep stack: the search runs in worker
processes that have one (`pxl_prover.search.worker`), never raising the server's limits.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Literal

from pxl_prover import prooftree as cert
from pxl_prover.countermodel import Countermodel
from pxl_prover.deadline import DeadlinePassed
from pxl_prover.formula import Formula, size
from pxl_prover.logics import Logic
from pxl_prover.nnf import nneg
from pxl_prover.search.core import Branch, Limit, Open, Shared
from pxl_prover.search.formulas import Formulas
from pxl_prover.search.global_ import ClusterBranch, SymmetricBranch
from pxl_prover.search.models import MAX_MODEL_PAIRS, World, contract, tree_countermodel
from pxl_prover.search.proofs import ROOT_ENTRY, ROOT_LABEL, emit
from pxl_prover.search.s4 import S4Branch, S4Shared
from pxl_prover.search.tree import TreeBranch, TreeShared
from pxl_prover.search.worker import SearchCrashed as SearchCrashed
from pxl_prover.search.worker import SearchOverran as SearchOverran
from pxl_prover.search.worker import SearchProcesses


@dataclass(frozen=True, slots=True)
class Proof:
    tree: cert.Tableau


@dataclass(frozen=True, slots=True)
class Refutation:
    """A countermodel read off an open branch, contracted (worlds with the same formulas
    merged); `uncontracted` is the model before, in case the contraction lost it. The
    search does not check either: the engine has the independent evaluator confirm one."""

    model: Countermodel
    uncontracted: Countermodel | None = None


@dataclass(frozen=True, slots=True)
class Unknown:
    reason: Literal["time", "nodes"]
    detail: str


Result = Proof | Refutation | Unknown


# Goals of at most this many nodes (atoms, constants, connectives) are first searched in
# the calling thread, stopped after about this many search nodes (the search looks at
# its budget every 1024): such a search cannot recurse anywhere near the server's limits,
# takes a few milliseconds at most, and costs a third of the round trip to a process.
INLINE_MAX_NODES = 64
INLINE_NODE_BUDGET = 1024


def search(
    goal: Formula,
    logic: Logic,
    *,
    deadline: float | None = None,
    node_budget: int | None = None,
) -> Result:
    """Decide `goal` in `logic`: a small goal first in this thread, within a small node
    budget; any other, or one that budget did not decide, in a search process.
    `deadline` is a `time.monotonic()` instant (the clock is system-wide). Raises
    SearchCrashed if the process died."""
    if size(goal, at_most=INLINE_MAX_NODES) <= INLINE_MAX_NODES:
        small = INLINE_NODE_BUDGET if node_budget is None else min(node_budget, INLINE_NODE_BUDGET)
        try:
            found = run_search(goal, logic, deadline, small)
        except RecursionError:
            found = None
        undecided = isinstance(found, Unknown) and found.reason == "nodes" and small != node_budget
        if found is not None and not undecided:
            return found
    return PROCESSES.search(goal, logic, deadline, node_budget)  # PROCESSES: at the end


def run_search(goal: Formula, logic: Logic, deadline: float | None, budget: int | None) -> Result:
    """The search itself, in this thread: it needs the deep stack of a search process."""
    fs = Formulas()
    root = fs.intern(nneg(goal))
    try:
        proof, _ = _root_branch(fs, logic, deadline, budget, root).expand(0)
    except Limit as limit:
        return Unknown(limit.reason, limit.detail)
    except Open as found:
        model = found.model
        if isinstance(model, World):
            model = tree_countermodel(model, logic)
        if model is None:
            return Unknown("nodes", f"countermodel over {MAX_MODEL_PAIRS} relation pairs")
        if deadline is not None and time.monotonic() > deadline:
            return Unknown("time", "deadline reached while building the countermodel")
        return Refutation(contract(model), model)
    try:
        return Proof(emit(proof, deadline))
    except DeadlinePassed:
        return Unknown("time", "deadline reached while writing out the proof")


def _root_branch(
    fs: Formulas, logic: Logic, deadline: float | None, budget: int | None, root: int
) -> Branch:
    """The branch of the logic's family for the root entry `root`."""
    entries = {root: ROOT_ENTRY}
    if logic.euclidean:
        return ClusterBranch(Shared(fs, logic, deadline, budget), ROOT_LABEL, entries)
    if logic.symmetric:
        return SymmetricBranch(Shared(fs, logic, deadline, budget), ROOT_LABEL, entries)
    if logic.transitive:
        return S4Branch(S4Shared(fs, logic, deadline, budget), ROOT_LABEL, entries)
    return TreeBranch(TreeShared(fs, logic, deadline, budget), ROOT_LABEL, entries)


PROCESSES = SearchProcesses(run_search)
