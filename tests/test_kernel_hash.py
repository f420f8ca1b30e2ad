"""The kernel hash (docs/kernel.md), pinned against `sha256sum` rather than against our own code.

hash = sha256_hex( concat over .v files sorted by relative path of
                   relative_path + "\\n" + sha256_hex(file bytes) + "\\n" )
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from pxl_prover.kernel import hash_sources, kernel_hash

# Sorted by relative path as a string: "a.v" < "a/z.v" < "b.v" ('.' sorts before '/'),
# which a walk (files first, then folders) or a sort by file name would get wrong.
SAMPLE = {
    "b.v": b"Definition b := 2.\n",
    "a/z.v": b"(* nested *)\nDefinition z := 0.\n",
    "a.v": b"Definition a := 1.\n",
    "a/b/deep.v": "(* unicode: □ ◇ *)\n".encode(),
}
SORTED_PATHS = ["a.v", "a/b/deep.v", "a/z.v", "b.v"]


def _sha256sum(data: bytes) -> str:
    """The sha256 of `data` according to coreutils, independent of Python's hashlib."""
    out = subprocess.run(["sha256sum"], input=data, capture_output=True, check=True).stdout
    return out.split()[0].decode()


def _write_sample(root: Path, files: dict[str, bytes]) -> None:
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def _expected_hash(files: dict[str, bytes], order: list[str]) -> str:
    manifest = "".join(f"{rel}\n{_sha256sum(files[rel])}\n" for rel in order)
    return _sha256sum(manifest.encode())


def test_kernel_hash_matches_sha256sum_by_hand(tmp_path: Path) -> None:
    _write_sample(tmp_path, SAMPLE)
    (tmp_path / "README.md").write_text("not part of the kernel\n")
    (tmp_path / "a" / "z.vo").write_bytes(b"\x00compiled")
    expected = _expected_hash(SAMPLE, SORTED_PATHS)
    assert kernel_hash(tmp_path) == expected
    assert hash_sources(SAMPLE) == expected


def test_kernel_hash_orders_nested_paths_by_relative_path(tmp_path: Path) -> None:
    _write_sample(tmp_path, SAMPLE)
    walk_order = ["a.v", "b.v", "a/z.v", "a/b/deep.v"]
    assert kernel_hash(tmp_path) != _expected_hash(SAMPLE, walk_order)
    assert kernel_hash(tmp_path) == _expected_hash(SAMPLE, SORTED_PATHS)


def test_kernel_hash_changes_with_content_and_with_path(tmp_path: Path) -> None:
    _write_sample(tmp_path / "one", SAMPLE)
    _write_sample(tmp_path / "two", {**SAMPLE, "b.v": SAMPLE["b.v"] + b" "})
    renamed = {("c.v" if rel == "b.v" else rel): data for rel, data in SAMPLE.items()}
    _write_sample(tmp_path / "three", renamed)
    hashes = {kernel_hash(tmp_path / name) for name in ("one", "two", "three")}
    assert len(hashes) == 3


def test_kernel_hash_of_a_folder_without_sources_is_the_hash_of_nothing(tmp_path: Path) -> None:
    assert kernel_hash(tmp_path) == _sha256sum(b"")
