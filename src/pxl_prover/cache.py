"""Result cache: TTL + LRU, shared by goals equal up to renaming atoms and ∧/∨ order.

The key is (kernel hash, logic, canonical form). The canonical form orders the operands of
every ∧/∨ by a name-blind shape digest and then numbers atoms by first occurrence, so
`BOX(B -> B)` and `BOX(A -> A)` share an entry, as do `A & (B | C)` and `(C | B) & A`.

A hit must answer the USER's goal, never a different formula:
  * proofs are served only for a variant that is a pure atom renaming of the stored goal
    (checked on printed forms: formula `==` recurses, and goals nest thousands deep)
    (the certificate numbers atoms by first occurrence, so its Coq statement is identical;
    only its atom legend is rewritten). A ∧/∨-reordered variant is a miss for proofs; its
    own answer is then stored next to the first one.
  * countermodels have their valuation renamed back and are re-confirmed on the user's
    formula by an evaluator that is independent of the search; a failed confirmation is a miss.
`unknown` answers are never stored.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from cachetools import TTLCache

from pxl_prover import certificate
from pxl_prover.answer import PROOF_METHOD, Answer
from pxl_prover.check import evaluator
from pxl_prover.countermodel import Countermodel
from pxl_prover.formula import (
    And,
    Atom,
    Bot,
    Box,
    Dia,
    Formula,
    Iff,
    Implies,
    Not,
    Or,
    Top,
    children,
    spell,
)
from pxl_prover.logics import LOGICS, Logic
from pxl_prover.syntax import to_ascii

MAX_VARIANTS = 4

_TAGS: dict[type, str] = {
    Top: "T",
    Bot: "F",
    Not: "~",
    Box: "[]",
    Dia: "<>",
    And: "&",
    Or: "|",
    Implies: "->",
    Iff: "<->",
}
_COMMUTATIVE = (And, Or)


def _postorder(root: Formula) -> list[Formula]:
    """Every distinct subformula, children before parents, without recursion."""
    order: list[Formula] = []
    seen: set[int] = set()
    stack: list[tuple[Formula, bool]] = [(root, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.append((node, True))
        stack.extend((c, False) for c in reversed(children(node)))
    return order


def _digest(*parts: bytes) -> bytes:
    return hashlib.blake2b(b"\x00".join(parts), digest_size=16).digest()


def _atom_colours(root: Formula) -> dict[str, bytes]:
    """A name-blind signature per atom: the multiset of paths (from the root) at which it
    occurs, with ∧/∨ operand positions not distinguished. It tells atoms apart so that
    operands of equal shape, like `p | q` in `BOX(p | q) -> BOX p`, still order canonically.
    """
    paths: dict[str, list[bytes]] = {}
    stack: list[tuple[Formula, bytes]] = [(root, b"root")]
    while stack:
        node, path = stack.pop()
        if isinstance(node, Atom):
            paths.setdefault(node.name, []).append(path)
            continue
        tag = _TAGS[type(node)].encode()
        for index, child in enumerate(children(node)):
            position = b"c" if isinstance(node, _COMMUTATIVE) else str(index).encode()
            stack.append((child, _digest(path, tag, position)))
    return {name: _digest(b"atom", *sorted(found)) for name, found in paths.items()}


def _shapes(root: Formula) -> dict[int, bytes]:
    """Name-blind digest of every subformula, invariant under ∧/∨ operand order."""
    colours = _atom_colours(root)
    shape: dict[int, bytes] = {}
    for node in _postorder(root):
        if isinstance(node, Atom):
            shape[id(node)] = colours[node.name]
            continue
        kids = [shape[id(c)] for c in children(node)]
        if isinstance(node, _COMMUTATIVE):
            kids.sort()
        shape[id(node)] = _digest(_TAGS[type(node)].encode(), *kids)
    return shape


@dataclass(frozen=True, slots=True)
class Canonical:
    """A goal's cache identity: `text` names atoms #0, #1, ... in `atoms` order."""

    text: str
    atoms: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Slot:
    """A goal's place in the cache: the store's key and the canonical form it came from."""

    key: tuple[str, str, str]
    formula: Formula
    canon: Canonical


