"""Answers: the immutable value the engine builds for a goal, and what it says about how
its verdict was reached (docs/http-api.md)."""

from __future__ import annotations

import random
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pxl_prover.countermodel import Countermodel

PROOF_METHOD = {
    "proved": "tableau certificate checked by Coq (reflection)",
    "refuted": "Kripke countermodel checked by an independent evaluator and by Coq",
    "refuted_evaluator": "Kripke countermodel checked by an independent evaluator",
    "unknown": "none",
}

Verdict = Literal["proved", "refuted", "unknown"]

# Answer ids name a request, they guard nothing: drawn from a generator seeded once from
# the system's entropy, not from `uuid.uuid4`'s `os.urandom` per id, a system call that
# releases the GIL (under load each release is a thread switch).
_IDS = random.Random()


def new_id() -> str:
    """A fresh random (version 4) UUID for an answer."""
    return str(uuid.UUID(int=_IDS.getrandbits(128), version=4))


@dataclass(frozen=True, slots=True)
class Answer:
    """One goal's answer (docs/http-api.md), as a value nobody can change once made.

    Built by the engine (`pxl_prover.engine`) after the checks its verdict needs; `verified`
    is not a field anyone sets but follows from the verdict, which the engine gives only
    after the check. The cache derives copies for renamed goals (`cache.relabelled`), the
    service adds what belongs to one request (`id`, `goal`, `latency_ms`, `cache_hit`),
    each through `dataclasses.replace`; `to_json` is what clients receive.
    """

    logic: str
    normalized: str
    kernel_hash: str
    verdict: Verdict
    proof_method: str
    id: str | None = None
    goal: str | None = None
    timings_ms: Mapping[str, float] | None = None
    limits: Mapping[str, Any] | None = None
    assumptions: tuple[str, ...] | None = None
    certificate: str | None = None
    countermodel: Countermodel | None = None
    latency_ms: float | None = None
    cache_hit: bool | None = None

    @property
    def verified(self) -> bool:
        return self.verdict != "unknown"

    @property
    def ok(self) -> bool:
        return self.verdict == "proved"

    def to_json(self) -> dict[str, Any]:
        """The answer object of the HTTP API: fields that do not apply are left out."""
        data: dict[str, Any] = {
            "id": self.id,
            "goal": self.goal,
            "logic": self.logic,
            "normalized": self.normalized,
            "kernel_hash": self.kernel_hash,
            "verdict": self.verdict,
            "verified": self.verified,
            "ok": self.ok,
            "proof_method": self.proof_method,
            "timings_ms": dict(self.timings_ms) if self.timings_ms is not None else None,
            "limits": dict(self.limits) if self.limits is not None else None,
            "assumptions": list(self.assumptions) if self.assumptions is not None else None,
            "certificate": self.certificate,
            "countermodel": self.countermodel.to_json() if self.countermodel else None,
            "latency_ms": self.latency_ms,
            "cache_hit": self.cache_hit,
        }
        return {key: value for key, value in data.items() if value is not None}
