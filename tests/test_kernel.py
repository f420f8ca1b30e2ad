"""The Coq kernel: it compiles, it is fully proved, and it rests only on declared axioms."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from pxl_prover.check.identity import DECLARED_AXIOMS
from pxl_prover.kernel import (
    BUILTIN_KERNEL_DIR,
    KernelBuildError,
    build_kernel,
    kernel_files,
    kernel_hash,
    parse_assumptions,
)

MAIN_THEOREMS = (
    "Hilbert.hil_sound_S5",
    "Semantics.nnf_correct",
    "Semantics.K_S5",
    "Semantics.KD45_S5",
    "Semantics.T_S4",
    "Semantics.B_S5",
    "Tableau.check_sound",
    *(f"Tableau.tableau_{logic}" for logic in ("K", "T", "D", "B", "S4", "S5", "KD45")),
    "Tableau.check_dag_valid",
    *(f"Tableau.dag_{logic}" for logic in ("K", "T", "D", "B", "S4", "S5", "KD45")),
    "Countermodel.ev_correct",
    *(f"Countermodel.refute_{logic}" for logic in ("K", "T", "D", "B", "S4", "S5", "KD45")),
)


def print_assumptions(kernel, names: tuple[str, ...]) -> dict[str, tuple[str, ...]]:
    """Ask a fresh coqtop for `Print Assumptions` of each name."""
    script = "From PXL Require Import Syntax Semantics Hilbert Tableau Countermodel.\n" + "".join(
        f'Print Assumptions PXL.{name}.\nIdtac "@@END@@".\n' for name in names
    )
    script = script.replace('Idtac "@@END@@".', "Check I.")
    done = subprocess.run(
        ["coqtop", "-q", "-quiet", *kernel.load_args],
        input=script,
        capture_output=True,
        text=True,
        timeout=300,
    )
    chunks = re.split(r"I\s*:\s*True", done.stdout)
    assert len(chunks) >= len(names), done.stdout + done.stderr
    return {name: parse_assumptions(chunk) for name, chunk in zip(names, chunks, strict=False)}


def test_kernel_compiles_and_is_cached(compiled_kernel) -> None:
    assert (compiled_kernel.build_dir / "Tableau.vo").exists()
    assert compiled_kernel.hash == kernel_hash(BUILTIN_KERNEL_DIR)
    assert build_kernel().build_dir == compiled_kernel.build_dir


def test_main_theorems_rest_only_on_declared_axioms(compiled_kernel) -> None:
    found = print_assumptions(compiled_kernel, MAIN_THEOREMS)
    for name, axioms in found.items():
        assert set(axioms) <= DECLARED_AXIOMS, f"{name} rests on undeclared {axioms}"
    assert "Classical_Prop.classic" in found["Hilbert.hil_sound_S5"]


def test_declared_axioms_are_listed_in_the_kernel_readme() -> None:
    readme = (BUILTIN_KERNEL_DIR / "README.md").read_text()
    for axiom in DECLARED_AXIOMS:
        assert f"`{axiom}`" in readme


def test_no_admitted_and_no_axioms_in_the_sources() -> None:
    forbidden = re.compile(r"\b(Admitted|admit|Axiom|Axioms|Parameter|Parameters|Conjecture)\b")
    for path in kernel_files(BUILTIN_KERNEL_DIR):
        text = re.sub(r"\(\*.*?\*\)", "", path.read_text(), flags=re.S)
        assert not forbidden.search(text), f"{path.name} declares or admits something"


def test_read_only_kernel_folder_compiles_into_the_cache(tmp_path: Path) -> None:
    source = tmp_path / "kernel"
    shutil.copytree(BUILTIN_KERNEL_DIR, source)
    for path in source.iterdir():
        path.chmod(0o444)
    source.chmod(0o555)
    try:
        kernel = build_kernel(source, tmp_path / "cache")
        assert kernel.hash == kernel_hash(BUILTIN_KERNEL_DIR)
        assert (kernel.build_dir / "Tableau.vo").exists()
    finally:
        source.chmod(0o755)


def test_a_kernel_that_does_not_compile_is_refused(tmp_path: Path) -> None:
    source = tmp_path / "kernel"
    shutil.copytree(BUILTIN_KERNEL_DIR, source)
    broken = source / "Tableau.v"
    broken.write_text(broken.read_text().replace("Theorem tableau_K", "Theorem tableau_K oops"))
    with pytest.raises(KernelBuildError, match="Tableau.v"):
        build_kernel(source, tmp_path / "cache")
    assert not (tmp_path / "cache" / "kernels" / kernel_hash(source)).exists()


def test_a_prebuilt_kernel_is_used_without_compiling(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, compiled_kernel
) -> None:
    prebuilt = tmp_path / "image-cache"
    shutil.copytree(compiled_kernel.build_dir, prebuilt / "kernels" / compiled_kernel.hash)
    monkeypatch.setenv("PXL_PREBUILT_KERNELS", str(prebuilt))
    monkeypatch.setenv("PATH", "")  # no coqc: compiling would fail
    kernel = build_kernel(BUILTIN_KERNEL_DIR, tmp_path / "empty-writable-cache")
    assert kernel.build_dir == prebuilt / "kernels" / compiled_kernel.hash


def test_a_new_build_is_readable_by_other_users(tmp_path: Path) -> None:
    # An image compiles as root; its pods run as an unprivileged user and read the build.
    kernel = build_kernel(BUILTIN_KERNEL_DIR, tmp_path / "cache")
    assert kernel.build_dir.stat().st_mode & 0o555 == 0o555
    for path in kernel.build_dir.iterdir():
        assert path.stat().st_mode & 0o444 == 0o444, path


def test_an_unreadable_prebuilt_kernel_falls_back_to_the_writable_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, compiled_kernel
) -> None:
    prebuilt = tmp_path / "image-cache"
    shutil.copytree(compiled_kernel.build_dir, prebuilt / "kernels" / compiled_kernel.hash)
    cache = tmp_path / "writable-cache"
    shutil.copytree(compiled_kernel.build_dir, cache / "kernels" / compiled_kernel.hash)
    monkeypatch.setenv("PXL_PREBUILT_KERNELS", str(prebuilt))
    is_file = Path.is_file

    def denied_under_prebuilt(path: Path) -> bool:
        # What an unprivileged user meets in a folder only root may enter (tests run as root).
        if path.is_relative_to(prebuilt):
            raise PermissionError(13, "Permission denied", str(path))
        return is_file(path)

    monkeypatch.setattr(Path, "is_file", denied_under_prebuilt)
    kernel = build_kernel(BUILTIN_KERNEL_DIR, cache)
    assert kernel.build_dir == cache / "kernels" / compiled_kernel.hash


def test_an_installed_wheel_finds_its_kernel(tmp_path: Path) -> None:
    """The built-in kernel is package data: a wheel built from the checkout carries the same
    sources, and the installed package finds them next to itself (no checkout needed), just
    as the image does."""
    root = Path(__file__).resolve().parents[1]
    assert (root / "coq").resolve() == BUILTIN_KERNEL_DIR.resolve()  # the link users look for
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(root)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert built.returncode == 0, built.stderr
    (wheel,) = tmp_path.glob("pxl-*.whl")
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    probe = (
        "from pxl_prover.kernel import BUILTIN_KERNEL_DIR as d, kernel_hash; "
        "print(d); print(kernel_hash(d))"
    )
    found = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(site)},
        timeout=60,
    )
    assert found.returncode == 0, found.stderr
    where, digest = found.stdout.split()
    assert Path(where) == site / "pxl_prover" / "coq"
    assert digest == kernel_hash(BUILTIN_KERNEL_DIR)
