#!/usr/bin/env bash
# Install Debian packages for commands the tests run, only when a command is missing:
#   bash scripts/install-tools.sh "cmd1 cmd2" package1 package2 ...
# As root directly, through sudo otherwise, or (with neither) it says what to run and stops.
# Nothing is downloaded from anywhere but the apt mirrors.
set -euo pipefail

read -r -a commands <<<"$1"
shift
packages=("$@")
say() { printf 'install-tools: %s\n' "$*"; }

missing=()
for command in "${commands[@]}"; do
    command -v "$command" >/dev/null 2>&1 || missing+=("$command")
done
[ "${#missing[@]}" -eq 0 ] && exit 0
if ! command -v apt-get >/dev/null 2>&1; then
    say "missing: ${missing[*]} — not a Debian/Ubuntu machine; install ${packages[*]} yourself" >&2
    exit 1
fi
sudo=()
if [ "$(id -u)" -ne 0 ]; then
    if ! command -v sudo >/dev/null 2>&1; then
        say "missing: ${missing[*]} — installing needs root. Run as root:
    apt-get update && apt-get install -y --no-install-recommends ${packages[*]}" >&2
        exit 1
    fi
    sudo=(sudo)
fi
say "installing ${packages[*]} with apt-get"
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
for command in "${commands[@]}"; do
    command -v "$command" >/dev/null 2>&1 \
        || { say "apt-get finished but $command is still not on PATH" >&2; exit 1; }
done
