"""Random goals in the HTTP API's syntax, for tests and benches that need goals nobody
wrote: atoms p, q, r, the constants, every connective and both modalities."""

from __future__ import annotations

import random

LEAVES = ("p", "q", "r", "true", "false")
BINARY = ("&", "|", "->", "<->")


def random_goal(rng: random.Random, depth: int) -> str:
    """A goal at most `depth` connectives deep."""
    if depth == 0 or rng.random() < 0.2:
        return rng.choice(LEAVES)
    kind = rng.randrange(7)
    if kind < 3:
        return f"{('~', 'BOX', 'DIA')[kind]}({random_goal(rng, depth - 1)})"
    op = BINARY[kind - 3]
    return f"({random_goal(rng, depth - 1)}) {op} ({random_goal(rng, depth - 1)})"
