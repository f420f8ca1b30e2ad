"""A request's deadline, for the long loops that turn a found proof into a certificate.

The search looks at its deadline as it goes; so must what follows it before Coq: writing
the proof out (`search.proofs.emit`) and finding its shared sub-proofs (`sharing.share`)
take time in proportion to the proof, seconds for a proof of a few hundred thousand
rules, and the user asked for an answer by the deadline, not after it.
"""

from __future__ import annotations

import time

# A loop looks at the clock every this many steps (the clock costs more than a step).
CLOCK_EVERY = 4096


class DeadlinePassed(Exception):
    """The deadline passed before the work was done: there is no time left to check it."""


class Clock:
    """A `time.monotonic()` deadline (None: none), looked at on the first `tick` and every
    `CLOCK_EVERY` ticks after it; a tick past the deadline raises DeadlinePassed."""

    __slots__ = ("deadline", "left")

    def __init__(self, deadline: float | None) -> None:
        self.deadline = float("inf") if deadline is None else deadline
        self.left = 1

    def tick(self) -> None:
        self.left -= 1
        if not self.left:
            self.left = CLOCK_EVERY
            if time.monotonic() > self.deadline:
                raise DeadlinePassed
