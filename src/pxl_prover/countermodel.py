"""A finite Kripke model that falsifies a goal: the value a refutation carries.

Its JSON form is docs/verdicts.md's `{"worlds", "relation", "valuation", "world"}`;
`from_json` accepts exactly that shape and rejects anything else with a ValueError
that names the problem, because models also arrive from outside (tests, clients).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Countermodel:
    worlds: tuple[str, ...]
    relation: tuple[tuple[str, str], ...]
    valuation: dict[str, tuple[str, ...]]  # world -> atoms true there
    world: str

    def __post_init__(self) -> None:
        known = set(self.worlds)
        if len(known) != len(self.worlds):
            raise ValueError("countermodel: world names must be distinct")
        if self.world not in known:
            raise ValueError(f"countermodel: world {self.world!r} is not one of the worlds")
        for u, v in self.relation:
            if u not in known or v not in known:
                raise ValueError(f"countermodel: relation pair ({u!r}, {v!r}) names no world")
        for w in self.valuation:
            if w not in known:
                raise ValueError(f"countermodel: valuation names unknown world {w!r}")

    def true_atoms(self, w: str) -> tuple[str, ...]:
        return self.valuation.get(w, ())

    def to_json(self) -> dict[str, Any]:
        return {
            "worlds": list(self.worlds),
            "relation": [[u, v] for u, v in self.relation],
            "valuation": {w: list(self.valuation.get(w, ())) for w in self.worlds},
            "world": self.world,
        }

    @classmethod
    def from_json(cls, data: Any) -> Countermodel:
        if not isinstance(data, dict):
            raise ValueError("countermodel: expected a JSON object")
        missing = {"worlds", "relation", "valuation", "world"} - set(data)
        if missing:
            raise ValueError(f"countermodel: missing field(s) {sorted(missing)}")
        worlds = data["worlds"]
        if not isinstance(worlds, list) or not all(isinstance(w, str) for w in worlds):
            raise ValueError("countermodel: 'worlds' must be a list of strings")
        relation = data["relation"]
        if not isinstance(relation, list) or not all(
            isinstance(p, list | tuple) and len(p) == 2 and all(isinstance(x, str) for x in p)
            for p in relation
        ):
            raise ValueError("countermodel: 'relation' must be a list of [world, world] pairs")
        valuation = data["valuation"]
        if not isinstance(valuation, dict) or not all(
            isinstance(atoms, list) and all(isinstance(a, str) for a in atoms)
            for atoms in valuation.values()
        ):
            raise ValueError("countermodel: 'valuation' must map worlds to lists of atom names")
        if not isinstance(data["world"], str):
            raise ValueError("countermodel: 'world' must be a string")
        return cls(
            worlds=tuple(worlds),
            relation=tuple((u, v) for u, v in relation),
            valuation={w: tuple(atoms) for w, atoms in valuation.items()},
            world=data["world"],
        )
