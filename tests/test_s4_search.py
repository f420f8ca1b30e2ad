"""S4's CDCL worlds, its caches of models that loop back to ancestors and its local probes
of sibling successors (`search.s4`), cross-checked: every verdict against the independent oracle
where it can decide, every proof replayed, every countermodel confirmed by the
independent evaluator, and the same verdicts with the solver, the cache or the probes
switched off on goals too large for the oracle.

The search runs in this process here (not in a search process), so that the cache can
be switched off and its use counted."""

from __future__ import annotations

import re
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from functools import reduce
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from oracle import MAX_KEYS, is_valid, keys_of
from replay import replay
from strategies import formulas

from pxl_prover.check.evaluator import confirm
from pxl_prover.formula import And, Bot, Box, Dia, Formula, Implies
from pxl_prover.logics import get_logic
from pxl_prover.search import s4, worker
from pxl_prover.syntax import parse
from pxl_prover.tableau import Proof, Refutation, Unknown, run_search

S4 = get_logic("S4")
LWB = Path(__file__).resolve().parents[2] / "shared" / "benchmarks" / "lwb" / "s4"


def decide(goal: Formula) -> bool:
    """Search in this process, then check what came back; True iff proved."""
    result = run_search(goal, S4, None, 2_000_000)
    if isinstance(result, Proof):
        replay(result.tree, goal, S4)
        return True
    assert isinstance(result, Refutation), result
    assert confirm(result.model, goal, S4) or (
        result.uncontracted is not None and confirm(result.uncontracted, goal, S4)
    )
    return False


def looping_goals(max_leaves: int, atoms: tuple[str, ...]) -> st.SearchStrategy[Formula]:
    """Goals `BOX DIA A1 & ... & BOX DIA Ak -> B`: every world of a countermodel needs a
    successor for each Ai, so S4's successors loop back to ancestors. Random goals of
    every shape hardly ever do (3 in 900, measured); about half of these do, and about
    one in six reuses a cached looping model."""
    part = formulas(max_leaves=max_leaves, atoms=atoms, constants=False)
    demands = st.lists(part.map(lambda a: Box(Dia(a))), min_size=2, max_size=3)
    return st.builds(
        lambda ds, rest: Implies(reduce(And, ds), rest), demands, part | st.just(Bot())
    )


def sibling_goals(max_leaves: int, atoms: tuple[str, ...]) -> st.SearchStrategy[Formula]:
    """Goals `BOX X & DIA A1 & ... & DIA Ak -> B`: the world refuting one has sibling
    successors {BOX X, Ai}, some of which close on their own (what a local probe finds)
    and some of which need successors of their own."""
    part = formulas(max_leaves=max_leaves, atoms=atoms, constants=False)
    diamond = part.map(Dia) | st.builds(lambda a, b: Dia(And(a, Dia(b))), part, part)
    demands = st.lists(diamond, min_size=2, max_size=4)
    return st.builds(
        lambda box, ds, rest: Implies(And(Box(box), reduce(And, ds)), rest),
        part,
        demands,
        part | st.just(Bot()),
    )


@contextmanager
def local_probes(nodes: int) -> Iterator[None]:
    saved = s4._LOCAL_PROBE
    s4._LOCAL_PROBE = nodes
    try:
        yield
    finally:
        s4._LOCAL_PROBE = saved


@contextmanager
def tableau_only() -> Iterator[None]:
    """The CDCL solver switched off: it answers every set with all of its members, as if
    it found no model, so the tableau decides every world."""
    by_s4_cdcl = s4.S4Branch.by_s4_cdcl
    s4.S4Branch.by_s4_cdcl = lambda self, initial, history: initial  # type: ignore[method-assign]
    try:
        yield
    finally:
        s4.S4Branch.by_s4_cdcl = by_s4_cdcl  # type: ignore[method-assign]


@contextmanager
def recording_successors() -> Iterator[list[tuple[str, str]]]:
    """Record each successor set decided on its own: by a local probe or in full, and
    whether it closed, stayed open or the probe gave up."""
    decided: list[tuple[str, str]] = []
    solve_alone = s4.S4Branch.solve_alone

    def recorded(self: s4.S4Branch, initial: frozenset[int]) -> Any:
        how = "full" if self.shared.local_until is None else "local"
        try:
            outcome = solve_alone(self, initial)
        except s4.Undecided:
            decided.append((how, "undecided"))
            raise
        decided.append((how, "closed" if isinstance(outcome, frozenset) else "open"))
        return outcome

    s4.S4Branch.solve_alone = recorded  # type: ignore[method-assign]
    try:
        yield decided
    finally:
        s4.S4Branch.solve_alone = solve_alone  # type: ignore[method-assign]


@contextmanager
def looping_cache(kept: int) -> Iterator[None]:
    saved = s4._LOOPING_KEPT
    s4._LOOPING_KEPT = kept
    try:
        yield
    finally:
        s4._LOOPING_KEPT = saved


