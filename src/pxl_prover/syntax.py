"""The PXL goal language (docs/goal-language.md): text to `formula` values, and back to text.

One grammar with many spellings, so that goals from the deployment guide, the LWB
benchmark files and hand-typed Unicode all parse:

    meaning           spellings (words are case-insensitive; `v` is lowercase only)
    atom              A, p0, Good, and ground applications Good(action), R(a, f(b))
    true / false      true ⊤ / false ⊥
    not               ~ ¬ ∼ ! not
    and               /\\ & && ∧ and
    or                \\/ | || ∨ or, and `v` where an operator is expected (LWB)
    implies           -> => → ⟹ ⇒ implies
    iff               <-> <=> ↔ ⩪ ⇔ ⟺ iff
    not-equivalent    ⇎ xor             (read as ~(A <-> B): there is no Xor node)
    necessarily       BOX [] □ NEC
    possibly          DIA DIAMOND <> ◇ ◊ POS

Precedence, tightest first: unary (not, box, dia); and; or; implies; iff and xor.
`and`, `or`, `iff`, `xor` associate to the left, `implies` to the right. A ground
application is one atom named by its text, blanks dropped and commas written ", "
(`Good( action )` is the atom `Good(action)`); its '(' must follow the head without a
space, because `A (B)` is far more often a typo than an atom.

Nothing here recurses on the input's depth: the parser is a shunting-yard over explicit
stacks and the printers and helpers walk explicit stacks. LWB formulas nest ~5,000
deep, far past Python's recursion limit, and no input may become a RecursionError.
(The formula dataclasses' own `==`, `hash` and `repr` do recurse in CPython; compare
printed forms when formulas are thousands of levels deep.)
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from pxl_prover.formula import And, Atom, Bot, Box, Dia, Formula, Iff, Implies, Not, Or, Top


class ParseError(ValueError):
    """A goal that does not parse; `position` is the 0-based character offset of the fault."""

    def __init__(self, message: str, position: int) -> None:
        super().__init__(f"{message} (at position {position})")
        self.message = message
        self.position = position

    def __reduce__(self) -> tuple[type[ParseError], tuple[str, int]]:
        return (type(self), (self.message, self.position))


@dataclass(frozen=True, slots=True)
class Limits:
    """Input bounds, so that no goal can exhaust memory or time before the search starts.

    `max_depth` bounds both parenthesis nesting and the nesting of connectives in the
    result; `max_atoms` counts distinct atom names.
    """

    max_length: int = 1_000_000
    max_depth: int = 10_000
    max_atoms: int = 10_000

    def __post_init__(self) -> None:
        for name in ("max_length", "max_depth", "max_atoms"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"Limits.{name} must be a positive integer, got {value!r}")


DEFAULT_LIMITS = Limits()

# Token kinds. Operands carry their formula; operators their kind and source position.
_NOT, _BOX, _DIA = "not", "box", "dia"
_AND, _OR, _IMPLIES, _IFF, _XOR = "and", "or", "implies", "iff", "xor"
_TRUE, _FALSE, _LPAREN, _RPAREN = "true", "false", "(", ")"

_UNARY = {_NOT: Not, _BOX: Box, _DIA: Dia}
# kind -> (precedence, right associative); higher binds tighter.
_BINARY = {
    _AND: (4, False),
    _OR: (3, False),
    _IMPLIES: (2, True),
    _IFF: (1, False),
    _XOR: (1, False),
}

_SYMBOLS = {
    "~": _NOT, "¬": _NOT, "∼": _NOT, "!": _NOT,
    "/\\": _AND, "&": _AND, "&&": _AND, "∧": _AND,
    "\\/": _OR, "|": _OR, "||": _OR, "∨": _OR,
    "->": _IMPLIES, "=>": _IMPLIES, "→": _IMPLIES, "⟹": _IMPLIES, "⇒": _IMPLIES,
    "<->": _IFF, "<=>": _IFF, "↔": _IFF, "⩪": _IFF, "⇔": _IFF, "⟺": _IFF,
    "⇎": _XOR,
    "[]": _BOX, "□": _BOX,
    "<>": _DIA, "◇": _DIA, "◊": _DIA,
    "⊤": _TRUE, "⊥": _FALSE,
    "(": _LPAREN, ")": _RPAREN,
}  # fmt: skip

# Reserved words, matched case-insensitively (BOX, Box, box, ...).
_WORDS = {
    "not": _NOT, "and": _AND, "or": _OR, "implies": _IMPLIES, "iff": _IFF, "xor": _XOR,
    "true": _TRUE, "false": _FALSE,
    "box": _BOX, "nec": _BOX, "dia": _DIA, "diamond": _DIA, "pos": _DIA,
}  # fmt: skip

# Blanks: Unicode white space except the control characters among it (\v \f \x1c-\x1f \x85).
_BLANK_CLASS = r"[^\S\x0b\x0c\x1c-\x1f\x85]"
_TOKEN = re.compile(  # a token after any blanks
    rf"{_BLANK_CLASS}*(?:(?P<word>[A-Za-z_][A-Za-z0-9_]*)|(?P<sym>"
    + "|".join(re.escape(s) for s in sorted(_SYMBOLS, key=len, reverse=True))
    + "))"
)
_BLANKS = re.compile(rf"{_BLANK_CLASS}*")
_TERM_NAME = re.compile(r"[A-Za-z0-9_]+")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def parse(text: str, limits: Limits | None = None) -> Formula:
    """Read a goal; raises ParseError (with the character position) for anything else."""
    if not isinstance(text, str):
        raise TypeError(f"goal must be a str, not {type(text).__name__}")
    limits = limits or DEFAULT_LIMITS
    if len(text) > limits.max_length:
        raise ParseError(
            f"goal is {len(text)} characters long, over the limit max_length={limits.max_length}",
            limits.max_length,
        )
    return _Parser(text, limits).run()


class _Parser:
    """Shunting-yard over explicit operand and operator stacks: no recursion on depth."""

    def __init__(self, text: str, limits: Limits) -> None:
        self.text = text
        self.limits = limits
        self.operands: list[tuple[Formula, int]] = []  # (formula, connective depth)
        self.ops: list[tuple[str, int]] = []  # (kind, position in text)
        self.atoms: dict[str, Atom] = {}  # interned, in first-occurrence order
        self.paren_depth = 0

    def run(self) -> Formula:
        text, n = self.text, len(self.text)
        expect_operand = True
        after_plain_atom = False
        pos = 0
        while True:
            m = _TOKEN.match(text, pos)
            if m is None:
                pos = _BLANKS.match(text, pos).end()
                if pos >= n:
                    return self._finish(expect_operand)
                raise _bad_character(text, pos)
            group = m.lastgroup
            token = m.group(group)
            start, pos = m.start(group), m.end()
            if group == "word":
                kind = "v" if token == "v" else _WORDS.get(token.lower())
                if kind == "v":
                    kind = None if expect_operand else _OR
            else:
                kind = _SYMBOLS[token]

            if expect_operand:
                if kind is None:
                    is_application = pos < n and text[pos] == "("
                    if is_application:
                        token, pos = _scan_application(text, token, pos, self._depth_room())
                    self._push_atom(token, start)
                    expect_operand, after_plain_atom = False, not is_application
                elif kind in (_TRUE, _FALSE):
                    self.operands.append((Top() if kind == _TRUE else Bot(), 0))
                    expect_operand, after_plain_atom = False, False
                elif kind in _UNARY:
                    self.ops.append((kind, start))
                elif kind == _LPAREN:
                    self.paren_depth += 1
                    if self.paren_depth > self.limits.max_depth:
                        raise ParseError(
                            f"parentheses nest deeper than max_depth={self.limits.max_depth}",
                            start,
                        )
                    self.ops.append((kind, start))
                else:
                    raise ParseError(f"expected a formula, found {_describe(token)}", start)
            elif kind in _BINARY:
                self._push_binary(kind, start)
                expect_operand = True
            elif kind == _RPAREN:
                self._close_paren(start)
                after_plain_atom = False
            else:
                hint = ""
                if kind == _LPAREN and after_plain_atom:
                    hint = " (write an application without a space, e.g. Good(action))"
                raise ParseError(
                    f"expected an operator or ')' after a formula, found {_describe(token)}{hint}",
                    start,
                )

    def _depth_room(self) -> int:
        return self.limits.max_depth - self.paren_depth

    def _push_atom(self, name: str, position: int) -> None:
        atom = self.atoms.get(name)
        if atom is None:
            if len(self.atoms) >= self.limits.max_atoms:
                raise ParseError(
                    f"more than max_atoms={self.limits.max_atoms} distinct atoms", position
                )
            atom = self.atoms[name] = Atom(name)
        self.operands.append((atom, 0))

    def _push_binary(self, kind: str, position: int) -> None:
        precedence, right_assoc = _BINARY[kind]
        ops = self.ops
        while ops:
            top = ops[-1][0]
            if top == _LPAREN:
                break
            if top not in _UNARY:
                top_precedence = _BINARY[top][0]
                if top_precedence < precedence or (top_precedence == precedence and right_assoc):
                    break
            self._reduce()
        ops.append((kind, position))

    def _close_paren(self, position: int) -> None:
        while self.ops and self.ops[-1][0] != _LPAREN:
            self._reduce()
        if not self.ops:
            raise ParseError("unbalanced ')': there is no '(' to close", position)
        self.ops.pop()
        self.paren_depth -= 1

    def _finish(self, expect_operand: bool) -> Formula:
        n = len(self.text)
        if expect_operand:
            if not self.ops:
                raise ParseError("empty goal: expected a formula", 0)
            position = self.ops[-1][1]
            last = _TOKEN.match(self.text, position).group(0)
            raise ParseError(
                f"unexpected end of input: '{last}' at position {position} needs a formula",
                n,
            )
        while self.ops:
            if self.ops[-1][0] == _LPAREN:
                raise ParseError("'(' is never closed", self.ops[-1][1])
            self._reduce()
        (formula, _depth), *rest = self.operands
        assert not rest, "shunting-yard left more than one operand"
        return formula

    def _reduce(self) -> None:
        kind, position = self.ops.pop()
        operands = self.operands
        if kind in _UNARY:
            arg, depth = operands.pop()
            node: Formula = _UNARY[kind](arg)
            depth += 1
        else:
            right, right_depth = operands.pop()
            left, left_depth = operands.pop()
            depth = max(left_depth, right_depth) + 1
            if kind == _XOR:
                node, depth = Not(Iff(left, right)), depth + 1
            else:
                node = _BINARY_NODES[kind](left, right)
        if depth > self.limits.max_depth:
            raise ParseError(
                f"formula nests deeper than max_depth={self.limits.max_depth}", position
            )
        operands.append((node, depth))


_BINARY_NODES = {_AND: And, _OR: Or, _IMPLIES: Implies, _IFF: Iff}


def _scan_application(text: str, head: str, pos: int, depth_room: int) -> tuple[str, int]:
    """Read the ground term `head(...)` whose '(' is at `pos`; iterative, like the parser.

    Returns the atom's canonical name and the position after the closing ')'.
    """
    parts = [head, "("]
    depth, pos, n = 1, pos + 1, len(text)
    where = f"the arguments of {_describe(head)}"
    state = "name"  # what may come next: "name", "after_name" or "after_close"
    while depth:
        pos = _BLANKS.match(text, pos).end()
        if state == "name":
            m = _TERM_NAME.match(text, pos)
            if m is None:
                found = _describe(text[pos]) if pos < n else "end of input"
                raise ParseError(f"expected a name in {where}, found {found}", pos)
            parts.append(m.group())
            pos, state = m.end(), "after_name"
            continue
        ch = text[pos] if pos < n else ""
        if ch == "(" and state == "after_name":
            depth += 1
            if depth > depth_room:
                raise ParseError("application nests deeper than max_depth", pos)
            parts.append("(")
            state = "name"
        elif ch == ",":
            parts.append(", ")
            state = "name"
        elif ch == ")":
            depth -= 1
            parts.append(")")
            state = "after_close"
        else:
            found = _describe(ch) if ch else "end of input"
            raise ParseError(f"expected ',' or ')' in {where}, found {found}", pos)
        pos += 1
    return "".join(parts), pos


def _bad_character(text: str, pos: int) -> ParseError:
    ch = text[pos]
    if unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn") or ch == "\ufffd":
        return ParseError(f"control or non-printable character U+{ord(ch):04X} in goal", pos)
    return ParseError(f"unexpected character {ch!r}", pos)


def _describe(token: str, limit: int = 40) -> str:
    """A token as error messages quote it: control characters by code, long names cut."""
    if unicodedata.category(token[0]).startswith("C"):
        return f"character U+{ord(token[0]):04X}"
    return f"'{token}'" if len(token) <= limit else f"'{token[:limit]}...'"


# ---------------------------------------------------------------- printing


@dataclass(frozen=True, slots=True)
class _Notation:
    top: str
    bot: str
    unary: dict[type, str]
    binary: dict[type, str]


_ASCII = _Notation(
    top="true",
    bot="false",
    unary={Not: "~", Box: "BOX", Dia: "DIA"},
    binary={And: " /\\ ", Or: " \\/ ", Implies: " -> ", Iff: " <-> "},
)
_UNICODE = _Notation(
    top="⊤",
    bot="⊥",
    unary={Not: "¬", Box: "□", Dia: "◇"},
    binary={And: " ∧ ", Or: " ∨ ", Implies: " → ", Iff: " ↔ "},
)
# Printing precedence and associativity: the parser's, by node type.
_PRECEDENCE = {node: _BINARY[kind][0] for kind, node in _BINARY_NODES.items()}
_RIGHT_ASSOC = {node: _BINARY[kind][1] for kind, node in _BINARY_NODES.items()}


def to_ascii(formula: Formula) -> str:
    """ASCII text with the fewest parentheses that parse back to the same formula."""
    return _render(formula, _ASCII)


def to_unicode(formula: Formula) -> str:
    """Unicode text (¬ ∧ ∨ → ↔ □ ◇ ⊤ ⊥) that parses back to the same formula."""
    return _render(formula, _UNICODE)


def _render(formula: Formula, notation: _Notation) -> str:
    out: list[str] = []
    todo: list[Formula | str] = [formula]  # strings are emitted verbatim
    while todo:
        item = todo.pop()
        if isinstance(item, str):
            out.append(item)
        elif isinstance(item, Atom):
            if not is_atom_name(item.name):
                raise ValueError(f"atom name {item.name!r} cannot be written in the goal language")
            out.append(item.name)
        elif isinstance(item, Top):
            out.append(notation.top)
        elif isinstance(item, Bot):
            out.append(notation.bot)
        elif type(item) in notation.unary:
            prefix = notation.unary[type(item)]
            arg = item.arg
            if type(arg) in _PRECEDENCE:
                todo += [")", arg, prefix + "("]
            elif prefix[-1].isalpha():  # a word (BOX) needs a blank before its operand
                todo += [arg, prefix + " "]
            else:
                todo += [arg, prefix]
        elif type(item) in notation.binary:
            kind = type(item)
            todo += _operand(item.right, kind, is_left=False)
            todo.append(notation.binary[kind])
            todo += _operand(item.left, kind, is_left=True)
        else:
            raise TypeError(f"not a formula: {item!r}")
    return "".join(out)


def _operand(child: Formula, parent: type, *, is_left: bool) -> list[Formula | str]:
    """The child as stack items (reversed), parenthesised only where the parser needs it."""
    child_precedence = _PRECEDENCE.get(type(child))
    if child_precedence is None:
        return [child]
    precedence = _PRECEDENCE[parent]
    same_level_needs_parens = _RIGHT_ASSOC[parent] == is_left
    if child_precedence < precedence or (
        child_precedence == precedence and same_level_needs_parens
    ):
        return [")", child, "("]
    return [child]


def is_atom_name(name: str) -> bool:
    """Whether `name` reads back as exactly that atom (an identifier or ground application)."""
    if _IDENTIFIER.fullmatch(name):
        return name == "v" or name.lower() not in _WORDS
    m = _IDENTIFIER.match(name)
    if m is None or m.group().lower() in _WORDS or name[m.end() : m.end() + 1] != "(":
        return False
    try:
        canonical, end = _scan_application(name, m.group(), m.end(), DEFAULT_LIMITS.max_depth)
    except ParseError:
        return False
    return end == len(name) and canonical == name
