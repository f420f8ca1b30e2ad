#!/usr/bin/env bash
# Set up what is missing, then run every check: ruff over the repository and the pytest
# suite (arguments go to pytest). Exits non-zero if either fails; both always run.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh || exit 1
bash scripts/install-browser.sh || exit 1  # headless Chromium for the playground tests
bash scripts/install-image-tools.sh || exit 1  # buildah/podman for tests/test_images.py
bash scripts/install-prometheus.sh || exit 1  # prometheus + promtool for the monitoring tests
status=0
.venv/bin/ruff check . || status=1
.venv/bin/pytest -q "$@" || status=1
exit "$status"
