"""Acceptance: reading Coq's answer to a certificate check, strictly.

A session (`pxl_prover.sessions`, untrusted process handling) sends Coq the sentences
the gate admitted and collects what Coq printed after each (a `Transcript`). Only
`judge` decides whether that is an acceptance, and only `undeclared_axioms` whether what
the theorem rests on is allowed: the kernel's declared axioms and nothing else.
Anything not positively recognised is a rejection.

Why "<theorem> is defined" alone says the theorem is the claim sent: the session sends
`Definition <theorem> : <claim> := <proof>.`, and Coq answers that only once it has
declared the constant with the type it read from `<claim>` (the kernel checked `<proof>`
against it). What remains is whether Coq read `<claim>` as we wrote it. A claim is
`[~ ] valid_L t` with `t` built from kernel constructors, numerals and parentheses alone
(`check.gate`; a session sends numerals below 1024 as the kernel's constants for them,
once Coq has proved each equal to its numeral), read in a session whose environment is
the kernel's plus earlier theorems under names no certificate can mention: the same words
always denote the same constants, so Coq reads such a text
the same way every time, piece by piece. `reads_as_written` checks that reading once,
when a session starts, on a claim with every piece a claim can have (`AUDIT_CLAIM`): a
session whose Coq displays it otherwise is not used. (Displaying every claim back would
cost as much as checking it: a second full pass over the statement of a large LWB
certificate.)
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pxl_prover.check.identity import DECLARED_AXIOMS
from pxl_prover.logics import LOGICS


@dataclass(frozen=True, slots=True)
class Transcript:
    """What Coq printed after each sentence of one check, and any proof left open."""

    definition: str
    left_open: str
    assumptions: str | None  # None: not asked (the session knows the lemma's answer)


@dataclass(frozen=True, slots=True)
class Rejected:
    reason: str


# `Check <term>.` answers the term as Coq read it, then its type: `<term>\n     : <type>`.
_CHECKED = re.compile(r"\A\s*(?P<shown>.*\S)\s*\n\s*: (?P<type>\S.*\S|\S)\s*\Z", re.S)
# A claim with every piece a claim can have: negation, each logic's validity, every
# formula constructor, numerals small and large (a session sends it as it sends claims).
_AUDIT_FORMULA = (
    "(Equiv (Conj (Var 0) FTop) (Disj (Neg (Var 1024)) (Impl FBot (Box (Dia (Var 37))))))"
)
AUDIT_CLAIM = " /\\ ".join(
    f"{'~ ' if k % 2 else ''}{logic.coq_name} {_AUDIT_FORMULA}"
    for k, logic in enumerate(LOGICS.values())
)
# Coq's note, the first time a session walks a library's opaque proofs; not part of the answer.
_FETCHING = re.compile(r"<infomsg>\s*Fetching opaque proofs from disk for [\w.]+\s*</infomsg>")
_ASSUMPTION = re.compile(r"([A-Za-z_][\w.']*) : \S")
_ELLIPSIS = "..."  # Coq's `(...)`, once the parentheses around single tokens are dropped
_CLAIM_TOKEN = re.compile(r"[()]|[^\s()]+")
_ATOM_IN_PARENS = re.compile(r"\(\s*([^\s()]+)\s*\)")


def judge(theorem: str, transcript: Transcript) -> tuple[str, ...] | Rejected:
    """Coq's answer to a check, read strictly: the assumptions of the checked theorem (empty
    when not asked) if Coq positively accepted it, else why not. Positive means: exactly
    "<theorem> is defined" after `Definition <theorem> : <claim> := <proof>.`, no proof
    left open, and, when asked, a well-formed `Print Assumptions` answer. Anything else (an
    error, an anomaly, a warning, garbled or missing output) is a rejection."""
    for output in (transcript.definition, transcript.assumptions or ""):
        if "Error" in output or "Anomaly" in output:
            return Rejected(_error_text(output))
    defined = " ".join(transcript.definition.split())
    if defined != f"<infomsg>{theorem} is defined</infomsg>" or transcript.left_open:
        return Rejected(f"Coq did not define the theorem: {_excerpt(transcript.definition)}")
    if transcript.assumptions is None:
        return ()
    named = assumptions_listed(transcript.assumptions)
    if named is None:
        return Rejected(f"unreadable Print Assumptions: {_excerpt(transcript.assumptions)}")
    return named


def reads_as_written(output: str, claim: str) -> bool:
    """Whether Coq's answer to `Check (<claim>).` shows it read the claim as written: the
    claim displayed back token for token (grouping parentheses aside), of type `Prop`."""
    if "Error" in output or "Anomaly" in output or "Warning" in output:
        return False
    checked = _CHECKED.match(output)
    return (
        checked is not None
        and checked.group("type") == "Prop"
        and shows_claim(checked.group("shown"), claim)
    )


def assumptions_listed(output: str) -> tuple[str, ...] | None:
    """The names `Print Assumptions` lists, or None when the output is not of its shape
    (only axioms are expected: any other section, e.g. unsafe flags, is not accepted)."""
    text = _FETCHING.sub("", output).strip()
    if text == "Closed under the global context":
        return ()
    lines = text.splitlines()
    if not lines or lines[0].strip() != "Axioms:":
        return None
    names: list[str] = []
    for line in lines[1:]:
        if not line.strip():
            continue
        if line[0].isspace():  # a long axiom type continues on an indented line
            if not names:
                return None
            continue
        match = _ASSUMPTION.match(line)
        if match is None:
            return None
        names.append(match.group(1))
    return tuple(names) if names else None


def shows_claim(shown: str, claim: str) -> bool:
    """Whether Coq's display of a goal is `claim`: the same tokens, grouping parentheses
    around a single token aside, where Coq may have elided a subterm nested deeper than its
    printing depth as `(...)`. Iterative: claims nest thousands deep."""
    have = _CLAIM_TOKEN.findall(_ATOM_IN_PARENS.sub(r"\1", shown))
    want = _CLAIM_TOKEN.findall(_ATOM_IN_PARENS.sub(r"\1", claim))
    i = 0
    for token in have:
        if i >= len(want):
            return False
        if token != _ELLIPSIS:
            if token != want[i]:
                return False
            i += 1
            continue
        if want[i] != "(":  # an elided single token
            i += 1
            continue
        depth = 0
        while i < len(want):
            depth += {"(": 1, ")": -1}.get(want[i], 0)
            i += 1
            if depth == 0:
                break
        if depth:
            return False
    return i == len(want)


def _excerpt(output: str) -> str:
    return " ".join(output.split())[:300] or "(nothing)"


def _error_text(output: str) -> str:
    """The Coq error message without the echo of the input it came from."""
    start = output.find("Error:")
    text = output[start:] if start >= 0 else output
    return " ".join(text.split())[:2000]


def undeclared_axioms(assumptions: tuple[str, ...]) -> list[str]:
    """The assumptions of a checked theorem that are not the kernel's declared axioms:
    a certificate resting on any of them is not accepted."""
    return sorted(set(assumptions) - DECLARED_AXIOMS)
