"""The search-only LWB bench (bench/search.py) reports a goal whose search process overran
its deadline or died as its file's stopping point, and goes on with the next file."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from pxl_prover.tableau import SearchCrashed, SearchOverran

_SPEC = importlib.util.spec_from_file_location(
    "bench_search", Path(__file__).resolve().parents[1] / "bench" / "search.py"
)
assert _SPEC is not None and _SPEC.loader is not None
bench_search = sys.modules[_SPEC.name] = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(bench_search)

GOALS = ["box(p -> p)", "box(p -> q) -> (box p -> box q)", "box(p & q) -> box p"]  # valid in K


def _lwb(folder: Path) -> None:
    """Two LWB-style K files of valid goals: k_a_p (the one that fails) and k_b_p."""
    (folder / "k").mkdir()
    for name in ("k_a_p", "k_b_p"):
        lines = [f"{n}: {goal}" for n, goal in enumerate(GOALS, start=1)]
        (folder / "k" / f"{name}.txt").write_text("\n".join(["begin", *lines, "end"]) + "\n")


@pytest.mark.parametrize(
    ("failure", "kind"),
    [
        (SearchOverran("the search did not stop within 2 s of its deadline"), "overran"),
        (SearchCrashed("the search process died (out of stack or memory)"), "crashed"),
    ],
)
def test_a_search_that_overran_or_crashed_is_reported_in_its_files_row(
    tmp_path, monkeypatch, capsys, failure: SearchCrashed, kind: str
) -> None:
    _lwb(tmp_path)
    searched = bench_search.search
    calls: list[object] = []

    def search(goal, logic, **kwargs):
        calls.append(goal)
        if len(calls) == 2:  # the first file's second goal
            raise failure
        return searched(goal, logic, **kwargs)

    monkeypatch.setattr(bench_search, "search", search)
    monkeypatch.setattr(sys, "argv", ["search.py", "--dir", str(tmp_path)])
    bench_search.main()
    rows = {line.split()[0]: line for line in capsys.readouterr().out.splitlines() if line}
    assert rows["k_a_p"].split()[1] == "1"  # the score stops before the goal that failed
    assert f"2: {kind} ({failure})" in rows["k_a_p"]
    assert rows["k_b_p"].split()[1] == "3" and rows["k_b_p"].rstrip().endswith("-")