def canonical(formula: Formula) -> Canonical:
    """Reorder ∧/∨ operands by shape, then number atoms by first occurrence (left to right)."""
    shape = _shapes(formula)
    numbering: dict[str, int] = {}

    def pieces(node: Formula) -> list[Formula | str]:
        if isinstance(node, Atom):
            return [f"#{numbering.setdefault(node.name, len(numbering))}"]
        kids = list(children(node))
        if not kids:
            return [_TAGS[type(node)]]
        if isinstance(node, _COMMUTATIVE) and shape[id(kids[0])] > shape[id(kids[1])]:
            kids.reverse()
        out: list[Formula | str] = [_TAGS[type(node)], "("]
        for i, kid in enumerate(kids):
            out += [",", kid] if i else [kid]
        return [*out, ")"]

    text = spell(formula, pieces)
    return Canonical(text, tuple(numbering))


def rename(formula: Formula, mapping: dict[str, str]) -> Formula:
    """The formula with atoms renamed by `mapping` (same shape, same operand order)."""
    built: dict[int, Formula] = {}
    for node in _postorder(formula):
        if isinstance(node, Atom):
            built[id(node)] = Atom(mapping.get(node.name, node.name))
        else:
            built[id(node)] = type(node)(*(built[id(child)] for child in children(node)))
    return built[id(formula)]


@dataclass(frozen=True, slots=True)
class _Variant:
    formula: Formula
    text: str
    atoms: tuple[str, ...]
    answer: Answer


ConfirmCountermodel = Callable[[Countermodel, Formula, Logic], bool]
RelabelCertificate = Callable[[str, Formula, Logic], "str | None"]


def confirm_countermodel(model: Countermodel, formula: Formula, logic: Logic) -> bool:
    """Independent re-confirmation of a (renamed) countermodel on the user's formula."""
    try:
        return evaluator.confirm(model, formula, logic)
    except (ValueError, KeyError, TypeError):
        return False


def relabel_certificate(source: str, formula: Formula, logic: Logic) -> str | None:
    """The cached certificate (a proof or a refutation) with its header naming the user's
    goal and atoms, or None unless its Coq statement is exactly the one `certificate` gives
    `formula`. Header and statement formats are defined once, in `certificate`."""
    lines = source.split("\n")
    refutation = certificate.IMPORT_REFUTATION in lines
    start = certificate.IMPORT_REFUTATION if refutation else certificate.IMPORT
    if start not in lines:
        return None
    body = lines[lines.index(start) + 1 :]
    wanted = certificate.statement(formula, logic, refutation=refutation)
    if [line for line in body if line.startswith("Theorem ")] != [wanted]:
        return None
    header = certificate.header(formula, logic, refutation=refutation)
    return "\n".join([*header[:-1], *body])


def _storable(answer: Answer) -> bool:
    return answer.verified


def _kept(answer: Answer) -> Answer:
    """The answer without what belongs to the request that produced it."""
    return replace(answer, id=None, latency_ms=None, cache_hit=None, timings_ms=None)


def relabelled(stored: Answer, mapping: dict[str, str], certificate: str | None) -> Answer:
    """A stored answer for the user's goal: atoms renamed by `mapping` in its countermodel,
    `certificate` (the relabelled one, or None if it cannot be served) in place of the
    stored one. A proof needs its certificate; a refutation without one stands on the
    evaluator's check alone. The one place a cached answer is adapted: a new value."""
    if certificate is not None or stored.certificate is None:
        answer = replace(stored, certificate=certificate or stored.certificate)
    else:
        answer = replace(
            stored,
            certificate=None,
            assumptions=None,
            proof_method=PROOF_METHOD["refuted_evaluator"],
        )
    model = answer.countermodel
    if model is None:
        return answer
    valuation = {
        world: tuple(sorted(mapping[a] for a in model.true_atoms(world) if a in mapping))
        for world in model.worlds
    }
    return replace(
        answer, countermodel=Countermodel(model.worlds, model.relation, valuation, model.world)
    )


