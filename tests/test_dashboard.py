"""The Grafana dashboard loads as-is and charts only metrics the prover really exports.

Structure is checked the way Grafana reads it (schema version, datasource variable, grid,
unique ids and refIds). Metric names are not compared to a list written here: a real server
on loopback is given some traffic (proved, refuted, bad goals, unknown paths) and every
name a panel's query uses must appear in what its /metrics then exposes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from service_fixtures import RunningServer

DASHBOARD = Path(__file__).resolve().parents[1] / "monitoring" / "grafana-dashboard.json"
DATASOURCE = {"type": "prometheus", "uid": "${DS_PROMETHEUS}"}
GRAFANA_BUILTINS = {"__rate_interval", "__interval", "__range", "__all"}

# PromQL words that are not metric names.
PROMQL_WORDS = {
    "sum", "avg", "min", "max", "count", "by", "without", "rate", "irate", "increase",
    "histogram_quantile", "clamp_min", "clamp_max", "and", "or", "unless", "on", "ignoring",
    "group_left", "group_right", "bool", "offset", "topk", "bottomk", "abs", "vector",
    "scalar", "time", "delta", "deriv", "avg_over_time", "max_over_time", "min_over_time",
}  # fmt: skip


SERIES_SUFFIXES = {
    "counter": ("_total", "_created"),
    "histogram": ("_bucket", "_count", "_sum", "_created"),
    "summary": ("", "_count", "_sum", "_created"),
}


def load() -> dict[str, Any]:
    return json.loads(DASHBOARD.read_text(encoding="utf-8"))


def panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    """Every panel that queries (rows only group them)."""
    found = []
    for panel in dashboard["panels"]:
        found.extend(panel.get("panels", []))
        if panel["type"] != "row":
            found.append(panel)
    return found


def expressions(dashboard: dict[str, Any]) -> list[str]:
    return [target["expr"] for panel in panels(dashboard) for target in panel["targets"]]


def metric_names(expr: str) -> set[str]:
    """Identifiers in a PromQL expression that name series (not functions, labels, values)."""
    stripped = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # string literals
    stripped = re.sub(r"\{[^}]*\}", "{}", stripped)  # label matchers
    stripped = re.sub(r"\[[^\]]*\]", "[]", stripped)  # range selectors
    stripped = re.sub(r"\b(?:by|without|on|ignoring)\s*\([^)]*\)", "", stripped)
    stripped = re.sub(r"\$\w+", "", stripped)
    words = set(re.findall(r"[A-Za-z_:][A-Za-z0-9_:]*", stripped))
    return words - PROMQL_WORDS


def test_dashboard_is_a_loadable_grafana_dashboard() -> None:
    dashboard = load()
    assert isinstance(dashboard["schemaVersion"], int) and dashboard["schemaVersion"] >= 36
    assert dashboard["title"] and re.fullmatch(r"[a-z0-9-]{1,40}", dashboard["uid"])
    assert "__inputs" not in dashboard, "provisioning would leave ${DS_...} unresolved"
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    source = variables["DS_PROMETHEUS"]
    assert source["type"] == "datasource" and source["query"] == "prometheus"
    for name, variable in variables.items():
        if variable["type"] == "query":
            assert variable["datasource"] == DATASOURCE, name
    used = set(re.findall(r"\$\{?(\w+)", DASHBOARD.read_text(encoding="utf-8")))
    assert used <= set(variables) | GRAFANA_BUILTINS, used - set(variables)

    ids = [p["id"] for p in dashboard["panels"]] + [
        p["id"] for row in dashboard["panels"] for p in row.get("panels", [])
    ]
    assert len(ids) == len(set(ids))
    occupied: set[tuple[int, int]] = set()
    for panel in dashboard["panels"]:
        grid = panel["gridPos"]
        assert grid["x"] >= 0 and grid["w"] >= 1 and grid["x"] + grid["w"] <= 24, panel["title"]
        cells = {
            (x, y)
            for x in range(grid["x"], grid["x"] + grid["w"])
            for y in range(grid["y"], grid["y"] + grid["h"])
        }
        assert not cells & occupied, f"{panel['title']} overlaps another panel"
        occupied |= cells
    for panel in panels(dashboard):
        assert panel["type"] in {"timeseries", "stat", "gauge", "bargauge", "table"}
        assert panel["datasource"] == DATASOURCE, panel["title"]
        refs = [t["refId"] for t in panel["targets"]]
        assert refs and len(refs) == len(set(refs)), panel["title"]
        for target in panel["targets"]:
            assert target["datasource"] == DATASOURCE
            expr = target["expr"]
            assert expr.count("(") == expr.count(")") and expr.count("{") == expr.count("}")
            assert metric_names(expr), f"{panel['title']}: {expr} names no metric"


def test_dashboard_covers_what_operators_watch() -> None:
    dashboard = load()
    exprs = expressions(dashboard)
    titles = " ".join(p["title"].lower() for p in panels(dashboard))
    for quantile in ("0.5", "0.95", "0.99"):
        assert any(
            f"histogram_quantile({quantile}," in e and "_bucket" in e and "by (le)" in e
            for e in exprs
        ), quantile
    assert any("http_requests_total" in e and "rate(" in e for e in exprs), "request rate"
    assert any("by (status)" in e for e in exprs), "errors by status code"
    assert any("verified" in e and "goals" in e for e in exprs), "verification ratio"
    assert any("cache_hits" in e and "cache_misses" in e for e in exprs), "cache hit rate"
    assert any("session_pool_busy" in e for e in exprs), "session-pool utilisation"
    for word in ("request rate", "latency", "verification", "cache", "pool", "status"):
        assert word in titles, word


@pytest.fixture(scope="module")
def exported_metrics() -> Iterator[set[str]]:
    """Sample names of a real server's /metrics after traffic of every kind."""
    server = RunningServer(pool_size="1")
    try:
        assert server.get("/ready").status_code == 200
        for goal in ("BOX(A -> A)", "DIA A -> BOX A", "BOX(A -> A)"):
            assert server.post("/prove", {"goal": goal}).status_code == 200
        assert server.post("/prove", {"goal": "BOX("}).status_code == 400
        assert server.post("/prove", {"goal": "A", "logic": "Q"}).status_code == 400
        assert server.get("/no-such-page").status_code == 404
        text = server.get("/metrics", headers={"Accept": "text/plain"}).text
    finally:
        server.stop()
    names: set[str] = set()
    for family in text_string_to_metric_families(text):
        # A labelled family with no sample yet (no Coq session restarted) is still declared.
        names.update(family.name + suffix for suffix in SERIES_SUFFIXES.get(family.type, ("",)))
        names.update(sample.name for sample in family.samples)
    yield names


def test_every_panel_queries_metrics_the_server_exports(exported_metrics: set[str]) -> None:
    dashboard = load()
    for panel in panels(dashboard):
        for target in panel["targets"]:
            missing = metric_names(target["expr"]) - exported_metrics
            assert not missing, f"{panel['title']}: {sorted(missing)} not in /metrics"


def test_metric_name_extraction_sees_through_promql_syntax() -> None:
    expr = (
        'histogram_quantile(0.95, sum by (le, endpoint) (rate(a_bucket{endpoint=~"/x|y",'
        ' instance=~"$instance"}[$__rate_interval]))) / ignoring(status) b_total'
    )
    assert metric_names(expr) == {"a_bucket", "b_total"}
