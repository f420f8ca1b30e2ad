"""The reasoners a user could pick instead of PXL, run on the same LWB goals.

Konclude (Debian `konclude`) and FaCT++ (Debian `fact++`) decide ALC concept
satisfiability, not modal validity, so a goal goes through the standard translation:
the negation normal form of `~goal` becomes a concept with one role `r`, `box A` ->
`all r.A`, `dia A` -> `some r.A`; KT makes `r` reflexive, S4 reflexive and transitive.
The goal is valid iff that concept is unsatisfiable. Neither reasoner gives a proof or
a countermodel: their answers are taken as they come.

The negation normal form is a DAG (an equivalence uses both polarities of its sides);
a node with several parents is written once, as a named class defined by an
equivalence axiom (an acyclic definition, so satisfiability is unchanged), instead of
being copied into every parent, which would grow exponentially on nested `<->`.
Nothing here recurses on a goal's depth: LWB goals nest thousands of levels.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pxl_prover.formula import And, Atom, Bot, Box, Dia, Formula, Not, Or, Top, children, spell
from pxl_prover.nnf import nneg
from pxl_prover.syntax import parse

Verdict = Literal["proved", "refuted", "unknown"]
FRAME = {"k": (), "kt": ("reflexive",), "s4": ("reflexive", "transitive")}
KONCLUDE_CONFIG = Path("/usr/share/doc/konclude/examples/Configs/default-config.xml")
NS = "http://pxl.example/lwb#"
OWL = "http://www.w3.org/2002/07/owl#"
GOAL = "Goal"


@dataclass(frozen=True, slots=True)
class Answer:
    verdict: Verdict
    seconds: float
    note: str = ""


def _shared(root: Formula) -> tuple[dict[int, str], dict[int, str]]:
    """Names for the atoms, and for the compound nodes reached from more than one parent,
    the latter children first (a definition only refers to names defined before it)."""
    parents: dict[int, int] = {}
    atoms: dict[int, str] = {}
    names: dict[str, str] = {}
    order: list[int] = []
    stack: list[tuple[Formula, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        if done:
            order.append(id(node))
            continue
        seen = id(node) in parents
        parents[id(node)] = parents.get(id(node), 0) + 1
        if seen:
            continue
        if isinstance(node, Atom):
            atoms[id(node)] = names.setdefault(node.name, f"a{len(names)}")
        stack.append((node, True))
        stack.extend((child, False) for child in children(node))
    shared = [key for key in order if parents[key] > 1 and key not in atoms]
    return atoms, {key: f"d{n}" for n, key in enumerate(shared)}


@dataclass(frozen=True, slots=True)
class _Syntax:
    """How one reasoner's input language spells the ALC constructors."""

    name: Callable[[str], str]
    top: str
    bottom: str
    open_: dict[type, str]
    close: dict[type, str]
    sep: str


def _write(root: Formula, syntax: _Syntax) -> tuple[str, list[tuple[str, str]]]:
    """The concept for `root` as text, and the definitions of the shared nodes it refers
    to, each as (name, text)."""
    atoms, defined = _shared(root)
    by_id: dict[int, Formula] = {}
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) not in by_id:
            by_id[id(node)] = node
            stack.extend(children(node))

    def text(top: Formula) -> str:
        def pieces(item: Formula) -> list[Formula | str]:
            if id(item) in atoms:
                return [syntax.name(atoms[id(item)])]
            if item is not top and id(item) in defined:
                return [syntax.name(defined[id(item)])]
            if isinstance(item, Top):
                return [syntax.top]
            if isinstance(item, Bot):
                return [syntax.bottom]
            out: list[Formula | str] = [syntax.open_[type(item)]]
            for child in children(item):
                out += [syntax.sep, child]
            return [*out, syntax.sep, syntax.close[type(item)]]

        return spell(top, pieces)

    definitions = [(name, text(by_id[key])) for key, name in defined.items()]
    return text(root), definitions


def _owl_name(name: str) -> str:
    return f'<Class IRI="{NS}{name}"/>'


_ROLE = f'<ObjectProperty IRI="{NS}r"/>'
_OWL_XML = _Syntax(
    name=_owl_name,
    top=f'<Class IRI="{OWL}Thing"/>',
    bottom=f'<Class IRI="{OWL}Nothing"/>',
    open_={
        Not: "<ObjectComplementOf>",
        And: "<ObjectIntersectionOf>",
        Or: "<ObjectUnionOf>",
        Box: f"<ObjectAllValuesFrom>{_ROLE}",
        Dia: f"<ObjectSomeValuesFrom>{_ROLE}",
    },
    close={
        Not: "</ObjectComplementOf>",
        And: "</ObjectIntersectionOf>",
        Or: "</ObjectUnionOf>",
        Box: "</ObjectAllValuesFrom>",
        Dia: "</ObjectSomeValuesFrom>",
    },
    sep="",
)
_LISP = _Syntax(
    name=lambda name: name,
    top="*TOP*",
    bottom="*BOTTOM*",
    open_={Not: "(not", And: "(and", Or: "(or", Box: "(all r", Dia: "(some r"},
    close={Not: ")", And: ")", Or: ")", Box: ")", Dia: ")"},
    sep=" ",
)


