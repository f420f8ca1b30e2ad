#!/usr/bin/env bash
# Headless Chromium and chromedriver from Debian's packages, for the playground's browser
# tests (tests/test_playground_browser.py). Skipped when both are already installed, so
# running it again is cheap. No browser is downloaded from anywhere but the apt mirrors.
set -euo pipefail

say() { printf 'install-browser: %s\n' "$*"; }

if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then
    exit 0
fi
packages=(chromium chromium-driver)
if ! command -v apt-get >/dev/null 2>&1; then
    say "missing: ${packages[*]} — not a Debian/Ubuntu machine; install Chromium and chromedriver yourself" >&2
    exit 1
fi
sudo=()
if [ "$(id -u)" -ne 0 ]; then
    if ! command -v sudo >/dev/null 2>&1; then
        say "missing: ${packages[*]} — installing needs root. Run as root:
    apt-get update && apt-get install -y ${packages[*]}" >&2
        exit 1
    fi
    sudo=(sudo)
fi
say "installing ${packages[*]} with apt-get"
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1 \
    || { say "apt-get finished but chromium/chromedriver are still not on PATH" >&2; exit 1; }
