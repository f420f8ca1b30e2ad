#!/usr/bin/env bash
# Debian's buildah, podman, runc and mmdebstrap, for building and running the images without
# Docker (scripts/build-images.sh, tests/test_images.py). Skipped when all are installed, so
# running it again is cheap. Everything comes from the apt mirrors.
set -euo pipefail

say() { printf 'install-image-tools: %s\n' "$*"; }

tools=(buildah podman runc mmdebstrap)
missing=()
for tool in "${tools[@]}"; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
[ "${#missing[@]}" -eq 0 ] && exit 0
# uidmap, slirp4netns and fuse-overlayfs are what podman needs besides itself.
packages=(buildah podman runc mmdebstrap uidmap slirp4netns fuse-overlayfs)
if ! command -v apt-get >/dev/null 2>&1; then
    say "missing: ${missing[*]} — not a Debian/Ubuntu machine; install ${packages[*]} yourself" >&2
    exit 1
fi
sudo=()
if [ "$(id -u)" -ne 0 ]; then
    if ! command -v sudo >/dev/null 2>&1; then
        say "missing: ${missing[*]} — installing needs root. Run as root:
    apt-get update && apt-get install -y ${packages[*]}" >&2
        exit 1
    fi
    sudo=(sudo)
fi
say "installing ${packages[*]} with apt-get"
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
for tool in "${tools[@]}"; do
    command -v "$tool" >/dev/null 2>&1 \
        || { say "apt-get finished but $tool is still not on PATH" >&2; exit 1; }
done