def concept(goal: str) -> Formula:
    """The concept that is unsatisfiable iff `goal` is valid: `~goal` in NNF."""
    return nneg(parse(goal))


def owl_xml(goal: str, logic: str) -> str:
    """An OWL 2 XML ontology whose class `Goal` is unsatisfiable iff `goal` is valid."""
    root = concept(goal)
    body, definitions = _write(root, _OWL_XML)
    atoms, _ = _shared(root)
    names = sorted(set(atoms.values())) + [name for name, _ in definitions]
    lines = [
        '<?xml version="1.0"?>',
        f'<Ontology xmlns="{OWL}" ontologyIRI="{NS[:-1]}">',
        f"<Declaration>{_ROLE}</Declaration>",
        f"<Declaration>{_owl_name(GOAL)}</Declaration>",
    ]
    lines += [f"<Declaration>{_owl_name(name)}</Declaration>" for name in names]
    for prop in FRAME[logic]:
        tag = prop.capitalize() + "ObjectProperty"
        lines.append(f"<{tag}>{_ROLE}</{tag}>")
    for name, text in [(GOAL, body), *definitions]:
        lines.append(f"<EquivalentClasses>{_owl_name(name)}{text}</EquivalentClasses>")
    lines.append("</Ontology>")
    return "\n".join(lines) + "\n"


def fact_lisp(goal: str, logic: str) -> str:
    """A FaCT++ (lisp syntax) TBox whose concept `Goal` is unsatisfiable iff `goal` is valid."""
    root = concept(goal)
    body, definitions = _write(root, _LISP)
    atoms, _ = _shared(root)
    lines = ["(defprimrole r)"]
    lines += [f"({prop} r)" for prop in FRAME[logic]]
    lines += [f"(defprimconcept {name})" for name in sorted(set(atoms.values()))]
    for name, text in [*definitions, (GOAL, body)]:
        lines.append(f"(equal_c {name} {text})")
    return "\n".join(lines) + "\n"


def _run(cmd: list[str], cwd: str, limit_s: float) -> tuple[str, float, bool]:
    """Run a reasoner in its own process group, killed (the group) at the time limit."""
    started = time.monotonic()
    proc = subprocess.Popen(
        cmd,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
        start_new_session=True,
    )
    try:
        out, _ = proc.communicate(timeout=limit_s)
        return out, time.monotonic() - started, False
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        return "", time.monotonic() - started, True


def _verdict(sat: bool | None) -> Verdict:
    return "unknown" if sat is None else ("refuted" if sat else "proved")


def konclude(goal: str, logic: str, limit_s: float) -> Answer:
    """Konclude on the OWL/XML translation. It needs its default configuration file (it
    waits forever without one) and two worker threads (`-w 1` hangs in precomputation)."""
    with tempfile.TemporaryDirectory(prefix="pxl-konclude-") as tmp:
        Path(tmp, "goal.owl.xml").write_text(owl_xml(goal, logic))
        cmd = ["Konclude", "satisfiability", "-c", str(KONCLUDE_CONFIG), "-w", "2"]
        cmd += ["-i", "goal.owl.xml", "-x", NS + GOAL]
        out, seconds, timed_out = _run(cmd, tmp, limit_s)
    if timed_out:
        return Answer("unknown", seconds, "time")
    sat = None
    if "is not satisfiable" in out:
        sat = False
    elif "is satisfiable" in out:
        sat = True
    return Answer(_verdict(sat), seconds, "" if sat is not None else _last_line(out))


def factpp(goal: str, logic: str, limit_s: float) -> Answer:
    """FaCT++ on the lisp-syntax translation, through its configuration-file front end."""
    with tempfile.TemporaryDirectory(prefix="pxl-factpp-") as tmp:
        Path(tmp, "goal.tbox").write_text(fact_lisp(goal, logic))
        Path(tmp, "goal.conf").write_text(f"[Tuning]\n[Query]\nTBox = goal.tbox\nTarget = {GOAL}\n")
        out, seconds, timed_out = _run(["FaCT++", "goal.conf", "goal.res"], tmp, limit_s)
    if timed_out:
        return Answer("unknown", seconds, "time")
    sat = None
    if f"'{GOAL}' concept is unsatisfiable" in out:
        sat = False
    elif f"'{GOAL}' concept is satisfiable" in out:
        sat = True
    return Answer(_verdict(sat), seconds, "" if sat is not None else _last_line(out))


def _last_line(out: str) -> str:
    lines = [line.strip() for line in out.splitlines() if line.strip()]
    return (lines[-1] if lines else "no output (crashed?)")[:60]


PEERS: dict[str, tuple[str, Callable[[str, str, float], Answer]]] = {
    "konclude": ("Konclude", konclude),
    "fact++": ("FaCT++", factpp),
}


def available() -> Iterator[tuple[str, Callable[[str, str, float], Answer]]]:
    """The peers installed here, by name; a missing one is left out."""
    for name, (binary, decide) in PEERS.items():
        if shutil.which(binary) is not None:
            if name == "konclude" and not KONCLUDE_CONFIG.exists():
                continue
            yield name, decide
