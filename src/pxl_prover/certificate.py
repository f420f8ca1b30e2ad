"""Certificates: closed labelled tableaux that the Coq kernel's checker replays.

The search (untrusted) builds a `Tableau` tree (`prooftree.py`); `render` turns it into Coq source
stating `valid_<logic> <formula>` and proving it by reflection with the kernel's
checker (`coq/Tableau.v`, `check`), whose soundness is proved in Coq.

Branch state, exactly as the Coq checker keeps it:
  * entries: labelled formulas (label, A). The root branch is [(0, nneg goal)], where
    `nneg` is the kernel's negation normal form of the negated goal (see `nnf.py`).
  * relations: pairs (w, v) meaning w R v. Initially empty.
  * labels: the root is 0; every TDia/TSerial takes the next fresh label 1, 2, 3, ...

In this module every index is ABSOLUTE: entries and relations are numbered 0, 1, 2, ...
in the order they were added along the path from the root to the node. `render`
converts them to the kernel's relative indices (0 = most recently added).

Rules (what each adds, and when the checker accepts it):
  Close(i, j)      entry i = (w, A) and entry j = (w, Neg A)         -> branch closed
  CloseBot(i)      entry i = (w, FBot)                               -> branch closed
  AndRule(i, t)    entry i = (w, A /\\ B): adds (w, A) then (w, B)
  OrRule(i, l, r)  entry i = (w, A \\/ B): left adds (w, A), right adds (w, B)
  BoxRule(i, k, t) entry i = (w, []A), relation k = (w, v): adds (v, A)
  DiaRule(i, t)    entry i = (w, <>A): fresh v; adds relation (w, v) then entry (v, A)
  Refl(w, t)       logic reflexive:   adds relation (w, w)
  Serial(w, t)     logic serial:      fresh v; adds relation (w, v)
  Sym(k, t)        logic symmetric:   relation k = (w, v) adds (v, w)
  Trans(k1, k2, t) logic transitive:  k1 = (w, v), k2 = (v, u) adds (w, u)
  Eucl(k1, k2, t)  logic euclidean:   k1 = (w, v), k2 = (w, u) adds (v, u)
  Cut(w, A, l, r)  label w < next: left adds (w, A), right adds (w, nneg A)
  Use(lemma, ...)  the lemma's hypotheses are on the branch (its labels renamed) -> closed

A tree with `Use` nodes is rendered with its lemmas first (`dag_<logic>`, the kernel's
`check_dag`: each lemma checked once, against the lemmas before it); a plain tree as
before (`tableau_<logic>`). `share` turns sub-proofs that occur more than once in a plain
tree (the same rules from the same hypotheses, up to renaming) into lemmas.
"""

from __future__ import annotations

from .check.gate import CAST, IMPORT, IMPORT_REFUTATION, THEOREM
from .countermodel import Countermodel
from .formula import (
    And,
    Atom,
    Bot,
    Formula,
    Iff,
    Implies,
    Not,
    Or,
    Top,
    atoms,
    children,
    spell,
)
from .formula import Box as FBox
from .formula import Dia as FDia
from .logics import Logic
from .nnf import nneg
from .prooftree import (
    AndRule,
    BoxRule,
    Close,
    CloseBot,
    Cut,
    DiaRule,
    Eucl,
    Lemma,
    OrRule,
    Refl,
    Serial,
    Sym,
    Tableau,
    Trans,
    Use,
)
from .sharing import FormulaIds, share, subproofs
from .syntax import to_ascii

# ---------------------------------------------------------------------------
# Rendering to Coq (the shape a certificate must have to be handed to Coq is the gate's:
# `pxl_prover.check.gate`).

_FORM_CTOR = {
    Atom: "Var",
    Top: "FTop",
    Bot: "FBot",
    Not: "Neg",
    And: "Conj",
    Or: "Disj",
    Implies: "Impl",
    Iff: "Equiv",
    FBox: "Box",
    FDia: "Dia",
}
_TAB_CTOR = {
    Close: "TClose",
    CloseBot: "TBot",
    AndRule: "TAnd",
    OrRule: "TOr",
    BoxRule: "TBox",
    DiaRule: "TDia",
    Refl: "TRefl",
    Serial: "TSerial",
    Sym: "TSym",
    Trans: "TTrans",
    Eucl: "TEucl",
    Cut: "TCut",
    Use: "TUse",
}


def _form_term(goal: Formula, numbering: dict[str, int]) -> str:
    """The kernel term of a formula: `Ctor (arg) (arg)`, constants bare."""

    def pieces(node: Formula) -> list[Formula | str]:
        if isinstance(node, Atom):
            return [f"Var {numbering[node.name]}"]
        out: list[Formula | str] = [_FORM_CTOR[type(node)]]
        for child in children(node):
            out += [" ", child] if isinstance(child, Top | Bot) else [" (", child, ")"]
        return out

    return spell(goal, pieces)


