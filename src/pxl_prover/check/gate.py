"""The certificate gate: the only shapes of Coq text PXL hands to Coq.

A certificate is rendered by untrusted code (`pxl_prover.certificate`) from a tree the
untrusted search built. Before Coq sees it, `read` takes it apart and refuses anything
but exactly three sentences: the kernel import, `Theorem pxl_goal : [~] valid_L t.` and
`Proof (tableau_L _ t' <VM cast>).` (or `dag_L _ ls t'`, a proof with lemmas, or
`refute_L`), with `t`, `t'`, `ls` built from kernel constructors, numerals and lists alone.
So no certificate can define, import, or assume anything: what a checked theorem rests on
is what its kernel lemma rests on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pxl_prover.logics import LOGICS

THEOREM = "pxl_goal"
IMPORT = "From PXL Require Import Tableau."
IMPORT_REFUTATION = "From PXL Require Import Countermodel."
CAST = "ltac:(vm_cast_no_check (eq_refl true))"

# Identifiers a certificate's terms may contain: the kernel's constructors, nothing else.
# With this, what a proof rests on is exactly what its `tableau_<logic>` (or, for a
# refutation, `refute_<logic>`) lemma rests on.
# (Formulas: Var .. Dia; tableau rules: TClose .. TUse; lemmas: Lem, HForm, HRel, HSub and
# the number P; finite models: mkfmodel, E, T.)
TERM_IDENTIFIERS = frozenset(
    {
        *("Var", "FTop", "FBot", "Neg", "Conj", "Disj", "Impl", "Equiv", "Box", "Dia"),
        *("TClose", "TBot", "TAnd", "TOr", "TBox", "TDia", "TRefl", "TSerial", "TSym"),
        *("TTrans", "TEucl", "TCut", "TUse", "Lem", "HForm", "HRel", "HSub"),
        *("P", "mkfmodel", "E", "T"),
    }
)
# The lemma a certificate may apply, by what its theorem claims.
PROOF_LEMMAS = ("tableau", "dag")
REFUTATION_LEMMAS = ("refute",)
_LOGIC_NAMES = "|".join(LOGICS)
_STATEMENT = re.compile(rf"^Theorem (\w+) : (~ )?valid_({_LOGIC_NAMES}) (.+)$", re.S)
_PROOF = re.compile(
    rf"^Proof \((tableau|dag|refute)_({_LOGIC_NAMES}) _ (.+) {re.escape(CAST)}\)$", re.S
)
_TERM_TOKENS = re.compile(r"[A-Za-z_][A-Za-z0-9_']*|\d+|[()\[\];]|\s+|.", re.S)


class CertificateFormatError(ValueError):
    """The text is not a certificate of the shape PXL produces and checks."""


@dataclass(frozen=True, slots=True)
class Shape:
    """A certificate read back: its logic, the lemma it applies, its Coq sentences, the
    claim its theorem states (`valid_L ...` or `~ valid_L ...`) and its proof term."""

    logic: str
    lemma: str
    sentences: tuple[str, ...]
    claim: str
    proof: str


def _closed_term(term: str) -> bool:
    """True when a term mentions nothing but kernel constructors, numerals and lists."""
    depth = 0
    for token in _TERM_TOKENS.findall(term):
        if token.isspace() or token.isdigit() or token in "[];":
            continue
        if token == "(":
            depth += 1
        elif token == ")":
            depth -= 1
            if depth < 0:
                return False
        elif token not in TERM_IDENTIFIERS:
            return False
    return depth == 0


def read(source: str, theorem: str = THEOREM) -> Shape:
    """Read a certificate back into Coq sentences, refusing anything but PXL's own shapes:
    `From PXL Require Import Tableau.`, `Theorem <theorem> : valid_L <closed term>.` and
    `Proof (tableau_L _ <closed term> <the VM cast>).` (or `dag_L _ <closed terms>`) for a
    proof; the same with `Countermodel`, `~ valid_L` and `refute_L` for a refutation.
    (`Proof term.` is Coq's abbreviation for `Proof. exact term. Qed.`: the kernel checks
    it, casts included.)"""
    body = re.sub(r"\(\*.*?\*\)", " ", source, flags=re.S)
    parts = [" ".join(p.split()) for p in re.split(r"\.(?=\s|$)", body)]
    parts = [p for p in parts if p]
    if len(parts) != 3:
        raise CertificateFormatError("a certificate is: the import, the theorem, its proof term")
    statement = _STATEMENT.match(parts[1])
    applied = _PROOF.match(parts[2])
    if statement is None or statement.group(1) != theorem:
        raise CertificateFormatError(
            f"the certificate must state `Theorem {theorem} : valid_L ...` or `~ valid_L ...`"
        )
    refutation = statement.group(2) is not None
    kinds = REFUTATION_LEMMAS if refutation else PROOF_LEMMAS
    if parts[0] + "." != (IMPORT_REFUTATION if refutation else IMPORT):
        raise CertificateFormatError("the certificate imports the wrong kernel module")
    if applied is None or applied.group(1) not in kinds or applied.group(2) != statement.group(3):
        raise CertificateFormatError(
            f"the proof must be the {' or '.join(kinds)} lemma of the theorem's logic"
            " with the VM cast"
        )
    lemma_kind = applied.group(1)
    if not (_closed_term(statement.group(4)) and _closed_term(applied.group(3))):
        raise CertificateFormatError("certificate terms may contain only kernel constructors")
    logic = statement.group(3)
    claim = parts[1].split(" : ", 1)[1]
    proof = parts[2].removeprefix("Proof ")
    return Shape(logic, f"{lemma_kind}_{logic}", tuple(p + "." for p in parts[1:]), claim, proof)
