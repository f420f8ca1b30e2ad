"""`pxl`, the user's command line, and `pxl-prover`, the server's entry point.

Each `pxl` subcommand is one `add_<name>(subcommands)` function that declares its
arguments and sets `run` to a function `(args) -> exit status`. To add a subcommand,
write that function and list it in `SUBCOMMANDS`; nothing else here changes.

Exit statuses: 0 success, 1 the command failed (e.g. a missing folder), 2 the input
was wrong (argparse's usage errors and goals that do not parse).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from pxl_prover import __version__, kernel, logics, syntax
from pxl_prover.client import RemoteProver, ServerError
from pxl_prover.formula import Formula, atoms, depth, size

Subcommands = Any  # argparse's `_SubParsersAction`, whose type argparse keeps private
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2


# ---------------------------------------------------------------- pxl parse


def add_parse(subcommands: Subcommands) -> None:
    command = subcommands.add_parser(
        "parse",
        help="show how a goal is read",
        description="Parse a goal and show how it was read: its ASCII and Unicode forms "
        "(fully determined by precedence, with the fewest parentheses), atoms, depth and size.",
    )
    command.add_argument("goal", help="the goal, e.g. 'BOX(A -> A)'; '-' reads it from stdin")
    form = command.add_mutually_exclusive_group()
    form.add_argument("--ascii", action="store_true", help="print only the ASCII form")
    form.add_argument("--unicode", action="store_true", help="print only the Unicode form")
    form.add_argument("--json", action="store_true", help="print the reading as a JSON object")
    command.set_defaults(run=run_parse)


def run_parse(args: argparse.Namespace) -> int:
    goal = sys.stdin.read() if args.goal == "-" else args.goal
    try:
        formula = syntax.parse(goal)
    except syntax.ParseError as error:
        return report_parse_error(goal, error, as_json=args.json)
    reading = describe_formula(formula)
    if args.ascii or args.unicode:
        print(reading["unicode" if args.unicode else "ascii"])
    elif args.json:
        _print_json(reading)
    else:
        for key, value in reading.items():
            shown = ", ".join(value) if isinstance(value, list) else value
            print(f"{key:<8} {shown}")
    return 0


def describe_formula(formula: Formula) -> dict[str, Any]:
    """How a goal was read, as shown by `pxl parse`."""
    return {
        "ascii": syntax.to_ascii(formula),
        "unicode": syntax.to_unicode(formula),
        "atoms": atoms(formula),
        "depth": depth(formula),
        "size": size(formula),
    }


def report_parse_error(goal: str, error: syntax.ParseError, *, as_json: bool) -> int:
    """Show why a goal does not parse (JSON on stdout, or a caret on stderr); exit status 2."""
    if as_json:
        _print_json({"error": parse_error_body(error)})
    else:
        print(f"pxl: parse error: {error.message}", file=sys.stderr)
        print(caret_excerpt(goal, error.position), file=sys.stderr)
    return EXIT_BAD_INPUT


def parse_error_body(error: syntax.ParseError) -> dict[str, Any]:
    """The `error` object of docs/goal-language.md for a goal that does not parse."""
    return {"code": "parse_error", "message": error.message, "position": error.position}


def caret_excerpt(text: str, position: int, width: int = 72) -> str:
    """The line of `text` holding `position`, with a caret under it (long lines are cut)."""
    start = text.rfind("\n", 0, position) + 1
    end = text.find("\n", position)
    line = text[start : end if end >= 0 else len(text)]
    column = position - start
    first = max(0, min(column - width // 2, len(line) - width))
    shown = "".join(ch if ch.isprintable() else " " for ch in line[first : first + width])
    prefix = "..." if first > 0 else ""
    suffix = "..." if first + width < len(line) else ""
    location = f"line {text.count(chr(10), 0, start) + 1}, " if "\n" in text else ""
    return (
        f"  {prefix}{shown}{suffix}\n"
        f"  {' ' * (len(prefix) + column - first)}^ ({location}position {position})"
    )


# ---------------------------------------------------------------- pxl kernel-hash


def add_kernel_hash(subcommands: Subcommands) -> None:
    command = subcommands.add_parser(
        "kernel-hash",
        help="print the hash of a kernel folder",
        description="Print the kernel hash (docs/kernel.md) of a folder of Coq .v files: the value "
        "the prover reports and the operator rolls pods on.",
    )
    command.add_argument(
        "directory",
        nargs="?",
        type=Path,
        help="kernel folder (default: $PXL_KERNEL_DIR, else the built-in kernel)",
    )
    command.set_defaults(run=run_kernel_hash)


def run_kernel_hash(args: argparse.Namespace) -> int:
    folder = args.directory if args.directory is not None else kernel.default_kernel_dir()
    if not folder.is_dir():
        print(f"pxl: kernel folder not found: {folder}", file=sys.stderr)
        return EXIT_FAILED
    if not kernel.kernel_files(folder):
        print(f"pxl: no .v files in kernel folder {folder}", file=sys.stderr)
        return EXIT_FAILED
    print(kernel.kernel_hash(folder))
    return 0


# ---------------------------------------------------------------- pxl prove


def add_prove(subcommands: Subcommands) -> None:
    command = subcommands.add_parser(
        "prove",
        help="decide a goal: a Coq-checked proof or a checked countermodel",
        description="Decide a goal in a modal logic without a server: the search runs here, "
        "and its certificate is checked by a Coq session with the kernel loaded. Exit status: "
        "0 proved, 1 refuted, 3 unknown (a limit was reached), 2 bad input.",
    )
    command.add_argument("goal", nargs="?", help="the goal, e.g. 'BOX(A -> A)'")
    command.add_argument("-f", "--file", type=Path, help="decide every goal in FILE (one a line)")
    command.add_argument("--logic", default=None, help=logics.described())
    command.add_argument("--timeout", type=int, default=None, metavar="MS", help="time limit")
    command.add_argument("--json", action="store_true", help="print the answer object as JSON")
    command.add_argument("--certificate", action="store_true", help="print the Coq certificate")
    command.add_argument("--server", metavar="URL", help="ask a running server (pxl-prover serve)")
    command.add_argument(
        "--hmac-secret", metavar="KEY", help="sign requests to --server (default $PXL_HMAC_SECRET)"
    )
    command.set_defaults(run=run_prove)


VERDICT_STATUS = {"proved": 0, "refuted": 1, "unknown": 3}
LOCAL_WAIT_S = 120.0


def run_prove(args: argparse.Namespace) -> int:
    if (args.goal is None) == (args.file is None):
        print("pxl prove: give a goal or -f FILE (not both)", file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        logics.get_logic(args.logic)
    except logics.UnknownLogic as error:
        print(f"pxl prove: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if args.file is not None:
        return _prove_file(args)
    with prover_for(args) as prover:
        try:
            answer = prover.prove(args.goal, args.logic, args.timeout)
        except syntax.ParseError as error:
            return report_parse_error(args.goal, error, as_json=args.json)
        except ValueError as error:
            print(f"pxl prove: {error}", file=sys.stderr)
            return EXIT_BAD_INPUT
        except ServerError as error:
            print(f"pxl prove: the server answered {error}", file=sys.stderr)
            return EXIT_FAILED
    if args.json:
        _print_json(answer)
    else:
        print(describe_answer(answer, show_certificate=args.certificate))
    return VERDICT_STATUS[answer["verdict"]]


def _prove_file(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    try:
        lines = args.file.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        print(f"pxl prove: cannot read {args.file}: {error}", file=sys.stderr)
        return EXIT_FAILED
    goals = [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]
    worst = 0
    with prover_for(args) as prover:
        for goal in tqdm(goals, desc="proving", unit="goal", file=sys.stderr):
            try:
                answer = prover.prove(goal, args.logic, args.timeout)
            except syntax.ParseError as error:
                answer = {"goal": goal, "error": parse_error_body(error)}
            except ValueError as error:
                answer = {"goal": goal, "error": {"code": "bad_request", "message": str(error)}}
            except ServerError as error:
                answer = {"goal": goal, "error": {"code": error.code, "message": error.message}}
            print(json.dumps(answer, ensure_ascii=False), flush=True)
            worst = max(worst, 2 if "error" in answer else 0)
    return worst


@contextlib.contextmanager
def prover_for(args: argparse.Namespace) -> Iterator[Any]:
    """The server named by --server (signing with --hmac-secret or $PXL_HMAC_SECRET), else
    a local prover."""
    if args.server is None:
        with local_prover() as prover:
            yield prover
        return
    secret = args.hmac_secret or os.environ.get("PXL_HMAC_SECRET")
    yield RemoteProver(args.server, secret=secret)


@contextlib.contextmanager
def local_prover() -> Iterator[Any]:
    """A prover on this machine: the kernel compiled (cached) and one Coq session, kept in a
    pool of one so that a session that dies or hangs is replaced for the next goal."""
    from pxl_prover.engine import Prover
    from pxl_prover.pool import SessionPool
    from pxl_prover.sessions import CoqSession

    pool = SessionPool(
        kernel.build_kernel(), 1, session_factory=CoqSession, acquire_timeout_s=LOCAL_WAIT_S
    )
    pool.start()
    try:
        if not pool.wait_until_alive(LOCAL_WAIT_S):
            raise RuntimeError(f"no Coq session started: {pool.last_error}")
        yield Prover(pool)
    finally:
        pool.close()


def describe_answer(answer: dict[str, Any], *, show_certificate: bool = False) -> str:
    """A readable report of an answer: verdict, the goal as read, the model or the proof."""
    verdict = answer["verdict"]
    checked = {
        "proved": "certificate checked by Coq",
        "refuted": "countermodel checked"
        + (" by the evaluator and by Coq" if "certificate" in answer else ""),
        "unknown": "no verdict",
    }[verdict]
    lines = [
        f"verdict  {verdict} ({checked if answer['verified'] else 'NOT verified'})",
        f"goal     {answer['goal']}",
        f"read as  {answer['normalized']}",
        f"logic    {answer['logic']}",
        f"kernel   {answer['kernel_hash'][:16]}",
        f"time     {answer['latency_ms']:.1f} ms",
    ]
    if verdict == "refuted":
        model = answer["countermodel"]
        lines.append(f"countermodel: the goal is false at {model['world']}")
        lines.extend(countermodel_table(model))
        if show_certificate and "certificate" in answer:
            lines += ["certificate:", answer["certificate"].rstrip()]
    elif verdict == "proved":
        if show_certificate:
            lines += ["certificate:", answer["certificate"].rstrip()]
        else:
            size = len(answer["certificate"].splitlines())
            lines.append(f"certificate  {size} lines of Coq (--certificate or --json to see it)")
    else:
        limits = answer["limits"]
        lines.append(f"limit    {limits['reason']}: {limits.get('detail', '')}")
    return "\n".join(lines)


def countermodel_table(model: dict[str, Any]) -> list[str]:
    """Worlds, their successors and true atoms as an aligned table; `*` marks the world."""
    rows = [("world", "sees", "true atoms")]
    for world in model["worlds"]:
        seen = [v for u, v in model["relation"] if u == world]
        name = f"{world}*" if world == model["world"] else world
        atoms = model["valuation"].get(world, [])
        rows.append((name, ", ".join(seen) or "-", ", ".join(atoms) or "-"))
    widths = [max(len(row[i]) for row in rows) for i in range(2)]
    return [f"  {a:<{widths[0]}}  {b:<{widths[1]}}  {c}" for a, b, c in rows]


# ---------------------------------------------------------------- pxl serve


def add_serve(subcommands: Subcommands) -> None:
    command = subcommands.add_parser(
        "serve",
        help="run the HTTP server (same as pxl-prover serve)",
        add_help=False,  # --help and every other option belong to the server's own parser
    )
    command.set_defaults(run=lambda args: server_main(["serve", *args.extra]), pass_through=True)


# ---------------------------------------------------------------- wiring

SUBCOMMANDS: tuple[Callable[[Subcommands], None], ...] = (
    add_parse,
    add_kernel_hash,
    add_prove,
    add_serve,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pxl",
        description="PXL: modal logic goals in, Coq-checked proofs or checked countermodels out.",
    )
    parser.add_argument("--version", action="version", version=f"pxl {__version__}")
    subcommands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for add in SUBCOMMANDS:
        add(subcommands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """The `pxl` console script.

    A subcommand that sets `pass_through=True` receives the arguments it does not declare
    in `args.extra`; for every other one they are a usage error.
    """
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra and not getattr(args, "pass_through", False):
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    args.extra = extra
    return args.run(args)


def server_main(argv: Sequence[str] | None = None) -> int:
    """The `pxl-prover` console script and `python -m pxl_prover`: hands over to the server.

    `argv` is passed through unchanged (`["serve", ...]` from `pxl-prover serve ...`).
    """
    server = importlib.import_module("pxl_prover.server")  # Flask loads only for `serve`
    return server.main(list(sys.argv[1:] if argv is None else argv)) or 0


def _print_json(value: Any) -> None:
    print(json.dumps(value, ensure_ascii=False, indent=2))