def _tab_term(
    tree: Tableau,
    numbering: dict[str, int],
    lemma_index: dict[int, int],
    start: tuple[int, int] = (1, 0),
) -> str:
    """The kernel term of a tableau, absolute indices turned relative (0 = newest).
    `start`: the entries and relations on the branch where it starts; `lemma_index`: the
    position of each lemma (by identity) among those proved before this tableau."""
    out: list[str] = []
    stack: list[tuple[Tableau, int, int] | str] = [(tree, *start)]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            out.append(item)
            continue
        node, entries, rels = item

        def e(index: int, n: int = entries) -> int:
            if not 0 <= index < n:
                raise ValueError(f"entry index {index} out of range ({n} entries)")
            return n - 1 - index

        def r(index: int, n: int = rels) -> int:
            if not 0 <= index < n:
                raise ValueError(f"relation index {index} out of range ({n} relations)")
            return n - 1 - index

        ctor = _TAB_CTOR[type(node)]
        match node:
            case Close(i, j):
                out.append(f"{ctor} {e(i)} {e(j)}")
                continue
            case CloseBot(i):
                out.append(f"{ctor} {e(i)}")
                continue
            case Use(lemma, labels, at_entries, at_relations):
                if id(lemma) not in lemma_index:
                    raise ValueError("a Use of a lemma not proved before it")
                hyps = [e(i) for i in reversed(at_entries)] + [r(k) for k in reversed(at_relations)]
                out.append(
                    f"{ctor} {len(lemma_index) - 1 - lemma_index[id(lemma)]} "
                    f"{_nums(labels)} {_nums(hyps)}"
                )
                continue
            case OrRule(i, left, right):
                out.append(f"{ctor} {e(i)}")
                stack.extend(
                    [")", (right, entries + 1, rels), ") (", (left, entries + 1, rels), " ("]
                )
                continue
            case Cut(w, formula, left, right):
                out.append(f"{ctor} {w} ({_form_term(formula, numbering)})")
                stack.extend(
                    [")", (right, entries + 1, rels), ") (", (left, entries + 1, rels), " ("]
                )
                continue
            case AndRule(i, then):
                args, child = [e(i)], (then, entries + 2, rels)
            case BoxRule(i, k, then):
                args, child = [e(i), r(k)], (then, entries + 1, rels)
            case DiaRule(i, then):
                args, child = [e(i)], (then, entries + 1, rels + 1)
            case Refl(w, then) | Serial(w, then):
                args, child = [w], (then, entries, rels + 1)
            case Sym(k, then):
                args, child = [r(k)], (then, entries, rels + 1)
            case Trans(k1, k2, then) | Eucl(k1, k2, then):
                args, child = [r(k1), r(k2)], (then, entries, rels + 1)
            case _:
                raise TypeError(f"not a tableau rule: {node!r}")
        out.append(" ".join([ctor, *map(str, args)]))
        stack.extend([")", child, " ("])
    return "".join(out)


def _nums(values: list[int] | tuple[int, ...]) -> str:
    """A Coq list of numbers, as the kernel's `P n` (a bare numeral in a list is a nat)."""
    return "[" + "; ".join(f"P {v}" for v in values) + "]"


# Subformulas numbered for `HSub` (the kernel's list is as long as the root formula; past
# this many, formulas are written out).
_MAX_NUMBERED = 1_000_000


class _Hypotheses:
    """How lemmas write their formulas: by number among the root formula's subformulas
    (`HSub`, the kernel's `subforms (nneg goal)`, in preorder) when it is one, else in full."""

    def __init__(self, goal: Formula, numbering: dict[str, int]) -> None:
        self.ids = FormulaIds()
        self.numbering = numbering
        self.number: dict[int, int] = {}
        stack: list[Formula] = [nneg(goal)]
        for position in range(_MAX_NUMBERED):
            if not stack:
                break
            f = stack.pop()
            self.number.setdefault(self.ids.of(f), position)
            stack.extend(reversed(children(f)))

    def entry(self, w: int, f: Formula) -> str:
        k = self.number.get(self.ids.of(f))
        return f"HSub {w} {k}" if k is not None else f"HForm {w} ({_form_term(f, self.numbering)})"


def _lemma_term(lemma: Lemma, hyp: _Hypotheses, lemma_index: dict[int, int]) -> str:
    """`Lem n [hypotheses] (proof)`: hypotheses newest first, as the kernel's branch has them."""
    numbering = hyp.numbering
    hyps = [hyp.entry(w, a) for w, a in reversed(lemma.entries)]
    hyps += [f"HRel {w} {v}" for w, v in reversed(lemma.relations)]
    start = (len(lemma.entries), len(lemma.relations))
    proof = _tab_term(lemma.proof, numbering, lemma_index, start)
    return f"Lem {lemma.labels} [{'; '.join(hyps)}] ({proof})"


