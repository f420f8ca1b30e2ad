"""Internal proofs and their emission as certificate trees.

A step is (kind, premises, produced): items (entries, relations, labels) are unique
ints, so a proof can be pruned and its parts reused under a renaming (`P_ALIAS`);
`emit` numbers the items into the certificate's absolute indices only at the end.
"""

from __future__ import annotations

from typing import Any

from pxl_prover import prooftree as cert
from pxl_prover.deadline import Clock

S_AND, S_BOX, S_DIA, S_REFL, S_SERIAL, S_SYM, S_TRANS, S_EUCL = range(8)
P_CLOSE, P_BOT, P_OR, P_STEP, P_ALIAS = range(5)

ROOT_LABEL = 0
ROOT_ENTRY = 1


def emit(proof: tuple[Any, ...], deadline: float | None = None) -> cert.Tableau:
    """The certificate tree of `proof`; DeadlinePassed once `deadline` (a `time.monotonic()`
    instant) has passed. Writing a proof out is no small step: a reused sub-proof
    (`P_ALIAS`) is written again at every use, so a proof found in seconds can take
    seconds more to write out (LWB kt_ph_p #7 in T: some 290,000 rules). It keeps to the
    search's deadline like the search itself, so the search process answers in time
    instead of overrunning into its grace and being ended (`search.worker`)."""
    pos: dict[int, int] = {ROOT_LABEL: 0, ROOT_ENTRY: 0}
    return _emit_from(proof, pos, 1, 0, 1, Clock(deadline))


def _emit_from(
    node: tuple[Any, ...], pos: dict[int, int], ne: int, nr: int, nl: int, clock: Clock
) -> Any:
    """Number the items along one path; recursion only at disjunctions."""
    chain: list[tuple[int, tuple[int, ...]]] = []
    clock.tick()
    while node[0] == P_STEP or node[0] == P_ALIAS:
        clock.tick()
        if node[0] == P_ALIAS:
            for old, new in node[1]:
                pos[old] = pos[new]
            node = node[2]
            continue
        kind, premises, produced = node[1]
        args = tuple(pos[p] for p in premises)
        if kind == S_AND:
            pos[produced[0]], pos[produced[1]] = ne, ne + 1
            ne += 2
        elif kind == S_BOX:
            pos[produced[0]] = ne
            ne += 1
        elif kind == S_DIA:
            pos[produced[0]], pos[produced[1]], pos[produced[2]] = nl, nr, ne
            nl, nr, ne = nl + 1, nr + 1, ne + 1
        elif kind == S_SERIAL:
            pos[produced[0]], pos[produced[1]] = nl, nr
            nl, nr = nl + 1, nr + 1
        else:
            pos[produced[0]] = nr
            nr += 1
        chain.append((kind, args))
        node = node[2]
    tree: cert.Tableau
    if node[0] == P_CLOSE:
        tree = cert.Close(pos[node[1]], pos[node[2]])
    elif node[0] == P_BOT:
        tree = cert.CloseBot(pos[node[1]])
    else:
        _, e, left_e, left, right_e, right = node
        pos[left_e] = pos[right_e] = ne
        tree = cert.OrRule(
            pos[e],
            _emit_from(left, pos, ne + 1, nr, nl, clock),
            _emit_from(right, pos, ne + 1, nr, nl, clock),
        )
    for kind, args in reversed(chain):
        tree = _STEP_RULES[kind](*args, tree)
    return tree


_STEP_RULES: dict[int, Any] = {
    S_AND: cert.AndRule,
    S_BOX: cert.BoxRule,
    S_DIA: cert.DiaRule,
    S_REFL: cert.Refl,
    S_SERIAL: cert.Serial,
    S_SYM: cert.Sym,
    S_TRANS: cert.Trans,
    S_EUCL: cert.Eucl,
}
