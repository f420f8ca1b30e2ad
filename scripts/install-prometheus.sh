#!/usr/bin/env bash
# Prometheus and promtool from Debian's `prometheus` package, for the tests that check the
# alert rules (promtool) and evaluate every alert, dashboard and autoscaling query in a real
# Prometheus (tests/test_prometheus_live.py). Skipped when both are already installed.
# Nothing is downloaded from anywhere but the apt mirrors.
set -euo pipefail

say() { printf 'install-prometheus: %s\n' "$*"; }

if command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1; then
    exit 0
fi
packages=(prometheus)
if ! command -v apt-get >/dev/null 2>&1; then
    say "missing: prometheus, promtool — not a Debian/Ubuntu machine; install Prometheus yourself" >&2
    exit 1
fi
sudo=()
if [ "$(id -u)" -ne 0 ]; then
    if ! command -v sudo >/dev/null 2>&1; then
        say "missing: prometheus, promtool — installing needs root. Run as root:
    apt-get update && apt-get install -y --no-install-recommends ${packages[*]}" >&2
        exit 1
    fi
    sudo=(sudo)
fi
say "installing ${packages[*]} with apt-get"
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1 \
    || { say "apt-get finished but prometheus/promtool are still not on PATH" >&2; exit 1; }
