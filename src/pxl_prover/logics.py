"""The modal logics PXL decides, as the frame properties that define them.

Each logic is named by its canonical name; aliases (KT, KD, KTB) map onto it. The
property flags are exactly the ones the Coq checker (`coq/Tableau.v`) consults to
decide which frame rules a certificate may use.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Logic:
    name: str
    reflexive: bool = False
    symmetric: bool = False
    transitive: bool = False
    euclidean: bool = False
    serial: bool = False

    @property
    def coq_name(self) -> str:
        """The kernel's name for the validity predicate, e.g. `valid_S4`."""
        return f"valid_{self.name}"


LOGICS: dict[str, Logic] = {
    "K": Logic("K"),
    "T": Logic("T", reflexive=True, serial=True),
    "D": Logic("D", serial=True),
    "B": Logic("B", reflexive=True, symmetric=True, serial=True),
    "S4": Logic("S4", reflexive=True, transitive=True, serial=True),
    "S5": Logic("S5", reflexive=True, symmetric=True, transitive=True, euclidean=True, serial=True),
    "KD45": Logic("KD45", serial=True, transitive=True, euclidean=True),
}

ALIASES: dict[str, str] = {"KT": "T", "KD": "D", "KTB": "B"}

DEFAULT_LOGIC = "S5"


def described() -> str:
    """The logics as help texts list them: every name, its aliases, the default marked."""
    parts = []
    for name in LOGICS:
        aliases = [alias for alias, target in ALIASES.items() if target == name]
        notes = [*aliases, *(["default"] if name == DEFAULT_LOGIC else [])]
        parts.append(f"{name} ({', '.join(notes)})" if notes else name)
    return ", ".join(parts)


class UnknownLogic(ValueError):
    """Raised for a logic name PXL does not know; the message lists the known ones."""


def get_logic(name: str | None) -> Logic:
    """Look a logic up by name or alias, case-insensitively; None means the default (S5)."""
    if name is None:
        return LOGICS[DEFAULT_LOGIC]
    key = str(name).strip().upper()
    key = ALIASES.get(key, key)
    if key not in LOGICS:
        known = ", ".join([*LOGICS, *ALIASES])
        raise UnknownLogic(f"unknown logic {name!r}; known logics: {known}")
    return LOGICS[key]