@contextmanager
def counting(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, int]]:
    """Count looping models reused, and loops resolved through a complete world."""
    counts = {"reused": 0, "through_complete": 0}
    cached_model = s4.S4Branch.cached_model
    resolve = s4.S4Branch.resolve

    def counted_model(self: s4.S4Branch, key: frozenset[int], hint: int | None) -> Any:
        found = cached_model(self, key, hint)
        if found is not None and found[1]:
            counts["reused"] += 1
        return found

    def counted_resolve(self: s4.S4Branch, world: s4.PathWorld, *args: Any) -> Any:
        resolved = resolve(self, world, *args)
        if resolved is not None and self.ancestor(world) is None:
            counts["through_complete"] += 1
        return resolved

    monkeypatch.setattr(s4.S4Branch, "cached_model", counted_model)
    monkeypatch.setattr(s4.S4Branch, "resolve", counted_resolve)
    yield counts


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(goal=looping_goals(max_leaves=5, atoms=("A", "B")))
def test_s4_verdicts_with_looping_models_cached_agree_with_the_oracle(goal: Formula) -> None:
    assume(len(keys_of(goal)) <= MAX_KEYS)
    assert decide(goal) is is_valid(goal, S4)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(goal=looping_goals(max_leaves=10, atoms=("A", "B", "C")))
def test_s4_verdicts_are_the_same_with_the_looping_cache_off(goal: Formula) -> None:
    """Goals too large for the oracle: the cache changes no verdict, and whatever either
    way returns is checked (proofs replayed, countermodels confirmed)."""
    with looping_cache(0):
        uncached = decide(goal)
    assert decide(goal) is uncached


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(goal=formulas(max_leaves=9, atoms=("A", "B"), constants=False))
def test_s4_verdicts_with_cdcl_worlds_agree_with_the_oracle(goal: Formula) -> None:
    assume(len(keys_of(goal)) <= MAX_KEYS)
    assert decide(goal) is is_valid(goal, S4)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(goal=looping_goals(max_leaves=10, atoms=("A", "B", "C")) | sibling_goals(8, ("A", "B", "C")))
def test_s4_verdicts_are_the_same_with_the_tableau_alone(goal: Formula) -> None:
    """Goals too large for the oracle: the CDCL solver changes no verdict, and whatever
    either way returns is checked (proofs replayed, countermodels confirmed)."""
    with tableau_only():
        alone = decide(goal)
    assert decide(goal) is alone


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(goal=sibling_goals(max_leaves=4, atoms=("A", "B")))
def test_s4_verdicts_with_local_probes_agree_with_the_oracle(goal: Formula) -> None:
    assume(len(keys_of(goal)) <= MAX_KEYS)
    assert decide(goal) is is_valid(goal, S4)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(goal=sibling_goals(max_leaves=8, atoms=("A", "B", "C")))
def test_s4_verdicts_are_the_same_with_local_probes_off(goal: Formula) -> None:
    """Goals too large for the oracle: probing siblings changes no verdict, and whatever
    either way returns is checked (proofs replayed, countermodels confirmed). A probe of
    -1 nodes is abandoned at once: no sibling is probed."""
    with local_probes(-1):
        unprobed = decide(goal)
    assert decide(goal) is unprobed


@pytest.mark.parametrize(
    "goal",
    [
        "(BOX A & ~B & DIA(B & ~A) & DIA(B & DIA C)) -> D",
        "(BOX A & ~B & DIA(B & DIA C) & DIA(B & ~A)) -> D",
    ],
)
def test_a_sibling_that_closes_on_its_own_closes_its_world_first(goal: str) -> None:
    """`DIA(B & DIA C)` needs a successor of its own, `DIA(B & ~A)`'s closes against
    `BOX A` at once (neither content can hold at the world itself, which has `~B`):
    whichever comes first, the successor that closes is found before the other is
    decided, and the proof replays."""
    with recording_successors() as decided:
        assert decide(parse(goal)) is True
    assert decided and ("full", "open") not in decided
    assert decided[-1][1] == "closed"


def with_deep_stack(run: Callable[[], Any]) -> Any:
    """`run()` in a thread with the stack and recursion limit of a search process (LWB
    goals nest deep), the limit restored afterwards (other tests check it)."""
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["value"] = run()
        except BaseException as exc:  # re-raised in the test's thread
            outcome["error"] = exc

    limit, stack = sys.getrecursionlimit(), threading.stack_size(worker.STACK_BYTES)
    sys.setrecursionlimit(worker.RECURSION_LIMIT)
    try:
        thread = threading.Thread(target=target)
        thread.start()
        thread.join()
    finally:
        sys.setrecursionlimit(limit)
        threading.stack_size(stack)
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def _lwb(name: str, n: int) -> Formula:
    lines = (LWB / f"{name}.txt").read_text().splitlines()
    texts = [m.group(1) for line in lines if (m := re.match(rf"^\s*{n}\s*:\s*(.*)$", line))]
    return parse(texts[0])


