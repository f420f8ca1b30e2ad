"""Schemathesis, the field's OpenAPI fuzzer, against a live server and its own document.

It generates requests from `/openapi.json` (valid ones and, from each constraint, invalid
ones), sends them over HTTP to waitress, and checks every answer: never a 5xx, status and
body as documented, data the document calls invalid refused with a 4xx, data it calls
valid not refused for its form (`tests/data/schemathesis.toml`). A failure prints
schemathesis's report with a curl command that reproduces it.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from service_fixtures import RunningServer

pytestmark = pytest.mark.timeout(600)

CONFIG = Path(__file__).parent / "data" / "schemathesis.toml"


@pytest.fixture(scope="module")
def server():
    running = RunningServer(pool_size="2", default_timeout_ms="2000", max_timeout_ms="30000")
    yield running
    running.stop()


def st_command() -> str:
    """The `st` command of the interpreter running the tests (the project's venv)."""
    beside = Path(sys.executable).parent / "st"
    found = str(beside) if beside.exists() else shutil.which("st")
    assert found, "schemathesis (`st`) is not installed: pip install -e '.[dev]'"
    return found


def test_schemathesis_finds_nothing_wrong_with_the_live_server(server, tmp_path):
    document = f"{server.url}/openapi.json"
    options = ["--checks", "all", "--max-examples", "150", "--generation-deterministic"]
    run = subprocess.run(
        [st_command(), "--config-file", str(CONFIG), "run", document, *options, "--no-color"],
        capture_output=True,
        text=True,
        timeout=540,
        check=False,
        cwd=tmp_path,  # schemathesis keeps a cache folder where it runs
    )
    report = run.stdout[-6000:] + run.stderr[-2000:]
    assert run.returncode == 0, report
    assert "passed" in run.stdout and "Tested: 6" in run.stdout, report
