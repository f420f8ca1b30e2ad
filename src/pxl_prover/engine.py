"""The pipeline, in the one direction data flows: text → formula → search → certificate →
Coq check → answer.

The search is untrusted. A `proved` verdict is issued only after a Coq session with the
reported kernel accepted the certificate and it rests on no undeclared axiom; a
`refuted` verdict only after the independent evaluator confirmed the countermodel
(frame conditions and the goal false at the named world). Anything else is `unknown`,
with the limit or failure named. The checks are `pxl_prover.check`'s; the answer is an
immutable `Answer` made here alone (`_Draft`), its `verified` following from its verdict.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any, Protocol

from . import certificate, tableau
from .answer import PROOF_METHOD, Answer, Verdict, new_id
from .check import evaluator
from .check.gate import THEOREM
from .config import TIMEOUT_CEILING_MS
from .deadline import DeadlinePassed
from .formula import Formula
from .logics import Logic, get_logic
from .sessions import CheckResult, SessionError, SessionOutOfMemory, SessionTimeout
from .syntax import Limits, parse, to_ascii

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT_MS = 10_000
DEFAULT_NODE_BUDGET = 2_000_000
# Countermodels above this size are confirmed by the evaluator alone: Coq's check of them
# would take seconds and add nothing the independent evaluator has not already shown.
COQ_COUNTERMODEL_MAX_WORLDS = 256
# ... and Coq's confirmation of the others may take at most this share of the time left:
# the evaluator has already confirmed the model, so the answer need not wait to the deadline
# (and past it, while a timed-out session is replaced) for a second opinion.
COQ_COUNTERMODEL_TIME_SHARE = 0.5
LATE_PROOF = "the search found a proof, but the deadline passed before its certificate was ready"

# Goals whose verdicts are known from the textbook: the start-up canary proves and
# refutes them on the loaded kernel, touching every logic's lemma once.
CANARY: tuple[tuple[str, str, str], ...] = (
    ("BOX(A -> A)", "K", "proved"),
    ("BOX A -> A", "K", "refuted"),
    ("BOX A -> A", "T", "proved"),
    ("BOX A -> DIA A", "D", "proved"),
    ("A -> BOX DIA A", "B", "proved"),
    ("BOX A -> BOX BOX A", "S4", "proved"),
    ("DIA A -> BOX DIA A", "S4", "refuted"),
    ("DIA A -> BOX DIA A", "S5", "proved"),
    ("DIA A -> BOX A", "S5", "refuted"),
    ("DIA A -> BOX DIA A", "KD45", "proved"),
)


class Checker(Protocol):
    """What the engine needs from Coq: a session, or a pool of them."""

    kernel_hash: str

    def check(self, source: str, theorem: str, timeout_s: float) -> CheckResult: ...


@dataclass(slots=True)
class _Draft:
    """What the engine knows of an answer before its verdict: the only place an `Answer`
    is made, by `verdict` (after the check it needs) or `unknown`."""

    logic: str
    normalized: str
    kernel_hash: str
    timings: dict[str, float] | None = None
    id: str = field(default_factory=new_id)

    def verdict(self, verdict: Verdict, proof_method: str | None = None, **payload: Any) -> Answer:
        timings = MappingProxyType(dict(self.timings)) if self.timings is not None else None
        return Answer(
            id=self.id,
            logic=self.logic,
            normalized=self.normalized,
            kernel_hash=self.kernel_hash,
            timings_ms=timings,
            verdict=verdict,
            proof_method=proof_method or PROOF_METHOD[verdict],
            **payload,
        )

    def unknown(self, reason: str, detail: str, **extra: Any) -> Answer:
        limits = MappingProxyType({"reason": reason, "detail": detail, **extra})
        return self.verdict("unknown", limits=limits)


class Prover:
    """Decides goals and returns answers (docs/http-api.md); thread-safe if its checker is."""

    def __init__(
        self,
        checker: Checker,
        *,
        limits: Limits | None = None,
        default_timeout_ms: int = DEFAULT_TIMEOUT_MS,
        node_budget: int = DEFAULT_NODE_BUDGET,
        coq_countermodels: bool = True,
    ) -> None:
        self.checker = checker
        self.coq_countermodels = coq_countermodels
        self.limits = limits
        self.default_timeout_ms = default_timeout_ms
        self.node_budget = node_budget

    @property
    def kernel_hash(self) -> str:
        return self.checker.kernel_hash

    def prove(
        self, goal: str, logic: Logic | str | None = None, timeout_ms: int | None = None
    ) -> dict[str, Any]:
        """The answer for `goal` as the HTTP API shows it (`Answer.to_json`)."""
        return self.answer(goal, logic, timeout_ms).to_json()

    def answer(
        self,
        goal: str,
        logic: Logic | str | None = None,
        timeout_ms: int | None = None,
        *,
        formula: Formula | None = None,
    ) -> Answer:
        """Decide `goal` in `logic` (a `Logic`, or a name to look up); raises ParseError /
        UnknownLogic / ValueError on bad input. `formula`: `goal` already parsed (with this
        prover's limits) by the caller."""
        started = time.monotonic()
        chosen = logic if isinstance(logic, Logic) else get_logic(logic)
        budget_ms = self._budget(timeout_ms)
        if formula is None:
            formula = parse(goal, self.limits)
        decided = self.decide(formula, chosen, budget_ms, started)
        latency_ms = round((time.monotonic() - started) * 1000, 3)
        return replace(decided, goal=goal, latency_ms=latency_ms)

    def _budget(self, timeout_ms: int | None) -> int:
        if timeout_ms is None:
            return self.default_timeout_ms
        if isinstance(timeout_ms, bool) or not isinstance(timeout_ms, int):
            raise ValueError("timeout_ms must be an integer number of milliseconds")
        if not 1 <= timeout_ms <= TIMEOUT_CEILING_MS:
            raise ValueError(f"timeout_ms must be between 1 and {TIMEOUT_CEILING_MS}")
        return timeout_ms

    def decide(
        self, formula: Formula, logic: Logic, budget_ms: int, started: float | None = None
    ) -> Answer:
        """Search, then check what the search found; never more trust than the check gives.

        The deadline holds for all of it, not only the search: a proof is written out, sent
        back and made a certificate in time proportional to its size (seconds for a few
        hundred thousand rules), so a proof back after the deadline, or whose certificate
        is not written by it, is `unknown` for time at once, with no Coq check: it could not
        be done in time, and the user asked for an answer by then. A certificate ready
        before the deadline goes to Coq with the time left (`_coq_checked`)."""
        started = time.monotonic() if started is None else started
        deadline = started + budget_ms / 1000
        draft = _Draft(logic.name, to_ascii(formula), self.kernel_hash)
        try:
            found = tableau.search(formula, logic, deadline=deadline, node_budget=self.node_budget)
        except (MemoryError, RecursionError) as exc:
            return draft.unknown("memory", f"the search ran out of memory: {type(exc).__name__}")
        except tableau.SearchOverran as exc:
            return draft.unknown("time", str(exc))
        except tableau.SearchCrashed as exc:
            return draft.unknown("memory", str(exc))
        searched = time.monotonic()
        draft.timings = {"search": round((searched - started) * 1000, 3)}
        if isinstance(found, tableau.Unknown):
            return draft.unknown(found.reason, found.detail, budget_ms=budget_ms)
        if isinstance(found, tableau.Refutation):
            return self._refuted(draft, formula, logic, found, searched, deadline)
        try:
            source = certificate.render(
                formula, logic, found.tree, goal_text=draft.normalized, deadline=deadline
            )
        except DeadlinePassed:
            return draft.unknown("time", LATE_PROOF, budget_ms=budget_ms)
        if time.monotonic() > deadline:  # back late, or written out past it
            return draft.unknown("time", LATE_PROOF, budget_ms=budget_ms)
        return self._coq_checked(draft, source, deadline, "proved", certificate=source)

    def _refuted(
        self,
        draft: _Draft,
        formula: Formula,
        logic: Logic,
        found: tableau.Refutation,
        searched: float,
        deadline: float,
    ) -> Answer:
        """A countermodel counts once the independent evaluator confirms it (the contracted
        model, else the one before contraction). Coq then checks
        it too (unless turned off, or the model is too big to be worth it) within
        `COQ_COUNTERMODEL_TIME_SHARE` of the time left; if Coq runs out of time or memory the
        evaluator's confirmation stands alone, but if Coq rejects the model the two checkers
        disagree, and there is no verdict."""
        candidates = (found.model, found.uncontracted)
        model = next((m for m in candidates if m and evaluator.confirm(m, formula, logic)), None)
        if model is None:
            log.error("search produced a countermodel the evaluator rejects: %s", draft.normalized)
            return draft.unknown("check_failed", "the countermodel did not check")
        draft.timings["check"] = round((time.monotonic() - searched) * 1000, 3)
        if self.coq_countermodels and len(model.worlds) <= COQ_COUNTERMODEL_MAX_WORLDS:
            source = certificate.render_refutation(
                formula, logic, model, goal_text=draft.normalized
            )
            attempt = replace(draft, timings=dict(draft.timings))
            now = time.monotonic()
            share = now + (deadline - now) * COQ_COUNTERMODEL_TIME_SHARE
            checked = self._coq_checked(
                attempt, source, share, "refuted", countermodel=model, certificate=source
            )
            if checked.verdict == "refuted" or checked.limits["reason"] == "check_failed":
                return checked
        return draft.verdict(
            "refuted", proof_method=PROOF_METHOD["refuted_evaluator"], countermodel=model
        )

    def _coq_checked(
        self, draft: _Draft, source: str, deadline: float, verdict: Verdict, **payload: Any
    ) -> Answer:
        """Have Coq check `source`; the verdict stands only if the kernel accepted it."""
        try:
            result = self.checker.check(source, THEOREM, max(deadline - time.monotonic(), 0.5))
        except SessionOutOfMemory:
            return draft.unknown("memory", "Coq ran out of memory checking the certificate")
        except SessionTimeout as exc:
            return draft.unknown("time", str(exc))
        except SessionError as exc:
            return draft.unknown("checker", str(exc))
        timings = draft.timings
        timings["check"] = round(timings.get("check", 0) + result.elapsed_ms, 3)
        if result.out_of_memory:
            return draft.unknown("memory", "Coq ran out of memory checking the certificate")
        if not result.accepted:
            log.error(
                "Coq rejected a certificate for %s: %s", draft.normalized[:200], result.message
            )
            return draft.unknown("check_failed", f"Coq rejected the certificate: {result.message}")
        return draft.verdict(verdict, assumptions=tuple(result.assumptions), **payload)

    def canary(self, parallel: int = 1) -> list[str]:
        """Prove and refute the textbook goals on this kernel; the problems found (none = pass).

        `parallel` goals at a time: each goal's first check with a kernel lemma also asks
        Coq what it rests on (about half a second each), so start-up is shorter when the
        pool's sessions share them out."""

        def run(case: tuple[str, str, str]) -> str | None:
            goal, logic, expected = case
            try:
                answer = self.answer(goal, logic, timeout_ms=60_000)
            except Exception as exc:  # noqa: BLE001 - a canary reports, it does not crash
                return f"{goal} in {logic}: {type(exc).__name__}: {exc}"
            if answer.verdict != expected or not answer.verified:
                detail = (answer.limits or {}).get("detail", "")
                got = f"got {answer.verdict} {detail}".strip()
                return f"{goal} in {logic}: expected {expected}, {got}"
            return None

        with ThreadPoolExecutor(max(1, parallel), thread_name_prefix="pxl-canary") as workers:
            return [problem for problem in workers.map(run, CANARY) if problem]
