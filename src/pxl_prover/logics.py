"""The modal logics PXL decides, as the frame properties that define them.

Each logic is named by its canonical name; aliases (KT, KD, KTB) map onto it. The
property flags are exactly the ones the Coq checker (`coq/Tableau.v`) consults to
decide which frame rules a certificate may use.
"""

from __future__ import annotations

import re
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


def _any_case(name: str) -> str:
    return "".join(f"[{c.upper()}{c.lower()}]" if c.isalpha() else c for c in name)


# How a request may name a logic: a name or alias in any (ASCII) case, with spaces, tabs or
# line breaks around it. The HTTP API's OpenAPI document states this same pattern
# (`openapi.py`), so what the document admits is exactly what `get_logic` accepts. (Line
# breaks are in the class so that the pattern means the same in JSON Schema's regexes as in
# Python's, where `$` also matches before a final newline.)
_AROUND = " \t\r\n"
NAME_PATTERN = (
    rf"^[{_AROUND}]*(?:"
    + "|".join(_any_case(n) for n in sorted([*LOGICS, *ALIASES], key=len, reverse=True))
    + rf")[{_AROUND}]*$"
)
_NAME = re.compile(NAME_PATTERN)


def get_logic(name: str | None) -> Logic:
    """Look a logic up by name or alias (`NAME_PATTERN`); None means the default (S5)."""
    if name is None:
        return LOGICS[DEFAULT_LOGIC]
    if not isinstance(name, str) or _NAME.fullmatch(name) is None:
        known = ", ".join([*LOGICS, *ALIASES])
        raise UnknownLogic(f"unknown logic {name!r}; known logics: {known}")
    key = name.strip(_AROUND).upper()
    return LOGICS[ALIASES.get(key, key)]
