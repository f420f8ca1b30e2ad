#!/usr/bin/env bash
# Build the prover and operator images from this checkout without Docker, with Debian's
# buildah (and podman's image store). No container registry is needed: the base image
# `debian:bookworm-slim` that both Dockerfiles start FROM is made locally with
# `mmdebstrap --variant=minbase bookworm` (slimmed like Debian's official slim image) and
# imported under that name. The rootfs is cached in ~/.cache/pxl/images, and buildah keeps
# each build step (--layers), so a rebuild after a code change takes a minute or two.
#
#   bash scripts/build-images.sh          # builds pxl-prover:local and pxl-operator:local
#   PXL_PROVER_IMAGE=... PXL_OPERATOR_IMAGE=... bash scripts/build-images.sh
#
# Machine-local settings are passed in at build time and never written into an image:
# PXL_BUILD_CA_BUNDLE (default: /etc/ssl/certs/ca-certificates.crt when present) is given
# to the build as a secret, for pip behind a TLS-intercepting proxy. Delete
# ~/.cache/pxl/images/*.tar and `podman rmi debian:bookworm-slim` to remake the base.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PROVER_IMAGE="${PXL_PROVER_IMAGE:-localhost/pxl-prover:local}"
OPERATOR_IMAGE="${PXL_OPERATOR_IMAGE:-localhost/pxl-operator:local}"
BASE_IMAGE=docker.io/library/debian:bookworm-slim
CACHE="${PXL_IMAGE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pxl/images}"
CA_BUNDLE="${PXL_BUILD_CA_BUNDLE-/etc/ssl/certs/ca-certificates.crt}"

say() { printf 'build-images: %s\n' "$*"; }
die() { printf 'build-images: %s\n' "$*" >&2; exit 1; }

for tool in buildah podman mmdebstrap; do
    command -v "$tool" >/dev/null 2>&1 \
        || die "missing $tool: run bash scripts/install-image-tools.sh (Debian: buildah podman runc mmdebstrap)"
done

# 1. The base image, under the name the Dockerfiles use.
if ! podman image exists "$BASE_IMAGE"; then
    rootfs="$CACHE/debian-bookworm-slim.tar"
    if [ ! -f "$rootfs" ] || [ ! -s "$rootfs" ]; then
        say "making the base rootfs with mmdebstrap (about a minute)"
        mkdir -p "$CACHE"
        rm -rf "$rootfs" "$rootfs.partial"
        # What Debian's official slim image leaves out: manuals, translations, docs.
        mmdebstrap --quiet --variant=minbase --format=tar \
            --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
            --dpkgopt='path-exclude=/usr/share/man/*' \
            --dpkgopt='path-exclude=/usr/share/locale/*' \
            --dpkgopt='path-include=/usr/share/locale/locale.alias' \
            --dpkgopt='path-exclude=/usr/share/doc/*' \
            --dpkgopt='path-include=/usr/share/doc/*/copyright' \
            --dpkgopt='path-exclude=/usr/share/info/*' \
            bookworm "$rootfs.partial"
        mv "$rootfs.partial" "$rootfs"
    fi
    say "importing $rootfs as $BASE_IMAGE"
    podman import --quiet "$rootfs" "$BASE_IMAGE" >/dev/null
fi

# 2. The images. --format docker keeps HEALTHCHECK (the OCI format has no field for it).
build_args=(--format docker --layers --pull=never --network host --quiet)
if [ -n "$CA_BUNDLE" ] && [ -s "$CA_BUNDLE" ]; then
    build_args+=(--secret "id=ca-bundle,src=$CA_BUNDLE")
fi
say "building $PROVER_IMAGE"
buildah bud "${build_args[@]}" -f Dockerfile -t "$PROVER_IMAGE" . >/dev/null
say "building $OPERATOR_IMAGE"
buildah bud "${build_args[@]}" -f operator.Dockerfile -t "$OPERATOR_IMAGE" . >/dev/null
podman images --format '{{.Repository}}:{{.Tag}} {{.Size}}' \
    | grep -F -e "${PROVER_IMAGE#localhost/}" -e "${OPERATOR_IMAGE#localhost/}" \
    | sed 's/^/build-images: /'
