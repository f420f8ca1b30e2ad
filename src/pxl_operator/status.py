"""Status conditions by the Kubernetes API conventions.

`lastTransitionTime` changes only when a condition's status flips, so watchers and
Argo CD can tell how long a fleet has been Ready or Degraded.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping
from typing import Any

Condition = dict[str, Any]
CONDITION_TYPES = ("Ready", "Progressing", "Degraded")


class Degraded(Exception):
    """The spec cannot be applied as it is (its kernel cannot be determined, a child cannot
    be written): reported as the Degraded condition with `reason` (a CamelCase condition
    reason) and `message`, the running pods left as they are."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


def condition(kind: str, status: bool, reason: str, message: str, generation: int) -> Condition:
    """One condition without its transition time (added when merged into the status)."""
    return {
        "type": kind,
        "status": "True" if status else "False",
        "reason": reason,
        "message": message,
        "observedGeneration": generation,
    }


def now() -> str:
    return datetime.datetime.now(tz=datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def merge_conditions(
    old: Iterable[Mapping[str, Any]] | None, new: Iterable[Condition], timestamp: str
) -> list[Condition]:
    """New conditions keep the old transition time when their status did not change."""
    previous = {c.get("type"): c for c in old or []}
    merged = []
    for cond in new:
        before = previous.get(cond["type"])
        same = before is not None and before.get("status") == cond["status"]
        transition = before.get("lastTransitionTime") if same and before else None
        merged.append({**cond, "lastTransitionTime": transition or timestamp})
    order = {kind: i for i, kind in enumerate(CONDITION_TYPES)}
    return sorted(merged, key=lambda c: order.get(c["type"], len(order)))


def failure_conditions(
    reason: str, message: str, generation: int, ready: Condition | None = None
) -> list[Condition]:
    """Conditions when the spec or kernel cannot be built: Degraded, and nothing rolls."""
    return [
        ready or condition("Ready", False, reason, message, generation),
        condition("Progressing", False, reason, message, generation),
        condition("Degraded", True, reason, message, generation),
    ]
