"""What an answer says about how its verdict was reached (docs/http-api.md): one table,
read by the engine that builds answers and by the cache that serves them again."""

from __future__ import annotations

PROOF_METHOD = {
    "proved": "tableau certificate checked by Coq (reflection)",
    "refuted": "Kripke countermodel checked by an independent evaluator and by Coq",
    "refuted_evaluator": "Kripke countermodel checked by an independent evaluator",
    "unknown": "none",
}
