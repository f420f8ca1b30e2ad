"""The PXL kernel on disk: where it lives, its hash (DESIGN §4), and compiling it.

The kernel hash is the one identity the prover reports and the operator rolls on, so
it is defined here once and both sides call `kernel_hash`.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

REPO_KERNEL_DIR = Path(__file__).resolve().parent.parent / "coq"


def kernel_files(kernel_dir: str | os.PathLike[str]) -> list[Path]:
    """The kernel's `.v` files, sorted by their path relative to the kernel folder."""
    root = Path(kernel_dir)
    return sorted(
        (p for p in root.rglob("*.v") if p.is_file()),
        key=lambda p: p.relative_to(root).as_posix(),
    )


def hash_sources(files: dict[str, bytes]) -> str:
    """Kernel hash of in-memory sources keyed by relative path (e.g. a ConfigMap's data).

    sha256 over the concatenation, in path order, of `path + "\\n" + sha256(bytes) + "\\n"`.
    """
    outer = hashlib.sha256()
    for rel in sorted(files):
        outer.update(f"{rel}\n{hashlib.sha256(files[rel]).hexdigest()}\n".encode())
    return outer.hexdigest()


def kernel_hash(kernel_dir: str | os.PathLike[str]) -> str:
    """Kernel hash of a folder of `.v` files (DESIGN §4)."""
    root = Path(kernel_dir)
    if not root.is_dir():
        raise FileNotFoundError(f"kernel folder not found: {root}")
    return hash_sources({p.relative_to(root).as_posix(): p.read_bytes() for p in kernel_files(root)})
