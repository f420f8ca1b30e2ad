"""The real operator (kopf, over HTTP, tests/k8s_harness.py) creates the monitoring,
KEDA and NetworkPolicy children a PXLProver asks for, and deletes them when it stops
asking; with KEDA scaling, its own HPA goes away (KEDA makes one)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from k8s_harness import Cluster

from pxl_operator import monitoring

pytestmark = pytest.mark.timeout(120)
KEDA = {
    "enabled": True,
    "signal": "saturation",
    "saturation": {"scaler": "keda", "prometheusAddress": "http://prometheus.monitoring:9090"},
}


@pytest.fixture()
def cluster(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Cluster]:
    emulated = Cluster(tmp_path)
    emulated.start()
    monkeypatch.setenv("KUBECONFIG", str(emulated.kubeconfig()))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    emulated.start_operator()
    try:
        yield emulated
    finally:
        emulated.stop()


def prover(**spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "pxl.logos.dev/v1alpha1",
        "kind": "PXLProver",
        "metadata": {"name": "demo"},
        "spec": {"kernel": {"expectedHash": "f" * 64}, **spec},
    }


def test_monitoring_children_follow_the_spec(cluster: Cluster) -> None:
    cluster.apply(
        prover(
            autoscaling=KEDA,
            monitoring={"podMonitor": True, "prometheusRule": True},
            networkPolicy={
                "enabled": True,
                "prometheus": {"namespaceSelector": {"matchLabels": {"team": "obs"}}},
            },
        )
    )
    owner = cluster.wait_for("the PXLProver", lambda: cluster.get("PXLProver", "demo"))
    for kind in ("PodMonitor", "PrometheusRule", "ScaledObject", "NetworkPolicy"):
        child = cluster.wait_for(kind, lambda k=kind: cluster.get(k, "demo"))
        (ref,) = child["metadata"]["ownerReferences"]
        assert ref["uid"] == owner["metadata"]["uid"], kind
    rule = cluster.get("PrometheusRule", "demo")
    assert (
        rule["spec"]
        == monitoring.prometheus_rule("demo", "default", {"monitoring": {"labels": {}}})["spec"]
    )
    assert cluster.get("HorizontalPodAutoscaler", "demo") is None, "KEDA makes the HPA"
    status = cluster.wait_for(
        "status.selector", lambda: (cluster.get("PXLProver", "demo") or {}).get("status")
    )
    assert status["selector"] == "app.kubernetes.io/name=pxl-prover,pxl.logos.dev/prover=demo"

    cluster.patch(
        "PXLProver",
        "demo",
        {
            "spec": {
                "autoscaling": {"signal": "cpu"},
                "monitoring": {"podMonitor": False, "prometheusRule": False},
                "networkPolicy": {"enabled": False},
            }
        },
    )
    for kind in ("PodMonitor", "PrometheusRule", "ScaledObject", "NetworkPolicy"):
        cluster.wait_for(f"{kind} deleted", lambda k=kind: cluster.get(k, "demo") is None)
    hpa = cluster.wait_for("the HPA", lambda: cluster.get("HorizontalPodAutoscaler", "demo"))
    assert hpa["spec"]["metrics"][0]["resource"]["name"] == "cpu"