class ProofCache:
    """Thread-safe TTL + LRU store of verified answers; see the module docstring for hits."""

    def __init__(
        self,
        maxsize: int,
        ttl_s: float,
        *,
        confirm_countermodel: ConfirmCountermodel = confirm_countermodel,
        relabel_certificate: RelabelCertificate = relabel_certificate,
        timer: Callable[[], float] = time.monotonic,
    ) -> None:
        self.maxsize = maxsize
        self._store: TTLCache | None = (
            TTLCache(maxsize=maxsize, ttl=ttl_s, timer=timer) if maxsize > 0 else None
        )
        # Answers exactly as served, keyed by the goal's text: a repeat of the same text is
        # the same formula, so it needs no parse, canonical form or renaming.
        self._exact: TTLCache | None = (
            TTLCache(maxsize=maxsize, ttl=ttl_s, timer=timer) if maxsize > 0 else None
        )
        self._lock = threading.Lock()
        self._confirm = confirm_countermodel
        self._relabel = relabel_certificate

    def __len__(self) -> int:
        with self._lock:
            return 0 if self._store is None else len(self._store)  # distinct canonical forms

    def get_exact(self, kernel_hash: str, logic: str, goal: str) -> Answer | None:
        """The answer served before for this very goal text, or None."""
        if self._exact is None:
            return None
        with self._lock:
            return self._exact.get((kernel_hash, logic, goal))

    def put_exact(self, kernel_hash: str, logic: str, goal: str, answer: Answer) -> None:
        """Remember a verified answer as served for `goal`; per-request fields are dropped."""
        if self._exact is None or not _storable(answer):
            return
        with self._lock:
            self._exact[(kernel_hash, logic, goal)] = _kept(answer)

    def slot(self, kernel_hash: str, logic: str, formula: Formula) -> Slot | None:
        """Where `formula`'s answers live (None: the cache is off): its canonical form, made
        once per request for the lookup and, after a miss, the store."""
        if self._store is None:
            return None
        canon = canonical(formula)
        return Slot((kernel_hash, logic, canon.text), formula, canon)

    def get(self, slot: Slot | None) -> Answer | None:
        """An answer for the slot's formula (atoms named as the user named them), or None."""
        if slot is None or self._store is None:
            return None
        with self._lock:
            variants: tuple[_Variant, ...] = self._store.get(slot.key, ())
        for variant in variants:
            answer = self._adapt(variant, slot.formula, slot.canon)
            if answer is not None:
                return answer
        return None

    def put(self, slot: Slot | None, answer: Answer) -> None:
        """Store a verified proved/refuted answer; anything else is ignored."""
        if slot is None or self._store is None or not _storable(answer):
            return
        formula, atoms = slot.formula, slot.canon.atoms
        variant = _Variant(formula, to_ascii(formula), atoms, _kept(answer))
        with self._lock:
            old = tuple(v for v in self._store.get(slot.key, ()) if v.text != variant.text)
            self._store[slot.key] = (variant, *old)[:MAX_VARIANTS]

    def _adapt(self, variant: _Variant, formula: Formula, canon: Canonical) -> Answer | None:
        stored = variant.answer
        mapping = dict(zip(variant.atoms, canon.atoms, strict=True))
        logic = LOGICS[stored.logic]  # stored answers name their logic canonically
        certificate = None
        if stored.certificate is not None:  # a proof, or a countermodel Coq checked too
            renamed = to_ascii(rename(variant.formula, mapping)) == to_ascii(formula)
            certificate = renamed and self._relabel(stored.certificate, formula, logic) or None
            if certificate is None and stored.verdict == "proved":
                return None
        answer = relabelled(stored, mapping, certificate)
        if answer.countermodel is not None and not self._confirm(
            answer.countermodel, formula, logic
        ):
            return None
        return answer