def _lemmas_in(tree: Tableau) -> list[Lemma]:
    """The lemmas a tree uses (by identity), each after the lemmas its own proof uses."""
    order: list[Lemma] = []
    seen: set[int] = set()
    stack: list[tuple[bool, Tableau | Lemma]] = [(False, tree)]
    while stack:
        finished, item = stack.pop()
        if finished:
            assert isinstance(item, Lemma)
            order.append(item)
            continue
        if isinstance(item, Use):
            if id(item.lemma) not in seen:
                seen.add(id(item.lemma))
                stack.extend([(True, item.lemma), (False, item.lemma.proof)])
            continue
        stack.extend((False, child) for child in subproofs(item))
    return order


def _comment(text: str) -> str:
    """Text made safe to sit inside a Coq comment."""
    return text.replace("(*", "( *").replace("*)", "* )")


def _numbering(goal: Formula) -> dict[str, int]:
    """Atom numbers by first occurrence: goals equal up to renaming atoms get the same Coq
    text, and only the legend in the header tells the names apart."""
    return {name: index for index, name in enumerate(atoms(goal))}


def header(
    goal: Formula,
    logic: Logic,
    *,
    refutation: bool,
    goal_text: str | None = None,
    numbering: dict[str, int] | None = None,
) -> list[str]:
    """The comment lines naming the goal and its atoms, and the import: everything in a
    certificate before its statement that depends on how the user wrote the goal.
    (`goal_text` and `numbering`, when the caller has them, spare computing them again.)"""
    numbering = _numbering(goal) if numbering is None else numbering
    legend = ", ".join(f"{index} = {name}" for name, index in numbering.items()) or "none"
    shown = goal_text if goal_text is not None else to_ascii(goal)
    if len(shown) > 200:
        shown = shown[:200] + " ..."
    claim = f"not {logic.name}-valid:" if refutation else f"{logic.name}-validity of"
    kind = "refutation" if refutation else "certificate"
    return [
        f"(* PXL {kind}: {claim} {_comment(shown)} *)",
        f"(* atoms: {_comment(legend)} *)",
        IMPORT_REFUTATION if refutation else IMPORT,
        "",
    ]


def statement(
    goal: Formula, logic: Logic, *, refutation: bool, numbering: dict[str, int] | None = None
) -> str:
    """The certificate's theorem: `valid_L goal`, or `~ valid_L goal` for a refutation."""
    negation = "~ " if refutation else ""
    numbering = _numbering(goal) if numbering is None else numbering
    return f"Theorem {THEOREM} : {negation}{logic.coq_name} ({_form_term(goal, numbering)})."


def render(
    goal: Formula,
    logic: Logic,
    tree: Tableau,
    *,
    goal_text: str | None = None,
    shared: bool = True,
    deadline: float | None = None,
) -> str:
    """Coq source stating `valid_<logic> goal` and proving it with the kernel's checker;
    sub-proofs that occur more than once are written once as lemmas (`share`) unless
    `shared` is False. DeadlinePassed if `deadline` passes while `share` looks."""
    if shared:
        tree = share(goal, tree, deadline=deadline)
    numbering = _numbering(goal)
    lemmas = _lemmas_in(tree)
    if lemmas:
        index: dict[int, int] = {}
        hyp = _Hypotheses(goal, numbering)
        written = []
        for lemma in lemmas:
            written.append(_lemma_term(lemma, hyp, index))
            index[id(lemma)] = len(index)
        proof = (
            f"Proof (dag_{logic.name} _ [{(';' + chr(10) + '  ').join(written)}]\n"
            f"  ({_tab_term(tree, numbering, index)})"
        )
    else:
        proof = f"Proof (tableau_{logic.name} _ ({_tab_term(tree, numbering, {})})"
    return "\n".join(
        [
            *header(goal, logic, refutation=False, goal_text=goal_text, numbering=numbering),
            statement(goal, logic, refutation=False, numbering=numbering),
            proof,
            f"  {CAST}).",
            "",
        ]
    )


def render_refutation(
    goal: Formula, logic: Logic, model: Countermodel, *, goal_text: str | None = None
) -> str:
    """Coq source stating `~ valid_<logic> goal`, proved by the kernel's finite-model check
    of `model` (worlds numbered in the model's order; atoms the goal does not mention are
    left out, they cannot change its truth)."""
    numbering = _numbering(goal)
    index = {world: i for i, world in enumerate(model.worlds)}
    worlds = ", ".join(f"{i} = {_comment(world)}" for world, i in index.items())
    pairs = sorted({(index[u], index[v]) for u, v in model.relation})  # by source: the kernel
    edges = "; ".join(f"E {u} {v}" for u, v in pairs)  # reads each world's edges in one run
    facts = "; ".join(
        f"T {index[world]} {numbering[atom]}"
        for world in model.worlds
        for atom in model.true_atoms(world)
        if atom in numbering
    )
    fmodel = f"(mkfmodel {len(model.worlds)} [{edges}] [{facts}])"
    return "\n".join(
        [
            *header(goal, logic, refutation=True, goal_text=goal_text, numbering=numbering),
            statement(goal, logic, refutation=True, numbering=numbering),
            f"(* worlds: {worlds} *)",
            f"Proof (refute_{logic.name} _ {fmodel} {index[model.world]}",
            f"  {CAST}).",
            "",
        ]
    )
