"""The PXL kernel on disk: where it lives, and compiling it.

Its identity (the hash of docs/kernel.md, the declared axioms, the manifest a build must
still match) is the trusted package's: `pxl_prover.check.identity`.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from .check.identity import (
    ASSUMPTIONS_FILE,
    CERTIFICATE_LEMMAS,
    MANIFEST_FILE,
    build_intact,
    compiled_files,
    kernel_files,
    kernel_hash,
)
from .check.identity import hash_sources as hash_sources

log = logging.getLogger(__name__)

# The built-in kernel's sources: package data, so a checkout (where the top-level `coq/` links
# here), an installed wheel and the image all find them the same way.
BUILTIN_KERNEL_DIR = Path(__file__).resolve().parent / "coq"


# The kernel's logical name and the module certificates import.
LOGICAL_NAME = "PXL"
CERTIFICATE_MODULES = ("Tableau", "Countermodel")


class KernelBuildError(RuntimeError):
    """The kernel's sources did not compile; the message carries coqc's complaint."""


@dataclass(frozen=True)
class CompiledKernel:
    """A kernel compiled into a cache folder, ready for coqtop to load."""

    source_dir: Path
    build_dir: Path
    hash: str

    @cached_property
    def assumptions(self) -> dict[str, tuple[str, ...]]:
        """What Coq's `Print Assumptions` said of each certificate lemma at build time
        (empty for a build made before this was recorded: sessions then ask Coq). Read
        once: every certificate check consults it."""
        try:
            recorded = json.loads((self.build_dir / ASSUMPTIONS_FILE).read_text())
        except (OSError, ValueError):
            return {}
        return {lemma: tuple(axioms) for lemma, axioms in recorded.items()}

    @property
    def load_args(self) -> list[str]:
        return ["-Q", str(self.build_dir), LOGICAL_NAME]


# OCaml's garbage collector for every Coq process: an 8 MB minor heap (1M words) and Coq's
# own major-heap policy (o=120). Without OCAMLRUNPARAM, Coq gives itself a 256 MB minor
# heap, which every session fills: about 400 MB resident each from the start, 2 GB for the
# default five sessions, the whole of the prover pod's default memory limit, where the
# kernel kills sessions before the service is even ready. With this, a session holds
# about 160 MB after start-up and 260 MB after 3,000 checks, at the same CPU per check.
COQ_GC = "s=1M,o=120"


def coq_environment(home: Path) -> dict[str, str]:
    """The environment Coq runs in: no variable of the caller's that could make Coq load a
    file of someone else's (COQPATH, OCAMLPATH, XDG and HOME folders with a coqrc or a
    user-contrib), and a garbage collector sized for many sessions side by side
    (`COQ_GC`). With `-q` on the command line, Coq then reads nothing but its own
    standard library and the kernel it is pointed at."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home),
        "XDG_DATA_HOME": str(home),
        "OCAMLRUNPARAM": COQ_GC,
    }


def default_kernel_dir() -> Path:
    """`PXL_KERNEL_DIR` when set (e.g. a mounted ConfigMap), else the built-in kernel
    shipped in the package (`coq/` in a checkout)."""
    configured = os.environ.get("PXL_KERNEL_DIR")
    return Path(configured) if configured else BUILTIN_KERNEL_DIR


def default_cache_root() -> Path:
    """`PXL_CACHE_DIR` when set, else `~/.cache/pxl`; compiled kernels live under it."""
    configured = os.environ.get("PXL_CACHE_DIR")
    if configured:
        return Path(configured)
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "pxl"


def parse_assumptions(output: str) -> tuple[str, ...]:
    """Names listed by `Print Assumptions` (empty when closed under the global context)."""
    if "Closed under the global context" in output:
        return ()
    names: list[str] = []
    for line in output.splitlines():
        match = re.match(r"^([A-Za-z_][\w.']*) :", line)
        if match:
            names.append(match.group(1))
    return tuple(names)


def _record_assumptions(build_dir: Path) -> None:
    """Ask Coq once what each certificate lemma rests on, and keep the answer with the build.

    `Print Assumptions` walks every opaque proof a lemma depends on (a second or so);
    doing it here spares every session start and every `pxl prove` that cost."""
    script = f"From {LOGICAL_NAME} Require Import {' '.join(CERTIFICATE_MODULES)}.\n" + "".join(
        f"Print Assumptions {lemma}.\nCheck I.\n" for lemma in CERTIFICATE_LEMMAS
    )
    done = subprocess.run(
        ["coqtop", "-q", "-quiet", "-Q", str(build_dir), LOGICAL_NAME],
        input=script,
        cwd=build_dir,
        env=coq_environment(build_dir),
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    chunks = re.split(r"I\s*:\s*True", done.stdout)
    if done.returncode != 0 or len(chunks) != len(CERTIFICATE_LEMMAS) + 1 or "Error" in done.stdout:
        raise KernelBuildError(
            "the kernel lacks a certificate lemma (tableau_L, refute_L for each logic L):\n"
            + (done.stdout + done.stderr).strip()[-2000:]
        )
    recorded = {
        lemma: list(parse_assumptions(chunk))
        for lemma, chunk in zip(CERTIFICATE_LEMMAS, chunks[:-1], strict=True)
    }
    (build_dir / ASSUMPTIONS_FILE).write_text(json.dumps(recorded, indent=2) + "\n")


def _write_manifest(build_dir: Path, digest: str) -> None:
    """Record what was built, so that a later use can tell the build was not altered."""
    manifest = {
        "kernel_hash": digest,
        "compiled": compiled_files(build_dir),
        "assumptions": json.loads((build_dir / ASSUMPTIONS_FILE).read_text()),
    }
    (build_dir / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2) + "\n")


