"""Acceptance: reading Coq's answer to a certificate check, strictly.

A session (`pxl_prover.sessions`, untrusted process handling) sends Coq the sentences
the gate admitted and collects what Coq printed after each (a `Transcript`). Only
`judge` decides whether that is an acceptance, and only `accept` whether what the
theorem rests on is allowed: the kernel's declared axioms and nothing else.
Anything not positively recognised is a rejection.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pxl_prover.check.identity import DECLARED_AXIOMS


@dataclass(frozen=True, slots=True)
class Transcript:
    """What Coq printed after each sentence of one check, and any proof left open."""

    definition: str
    checked: str  # the answer to `Check <theorem>.`
    left_open: str
    assumptions: str | None  # None: not asked (the session knows the lemma's answer)


@dataclass(frozen=True, slots=True)
class Rejected:
    reason: str


_CHECKED = re.compile(r"\A\s*(?P<name>\S+)\s*\n\s*: (?P<shown>.*\S)\s*\Z", re.S)
# Coq's note, the first time a session walks a library's opaque proofs; not part of the answer.
_FETCHING = re.compile(r"<infomsg>\s*Fetching opaque proofs from disk for [\w.]+\s*</infomsg>")
_ASSUMPTION = re.compile(r"([A-Za-z_][\w.']*) : \S")
_ELLIPSIS = "..."  # Coq's `(...)`, once the parentheses around single tokens are dropped
_CLAIM_TOKEN = re.compile(r"[()]|[^\s()]+")
_ATOM_IN_PARENS = re.compile(r"\(\s*([^\s()]+)\s*\)")


def judge(theorem: str, claim: str, transcript: Transcript) -> tuple[str, ...] | Rejected:
    """Coq's answer to a check, read strictly: the assumptions of the checked theorem (empty
    when not asked) if Coq positively accepted it, else why not. Positive means: exactly
    "<theorem> is defined" after the definition, no proof left open, `Check` displaying
    `theorem` with the type `claim`, and, when asked, a well-formed `Print Assumptions`
    answer. Anything else (an error, an anomaly, a warning, garbled or missing output) is
    a rejection."""
    for output in (transcript.definition, transcript.checked, transcript.assumptions or ""):
        if "Error" in output or "Anomaly" in output:
            return Rejected(_error_text(output))
    defined = " ".join(transcript.definition.split())
    if defined != f"<infomsg>{theorem} is defined</infomsg>" or transcript.left_open:
        return Rejected(f"Coq did not define the theorem: {_excerpt(transcript.definition)}")
    checked = _CHECKED.match(transcript.checked)
    if checked is None or checked.group("name") != theorem:
        return Rejected(f"Coq did not show the theorem: {_excerpt(transcript.checked)}")
    if not shows_claim(checked.group("shown"), claim):
        return Rejected(f"Coq stated another theorem: {_excerpt(checked.group('shown'))}")
    if transcript.assumptions is None:
        return ()
    named = assumptions_listed(transcript.assumptions)
    if named is None:
        return Rejected(f"unreadable Print Assumptions: {_excerpt(transcript.assumptions)}")
    return named


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
