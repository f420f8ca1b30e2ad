"""Which kernel a PXLProver's pods must serve: the target kernel hash.

The hash is always computed by `pxl_prover.kernel.hash_sources`, the one definition
(docs/kernel.md) the prover also reports, so a pod is ready exactly when it serves the
kernel the operator rolled out.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any

from pxl_operator.spec import DEFAULT_IMAGE
from pxl_operator.status import Degraded
from pxl_prover.kernel import BUILTIN_KERNEL_DIR, hash_sources, kernel_files, kernel_hash

KERNEL_MOUNT_PATH = "/etc/pxl/kernel"
# Users label their kernel ConfigMaps with this (any value): the operator watches only
# ConfigMaps that carry it, so an edit rolls the fleet at once (others at the resync).
KERNEL_SOURCE_LABEL = "pxl.logos.dev/kernel"


def configmap_name(spec: Mapping[str, Any]) -> str | None:
    """The kernel ConfigMap a (defaulted) spec names, if any."""
    ref = spec.get("kernel", {}).get("configMapRef") or {}
    return ref.get("name") or None


def configmap_sources(configmap: Mapping[str, Any]) -> dict[str, bytes]:
    """The `.v` files of a ConfigMap (text `data` and base64 `binaryData`), keyed by file name."""
    files = {
        key: value.encode()
        for key, value in (configmap.get("data") or {}).items()
        if key.endswith(".v")
    }
    for key, value in (configmap.get("binaryData") or {}).items():
        if key.endswith(".v"):
            try:
                files[key] = base64.b64decode(value, validate=True)
            except binascii.Error as exc:
                raise Degraded(
                    "KernelConfigMapInvalid", f"binaryData[{key}] is not base64"
                ) from exc
    return files


def builtin_kernel_hash() -> str:
    """Hash of the kernel built into the prover image of the same release: its sources ship
    in the pxl_prover package the operator is installed with."""
    if not BUILTIN_KERNEL_DIR.is_dir() or not kernel_files(BUILTIN_KERNEL_DIR):
        raise Degraded(
            "BuiltinKernelUnknown",
            f"the operator cannot read the built-in kernel at {BUILTIN_KERNEL_DIR}; "
            "set spec.kernel.expectedHash to the hash the prover image reports",
        )
    return kernel_hash(BUILTIN_KERNEL_DIR)


def target_hash(
    namespace: str, spec: Mapping[str, Any], configmap: Mapping[str, Any] | None
) -> str:
    """The kernel hash pods must serve, from the ConfigMap, the pinned hash, or the image.

    `configmap` is the object the spec's configMapRef names (None when it does not exist).
    """
    ref = configmap_name(spec)
    expected = spec.get("kernel", {}).get("expectedHash")
    if ref is None and expected:
        return str(expected)
    if ref is None and spec.get("image", DEFAULT_IMAGE) != DEFAULT_IMAGE:
        # Version skew: the operator knows only the kernel of the image it was released
        # with. Rolling another image on a guessed hash would stall and roll back.
        raise Degraded(
            "KernelHashUnknown",
            f"the kernel built into image {spec['image']} is unknown to the operator (it "
            f"knows only {DEFAULT_IMAGE}'s); set spec.kernel.expectedHash to what "
            f"`docker run --rm {spec['image']} pxl kernel-hash` prints, or serve the kernel "
            "from a ConfigMap (spec.kernel.configMapRef)",
        )
    if ref is None:
        return builtin_kernel_hash()
    if configmap is None:
        raise Degraded(
            "KernelConfigMapNotFound",
            f"ConfigMap {namespace}/{ref} named by spec.kernel.configMapRef does not exist; "
            "create it with the kernel's .v files as keys",
        )
    files = configmap_sources(configmap)
    if not files:
        raise Degraded(
            "KernelConfigMapEmpty",
            f"ConfigMap {namespace}/{ref} holds no .v files; add the kernel's .v files as keys",
        )
    actual = hash_sources(files)
    if expected and expected != actual:
        raise Degraded(
            "KernelHashMismatch",
            f"the .v files of ConfigMap {namespace}/{ref} hash to {actual}, but "
            f"spec.kernel.expectedHash is {expected}; fix the ConfigMap or the pin",
        )
    return actual
