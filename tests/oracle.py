"""An independent validity oracle for the tests: Pratt-style elimination of types.

A type assigns truth values to the goal's atoms and modal subformulas (its other
subformulas follow). Between types we use the logic's filtration relation:

    K-step(t, s): every [].A true in t has A true in s, every <>A false in t has A false in s
    K, D:     K-step                       T:   K-step, and only types with K-step(t, t)
    B:        K-step both ways (and T)     S4:  K-step, modal truths persist t -> s (and T)
    S5:       K-step, same modal truths (and T)
    KD45:     K-step, same modal truths (no reflexivity)

Types that lack a witness (a true <>A or false [].A with no successor doing the job;
in D and KD45 also: no successor at all) are removed until none is. The goal is valid
iff every surviving type makes it true. This is a complete decision procedure for all
seven logics (the types realised in any countermodel always survive, and the survivors
with this relation form a model of the logic), and it shares nothing with the search.
It is exponential in the number of atoms and modal subformulas: for small goals only.
"""

from __future__ import annotations

from pxl_prover.formula import And, Atom, Bot, Box, Dia, Formula, Iff, Implies, Not, Or, Top
from pxl_prover.logics import Logic

MAX_KEYS = 10


def keys_of(goal: Formula) -> list[Formula]:
    """The goal's atoms and modal subformulas (without repetition): what a type decides."""
    out: list[Formula] = []
    stack = [goal]
    while stack:
        f = stack.pop()
        match f:
            case Atom() | Box() | Dia():
                if f not in out:
                    out.append(f)
        match f:
            case Not(a) | Box(a) | Dia(a):
                stack.append(a)
            case And(a, b) | Or(a, b) | Implies(a, b) | Iff(a, b):
                stack.extend((a, b))
    return out


def _holds(f: Formula, t: int, index: dict[Formula, int]) -> bool:
    match f:
        case Atom() | Box() | Dia():
            return bool(t >> index[f] & 1)
        case Top():
            return True
        case Bot():
            return False
        case Not(a):
            return not _holds(a, t, index)
        case And(a, b):
            return _holds(a, t, index) and _holds(b, t, index)
        case Or(a, b):
            return _holds(a, t, index) or _holds(b, t, index)
        case Implies(a, b):
            return not _holds(a, t, index) or _holds(b, t, index)
        case Iff(a, b):
            return _holds(a, t, index) == _holds(b, t, index)
    raise TypeError(f"not a formula: {f!r}")


def is_valid(goal: Formula, logic: Logic) -> bool:
    keys = keys_of(goal)
    if len(keys) > MAX_KEYS:
        raise ValueError(f"oracle: {len(keys)} atoms and modal subformulas is too many")
    index = {k: i for i, k in enumerate(keys)}
    modal = [i for i, k in enumerate(keys) if isinstance(k, Box | Dia)]
    modal_mask = sum(1 << i for i in modal)
    types = range(1 << len(keys))
    # Per type: which modal contents it makes true (bit i for modal key i), and what it
    # demands of every successor: contents that must be true / must be false.
    content = [sum(1 << i for i in modal if _holds(keys[i].arg, t, index)) for t in types]
    must = [sum(1 << i for i in modal if isinstance(keys[i], Box) and t >> i & 1) for t in types]
    must_not = [
        sum(1 << i for i in modal if isinstance(keys[i], Dia) and not t >> i & 1) for t in types
    ]

    def k_step(t: int, s: int) -> bool:
        return content[s] & must[t] == must[t] and content[s] & must_not[t] == 0

    def related(t: int, s: int) -> bool:
        if not k_step(t, s):
            return False
        if logic.euclidean:
            return t & modal_mask == s & modal_mask
        if logic.transitive:  # S4: true boxes stay true, false diamonds stay false
            return s & must[t] == must[t] and s & must_not[t] == 0
        if logic.symmetric:
            return k_step(s, t)
        return True

    alive = [t for t in types if not logic.reflexive or k_step(t, t)]
    changed = True
    while changed:
        changed = False
        survivors = []
        for t in alive:
            succ = [s for s in alive if related(t, s)]
            ok = not (logic.serial and not succ)
            for i in modal:
                if not ok:
                    break
                wanted_true = isinstance(keys[i], Dia) and t >> i & 1
                wanted_false = isinstance(keys[i], Box) and not t >> i & 1
                if wanted_true:
                    ok = any(content[s] >> i & 1 for s in succ)
                elif wanted_false:
                    ok = any(not content[s] >> i & 1 for s in succ)
            if ok:
                survivors.append(t)
            else:
                changed = True
        alive = survivors
    return all(_holds(goal, t, index) for t in alive)
