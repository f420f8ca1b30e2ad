"""The prover service behind the HTTP layer: kernel, session pool, engine, cache, readiness.

Start-up happens in the background so the server answers /health at once: compile the
kernel (into the writable cache), start the pool, run the engine's canary. Any failure
leaves the service up but unready with the reason, which is what lets the operator roll a
bad kernel back instead of watching a crash loop.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from pxl_prover import kernel, syntax, tableau
from pxl_prover.admission import Admission
from pxl_prover.answer import Answer, new_id
from pxl_prover.cache import ProofCache
from pxl_prover.config import ServerConfig
from pxl_prover.logics import Logic, get_logic
from pxl_prover.metrics import ServiceMetrics
from pxl_prover.pool import PoolUnavailable, SessionPool

log = logging.getLogger(__name__)

SESSION_WAIT_STEP_S = 1.0
CANARY_SESSIONS_WAIT_S = 5.0  # how long the canary waits for the whole pool to be up


class NotReady(PoolUnavailable):
    """The service cannot answer goals yet (or any more); the message says why."""


def _empty_pool_stats(size: int) -> dict[str, Any]:
    return {
        "total_sessions": 0,
        "active_sessions": 0,
        "busy_sessions": 0,
        "max_pool_size": size,
        "utilization_rate": 0.0,
        "starting_sessions": 0,
        "restarts": 0,
    }


class ProverService:
    """Owns every long-lived part; the Flask app only translates HTTP to these calls."""

    def __init__(
        self,
        config: ServerConfig,
        *,
        session_factory: Callable[[kernel.CompiledKernel], Any] | None = None,
    ) -> None:
        from pxl_prover.sessions import CoqSession

        self.config = config
        self.kernel_dir = Path(config.kernel_dir or kernel.default_kernel_dir())
        self.cache_root = Path(config.cache_dir or kernel.default_cache_root())
        self._session_factory = session_factory or (
            lambda k: CoqSession(k, memory_limit_mb=config.session_memory_mb)
        )
        self.pool: SessionPool | None = None
        self.prover: Any = None
        self.phase = "starting"
        self.failure: str | None = None
        self.canary_problems: list[str] | None = None
        self.draining = False
        self.cut = False  # shutdown's grace ran out: answers still running become 503s
        self.admission = Admission(
            config.pool_size,
            config.max_queue,
            config.pool_wait_s,
            queue_timer=lambda: self.metrics.queue_timer("admission"),
        )
        try:
            self.kernel_hash = kernel.kernel_hash(self.kernel_dir)
        except OSError as exc:
            self.kernel_hash = ""
            self.failure = f"kernel folder unreadable: {exc}"
        self.metrics = ServiceMetrics(self.pool_stats)
        self.cache = ProofCache(
            config.cache_size,
            config.cache_ttl_s,
        )
        self._started = threading.Event()

    # --- lifecycle ----------------------------------------------------------------------

    def start(self, *, wait: bool = False) -> None:
        """Compile, start sessions and run the canary in the background (or wait for it)."""
        thread = threading.Thread(target=self._start_up, name="pxl-start-up", daemon=True)
        thread.start()
        if wait:
            self._started.wait()

    def _start_up(self) -> None:
        try:
            if self.failure:
                return
            self.phase = "compiling kernel"
            try:
                compiled = kernel.build_kernel(self.kernel_dir, self.cache_root)
            except (kernel.KernelBuildError, OSError) as exc:
                self.failure = f"kernel did not compile: {exc}"
                return
            self.kernel_hash = compiled.hash
            self.phase = "starting Coq sessions"
            self.pool = SessionPool(
                compiled,
                self.config.pool_size,
                session_factory=self._session_factory,
                acquire_timeout_s=self.config.pool_wait_s,
                max_uses=self.config.session_max_uses,
                on_restart=self.metrics.observe_session_restart,
                queue_timer=lambda: self.metrics.queue_timer("session"),
            )
            self.pool.start()
            while not self.pool.wait_until_alive(SESSION_WAIT_STEP_S):
                if self.draining:
                    return
                if self.pool.last_error:  # unready with the reason; the pool keeps trying
                    self.failure = f"no Coq session could start: {self.pool.last_error}"
            self.failure = None
            tableau.PROCESSES.resize(self.config.pool_size)  # one search per admitted goal
            tableau.PROCESSES.warm()
            from pxl_prover.engine import Prover

            self.prover = Prover(self.pool, default_timeout_ms=self.config.default_timeout_ms)
            self.phase = "running canary"
            # The sessions start together: give the rest a moment, then run as many canary
            # goals at once as sessions are up, so no canary check waits for a session.
            self.pool.wait_until_alive(CANARY_SESSIONS_WAIT_S, count=self.pool.size)
            self.canary_problems = self.prover.canary(parallel=self.pool.alive_count())
            if self.canary_problems:
                self.failure = "canary failed: " + "; ".join(self.canary_problems)
                return
            self.phase = "ready"
            log.info("ready: kernel %s, %d Coq sessions", self.kernel_hash, self.pool.size)
        except Exception as exc:  # start-up must never take the process down
            log.exception("start-up failed")
            self.failure = f"start-up failed: {exc}"
        finally:
            if self.failure:
                log.error("not ready: %s", self.failure)
            self._started.set()

    def close(self, timeout_s: float = 10.0) -> None:
        self.draining = True
        if self.pool is not None:
            self.pool.close(timeout_s)
        tableau.PROCESSES.close()

    def cut_short(self) -> None:
        """Shutdown's grace ran out: end the Coq sessions and searches now, so requests
        still running answer 503 (they would otherwise lose their connection)."""
        self.cut = True
        self.draining = True
        tableau.PROCESSES.close(terminate=True)
        if self.pool is not None:
            self.pool.close(timeout_s=0)

    # --- readiness ----------------------------------------------------------------------

    def pool_stats(self) -> dict[str, Any]:
        pool = self.pool
        return pool.stats() if pool is not None else _empty_pool_stats(self.config.pool_size)

    def unready_reasons(self) -> list[str]:
        """Why /ready is 503 (empty when ready)."""
        reasons: list[str] = []
        if self.draining:
            reasons.append("shutting down")
        if self.failure:
            reasons.append(self.failure)
        elif self.phase != "ready":
            reasons.append(f"starting: {self.phase}")
        elif self.pool is None or not self.pool.serviceable():
            reasons.append("no Coq session is alive")
        expected = self.config.expected_kernel_hash
        if expected and self.kernel_hash != expected:
            reasons.append(
                f"kernel hash {self.kernel_hash or '(unknown)'} differs from "
                f"PXL_EXPECTED_KERNEL_HASH {expected}"
            )
        return reasons

    def _require_serving(self) -> Any:
        """The engine, if goals can be answered now; a kernel-hash mismatch still serves
        (every answer names its kernel), a failed build or canary does not."""
        if self.draining:
            raise NotReady("the server is shutting down")
        if self.failure:
            raise NotReady(f"not ready: {self.failure}")
        if self.phase != "ready" or self.prover is None:
            raise NotReady(f"not ready yet: {self.phase}")
        return self.prover

    # --- answering ----------------------------------------------------------------------

    def prove(self, goal: str, logic: str | None = None, timeout_ms: int | None = None) -> dict:
        """The answer (docs/http-api.md) for one goal, from the cache when it can be.

        Raises syntax.ParseError / logics.UnknownLogic for bad input, PoolError subclasses
        when no session can take the check.
        """
        prover = self._require_serving()
        started = time.perf_counter()
        chosen = get_logic(logic)  # resolved once: everything below is handed the `Logic`
        key = (self.kernel_hash, chosen.name)
        answer = self.cache.get_exact(*key, goal)
        if answer is None:
            # Admitted before parsing: when the server is full, a goal is refused in
            # microseconds, not after its share of the CPU for parsing and canonical forms.
            with self.admission.slot():
                answer = self._decide(prover, goal, chosen, timeout_ms)
            self.cache.put_exact(*key, goal, answer)
        if answer.cache_hit is None:
            latency_ms = round((time.perf_counter() - started) * 1000, 3)
            answer = replace(answer, latency_ms=latency_ms, cache_hit=True)
        served = replace(answer, id=new_id()).to_json()
        self.metrics.observe_answer(served)
        return served

    def _decide(self, prover: Any, goal: str, logic: Logic, timeout_ms: int | None) -> Answer:
        """The answer for a goal not in the exact-text cache: a renamed cache entry, or
        the engine's (handed the goal parsed once, and the `Logic`)."""
        key = (self.kernel_hash, logic.name)
        formula = syntax.parse(goal)
        slot = self.cache.slot(*key, formula)
        answer = self.cache.get(slot)
        if answer is not None:
            return replace(answer, goal=goal, normalized=syntax.to_ascii(formula))
        answer = prover.answer(goal, logic, timeout_ms, formula=formula)
        if self.cut:
            raise NotReady("the server shut down before this goal was decided")
        self.cache.put(slot, answer)
        return replace(answer, cache_hit=False)