def prebuilt_roots() -> list[Path]:
    """Read-only caches searched before compiling (`PXL_PREBUILT_KERNELS`, `:`-separated).

    An image compiles its built-in kernel at build time into such a folder; pods then mount
    an empty writable `PXL_CACHE_DIR` and still start without recompiling it.
    """
    configured = os.environ.get("PXL_PREBUILT_KERNELS", "")
    return [Path(part) for part in configured.split(os.pathsep) if part]


def _compile_order(build_dir: Path, names: list[str]) -> list[str]:
    """Order the kernel files so that each comes after the files it requires (via coqdep)."""
    out = subprocess.run(
        ["coqdep", "-Q", ".", LOGICAL_NAME, *names],
        cwd=build_dir,
        capture_output=True,
        text=True,
        check=False,
    )
    deps: dict[str, set[str]] = {name: set() for name in names}
    for line in out.stdout.splitlines():
        target, _, requires = line.partition(":")
        vo = target.split()[0] if target.split() else ""
        if not vo.endswith(".vo"):
            continue
        source = vo[: -len(".vo")] + ".v"
        if source in deps:
            deps[source] = {
                r[: -len(".vo")] + ".v"
                for r in requires.split()
                if r.endswith(".vo") and r[: -len(".vo")] + ".v" in deps and r != vo
            }
    order: list[str] = []
    done: set[str] = set()
    while len(order) < len(names):
        ready = sorted(n for n in names if n not in done and deps[n] <= done)
        if not ready:
            raise KernelBuildError(f"kernel files require each other in a cycle: {sorted(deps)}")
        order.extend(ready)
        done.update(ready)
    return order


def _set_aside(target: Path) -> None:
    """Move a build that no longer matches its manifest (or never finished) out of the way,
    so a fresh build can take its place; it is deleted, not trusted again."""
    log.warning("kernel build %s does not match its manifest; rebuilding it", target)
    aside = Path(tempfile.mkdtemp(prefix=f".{target.name[:12]}-stale-", dir=target.parent))
    try:
        target.rename(aside / "build")
    except OSError:
        if not target.exists():  # another process set it aside first
            return
        raise
    finally:
        shutil.rmtree(aside, ignore_errors=True)


def build_kernel(
    source_dir: str | os.PathLike[str] | None = None,
    cache_root: str | os.PathLike[str] | None = None,
) -> CompiledKernel:
    """Compile the kernel's `.v` files into `<cache_root>/kernels/<hash>`, reusing a finished build.

    The source folder may be read-only (a mounted ConfigMap): files are copied into a
    temporary folder, compiled there with coqc, and renamed into place only when every
    file compiled, so a half-built kernel is never loaded.
    """
    source = Path(source_dir) if source_dir is not None else default_kernel_dir()
    digest = kernel_hash(source)
    files = kernel_files(source)
    if not files:
        raise KernelBuildError(f"no .v files in kernel folder {source}")
    for prebuilt in prebuilt_roots():
        ready = prebuilt / "kernels" / digest
        if build_intact(ready, digest):
            return CompiledKernel(source, ready, digest)
        if ready.exists():
            log.warning("prebuilt kernel %s does not match its manifest; not used", ready)
    root = Path(cache_root) if cache_root is not None else default_cache_root()
    target = root / "kernels" / digest
    if build_intact(target, digest):
        return CompiledKernel(source, target, digest)
    if shutil.which("coqc") is None:
        raise KernelBuildError(
            "coqc not found: install Coq 8.16 (Debian/Ubuntu: apt-get install coq)"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():
        _set_aside(target)
    scratch = Path(tempfile.mkdtemp(prefix=f".{digest[:12]}-", dir=target.parent))
    try:
        names = []
        for path in files:
            rel = path.relative_to(source).as_posix()
            (scratch / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, scratch / rel)
            names.append(rel)
        for name in _compile_order(scratch, names):
            done = subprocess.run(
                ["coqc", "-q", "-Q", ".", LOGICAL_NAME, name],
                cwd=scratch,
                env=coq_environment(scratch),
                capture_output=True,
                text=True,
                check=False,
            )
            if done.returncode != 0:
                raise KernelBuildError(
                    f"coqc failed on {name}:\n{(done.stdout + done.stderr).strip()}"
                )
        _record_assumptions(scratch)
        _write_manifest(scratch, digest)
        (scratch / ".complete").write_text(digest + "\n")
        # mkdtemp made the folder 0700: open it to the user a server runs as (an image
        # compiles as root; its pods run unprivileged and only read the build).
        scratch.chmod(0o755)
        try:
            scratch.rename(target)
        except OSError:
            if not build_intact(target, digest):
                raise
    finally:
        if scratch.exists():
            shutil.rmtree(scratch, ignore_errors=True)
    return CompiledKernel(source, target, digest)


def main(argv: list[str] | None = None) -> int:
    """`python -m pxl_prover.kernel build [DIR]`: compile a kernel (used by scripts/setup.sh)."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m pxl_prover.kernel")
    parser.add_argument("command", choices=["build", "hash"])
    parser.add_argument("directory", nargs="?", default=None)
    args = parser.parse_args(argv)
    source = Path(args.directory) if args.directory else default_kernel_dir()
    if args.command == "hash":
        print(kernel_hash(source))
        return 0
    try:
        kernel = build_kernel(source)
    except (KernelBuildError, FileNotFoundError) as exc:
        print(f"kernel build failed: {exc}", file=sys.stderr)
        return 1
    print(f"kernel {kernel.hash} compiled in {kernel.build_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
