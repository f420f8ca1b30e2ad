#!/usr/bin/env bash
# Set up what is missing, then run the PXL server (port 8088 unless PXL_SERVER_PORT or
# --port says otherwise). Arguments go to `pxl-prover serve`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh
exec .venv/bin/pxl-prover serve "$@"
