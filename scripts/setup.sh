#!/usr/bin/env bash
# Set up PXL on a Debian/Ubuntu machine: Coq (Debian's `coq`), a Python venv in .venv with
# the package installed in editable mode, and the compiled kernel. Every step checks first
# and is skipped when already done, so running this again is cheap and changes nothing.
# PYTHON=python3.12 bash scripts/setup.sh picks the interpreter for a new .venv.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PYTHON="${PYTHON:-python3}"
export PIP_DISABLE_PIP_VERSION_CHECK=1

say() { printf 'setup: %s\n' "$*"; }
die() { printf 'setup: %s\n' "$*" >&2; exit 1; }

# apt-get install PACKAGES as root: directly, through sudo, or say what to run and stop.
apt_install() {
    command -v apt-get >/dev/null 2>&1 \
        || die "missing: $* — this is not a Debian/Ubuntu machine (no apt-get); install it yourself"
    local sudo=()
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null 2>&1 || die "missing: $* — installing it needs root. Run as root:
    apt-get update && apt-get install -y $*
then run this script again."
        sudo=(sudo)
    fi
    say "installing $* with apt-get"
    "${sudo[@]}" apt-get update -qq
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# 1. Coq: coqc compiles the kernel, coqtop checks certificates.
if ! command -v coqc >/dev/null 2>&1 || ! command -v coqtop >/dev/null 2>&1; then
    apt_install coq
fi
coq_version="$(coqc -print-version | cut -d' ' -f1)"
case "$coq_version" in
    8.16*) ;;
    *) say "warning: the kernel is developed with Coq 8.16; this machine has $coq_version" ;;
esac

# 2. Python >= 3.11 with venv support.
command -v "$PYTHON" >/dev/null 2>&1 || apt_install python3 python3-venv
"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
    || die "PXL needs Python >= 3.11; $PYTHON is $("$PYTHON" --version 2>&1). Install a newer one and run: PYTHON=python3.11 bash scripts/setup.sh"

venv_works() { [ -x .venv/bin/python ] && .venv/bin/python -m pip --version >/dev/null 2>&1; }
if ! venv_works; then
    say "creating .venv"
    if ! "$PYTHON" -m venv --clear .venv >/dev/null 2>&1 || ! venv_works; then
        apt_install python3-venv  # Debian ships venv's ensurepip separately
        "$PYTHON" -m venv --clear .venv
    fi
    venv_works || die "could not create a working .venv with $PYTHON"
fi

# 3. The package, editable, with the dev tools. Re-installed only when pyproject.toml changes
#    or the venv no longer imports this checkout's code.
stamp=.venv/.pxl-installed
wanted="$(sha256sum pyproject.toml | cut -d' ' -f1) $PWD"
installed_here() {
    .venv/bin/python - "$PWD" <<'PY' 2>/dev/null
import sys
from pathlib import Path

import pxl_operator
import pxl_prover

root = Path(sys.argv[1]).resolve()
sys.exit(not all(Path(m.__file__).resolve().is_relative_to(root) for m in (pxl_prover, pxl_operator)))
PY
}
if [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ] || ! installed_here; then
    say "installing pxl and its dependencies into .venv (pip, a minute or two the first time)"
    log=.venv/pip-install.log
    .venv/bin/python -m pip install -q -e '.[dev]' >"$log" 2>&1 \
        || { tail -n 40 "$log" >&2; die "pip install failed (full log: $log)"; }
    printf '%s\n' "$wanted" >"$stamp"
fi

# 4. The kernel, compiled into the build cache (reused when its hash has not changed).
if [ -f coq/_CoqProject ]; then
    .venv/bin/python -m pxl_prover.kernel build || die "the PXL kernel did not compile (see above)"
else
    say "coq/_CoqProject not found: skipping the kernel build"
fi
say "ready"
