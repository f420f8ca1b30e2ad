"""A ConfigMap kernel as a kubelet mounts it: the pod hashes and compiles exactly the keys.

The kubelet's atomic writer lays a ConfigMap volume out as a hidden `..<timestamp>/`
folder holding the files, a `..data` link to that folder, and one link per key through
`..data` (`Syntax.v -> ..data/Syntax.v`). The pod must hash what the operator hashed from
the ConfigMap object, or `/ready` never passes.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from service_fixtures import RunningServer

from pxl_operator.kernel import target_hash
from pxl_operator.spec import resolve
from pxl_prover.kernel import BUILTIN_KERNEL_DIR, kernel_files, kernel_hash

TIMESTAMPED = "..2026_11_30_03_45_07.1234567890"


def kubectl_configmap(folder: Path) -> dict[str, Any]:
    """`kubectl create configmap pxl-kernel --from-file=coq/A.v ...` (README's command)."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "pxl-kernel", "namespace": "pxl"},
        "data": {p.name: p.read_text(encoding="utf-8") for p in kernel_files(folder)},
    }


def mount_like_a_kubelet(configmap: dict[str, Any], target: Path) -> Path:
    """The on-disk layout of a ConfigMap volume (kubelet's AtomicWriter)."""
    target.mkdir()
    hidden = target / TIMESTAMPED
    hidden.mkdir()
    for key, text in configmap["data"].items():
        (hidden / key).write_text(text, encoding="utf-8")
        (hidden / key).chmod(0o644)
    os.symlink(TIMESTAMPED, target / "..data")
    for key in configmap["data"]:
        os.symlink(f"..data/{key}", target / key)
    return target


def test_kubelet_layout_has_the_shape_the_kubelet_writes(tmp_path: Path) -> None:
    configmap = {"data": {"A.v": "Definition a := 1.\n", "_CoqProject": "-R . PXL\n"}}
    mount = mount_like_a_kubelet(configmap, tmp_path / "kernel")
    names = sorted(p.name for p in mount.iterdir())
    assert names == sorted([TIMESTAMPED, "..data", "A.v", "_CoqProject"])
    assert (mount / "..data").is_symlink() and (mount / "..data").is_dir()
    assert os.readlink(mount / "A.v") == "..data/A.v"
    assert (mount / "A.v").read_text() == "Definition a := 1.\n"


def test_a_mounted_configmap_hashes_to_the_operators_hash(tmp_path: Path) -> None:
    configmap = {
        "data": {
            "Syntax.v": "Inductive form := Atom (n : nat).\n",
            "Rules.v": "Require Import Syntax.\n",
            "README": "not a kernel file\n",
        }
    }
    mount = mount_like_a_kubelet(configmap, tmp_path / "kernel")
    spec = resolve("demo", {"kernel": {"configMapRef": {"name": "pxl-kernel"}}})
    assert [p.name for p in kernel_files(mount)] == ["Rules.v", "Syntax.v"]
    assert all(p.parent == mount for p in kernel_files(mount)), "no file of the hidden folder"
    assert kernel_hash(mount) == target_hash("pxl", spec, configmap)


def test_the_prover_compiles_a_mounted_kernel_and_becomes_ready(tmp_path: Path) -> None:
    configmap = kubectl_configmap(BUILTIN_KERNEL_DIR)
    mount = mount_like_a_kubelet(configmap, tmp_path / "kernel")
    spec = resolve("demo", {"kernel": {"configMapRef": {"name": "pxl-kernel"}}})
    expected = target_hash("pxl", spec, configmap)
    assert expected == kernel_hash(BUILTIN_KERNEL_DIR)  # the same kernel, only mounted
    server = RunningServer(kernel_dir=str(mount), expected_kernel_hash=expected)
    try:
        ready = server.get("/ready")
        assert ready.status_code == 200, ready.text
        health = server.get("/health").json()
        assert expected in str(health)
        answer = server.post("/prove", {"goal": "BOX(A -> A)", "logic": "K"})
        assert answer.status_code == 200, answer.text
        assert answer.json()["kernel_hash"] == expected
    finally:
        server.stop()
