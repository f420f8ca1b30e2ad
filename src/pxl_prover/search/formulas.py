"""The search's formulas: NNF formulas interned as small integers with a kind and
children, so that a world's set is a set of ints and equal subformulas are one id."""

from __future__ import annotations

from typing import Any

from pxl_prover.formula import And, Atom, Bot, Box, Dia, Formula, Not, Or, Top

ATOM, NATOM, TOP, BOT, AND, OR, BOX, DIA = range(8)
_DUAL = {ATOM: NATOM, NATOM: ATOM, TOP: BOT, BOT: TOP, AND: OR, OR: AND, BOX: DIA, DIA: BOX}


class Formulas:
    """NNF formulas interned bottom-up; equal subformulas get one id."""

    def __init__(self) -> None:
        self.kind: list[int] = []
        self.a: list[int] = []
        self.b: list[int] = []
        self.name: list[str] = []
        self.comp: list[int] = []  # formula -> id of its NNF negation (-1 if not interned)
        # literal, box or diamond -> disjunctions it is a disjunct of
        self.in_or: dict[int, list[int]] = {}
        self._table: dict[tuple[Any, ...], int] = {}

    def _make(self, key: tuple[Any, ...]) -> int:
        fid = self._table.get(key)
        if fid is None:
            fid = len(self.kind)
            self._table[key] = fid
            kind, a, b, name = key
            self.kind.append(kind)
            self.a.append(a)
            self.b.append(b)
            self.name.append(name)
            self.comp.append(-1)
            other = self._table.get(self._dual(key))
            if other is not None:
                self.comp[fid], self.comp[other] = other, fid
            if kind == OR:
                for side in (a, b):
                    if self.kind[side] in (ATOM, NATOM, BOX, DIA):
                        self.in_or.setdefault(side, []).append(fid)
        return fid

    def _dual(self, key: tuple[Any, ...]) -> tuple[Any, ...]:
        """The key of the NNF negation of `key`'s formula (its parts' complements are
        interned before it if at all, since interning is bottom-up)."""
        kind, a, b, name = key
        if kind in (ATOM, NATOM, TOP, BOT):
            return (_DUAL[kind], -1, -1, name)
        ca = self.comp[a]
        if ca < 0:
            return ()
        if kind in (BOX, DIA):
            return (_DUAL[kind], ca, -1, "")
        cb = self.comp[b]
        return (_DUAL[kind], ca, cb, "") if cb >= 0 else ()

    def intern(self, root: Formula) -> int:
        done: dict[int, int] = {}
        stack: list[tuple[Formula, bool]] = [(root, False)]
        while stack:
            f, ready = stack.pop()
            if id(f) in done:
                continue
            subs: tuple[Formula, ...]
            match f:
                case And(l, r) | Or(l, r):
                    subs = (l, r)
                case Box(s) | Dia(s):
                    subs = (s,)
                case _:
                    subs = ()
            if not ready and subs:
                stack.append((f, True))
                stack.extend((s, False) for s in subs if id(s) not in done)
                continue
            match f:
                case Atom(name):
                    key = (ATOM, -1, -1, name)
                case Not(Atom(name)):
                    key = (NATOM, -1, -1, name)
                case Top():
                    key = (TOP, -1, -1, "")
                case Bot():
                    key = (BOT, -1, -1, "")
                case And(l, r):
                    key = (AND, done[id(l)], done[id(r)], "")
                case Or(l, r):
                    key = (OR, done[id(l)], done[id(r)], "")
                case Box(s):
                    key = (BOX, done[id(s)], -1, "")
                case Dia(s):
                    key = (DIA, done[id(s)], -1, "")
                case _:
                    raise TypeError(f"not in negation normal form: {type(f).__name__}")
            done[id(f)] = self._make(key)
        return done[id(root)]
