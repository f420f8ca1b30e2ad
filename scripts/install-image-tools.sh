#!/usr/bin/env bash
# Debian's buildah, podman, runc and mmdebstrap, for building and running the images without
# Docker (scripts/build-images.sh, tests/test_images.py); nothing when all are installed.
# uidmap, slirp4netns and fuse-overlayfs are what podman needs besides itself.
exec bash "$(dirname "${BASH_SOURCE[0]}")/install-tools.sh" "buildah podman runc mmdebstrap" \
    buildah podman runc mmdebstrap uidmap slirp4netns fuse-overlayfs
