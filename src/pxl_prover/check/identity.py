"""The kernel's identity: its hash, the axioms it may rest on, and whether a build is intact.

The kernel hash (docs/kernel.md) is the one identity the prover reports and the operator
rolls on, so it is defined here once and both sides call `kernel_hash`. A compiled build
is trusted only while it holds exactly the `.vo` files and the recorded `Print
Assumptions` its manifest lists (`build_intact`); a checked theorem may rest on the
`DECLARED_AXIOMS` alone. Compiling and finding builds is `pxl_prover.kernel`'s (untrusted:
whatever it produces is verified here before use).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from pxl_prover.logics import LOGICS


def kernel_files(kernel_dir: str | os.PathLike[str]) -> list[Path]:
    """The kernel's `.v` files, sorted by their path relative to the kernel folder.

    Paths through a `..`-prefixed name are skipped: a kubelet mounts a ConfigMap as a
    hidden `..<timestamp>/` folder, a `..data` link to it and one link per key through
    `..data`, so only the links are the files the user put in the ConfigMap (a key may
    not start with `..`).
    """
    root = Path(kernel_dir)
    return sorted(
        (
            p
            for p in root.rglob("*.v")
            if p.is_file() and not any(part.startswith("..") for part in p.relative_to(root).parts)
        ),
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
    """Kernel hash of a folder of `.v` files (docs/kernel.md)."""
    root = Path(kernel_dir)
    if not root.is_dir():
        raise FileNotFoundError(f"kernel folder not found: {root}")
    return hash_sources(
        {p.relative_to(root).as_posix(): p.read_bytes() for p in kernel_files(root)}
    )


# The axioms the kernel uses on purpose (listed in coq/README.md). A certificate whose
# `Print Assumptions` names anything else is rejected.
DECLARED_AXIOMS: frozenset[str] = frozenset({"Classical_Prop.classic"})

# The lemmas certificates apply, one per logic for proofs (tableau_L, or dag_L with shared
# sub-proofs) and for refutations (refute_L), and the file in a build folder where Coq's
# `Print Assumptions` of each is recorded when the kernel is compiled.
CERTIFICATE_LEMMAS = tuple(
    f"{kind}_{name}" for kind in ("tableau", "dag", "refute") for name in LOGICS
)
ASSUMPTIONS_FILE = "assumptions.json"
# What a finished build holds: the kernel hash, the sha256 of every compiled `.vo` file and
# the recorded assumptions. A build folder is used only while it still matches it.
MANIFEST_FILE = "manifest.json"


def compiled_files(build_dir: Path) -> dict[str, str]:
    """sha256 of every `.vo` file in a build folder, keyed by relative path."""
    return {
        path.relative_to(build_dir).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(build_dir.rglob("*.vo"))
    }


def build_intact(build_dir: Path, digest: str) -> bool:
    """True when `build_dir` is a finished build of kernel `digest` that still holds exactly
    the `.vo` files and assumptions recorded when it was compiled (the source hash alone
    names a build; it does not vouch for what is in the folder now)."""
    try:
        if not (build_dir / ".complete").is_file():
            return False
        manifest = json.loads((build_dir / MANIFEST_FILE).read_text())
        assumptions = json.loads((build_dir / ASSUMPTIONS_FILE).read_text())
        return (
            manifest.get("kernel_hash") == digest
            and manifest.get("assumptions") == assumptions
            and bool(manifest.get("compiled"))
            and manifest["compiled"] == compiled_files(build_dir)
        )
    except (OSError, ValueError, AttributeError):
        return False
