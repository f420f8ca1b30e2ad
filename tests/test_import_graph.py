"""The trust boundary is a folder: `pxl_prover.check` is everything trusted, it reads only
plain values, and nothing untrusted that produces verdict material can reach into it.
Read from the source (an AST walk, imports inside functions included), not from what
happens to be loaded."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = "pxl_prover"
SOURCE = Path(__file__).resolve().parents[1] / "src" / "pxl_prover"
TRUSTED = f"{PACKAGE}.check"
# What the trusted package may read besides itself: immutable values with no behaviour
# beyond describing themselves.
TRUSTED_MAY_IMPORT = {f"{PACKAGE}.{name}" for name in ("formula", "logics", "countermodel")}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SOURCE).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join([PACKAGE, *parts])


def _imports(path: Path) -> tuple[set[str], set[str]]:
    """The project modules a file imports (`from pkg import mod` counted as `pkg.mod` when
    that is a module), and the third-party top-level names it imports."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    ours: set[str] = set()
    theirs: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            targets = [base, *(f"{base}.{alias.name}" for alias in node.names)]
        else:
            continue
        for target in targets:
            if target == PACKAGE or target.startswith(PACKAGE + "."):
                if target in MODULES:
                    ours.add(target)
            else:
                theirs.add(target.split(".")[0])
    return ours, theirs


MODULES = {_module_name(path): path for path in SOURCE.rglob("*.py")}
GRAPH = {name: _imports(path) for name, path in MODULES.items()}


def _reachable(start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        module = todo.pop()
        for target in GRAPH[module][0]:
            if target not in seen:
                seen.add(target)
                todo.append(target)
    return seen


def _in(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def test_the_graph_is_read_from_the_source() -> None:
    assert TRUSTED in MODULES and f"{PACKAGE}.engine" in MODULES
    assert f"{TRUSTED}.gate" in _reachable(f"{PACKAGE}.engine")  # the walk sees real edges


@pytest.mark.parametrize(
    "module", sorted(m for m in MODULES if _in(m, f"{PACKAGE}.search") or m.endswith(".tableau"))
)
def test_the_search_never_reaches_the_trusted_package(module: str) -> None:
    reached = sorted(m for m in _reachable(module) if _in(m, TRUSTED))
    assert not reached, f"{module} reaches {reached}"
    assert f"{PACKAGE}.certificate" not in _reachable(module)


@pytest.mark.parametrize("module", sorted(m for m in MODULES if _in(m, TRUSTED)))
def test_the_trusted_package_reads_only_plain_values(module: str) -> None:
    outside = sorted(m for m in _reachable(module) if not _in(m, TRUSTED))
    assert set(outside) <= TRUSTED_MAY_IMPORT, f"{module} reaches {outside}"


@pytest.mark.parametrize(
    "module", sorted(m for m, (_, theirs) in GRAPH.items() if "flask" in theirs)
)
def test_the_http_layer_never_imports_the_trusted_package_directly(module: str) -> None:
    direct = sorted(m for m in GRAPH[module][0] if _in(m, TRUSTED))
    assert not direct, f"{module} imports {direct}: verdicts come from the engine"


def test_data_flows_one_way() -> None:
    """No module reaches itself through its imports (a package's own `__init__`, read for
    the version, aside): text → formula → search → certificate → check → answer."""
    edges = {
        module: {t for t in ours if t != module and not _in(module, t)}
        for module, (ours, _) in GRAPH.items()
    }

    def reach(start: str) -> set[str]:
        seen, todo = set(), [start]
        while todo:
            for target in edges[todo.pop()] - seen:
                seen.add(target)
                todo.append(target)
        return seen

    cycles = sorted(module for module in edges if module in reach(module))
    assert not cycles, f"import cycles through {cycles}"
