"""The repository stands alone: its docs describe every setting, and nothing cites a
document users do not have."""

import subprocess
from pathlib import Path

from pxl_prover.config import SETTINGS

ROOT = Path(__file__).resolve().parent.parent


def test_every_setting_is_documented_with_its_flag() -> None:
    text = (ROOT / "docs" / "configuration.md").read_text()
    rows = {
        line.split("|")[1].strip(" `"): line for line in text.splitlines() if line.startswith("| `")
    }
    for _name, variable, _parse, flag in SETTINGS:
        assert variable in rows, f"docs/configuration.md does not list {variable}"
        if flag:
            assert f"`{flag}`" in rows[variable], (
                f"docs/configuration.md: {variable} without {flag}"
            )


def test_documented_variables_all_exist() -> None:
    text = (ROOT / "docs" / "configuration.md").read_text()
    known = {variable for _n, variable, _p, _f in SETTINGS}
    for line in text.splitlines():
        if line.startswith("| `"):
            assert line.split("|")[1].strip(" `") in known, line


def test_nothing_cites_a_document_outside_the_repository() -> None:
    found = subprocess.run(
        ["git", "grep", "-nIE", r"DESIGN(\.md| ?§)", "--", ".", ":!tests/test_docs.py"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert found.stdout == "", "cites DESIGN:\n" + found.stdout
