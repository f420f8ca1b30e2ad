"""The HTTP layer's structure a reviewer relies on: which blueprint owns which route, which
views answer unsigned POSTs, and modules that talk only through each other's public names.

The app is the real one around a service that is never started, so no Coq runs here.
"""

from __future__ import annotations

import ast
from pathlib import Path

from flask import Flask

from pxl_prover.app import create_app
from pxl_prover.auth import accepts_unsigned
from pxl_prover.config import load_config
from pxl_prover.service import ProverService

PROVER = Path(__file__).resolve().parent.parent / "src" / "pxl_prover"
HTTP_LAYER = ("app", "api", "ops", "playground", "errors", "request_body")
KEY = "s" * 40

OWNED = {
    "api": {("/prove", "POST"), ("/prove/batch", "POST")},
    "ops": {
        ("/health", "GET"),
        ("/ready", "GET"),
        ("/metrics", "GET"),
        ("/metrics/performance", "GET"),
        ("/openapi.json", "GET"),
    },
    "playground": {("/", "GET"), ("/playground/static/<path:filename>", "GET")},
}


def app(**env: str) -> Flask:
    return create_app(ProverService(load_config(env=env)))


def routes_by_blueprint(flask_app: Flask) -> dict[str, set[tuple[str, str]]]:
    """{blueprint: {(rule, method)}}; "" for routes the app registers itself."""
    owned: dict[str, set[tuple[str, str]]] = {}
    for rule in flask_app.url_map.iter_rules():
        blueprint = rule.endpoint.rpartition(".")[0]
        methods = (rule.methods or set()) - {"HEAD", "OPTIONS"}
        owned.setdefault(blueprint, set()).update((rule.rule, m) for m in methods)
    return owned


def test_each_blueprint_owns_its_routes_and_the_app_none_of_its_own() -> None:
    owned = routes_by_blueprint(app())
    assert set(app().blueprints) == {"api", "ops", "playground"}
    for name, routes in OWNED.items():
        assert owned[name] == routes, name
    # Flask's own static folder is the only route not owned by a blueprint.
    assert {endpoint for endpoint in app().view_functions if "." not in endpoint} == {"static"}


def test_playground_blueprint_follows_the_configuration() -> None:
    signed = app(ENABLE_HMAC_AUTH="true", HMAC_SECRET_KEY=KEY)
    assert set(signed.blueprints) == {"api", "ops"}
    assert set(app(PXL_PLAYGROUND="false").blueprints) == {"api", "ops"}
    open_page = app(ENABLE_HMAC_AUTH="true", HMAC_SECRET_KEY=KEY, PXL_PLAYGROUND="true")
    assert routes_by_blueprint(open_page)["playground"] == OWNED["playground"] | {
        ("/playground/prove", "POST")
    }


def test_only_the_playground_prove_view_is_declared_unsigned() -> None:
    open_page = app(ENABLE_HMAC_AUTH="true", HMAC_SECRET_KEY=KEY, PXL_PLAYGROUND="true")
    unsigned = {e for e, view in open_page.view_functions.items() if accepts_unsigned(view)}
    assert unsigned == {"playground.prove"}
    assert "pxl_auth_exempt" not in open_page.extensions


def layer_imports(module: str) -> tuple[ast.Module, dict[str, set[str]]]:
    """The module's tree and, per HTTP-layer module it imports, the names it takes from it."""
    tree = ast.parse((PROVER / f"{module}.py").read_text(encoding="utf-8"))
    taken: dict[str, set[str]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "pxl_prover":
            for alias in node.names:
                if alias.name in HTTP_LAYER:
                    taken.setdefault(alias.name, set())
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("pxl_prover."):
            target = node.module.removeprefix("pxl_prover.")
            if target in HTTP_LAYER:
                taken.setdefault(target, set()).update(a.name for a in node.names)
    imported_modules = {name for name in taken}
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in imported_modules
        ):
            taken[node.value.id].add(node.attr)
    return tree, taken


def test_http_modules_import_at_top_level_only_public_names_without_cycles() -> None:
    graph: dict[str, set[str]] = {}
    for module in HTTP_LAYER:
        tree, taken = layer_imports(module)
        top_level = {id(node) for node in tree.body}
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom):
                assert id(node) in top_level, f"{module}.py imports inside a function"
        for target, names in taken.items():
            private = {n for n in names if n.startswith("_")}
            assert not private, f"{module}.py uses {target}'s private {sorted(private)}"
        graph[module] = set(taken)
    assert not any("app" in targets for targets in graph.values()), "only the factory is app"

    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        return any(
            t == goal or (t not in seen and reaches(t, goal, seen | {t})) for t in graph[start]
        )

    cycles = [m for m in HTTP_LAYER if reaches(m, m, set())]
    assert not cycles, f"import cycle through {cycles}"
