"""Goals nobody wrote, for tests and benches: random ones in the HTTP API's syntax (atoms p,
q, r, the constants, every connective and both modalities), and one built to need more
memory for Coq's check than a small session or pod has."""

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


def memory_hungry_goal() -> str:
    """A valid goal whose certificate Coq needs about 660 MB to check (VmPeak of a session
    with an 8 MB minor heap, in K): eight copies of a balanced disjunction of the most atoms
    a goal may have, shallow, so Coq's stack holds and its memory gives out."""
    disjunction = f"({balanced_disjunction(0, 10_000)})"
    return " & ".join([disjunction] * 8) + " | ~p0"


def balanced_disjunction(low: int, high: int) -> str:
    """p<low> | ... | p<high - 1>, nested as a balanced tree."""
    if high - low == 1:
        return f"p{low}"
    middle = (low + high) // 2
    return f"({balanced_disjunction(low, middle)} | {balanced_disjunction(middle, high)})"
