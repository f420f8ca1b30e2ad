"""The monitoring stack refers to metrics the server really exports, and the image is set
up by the README's own script (what CI tests is what the image does)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from service_fixtures import RunningServer

pytestmark = pytest.mark.timeout(300)
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def exported_names() -> set[str]:
    running = RunningServer(pool_size="1")
    try:
        running.post("/prove", {"goal": "BOX(A -> A)"})
        running.post("/prove", {"goal": "BOX(B -> B)"})
        text = running.get("/metrics").text
    finally:
        running.stop()
    return {line.split("{")[0].split(" ")[0] for line in text.splitlines() if line[:1] != "#"}


def test_alert_rules_use_exported_metrics(exported_names):
    rules = yaml.safe_load((ROOT / "monitoring" / "alerts.yml").read_text())["groups"]
    names = {rule["alert"] for group in rules for rule in group["rules"]}
    assert {"PXLHighLatency", "PXLLowVerificationRatio", "PXLLowCacheHitRate"} <= names
    for group in rules:
        for rule in group["rules"]:
            used = set(re.findall(r"logos_pxl_\w+", rule["expr"]))
            assert used <= exported_names, (rule["alert"], used - exported_names)


def test_latency_alert_is_on_the_prove_histogram_at_300_ms():
    rules = yaml.safe_load((ROOT / "monitoring" / "alerts.yml").read_text())["groups"][0]["rules"]
    latency = next(r for r in rules if r["alert"] == "PXLHighLatency")
    assert 'endpoint="/prove"' in latency["expr"] and "> 0.3" in latency["expr"]


def test_grafana_dashboard_uses_exported_metrics(exported_names):
    dashboard = (ROOT / "monitoring" / "grafana-dashboard.json").read_text()
    used = set(re.findall(r"logos_pxl_\w+", dashboard))
    assert used and used <= exported_names, used - exported_names


def test_prometheus_scrapes_the_prover_and_loads_the_rules():
    config = yaml.safe_load((ROOT / "monitoring" / "prometheus.yml").read_text())
    job = config["scrape_configs"][0]
    assert job["metrics_path"] == "/metrics"
    assert job["static_configs"][0]["targets"] == ["prover:8088"]
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    mounts = compose["services"]["prometheus"]["volumes"]
    assert any(m.startswith("./monitoring/alerts.yml:") for m in mounts)
    assert config["rule_files"] == ["/etc/prometheus/alerts.yml"]


def test_image_serves_as_a_non_root_user_and_is_healthy_only_when_ready():
    # The images themselves are built and run in tests/test_images.py (needs podman).
    lines = (ROOT / "Dockerfile").read_text().splitlines()
    dockerfile = "\n".join(line for line in lines if not line.startswith("#"))
    runtime = dockerfile.split("\nFROM ")[-1]  # the stage that becomes the image
    assert runtime.startswith("debian:bookworm-slim\n")
    assert "[dev]" not in dockerfile and "gcc" not in runtime
    assert re.search(r"^USER 10001", runtime, re.M)
    assert re.search(r"^HEALTHCHECK .*\n.*/ready", runtime, re.M)
    assert "PXL_CACHE_DIR=/var/cache/pxl" in runtime
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert "/ready" in " ".join(compose["services"]["prover"]["healthcheck"]["test"])


def test_compose_provisions_grafana_with_the_dashboard_on_the_compose_prometheus():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    mounts = compose["services"]["grafana"]["volumes"]
    for mount in mounts:
        assert (ROOT / mount.split(":")[0]).is_file(), mount
    assert any(m.startswith("./monitoring/grafana-dashboard.json:") for m in mounts)
    sources = yaml.safe_load((ROOT / "monitoring" / "grafana" / "datasources.yml").read_text())
    assert sources["datasources"][0]["url"] == "http://prometheus:9090"
    assert "9090:9090" in compose["services"]["prometheus"]["ports"]
