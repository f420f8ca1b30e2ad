"""`pxl` and `pxl-prover` as a user runs them: what they print and the exit status."""

from __future__ import annotations

import json
import subprocess
import sys
import types
from pathlib import Path

import pytest

from pxl_prover import cli, kernel


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = cli.main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def test_parse_shows_how_the_goal_was_read(capsys) -> None:
    status, out, _ = run(capsys, "parse", "BOX(Good(action) and TrueP(props))")
    assert status == 0
    assert out.splitlines() == [
        "ascii    BOX(Good(action) /\\ TrueP(props))",
        "unicode  □(Good(action) ∧ TrueP(props))",
        "atoms    Good(action), TrueP(props)",
        "depth    2",
        "size     4",
    ]


def test_parse_json_and_single_forms(capsys) -> None:
    status, out, _ = run(capsys, "parse", "--json", "DIA A -> BOX A xor B")
    assert status == 0
    assert json.loads(out) == {
        "ascii": "~(DIA A -> BOX A <-> B)",
        "unicode": "¬(◇A → □A ↔ B)",
        "atoms": ["A", "B"],
        "depth": 4,
        "size": 8,
    }
    assert run(capsys, "parse", "--unicode", "[]A -> <>A")[1] == "□A → ◇A\n"
    assert run(capsys, "parse", "--ascii", "□A → ◇A")[1] == "BOX A -> DIA A\n"


def test_parse_reads_the_goal_from_stdin(capsys, monkeypatch) -> None:
    monkeypatch.setattr(sys, "stdin", types.SimpleNamespace(read=lambda: "p0 v\n p1\n"))
    assert run(capsys, "parse", "--ascii", "-")[1] == "p0 \\/ p1\n"


def test_parse_error_shows_a_caret_under_the_position(capsys) -> None:
    status, out, err = run(capsys, "parse", "BOX(A -> A))")
    assert status == 2
    assert out == ""
    message, excerpt, caret = err.splitlines()
    assert message == "pxl: parse error: unbalanced ')': there is no '(' to close"
    assert excerpt == "  BOX(A -> A))"
    assert caret.index("^") == len("  BOX(A -> A)")
    assert "position 11" in caret


def test_parse_error_as_json(capsys) -> None:
    status, out, _ = run(capsys, "parse", "--json", "A & & B")
    assert status == 2
    assert json.loads(out) == {
        "error": {"code": "parse_error", "message": "expected a formula, found '&'", "position": 4}
    }


def test_caret_excerpt_cuts_long_lines_around_the_position() -> None:
    text = "A & " * 100 + "?" + " & B" * 100
    position = text.index("?")
    excerpt, caret = cli.caret_excerpt(text, position, width=40).splitlines()
    assert excerpt.startswith("  ...") and excerpt.endswith("...")
    assert len(excerpt) <= 2 + 3 + 40 + 3
    assert excerpt[caret.index("^")] == "?"


def test_caret_excerpt_names_the_line_of_multi_line_goals() -> None:
    excerpt, caret = cli.caret_excerpt("A &\n\tB )", 7).splitlines()
    assert excerpt == "   B )"  # the tab is shown as a blank, keeping the caret aligned
    assert excerpt[caret.index("^")] == ")"
    assert "line 2" in caret


def _sample_kernel(folder: Path) -> Path:
    (folder / "sub").mkdir(parents=True)
    (folder / "Top.v").write_text("Definition t := 0.\n")
    (folder / "sub" / "Inner.v").write_text("Definition i := 1.\n")
    return folder


def test_kernel_hash_of_a_named_folder(capsys, tmp_path) -> None:
    folder = _sample_kernel(tmp_path / "k")
    status, out, _ = run(capsys, "kernel-hash", str(folder))
    assert status == 0
    assert out == kernel.kernel_hash(folder) + "\n"


def test_kernel_hash_defaults_to_pxl_kernel_dir_then_the_repository_kernel(
    capsys, tmp_path, monkeypatch
) -> None:
    folder = _sample_kernel(tmp_path / "k")
    monkeypatch.setenv("PXL_KERNEL_DIR", str(folder))
    assert run(capsys, "kernel-hash")[1] == kernel.kernel_hash(folder) + "\n"
    monkeypatch.delenv("PXL_KERNEL_DIR")
    assert run(capsys, "kernel-hash")[1] == kernel.kernel_hash(kernel.BUILTIN_KERNEL_DIR) + "\n"


def test_kernel_hash_of_a_missing_or_empty_folder_is_an_error(capsys, tmp_path) -> None:
    status, out, err = run(capsys, "kernel-hash", str(tmp_path / "absent"))
    assert (status, out) == (1, "")
    assert "kernel folder not found" in err
    status, out, err = run(capsys, "kernel-hash", str(tmp_path))
    assert (status, out) == (1, "")
    assert "no .v files" in err


def test_unknown_arguments_are_usage_errors(capsys) -> None:
    with pytest.raises(SystemExit) as caught:
        cli.main(["parse", "--bogus", "A"])
    assert caught.value.code == 2
    assert "unrecognized arguments: --bogus" in capsys.readouterr().err


def test_serve_hands_every_argument_to_the_server(monkeypatch) -> None:
    seen: list[list[str]] = []
    fake = types.ModuleType("pxl_prover.server")
    fake.main = lambda argv: seen.append(argv) or 0
    monkeypatch.setitem(sys.modules, "pxl_prover.server", fake)
    assert cli.main(["serve", "--port", "9000", "--help"]) == 0
    assert cli.server_main(["serve", "--pool-size", "2"]) == 0
    assert seen == [["serve", "--port", "9000", "--help"], ["serve", "--pool-size", "2"]]


def test_pxl_console_script(tmp_path) -> None:
    pxl = Path(sys.executable).with_name("pxl")
    assert pxl.exists(), f"console script not installed next to {sys.executable}"
    done = subprocess.run(
        [pxl, "parse", "--unicode", "BOX(A -> A)"], capture_output=True, text=True, check=False
    )
    assert (done.returncode, done.stdout) == (0, "□(A → A)\n")
    done = subprocess.run([pxl, "parse", "A ->"], capture_output=True, text=True, check=False)
    assert done.returncode == 2
    assert "^" in done.stderr