@pytest.mark.parametrize(("name", "n"), [("s4_ipc_n", 6), ("s4_md_n", 6), ("s4_s5_n", 4)])
def test_lwb_countermodels_built_by_the_tableau_from_reused_looping_models_are_confirmed(
    name: str, n: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """LWB goals whose countermodels, built by the tableau alone (the solver finds these
    without reusing anything), reuse models that loop back to ancestors, some of them
    through worlds that have completed since: the evaluator confirms the countermodel."""
    with tableau_only(), counting(monkeypatch) as counts:
        assert with_deep_stack(lambda: decide(_lwb(name, n))) is False
    assert counts["reused"] > 0
    assert counts["through_complete"] > 0


@pytest.mark.parametrize(
    "goal",
    ["BOX DIA A & BOX DIA B & BOX DIA ~B -> BOX A", "BOX DIA A & BOX DIA B & BOX DIA ~A -> B"],
)
def test_countermodels_from_cdcl_worlds_reusing_looping_models_are_confirmed(
    goal: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Goals (found by hypothesis among `looping_goals`) whose CDCL worlds reuse models
    that loop back to ancestors, the first one through a world that has completed since:
    the evaluator confirms the countermodel."""
    with counting(monkeypatch) as counts:
        assert decide(parse(goal)) is False
    assert counts["reused"] > 0


@pytest.mark.parametrize("solver", [True, False])
def test_lwb_branch_p_is_proved_by_its_last_diamond_within_a_small_node_budget(
    solver: bool,
) -> None:
    """LWB s4_branch_p #21: the root's second diamond closes against `BOX p1` at once,
    the first one's successors span 2^20 worlds. The search finds the former first,
    also by the tableau alone (its local probe of the second sibling; without it, the
    tableau alone does not finish within this budget)."""
    goal = _lwb("s4_branch_p", 21)
    with nullcontext() if solver else tableau_only():
        result = with_deep_stack(lambda: run_search(goal, S4, None, 20_000))
    assert isinstance(result, Proof), result
    replay(result.tree, goal, S4)


@pytest.mark.parametrize("n", [17, 21])
def test_lwb_branch_p_through_the_whole_pipeline(prover, n: int) -> None:
    lines = (LWB / "s4_branch_p.txt").read_text().splitlines()
    goal = next(line.split(":", 1)[1] for line in lines if line.startswith(f"{n}:"))
    answer = prover.prove(goal, "S4", timeout_ms=120_000)
    assert answer["verdict"] == "proved" and answer["verified"], answer.get("limits")


@pytest.mark.parametrize(("name", "n"), [("s4_s5_n", 21), ("s4_ph_n", 21), ("s4_md_n", 21)])
def test_lwb_countermodels_from_cdcl_worlds_within_a_small_node_budget(name: str, n: int) -> None:
    """LWB goals whose countermodels the tableau alone did not find within 10 s (s4_s5_n
    from #12 on: thousands of worlds, each splitting every inherited box's content
    again): the solver's worlds find one within a budget far below that, and the
    evaluator confirms it."""
    assert with_deep_stack(lambda: decide_within(_lwb(name, n), 50_000)) is False


def decide_within(goal: Formula, budget: int) -> bool:
    result = run_search(goal, S4, None, budget)
    if isinstance(result, Proof):
        replay(result.tree, goal, S4)
        return True
    assert isinstance(result, Refutation), result
    assert confirm(result.model, goal, S4)
    return False


@pytest.mark.parametrize(("name", "n"), [("s4_s5_n", 21), ("s4_ph_n", 21), ("s4_ipc_n", 21)])
def test_lwb_cdcl_countermodels_through_the_whole_pipeline(prover, name: str, n: int) -> None:
    lines = (LWB / f"{name}.txt").read_text().splitlines()
    goal = next(line.split(":", 1)[1] for line in lines if line.startswith(f"{n}:"))
    answer = prover.prove(goal, "S4", timeout_ms=120_000)
    assert answer["verdict"] == "refuted" and answer["verified"], answer.get("limits")


def test_lwb_cdcl_worlds_witness_their_own_diamonds_where_they_can() -> None:
    """LWB s4_s5_n #21: a world per nested diamond made a chain of 122 worlds (each one
    more for Coq to check); with the diamonds' contents made true at the world itself
    where the solver allows it, the countermodel is a fraction of that, and confirmed."""
    goal = _lwb("s4_s5_n", 21)
    result = with_deep_stack(lambda: run_search(goal, S4, None, 50_000))
    assert isinstance(result, Refutation), result
    assert confirm(result.model, goal, S4)
    assert len(result.model.worlds) <= 40


def test_a_hard_propositional_core_stops_the_solver_at_the_deadline() -> None:
    """LWB s4_ph_p #21 is pigeonhole (22 pigeons, 21 holes) at the root world: the CDCL
    solver is asked in slices of conflicts with the deadline checked between them, so
    the search answers `unknown` for time instead of running on in the solver."""
    goal = _lwb("s4_ph_p", 21)
    result = with_deep_stack(lambda: run_search(goal, S4, time.monotonic() + 1.0, None))
    assert isinstance(result, Unknown) and result.reason == "time", result
